// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Frame-pointer walks of goroutine stacks (see gwalk.h), as the runtime's
 * fpTracebackPCs does them, in the target's memory: each frame holds the
 * caller's frame pointer at [fp] and the return address at [fp+8]; frame
 * pointers must grow and stay within the goroutine's stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "live/goroutine.h"
#include "live/gwalk.h"

int gwalk__batch_init(struct gwalk_batch *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->w = calloc(cap, sizeof(*b->w));
	b->win = malloc(cap * GWALK_WINDOW);
	b->rv = malloc(cap * sizeof(*b->rv));
	b->ok = malloc(cap * sizeof(*b->ok));
	b->req = malloc(cap * sizeof(*b->req));
	b->cap = cap;
	if (!b->w || !b->win || !b->rv || !b->ok || !b->req) {
		gwalk__batch_free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) {
		b->w[i].pcs = b->w[i].inl;
		b->w[i].cap = GWALK_INLINE;
	}
	return 0;
}

void gwalk__batch_free(struct gwalk_batch *b)
{
	if (b->w)
		for (size_t i = 0; i < b->cap; i++)
			if (b->w[i].pcs != b->w[i].inl)
				free(b->w[i].pcs);
	free(b->w);
	free(b->win);
	free(b->rv);
	free(b->ok);
	free(b->req);
	memset(b, 0, sizeof(*b));
}

static int push_pc(struct gwalk *s, uint64_t pc)
{
	if (s->n == s->cap) {
		int cap = s->cap * 2 < GT_G_MAX_FRAMES ? s->cap * 2 : GT_G_MAX_FRAMES;
		uint64_t *p = malloc(cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memcpy(p, s->pcs, s->n * sizeof(*p));
		if (s->pcs != s->inl)
			free(s->pcs);
		s->pcs = p;
		s->cap = cap;
	}
	s->pcs[s->n++] = pc;
	return 0;
}

/*
 * Before 1.23 the runtime saved no frame pointer at syscall entry
 * (docs/go-runtime.md).  The frame record of the function that entered the syscall lies just
 * above syscallsp: take the first [fp, ret] pair whose ret is code and whose
 * fp links further up the same stack.
 */
static uint64_t syscall_fp(pid_t pid, const struct gt_target *t, uint64_t bias,
			   const struct graw *g)
{
	uint64_t lo = g->sys_sp, hi, buf[128];

	if (!lo || lo < g->stack_lo || lo >= g->stack_hi)
		return 0;
	hi = lo + sizeof(buf) < g->stack_hi ? lo + sizeof(buf) : g->stack_hi;
	if (rmem__read(pid, lo, buf, hi - lo))
		return 0;
	for (size_t i = 0; i + 1 < (hi - lo) / 8; i++) {
		uint64_t fp = lo + i * 8, next = buf[i], ret = buf[i + 1];

		if (!next || next <= fp || next >= g->stack_hi || (next & 7))
			continue;
		if (ret && pclntab__lookup_pc(t->pcln, ret - bias - 1))
			return fp;
	}
	return 0;
}

int gwalk__start(struct gwalk *s, pid_t pid, const struct gt_target *t, uint64_t bias)
{
	const struct graw *g = &s->w;
	uint64_t pc = g->sched_pc, fp = g->sched_bp;

	s->n = 0;
	s->flags = 0;
	s->walking = false;
	s->win_lo = s->win_hi = 0;
	if (g->status == GT_G_RUNNING || g->status == GT_G_COPYSTACK) {
		s->flags |= GT_G_NO_STACK;
		return 0;
	}
	if (g->status == GT_G_SYSCALL && g->sys_pc) {
		pc = g->sys_pc;
		fp = g->sys_bp;
		if (!fp)
			fp = syscall_fp(pid, t, bias, g);
		if (!fp)
			s->flags |= GT_G_STACK_PARTIAL;
	}
	if (!pc) {
		s->flags |= GT_G_NO_STACK;
		return 0;
	}
	/* A goroutine that never ran resumes at its entry, not after a call: keep ret-1 exact. */
	if (pc == g->startpc)
		pc++;
	s->fp = fp;
	s->walking = fp != 0;
	return push_pc(s, pc);
}

/* Walks within the window fetched.  1 when the next frame lies outside it. */
static int step(struct gwalk *s, const uint8_t *win)
{
	const struct graw *g = &s->w;

	while (s->fp) {
		uint64_t fp = s->fp, next, ret;

		if (fp < g->stack_lo || fp + 16 > g->stack_hi || (fp & 7)) {
			s->flags |= GT_G_STACK_PARTIAL;
			break;
		}
		if (fp < s->win_lo || fp + 16 > s->win_hi) {
			s->win_lo = fp;
			s->win_hi = fp + GWALK_WINDOW < g->stack_hi ? fp + GWALK_WINDOW : g->stack_hi;
			return 1;
		}
		next = rmem__get64(win, fp - s->win_lo);
		ret = rmem__get64(win, fp - s->win_lo + 8);
		if (!ret)
			break;
		if (s->n == GT_G_MAX_FRAMES) {
			s->flags |= GT_G_TRUNCATED;
			break;
		}
		if (push_pc(s, ret))
			return -ENOMEM;
		if (next && next <= fp) {
			s->flags |= GT_G_STACK_PARTIAL;
			break;
		}
		s->fp = next;
	}
	s->fp = 0;
	s->walking = false;
	return 0;
}

int gwalk__run(struct gwalk_batch *b, pid_t pid, const uint32_t *list, size_t n)
{
	for (;;) {
		size_t nreq = 0;
		int err;

		for (size_t j = 0; j < n; j++) {
			uint32_t i = list[j];
			struct gwalk *s = &b->w[i];

			if (!s->walking)
				continue;
			err = step(s, b->win + (size_t)i * GWALK_WINDOW);
			if (err < 0)
				return err;
			if (err) {
				b->rv[nreq] = (struct rmem_vec){ s->win_lo,
								 b->win + (size_t)i * GWALK_WINDOW,
								 s->win_hi - s->win_lo };
				b->req[nreq++] = i;
				b->winbytes += s->win_hi - s->win_lo;
			}
		}
		if (!nreq)
			return 0;
		b->nwin += nreq;
		if ((err = rmem__readv(pid, b->rv, nreq, b->ok, &b->ncalls)))
			return err;
		for (size_t j = 0; j < nreq; j++) {
			struct gwalk *s = &b->w[b->req[j]];

			if (!b->ok[j]) {
				s->flags |= GT_G_STACK_PARTIAL;
				s->walking = false;
				s->fp = 0;
			}
		}
	}
}

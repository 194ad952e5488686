// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reads a live Go process's goroutines from outside (see greader.h).
 * Nothing here stops the target: reads race with the runtime, so every g
 * is read, walked, then read again, and only a g whose identity and resume
 * point did not move counts as consistent.  g structs are never freed by
 * the runtime, so a stale pointer reads garbage at worst, never a fault we
 * cannot handle: process_vm_readv fails cleanly on unmapped memory.
 *
 * At 100,000 goroutines the cost is the number of reads, not their size:
 * goroutines are taken CHUNK at a time and every step reads for the whole
 * chunk with process_vm_readv calls of up to IOV_MAX ranges each (g structs,
 * stack windows level by level, the re-check), so a parked goroutine costs
 * about three iovecs and no system call of its own.  With a previous read
 * to reuse, a g that did not move costs its share of one g-struct range.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "binary/go_funcs.h"
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/allgs.h"
#include "live/greader.h"
#include "live/gstore.h"
#include "live/gwalk.h"
#include "live/remote_mem.h"
#include "lib/u64map.h"

#define CHUNK 1024	  /* goroutines taken through read, walk and re-check together */
#define G_GAP 512	  /* g structs closer than this are fetched as one range */
#define G_RANGE_MAX 65536 /* bytes of such a range */

struct gt_greader {
	struct gt_target *t;
	pid_t pid;
	uint64_t bias;	     /* runtime address - link-time address */
	uint64_t allglen_va; /* runtime addresses */
	uint64_t allgptr_va;
	const char *allgs_source;
	uint32_t gsize;	     /* bytes of g read: through the last field used */
	uint32_t waitsince;  /* offset of g.waitsince: the i64 before waitreason */
	uint64_t runfinq_entry;
	/*
	 * The arrays of a freed snapshot (greader__recycle), for the next read:
	 * a sampler's pass writes ~270 bytes per goroutine into them, and fresh
	 * ones cost a page fault and a zeroed page per 4 KB (a fifth of a
	 * repeat pass's CPU at 100,000 goroutines).
	 */
	struct gt_goroutine *spare_g;
	struct gkey *spare_k;
	size_t spare_cap; /* of both */
	struct chunk *chunk; /* buffers of a read (reader_chunk) */
};

/*
 * What a g was read at, beside its goroutine in the snapshot (s->keys[i]
 * goes with s->g[i]), so the next read can reuse its stack.  Only what the
 * goroutine itself does not hold: a repeat pass writes one of these and one
 * gt_goroutine per g, and at 100,000 goroutines those writes were a fifth
 * of its CPU while the key still copied the whole g as read.
 */
struct gkey {
	uint64_t sched_sp, sched_pc, sched_bp, sys_sp, sys_pc, sys_bp, stack_lo, stack_hi;
	uint32_t idx; /* place in allgs, which only grows: the g at idx stays there */
};

struct keys {
	struct gkey *k;
	size_t n, cap;
};

struct chunk;
static void chunk_free(struct chunk *c);

/* ---- opening ---- */

static void set_layout(struct gt_greader *r)
{
	const struct gt_go_offsets *o = &r->t->rt.off;

	/* Through the last g field of the runtime offset list (m fields are read apart). */
	r->gsize = 16;
#define G_FIELD(f, st, member, opt) \
	if (#f[0] == 'g' && o->f + 8 > r->gsize) \
		r->gsize = o->f + 8;
	GT_GO_OFFSET_FIELDS(G_FIELD)
#undef G_FIELD
	r->waitsince = r->t->rt.g_waitsince;
}

int greader__open(struct gt_greader **out, struct gt_target *t)
{
	struct gt_greader *r = calloc(1, sizeof(*r));
	const struct gt_func *f;
	uint64_t v;
	int err;

	if (!r)
		return -ENOMEM;
	r->t = t;
	r->pid = t->pid;
	set_layout(r);
	f = go_funcs__finalizer(t->pcln);
	r->runfinq_entry = f ? f->entry : 0;
	r->bias = t->load_bias;
	err = allgs__find(t, &r->allglen_va, &r->allgptr_va, &r->allgs_source);
	if (!err) {
		r->allglen_va += r->bias;
		r->allgptr_va += r->bias;
	}
	if (!err && (err = rmem__read64(r->pid, r->allglen_va, &v))) {
		if (err == -EPERM)
			pr_err("cannot read the memory of PID %d: permission denied (%s)\n", r->pid,
			       geteuid() ? "run as root" :
			       "a security module or kernel.yama.ptrace_scope forbids it, even to root");
		else if (err == -ESRCH)
			pr_err("PID %d exited\n", r->pid);
		else
			pr_err("cannot read runtime.allglen of PID %d: is it the binary it was "
			       "started from?\n", r->pid);
	}
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void greader__close(struct gt_greader *r)
{
	if (!r)
		return;
	free(r->spare_g);
	free(r->spare_k);
	if (r->chunk)
		chunk_free(r->chunk);
	free(r->chunk);
	free(r);
}

uint64_t greader__unbias(const struct gt_greader *r, uint64_t addr)
{
	return addr ? addr - r->bias : 0;
}

/* ---- one g ---- */

static void parse_g(const struct gt_greader *r, const uint8_t *b, struct graw *g)
{
	const struct gt_go_offsets *o = &r->t->rt.off;

	memset(g, 0, sizeof(*g));
	g->stack_lo = rmem__get64(b, 0);
	g->stack_hi = rmem__get64(b, 8);
	g->goid = rmem__get64(b, o->g_goid);
	g->status = rmem__get32(b, o->g_atomicstatus) & ~0x1000u;
	g->reason = b[o->g_waitreason];
	g->waitsince = r->waitsince ? (int64_t)rmem__get64(b, r->waitsince) : 0;
	g->parent = o->g_parent_goid ? rmem__get64(b, o->g_parent_goid) : 0;
	g->gopc = rmem__get64(b, o->g_gopc);
	g->startpc = rmem__get64(b, o->g_startpc);
	g->m = rmem__get64(b, o->g_m);
	g->labels = rmem__get64(b, o->g_labels);
	g->sched_sp = rmem__get64(b, o->g_sched_sp);
	g->sched_pc = rmem__get64(b, o->g_sched_pc);
	g->sched_bp = rmem__get64(b, o->g_sched_bp);
	g->sys_sp = rmem__get64(b, o->g_syscallsp);
	g->sys_pc = rmem__get64(b, o->g_syscallpc);
	g->sys_bp = o->g_syscallbp ? rmem__get64(b, o->g_syscallbp) : 0;
}

/* The same goroutine at the same resume point: nothing the walk used moved. */
static bool same_g(const struct graw *a, const struct graw *b)
{
	return a->goid == b->goid && a->status == b->status && a->sched_pc == b->sched_pc &&
	       a->sched_sp == b->sched_sp && a->sched_bp == b->sched_bp &&
	       a->sys_pc == b->sys_pc && a->sys_sp == b->sys_sp && a->sys_bp == b->sys_bp &&
	       a->labels == b->labels && a->reason == b->reason;
}

/*
 * The stack read last time (goroutine pg with key k) still stands for b:
 * same g, same resume point, same stack memory.
 */
static bool same_stack(const struct gt_greader *r, const struct gt_goroutine *pg,
		       const struct gkey *k, const struct graw *b)
{
	return pg->goid == b->goid && pg->status == b->status && k->sched_pc == b->sched_pc &&
	       k->sched_sp == b->sched_sp && k->sched_bp == b->sched_bp &&
	       k->sys_pc == b->sys_pc && k->sys_sp == b->sys_sp && k->sys_bp == b->sys_bp &&
	       k->stack_lo == b->stack_lo && k->stack_hi == b->stack_hi &&
	       pg->startpc == greader__unbias(r, b->startpc);
}

static bool dead(uint32_t status)
{
	return status == GT_G_IDLE || status == GT_G_DEAD || status == GT_G_DEADEXTRA;
}

/* Go's isSystemGoroutine, from the start function's name. */
static bool is_system(const struct gt_greader *r, uint64_t startpc, uint32_t status)
{
	const struct gt_func *f = pclntab__lookup_pc(r->t->pcln, startpc);

	if (!f)
		return false;
	/* The finalizer goroutine counts as the program's only while it runs finalizers. */
	if (f->entry == r->runfinq_entry)
		return status != GT_G_RUNNING && status != GT_G_RUNNABLE;
	return go_funcs__is_system(f->name);
}

/* ---- a chunk of goroutines ---- */

/*
 * The goroutines of a chunk go through each step together, every step one
 * series of batched reads: their g structs; their stacks (gwalk); label
 * sets not seen yet; then the g structs again, to find those that moved
 * while read.  Those go round again, up to GT_G_RETRIES times.
 */
struct chunk {
	struct gwalk_batch wb;
	const uint8_t **gp; /* each g as last fetched: into stage, or gb */
	uint8_t *stage;	    /* ranges of neighbouring g structs */
	uint8_t *gb;	    /* g structs fetched alone */
	struct rmem_vec *rv;
	bool *ok;
	uint32_t *live, *req, *range;
	int *retries;
	const struct glabels_set **ls;
	const struct gt_goroutine **cached; /* the previous read's g, when it did not move */
	size_t cap;		    /* goroutines it holds: up to CHUNK */
};

static void chunk_free(struct chunk *c)
{
	gwalk__batch_free(&c->wb);
	free(c->gp);
	free(c->stage);
	free(c->range);
	free(c->gb);
	free(c->rv);
	free(c->ok);
	free(c->live);
	free(c->req);
	free(c->retries);
	free(c->ls);
	free(c->cached);
}

static int chunk_init(struct chunk *c, uint32_t gsize, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->gp = calloc(cap, sizeof(*c->gp));
	c->stage = malloc((size_t)cap * (gsize + G_GAP));
	c->range = malloc(cap * sizeof(*c->range));
	c->gb = malloc((size_t)cap * gsize);
	c->rv = malloc(cap * sizeof(*c->rv));
	c->ok = malloc(2 * cap * sizeof(*c->ok)); /* rmem__readv's, then fetch_gs's */
	c->live = malloc(cap * sizeof(*c->live));
	c->req = malloc(cap * sizeof(*c->req));
	c->retries = calloc(cap, sizeof(*c->retries));
	c->ls = calloc(cap, sizeof(*c->ls));
	c->cached = calloc(cap, sizeof(*c->cached));
	if (gwalk__batch_init(&c->wb, cap) || !c->gp || !c->stage || !c->range || !c->gb ||
	    !c->rv || !c->ok || !c->live || !c->req || !c->retries || !c->ls || !c->cached) {
		chunk_free(c);
		return -ENOMEM;
	}
	c->cap = cap;
	return 0;
}

/* Where the time of a read goes, for -v. */
enum { T_FETCH, T_WALK, T_LABELS, T_RECHECK, T_FINISH, T_N };

struct reading {
	uint64_t ns[T_N];
	struct gt_greader *r;
	struct gt_snapshot *s;
	struct gstore *st;
	struct keys *keys;
	const struct keys *pkeys; /* the previous read's, or NULL */
	const struct gt_goroutine *pg; /* the previous read's goroutines, beside pkeys */
	struct gstore *pst;	  /* the previous read's store: label sets move from there */
	size_t pnext;		  /* where the previous read's keys are matched next */
	size_t base;		  /* place in allgs of the chunk's first g */
	size_t cap;
	struct chunk *c; /* the reader's, kept from read to read */
	uint64_t *pcs; /* GT_G_MAX_FRAMES scratch for unbiasing */
	/*
	 * A reused stack moves from the previous read's store to this one's:
	 * the last move, and every move by the previous store's pointer, so
	 * that the stack shared by many goroutines is hashed once, not per g.
	 */
	const uint64_t *moved_from, *moved_to;
	struct u64map moved;
};

/* The label set at p, read once per snapshot (sets are immutable and shared). */
static int labels_at(struct reading *rd, uint64_t p, const struct glabels_set **out)
{
	struct glabels_set *ls = (struct glabels_set *)gstore__lset(rd->st, p);
	int err;

	if (!ls && (ls = gstore__lset_take(rd->pst, p))) {
		/* still the same set: a g of the previous read points at it and did not move */
		if ((err = gstore__lset_add(rd->st, p, ls)))
			return err;
	}
	if (ls) {
		*out = ls;
		return 0;
	}
	ls = malloc(sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	if ((err = glabels__read(rd->r->pid, rd->r->t, p, ls))) {
		free(ls);
		return err;
	}
	if ((err = gstore__lset_add(rd->st, p, ls)))
		return err;
	*out = ls;
	return 0;
}

static int push(struct reading *rd, const struct gt_goroutine *g, const struct gkey *k)
{
	struct gt_snapshot *s = rd->s;
	struct keys *ks = rd->keys;

	if (s->n >= rd->cap) {
		size_t nc = rd->cap ? rd->cap * 2 : 256;
		struct gt_goroutine *ng = realloc(s->g, nc * sizeof(*ng));

		if (!ng)
			return -ENOMEM;
		s->g = ng;
		rd->cap = nc;
	}
	if (ks->n >= ks->cap) {
		size_t nc = ks->cap ? ks->cap * 2 : 256;
		struct gkey *nk = realloc(ks->k, nc * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		ks->k = nk;
		ks->cap = nc;
	}
	ks->k[ks->n++] = *k;
	s->g[s->n++] = *g;
	if (g->flags & GT_G_SYSTEM)
		s->nsystem++;
	if (g->flags & GT_G_INCONSISTENT)
		s->ninconsistent++;
	if (g->flags & GT_G_CACHED)
		s->ncached++;
	return 0;
}

#define STACK_FLAGS (GT_G_NO_STACK | GT_G_STACK_PARTIAL | GT_G_TRUNCATED | GT_G_SYSTEM)

/* A reused stack (in the previous read's store) in this read's store. */
static const uint64_t *moved_stack(struct reading *rd, const uint64_t *pcs, int n)
{
	const uint64_t *to;

	if (pcs == rd->moved_from)
		return rd->moved_to;
	if (!(to = u64map__get(&rd->moved, (uintptr_t)pcs))) {
		if (!(to = gstore__stack(rd->st, pcs, n)) ||
		    u64map__put(&rd->moved, (uintptr_t)pcs, (void *)to))
			return NULL;
	}
	rd->moved_from = pcs;
	rd->moved_to = to;
	return to;
}

/*
 * A goroutine read: into the snapshot, its stack and labels in the shared
 * store.  w is the g as read; pcs/n/flags its stack: runtime addresses when
 * walked now, or the previous read's goroutine's when reused (cached).
 */
static int finish(struct reading *rd, uint64_t addr, size_t idx, const struct graw *w, const uint64_t *pcs,
		  int n, uint32_t flags, int retries, const struct glabels_set *ls, bool cached)
{
	struct gt_greader *r = rd->r;
	const struct gt_go_offsets *o = &r->t->rt.off;
	struct gt_goroutine g = { 0 };
	struct gkey k = { w->sched_sp, w->sched_pc, w->sched_bp, w->sys_sp, w->sys_pc, w->sys_bp,
			  w->stack_lo, w->stack_hi, (uint32_t)idx };
	uint64_t tid;

	g.addr = addr;
	g.goid = w->goid;
	g.status = w->status;
	g.reason = w->reason;
	g.waitsince = w->waitsince > 0 ? w->waitsince : 0;
	g.parent = w->parent;
	g.gopc = greader__unbias(r, w->gopc);
	g.startpc = greader__unbias(r, w->startpc);
	g.flags = flags | GT_G_SHARED | (cached ? GT_G_CACHED : 0);
	g.retries = retries;
	if (!cached && is_system(r, g.startpc, g.status))
		g.flags |= GT_G_SYSTEM;
	if (w->m && (w->status == GT_G_RUNNING || w->status == GT_G_SYSCALL)) {
		g.m = w->m;
		if (o->m_procid && !rmem__read64(r->pid, w->m + o->m_procid, &tid))
			g.tid = (int)tid;
	}
	if (ls) {
		g.flags |= ls->flags;
		g.nlabels = ls->n;
		g.labels = ls->labels;
	}
	if (n) {
		if (cached) {
			g.pcs = (uint64_t *)moved_stack(rd, pcs, n);
		} else {
			for (int i = 0; i < n; i++)
				rd->pcs[i] = greader__unbias(r, pcs[i]);
			g.pcs = (uint64_t *)gstore__stack(rd->st, rd->pcs, n);
		}
		if (!g.pcs)
			return -ENOMEM;
		g.nframes = n;
	}
	return push(rd, &g, &k);
}

/*
 * Fetches the g structs of slots list[0..n) (ascending) into c->gp[].  The
 * runtime allocates g structs side by side in its spans, and allgs keeps
 * them in creation order: neighbours are read as one range, which costs the
 * kernel one page walk instead of one per g.  A range that fails is retried
 * g by g.  ok[j] tells whether list[j] was read.  0 or -ESRCH.
 */
static int fetch_gs(struct gt_greader *r, struct chunk *c, const uint64_t *addrs,
		    const uint32_t *list, size_t n, bool *ok, uint64_t *ncalls)
{
	size_t nr = 0, off = 0, nfail = 0;
	uint64_t lo = 0, hi = 0;
	int err;

	for (size_t j = 0; j < n; j++) {
		uint64_t a = addrs[list[j]];

		if (nr && a >= hi && a - hi <= G_GAP && a + r->gsize - lo <= G_RANGE_MAX) {
			hi = a + r->gsize;
			c->rv[nr - 1].len = hi - lo;
		} else {
			off += nr ? c->rv[nr - 1].len : 0;
			lo = a;
			hi = a + r->gsize;
			c->rv[nr++] = (struct rmem_vec){ a, c->stage + off, r->gsize };
		}
		c->range[j] = nr - 1;
		c->gp[list[j]] = (uint8_t *)c->rv[nr - 1].buf + (a - lo);
	}
	if ((err = rmem__readv(r->pid, c->rv, nr, c->ok, ncalls)))
		return err;
	for (size_t j = 0; j < n; j++) {
		ok[j] = c->ok[c->range[j]];
		if (!ok[j])
			c->req[nfail++] = j;
	}
	if (!nfail)
		return 0;
	for (size_t f = 0; f < nfail; f++) {
		uint32_t i = list[c->req[f]];

		c->gp[i] = c->gb + (size_t)i * r->gsize;
		c->rv[f] = (struct rmem_vec){ addrs[i], c->gb + (size_t)i * r->gsize, r->gsize };
	}
	if ((err = rmem__readv(r->pid, c->rv, nfail, c->ok, ncalls)))
		return err;
	for (size_t f = 0; f < nfail; f++)
		ok[c->req[f]] = c->ok[f];
	return 0;
}

/*
 * The previous read's key of the g at allgs[idx] when its stack still
 * stands.  allgs only grows and a g keeps its place; keys are kept in allgs
 * order, so the previous ones are matched with one index moving forward.
 */
static const struct gt_goroutine *prev_g(struct reading *rd, size_t idx, uint64_t addr,
					 const struct graw *w)
{
	const struct keys *pk = rd->pkeys;
	const struct gt_goroutine *pg;
	size_t j;

	if (!pk)
		return NULL;
	while (rd->pnext < pk->n && pk->k[rd->pnext].idx < idx)
		rd->pnext++;
	if (rd->pnext >= pk->n || pk->k[rd->pnext].idx != idx || rd->pg[rd->pnext].addr != addr)
		return NULL;
	j = rd->pnext++;
	pg = &rd->pg[j];
	if (!same_stack(rd->r, pg, &pk->k[j], w) || w->status == GT_G_RUNNING ||
	    (pg->flags & GT_G_NO_STACK))
		return NULL;
	return pg;
}

/* Reads the k goroutines at addrs (k <= CHUNK). 0, -ESRCH, -ENOMEM. */
static int read_chunk(struct reading *rd, const uint64_t *addrs, size_t k)
{
	struct gt_greader *r = rd->r;
	struct chunk *c = rd->c;
	size_t nlive = 0;
	bool *ok = c->ok + c->cap;
	uint64_t t = clock__mono_ns(), t1;
	int err;

	for (size_t i = 0; i < k; i++)
		c->live[i] = i;
	if ((err = fetch_gs(r, c, addrs, c->live, k, ok, &rd->s->nreadv)))
		return err;
	for (size_t i = 0; i < k; i++) {
		if (!ok[i])
			continue;
		c->retries[i] = 0;
		c->live[nlive++] = i;
	}
	rd->ns[T_FETCH] += (t1 = clock__mono_ns()) - t;
	for (int attempt = 0; nlive; attempt++) {
		size_t n = 0;

		/* the g as read (first, or by the last re-check): where its stack starts */
		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			struct gwalk *s = &c->wb.w[i];

			parse_g(r, c->gp[i], &s->w);
			c->cached[i] = attempt ? NULL : prev_g(rd, rd->base + i, addrs[i], &s->w);
			c->ls[i] = NULL;
			if (dead(s->w.status))
				continue;
			if (c->cached[i]) {
				s->walking = false;
			} else if ((err = gwalk__start(s, r->pid, r->t, r->bias))) {
				return err;
			}
			c->live[n++] = i;
		}
		nlive = n;
		if ((err = gwalk__run(&c->wb, r->pid, c->live, nlive)))
			return err;
		rd->ns[T_WALK] += (t = clock__mono_ns()) - t1;
		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			uint64_t p = c->wb.w[i].w.labels;

			if (p && (err = labels_at(rd, p, &c->ls[i])))
				return err;
		}
		rd->ns[T_LABELS] += (t1 = clock__mono_ns()) - t;
		/* A reused stack came from a consistent read of this very resume point. */
		n = 0;
		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			const struct gt_goroutine *pg = c->cached[i];

			if (!pg) {
				c->live[n++] = i;
				continue;
			}
			err = finish(rd, addrs[i], rd->base + i, &c->wb.w[i].w, pg->pcs, pg->nframes,
				     pg->flags & STACK_FLAGS, 0, c->ls[i], true);
			if (err)
				return err;
		}
		nlive = n;
		if (!nlive)
			break;
		/* the re-check: did anything the walk used move? */
		if ((err = fetch_gs(r, c, addrs, c->live, nlive, ok, &rd->s->nreadv)))
			return err;
		rd->ns[T_RECHECK] += (t = clock__mono_ns()) - t1;
		n = 0;
		for (size_t j = 0; j < nlive; j++) {
			uint32_t i = c->live[j];
			struct gwalk *s = &c->wb.w[i];
			struct graw again;
			uint32_t fl = s->flags;

			if (!ok[j]) /* unreadable now: leave it out */
				continue;
			parse_g(r, c->gp[i], &again);
			if (!same_g(&s->w, &again) && attempt + 1 < GT_G_RETRIES) {
				c->retries[i]++;
				c->live[n++] = i;
				continue;
			}
			if (!same_g(&s->w, &again))
				fl |= GT_G_INCONSISTENT;
			if ((err = finish(rd, addrs[i], rd->base + i, &s->w, s->pcs, s->n, fl, c->retries[i],
					  c->ls[i], false)))
				return err;
		}
		nlive = n;
		rd->ns[T_FINISH] += (t1 = clock__mono_ns()) - t;
	}
	return 0;
}

/*
 * The snapshot's arrays: the spare ones of a recycled snapshot when they
 * are big enough, else about as many as last time (want), so that push()
 * does not copy them while they grow.  s->g and keys->k share one capacity.
 */
static void take_arrays(struct gt_greader *r, struct reading *rd, size_t want)
{
	struct gt_snapshot *s = rd->s;

	if (r->spare_cap && r->spare_cap >= want) {
		s->g = r->spare_g;
		rd->keys->k = r->spare_k;
		rd->cap = rd->keys->cap = r->spare_cap;
		r->spare_g = NULL;
		r->spare_k = NULL;
		r->spare_cap = 0;
		return;
	}
	if (!want)
		return;
	rd->cap = rd->keys->cap = want;
	s->g = malloc(rd->cap * sizeof(*s->g));
	rd->keys->k = malloc(rd->cap * sizeof(*rd->keys->k));
	if (!s->g || !rd->keys->k) {
		free(s->g);
		free(rd->keys->k);
		s->g = NULL;
		rd->keys->k = NULL;
		rd->cap = rd->keys->cap = 0; /* push() grows them from scratch */
	}
}

/*
 * The reader's chunk buffers, for reads of up to want goroutines at a time:
 * kept from read to read (a sampler reading a small process ten times a
 * second paid page faults for ~1 MB of fresh buffers every pass), grown
 * when a read needs more.
 */
static int reader_chunk(struct gt_greader *r, size_t want)
{
	struct chunk *c = r->chunk;
	int err;

	if (!want)
		want = 1;
	if (c && c->cap >= want)
		return 0;
	if (!c && !(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	if (r->chunk)
		chunk_free(c);
	r->chunk = NULL;
	if ((err = chunk_init(c, r->gsize, want))) {
		free(c);
		return err;
	}
	r->chunk = c;
	return 0;
}

static int read_addrs(struct gt_greader *r, struct gt_snapshot *s, const uint64_t *addrs,
		      size_t n, struct gt_snapshot *prev, volatile sig_atomic_t *stop)
{
	struct reading rd = { .r = r, .s = s };
	int err;

	rd.st = gstore__new();
	rd.keys = calloc(1, sizeof(*rd.keys));
	rd.pcs = malloc(GT_G_MAX_FRAMES * sizeof(*rd.pcs));
	s->store = rd.st;
	s->keys = rd.keys;
	if (!rd.st || !rd.pcs || !rd.keys) {
		free(rd.pcs);
		return -ENOMEM;
	}
	if (prev && prev->keys && prev->store) {
		rd.pkeys = prev->keys;
		rd.pg = prev->g;
		rd.pst = prev->store;
	}
	take_arrays(r, &rd, prev ? prev->n + prev->n / 8 + 64 : 0);
	if ((err = reader_chunk(r, n < CHUNK ? n : CHUNK))) {
		free(rd.pcs);
		return err;
	}
	rd.c = r->chunk;
	rd.c->wb.nwin = rd.c->wb.winbytes = rd.c->wb.ncalls = 0;
	for (size_t i = 0; !err && i < n; i += CHUNK) {
		if (stop && *stop) {
			err = -EINTR;
			break;
		}
		rd.base = i;
		err = read_chunk(&rd, addrs + i, n - i < CHUNK ? n - i : CHUNK);
	}
	pr_debug("read %zu goroutines (%zu reused): g structs %.1f ms, stacks %.1f ms (%zu windows, "
		 "%zu KB), labels %.1f ms (%zu sets), re-check %.1f ms, the rest %.1f ms, "
		 "%llu process_vm_readv calls\n", s->n, s->ncached,
		 rd.ns[T_FETCH] / 1e6, rd.ns[T_WALK] / 1e6, rd.c->wb.nwin, rd.c->wb.winbytes >> 10,
		 rd.ns[T_LABELS] / 1e6, gstore__nlsets(rd.st), rd.ns[T_RECHECK] / 1e6,
		 rd.ns[T_FINISH] / 1e6, (unsigned long long)(s->nreadv + rd.c->wb.ncalls));
	s->nreadv += rd.c->wb.ncalls;
	u64map__free(&rd.moved);
	free(rd.pcs);
	return err;
}

int greader__read_since(struct gt_greader *r, struct gt_snapshot *s, struct gt_snapshot *prev,
			volatile sig_atomic_t *stop)
{
	uint64_t *addrs = NULL;
	size_t n = 0;
	int err;

	memset(s, 0, sizeof(*s));
	s->allgs_source = r->allgs_source;
	s->start_ns = clock__mono_ns();
	err = allgs__read(r->pid, r->allglen_va, r->allgptr_va, &addrs, &n);
	s->allglen = n;
	s->nreadv = 2 + (n > 0);
	if (!err)
		err = read_addrs(r, s, addrs, n, prev, stop);
	s->end_ns = clock__mono_ns();
	if (err == -ESRCH)
		s->target_exited = true;
	free(addrs);
	return err;
}

int greader__read_all(struct gt_greader *r, struct gt_snapshot *s, volatile sig_atomic_t *stop)
{
	return greader__read_since(r, s, NULL, stop);
}

int greader__read_one(struct gt_greader *r, uint64_t addr, struct gt_goroutine *g)
{
	struct gt_snapshot s = { 0 };
	int err = read_addrs(r, &s, &addr, 1, NULL, NULL);

	memset(g, 0, sizeof(*g));
	if (!err && !s.n)
		err = -ENOENT; /* dead, or unreadable */
	if (!err) {
		*g = s.g[0];
		g->flags &= ~GT_G_SHARED;
		g->labels = NULL;
		g->nlabels = 0;
		g->pcs = g->nframes ? malloc(g->nframes * sizeof(*g->pcs)) : NULL;
		if (g->pcs)
			memcpy(g->pcs, s.g[0].pcs, g->nframes * sizeof(*g->pcs));
		else
			g->nframes = 0;
		err = glabels__copy(s.g[0].labels, s.g[0].nlabels, &g->labels, &g->nlabels);
		if (err)
			goroutine__free(g);
	}
	greader__free_snapshot(&s);
	return err;
}

void greader__recycle_snapshot(struct gt_greader *r, struct gt_snapshot *s)
{
	struct keys *k = s->keys;

	if (!k || !k->cap || !s->g || !k->k) {
		greader__free_snapshot(s);
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (!(s->g[i].flags & GT_G_SHARED))
			goroutine__free(&s->g[i]);
	free(r->spare_g);
	free(r->spare_k);
	r->spare_g = s->g;
	r->spare_k = k->k;
	r->spare_cap = k->cap;
	s->g = NULL;
	s->n = 0;
	k->k = NULL;
	greader__free_snapshot(s);
}

void greader__free_snapshot(struct gt_snapshot *s)
{
	struct keys *k = s->keys;

	for (size_t i = 0; i < s->n; i++)
		if (!(s->g[i].flags & GT_G_SHARED))
			goroutine__free(&s->g[i]);
	free(s->g);
	gstore__free(s->store);
	if (k)
		free(k->k);
	free(k);
	memset(s, 0, sizeof(*s));
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sampler (see sampler.h): passes of the goroutine reader folded into
 * one profile.  Two snapshots alternate: each read reuses the previous
 * one's stacks for goroutines that did not move, then the previous one is
 * freed.  The profile interns stacks and label sets by content, so their
 * indices stay valid across passes; within a pass a snapshot already
 * shares them by pointer, which makes the per-goroutine work one lookup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/debug.h"
#include "lib/u64map.h"
#include "live/glabels.h"
#include "live/greader.h"
#include "live/sampler.h"

struct sampler {
	struct gt_target t;
	bool t_open;
	struct gt_greader *r;
	struct sampler_opts o;
	struct gt_snapshot snap[2];
	int cur;   /* snap[cur] is the last pass */
	bool have; /* snap[cur] holds a pass */
	struct sampler_profile p;
	size_t cap_stacks, cap_lsets, cap_samples;
	struct u64map stack_by_hash; /* content hash -> index + 1 */
	struct u64map lset_by_hash;
	struct u64map sample_by_hash;
	struct u64map pass_stack;    /* this pass: pcs pointer -> stack index + 1 */
	struct u64map pass_lset;     /* this pass: labels pointer -> lset index + 1 */
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return mix(h, 0xff);
}

static int grow(void **a, size_t *cap, size_t n, size_t elem)
{
	void *na;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	na = realloc(*a, nc * elem);
	if (!na)
		return -ENOMEM;
	*a = na;
	*cap = nc;
	return 0;
}

/*
 * Both ways of opening: t given (shared: its ELF and tables are not closed
 * here), or the target opened from pid and owned.
 */
static int open_sampler(struct sampler **out, pid_t pid, const struct gt_target *t,
			const struct sampler_opts *o)
{
	struct sampler *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	if (o)
		s->o = *o;
	if (t) {
		s->t = *t;
	} else if (target__open(&s->t, pid, NULL)) {
		free(s);
		return -ENOENT;
	} else {
		s->t_open = true;
	}
	if ((err = greader__open(&s->r, &s->t))) {
		sampler__close(s);
		return err;
	}
	/* lset 0 is the empty set */
	s->p.lsets = calloc(1, sizeof(*s->p.lsets));
	s->cap_lsets = 1;
	s->p.nlsets = 1;
	if (!s->p.lsets) {
		sampler__close(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int sampler__open(struct sampler **out, pid_t pid, const struct sampler_opts *o)
{
	return open_sampler(out, pid, NULL, o);
}

int sampler__open_target(struct sampler **out, const struct gt_target *t,
			 const struct sampler_opts *o)
{
	return open_sampler(out, 0, t, o);
}

void sampler__close(struct sampler *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++)
		greader__free_snapshot(&s->snap[i]);
	for (size_t i = 0; i < s->p.nstacks; i++)
		free(s->p.stacks[i].pcs);
	for (size_t i = 0; i < s->p.nlsets; i++) {
		for (int j = 0; j < s->p.lsets[i].n; j++) {
			free(s->p.lsets[i].labels[j].key);
			free(s->p.lsets[i].labels[j].value);
		}
		free(s->p.lsets[i].labels);
	}
	free(s->p.stacks);
	free(s->p.lsets);
	free(s->p.samples);
	u64map__free(&s->stack_by_hash);
	u64map__free(&s->lset_by_hash);
	u64map__free(&s->sample_by_hash);
	u64map__free(&s->pass_stack);
	u64map__free(&s->pass_lset);
	if (s->r)
		greader__close(s->r);
	if (s->t_open)
		target__close(&s->t);
	free(s);
}

enum gs_state sampler__state(uint32_t status)
{
	switch (status) {
	case GT_G_RUNNING:
	case GT_G_COPYSTACK: /* growing its stack: on a CPU */
		return GS_RUNNING;
	case GT_G_RUNNABLE:
	case GT_G_PREEMPTED:
		return GS_RUNNABLE;
	case GT_G_SYSCALL:
		return GS_SYSCALL;
	default:
		return GS_WAITING;
	}
}

const char *sampler__reason_name(const struct sampler *s, uint8_t reason)
{
	const char *n = s->t.rt.waitreason[reason];

	if (!reason || !n || !*n)
		return "(no reason)";
	return n;
}

/* ---- interning ---- */

static int stack_index(struct sampler *s, const uint64_t *pcs, int n, uint32_t flags,
		       uint32_t *out)
{
	uint64_t h = mix(0x5354ull, (uint64_t)n << 32 | flags);
	uintptr_t v;

	for (int i = 0; i < n; i++)
		h = mix(h, pcs[i]);
	h |= 1;
	while ((v = (uintptr_t)u64map__get(&s->stack_by_hash, h))) {
		const struct sampler_stack *k = &s->p.stacks[v - 1];

		if (k->n == n && k->flags == flags && !memcmp(k->pcs, pcs, n * sizeof(*pcs))) {
			*out = v - 1;
			return 0;
		}
		h = mix(h, 1) | 1; /* collision: the next slot of the chain */
	}
	if (grow((void **)&s->p.stacks, &s->cap_stacks, s->p.nstacks, sizeof(*s->p.stacks)))
		return -ENOMEM;
	struct sampler_stack *k = &s->p.stacks[s->p.nstacks];

	k->pcs = malloc((n ? n : 1) * sizeof(*pcs));
	if (!k->pcs)
		return -ENOMEM;
	memcpy(k->pcs, pcs, n * sizeof(*pcs));
	k->n = n;
	k->flags = flags;
	if (u64map__put(&s->stack_by_hash, h, (void *)(uintptr_t)(s->p.nstacks + 1))) {
		free(k->pcs);
		return -ENOMEM;
	}
	*out = s->p.nstacks++;
	return 0;
}

static bool same_labels(const struct sampler_lset *a, const struct gt_label *l, int n)
{
	if (a->n != n)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(a->labels[i].key, l[i].key) || strcmp(a->labels[i].value, l[i].value))
			return false;
	return true;
}

static int lset_index(struct sampler *s, const struct gt_label *l, int n, uint32_t *out)
{
	uint64_t h = 0x4c53ull;
	uintptr_t v;

	if (!n) {
		*out = 0;
		return 0;
	}
	for (int i = 0; i < n; i++)
		h = hash_str(hash_str(h, l[i].key), l[i].value);
	h |= 1;
	while ((v = (uintptr_t)u64map__get(&s->lset_by_hash, h))) {
		if (same_labels(&s->p.lsets[v - 1], l, n)) {
			*out = v - 1;
			return 0;
		}
		h = mix(h, 1) | 1;
	}
	if (grow((void **)&s->p.lsets, &s->cap_lsets, s->p.nlsets, sizeof(*s->p.lsets)))
		return -ENOMEM;
	struct sampler_lset *k = &s->p.lsets[s->p.nlsets];

	if (glabels__copy(l, n, &k->labels, &k->n))
		return -ENOMEM;
	if (u64map__put(&s->lset_by_hash, h, (void *)(uintptr_t)(s->p.nlsets + 1)))
		return -ENOMEM;
	*out = s->p.nlsets++;
	return 0;
}

static int sample_at(struct sampler *s, const struct sampler_sample *key, struct sampler_sample **out)
{
	uint64_t h = mix(mix(mix(mix(0x5341ull, key->stack), key->lset),
			     (uint64_t)key->state << 8 | key->reason), mix(key->goid, key->gopc));
	uintptr_t v;

	h |= 1;
	while ((v = (uintptr_t)u64map__get(&s->sample_by_hash, h))) {
		struct sampler_sample *e = &s->p.samples[v - 1];

		if (e->stack == key->stack && e->lset == key->lset && e->state == key->state &&
		    e->reason == key->reason && e->goid == key->goid && e->gopc == key->gopc) {
			*out = e;
			return 0;
		}
		h = mix(h, 1) | 1;
	}
	if (grow((void **)&s->p.samples, &s->cap_samples, s->p.nsamples, sizeof(*s->p.samples)))
		return -ENOMEM;
	if (u64map__put(&s->sample_by_hash, h, (void *)(uintptr_t)(s->p.nsamples + 1)))
		return -ENOMEM;
	*out = &s->p.samples[s->p.nsamples++];
	**out = *key;
	return 0;
}

/* ---- a pass ---- */

static int add_goroutine(struct sampler *s, const struct gt_goroutine *g, uint64_t w)
{
	struct sampler_sample key = { 0 }, *e;
	uintptr_t v;
	int err;

	key.state = sampler__state(g->status);
	key.reason = key.state == GS_WAITING ? g->reason : 0;
	key.goid = s->o.goid_labels ? g->goid : 0;
	key.gopc = g->gopc;
	if (g->nframes && !(g->flags & GT_G_NO_STACK)) {
		if ((v = (uintptr_t)u64map__get(&s->pass_stack, (uintptr_t)g->pcs))) {
			key.stack = v - 1;
		} else {
			err = stack_index(s, g->pcs, g->nframes,
					  g->flags & (GT_G_TRUNCATED | GT_G_STACK_PARTIAL), &key.stack);
			if (err || (err = u64map__put(&s->pass_stack, (uintptr_t)g->pcs,
						      (void *)(uintptr_t)(key.stack + 1))))
				return err;
		}
	} else {
		/* no readable stack: the start function only, as a return address to its entry */
		uint64_t pc = g->startpc + 1;

		if ((err = stack_index(s, &pc, g->startpc ? 1 : 0, SAMPLER_START_ONLY, &key.stack)))
			return err;
	}
	if (g->nlabels) {
		if ((v = (uintptr_t)u64map__get(&s->pass_lset, (uintptr_t)g->labels))) {
			key.lset = v - 1;
		} else {
			if ((err = lset_index(s, g->labels, g->nlabels, &key.lset)))
				return err;
			if ((err = u64map__put(&s->pass_lset, (uintptr_t)g->labels,
					       (void *)(uintptr_t)(key.lset + 1))))
				return err;
		}
	}
	if ((err = sample_at(s, &key, &e)))
		return err;
	e->wall_ns += w;
	if (key.state == GS_WAITING || key.state == GS_SYSCALL)
		e->offcpu_ns += w;
	if (key.state == GS_RUNNABLE)
		e->runnable_ns += w;
	e->seen++;
	if (e->last_pass != s->p.passes) {
		e->last_pass = s->p.passes;
		e->last_count = 0;
	}
	e->last_count++;
	return 0;
}

int sampler__pass(struct sampler *s, uint64_t weight_ns, volatile sig_atomic_t *stop,
		  struct sampler_pass_stats *st)
{
	int next = s->have ? !s->cur : s->cur;
	struct gt_snapshot *n = &s->snap[next];
	uint64_t c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID), c1;
	size_t counted = 0;
	int err;

	err = greader__read_since(s->r, n, s->have ? &s->snap[s->cur] : NULL, stop);
	if (s->have)
		greader__recycle_snapshot(s->r, &s->snap[s->cur]);
	s->cur = next;
	s->have = true;
	if (err) {
		if (st)
			memset(st, 0, sizeof(*st));
		return err;
	}
	/* the pass counts from here: its number is passes + 1 */
	s->p.passes++;
	u64map__free(&s->pass_stack);
	u64map__free(&s->pass_lset);
	for (size_t i = 0; i < n->n && !err; i++) {
		const struct gt_goroutine *g = &n->g[i];

		if ((g->flags & GT_G_SYSTEM) && !s->o.system)
			continue;
		err = add_goroutine(s, g, weight_ns);
		counted++;
	}
	c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (s->p.passes == 1) {
		s->p.start_mono = n->start_ns;
		s->p.start_real = now_ns(CLOCK_REALTIME) - (now_ns(CLOCK_MONOTONIC) - n->start_ns);
	}
	s->p.end_mono = n->end_ns;
	s->p.weight_ns += weight_ns;
	s->p.read_ns += n->end_ns - n->start_ns;
	s->p.cpu_ns += c1 - c0;
	s->p.goroutines_read += n->n;
	s->p.last_goroutines = counted;
	s->p.inconsistent += n->ninconsistent;
	s->p.cached += n->ncached;
	if (st) {
		st->wall_ns = n->end_ns - n->start_ns;
		st->cpu_ns = c1 - c0;
		st->goroutines = n->n;
		st->counted = counted;
		st->cached = n->ncached;
		st->inconsistent = n->ninconsistent;
		st->nreadv = n->nreadv;
	}
	return err;
}

const struct sampler_profile *sampler__profile(const struct sampler *s)
{
	return &s->p;
}

void sampler__reset(struct sampler *s)
{
	struct sampler_profile keep = s->p;

	u64map__free(&s->sample_by_hash);
	memset(&s->p, 0, sizeof(s->p));
	s->p.stacks = keep.stacks;
	s->p.nstacks = keep.nstacks;
	s->p.lsets = keep.lsets;
	s->p.nlsets = keep.nlsets;
	s->p.samples = keep.samples;
	s->p.nsamples = 0;
}

const struct gt_snapshot *sampler__last(const struct sampler *s)
{
	return s->have ? &s->snap[s->cur] : NULL;
}

const struct gt_target *sampler__target(const struct sampler *s)
{
	return &s->t;
}

bool sampler__pace(struct sampler_pacer *pc, uint64_t pass_ns)
{
	double period = 1.0 / pc->hz, want;

	if (pass_ns / 1e9 <= pc->max_share * period || pc->hz <= pc->min_hz)
		return false;
	want = pc->max_share / (pass_ns / 1e9);
	/* a round rate a little below what fits, so one slow pass does not lower it twice */
	want = want >= 2 ? (double)(long)(want * 0.9) : (double)(long)(want * 9) / 10;
	if (want < pc->min_hz)
		want = pc->min_hz;
	if (want >= pc->hz)
		return false;
	pc->hz = want;
	pc->lowered++;
	return true;
}

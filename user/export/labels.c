// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The label-loss analysis (labels.h, docs/labels.md).  Time is what the
 * goroutine model says: off-CPU is waiting (GC pseudo-waits excepted) plus
 * syscalls, as in the offcpu profile; running is the scheduler's running
 * state, split where the labels change mid-run (pprof.Do's entry and exit
 * happen while running, and the model reports a running interval only when
 * it ends).  Everything is first aggregated by label set id or by site, so
 * memory follows distinct sets and sites, not events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "export/labels.h"

/* gs_g.priv words (from L->priv) */
enum { P_RUN_FROM, P_SITE_COUNTED };

static uint64_t *priv(const struct gt_labels *L, struct gs_g *g)
{
	return &g->priv[L->priv];
}

static bool grow(void **p, size_t *cap, size_t len, size_t sz)
{
	size_t n;
	void *q;

	if (len < *cap)
		return true;
	n = *cap ? *cap * 2 : 16;
	q = realloc(*p, n * sz);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

int labels__init(struct gt_labels *L, struct gt_capture *cap, size_t priv_word)
{
	memset(L, 0, sizeof(*L));
	L->cap = cap;
	L->priv = priv_word;
	return 0;
}

void labels__exit(struct gt_labels *L)
{
	for (size_t i = 0; i < L->nsites; i++) {
		free(L->sites[i].wakers);
		free(L->sites[i].reasons);
	}
	free(L->sites);
	free(L->keys);
	free(L->changes_v);
	u64map__free(&L->site_idx);
	u64map__free(&L->change_idx);
	gs_agg__free(&L->by_set);
	memset(L, 0, sizeof(*L));
}

static const struct gt_labelset *set_of(const struct gt_labels *L, uint64_t id)
{
	return id ? capture__labelset(L->cap, id) : NULL;
}

static bool unlabelled(const struct gt_labels *L, uint64_t id)
{
	const struct gt_labelset *ls = set_of(L, id);

	return !ls || !ls->count;
}

static const char *value_of(const struct gt_labelset *ls, const char *key)
{
	for (uint32_t i = 0; ls && i < ls->count; i++)
		if (!strcmp(ls->keys[i], key))
			return ls->values[i];
	return NULL;
}

/* The site record of (gopc, startpc); NULL on ENOMEM. */
static struct lb_site *site(struct gt_labels *L, uint64_t gopc, uint64_t startpc)
{
	uint64_t h = gs_hash64(gs_hash64(0, gopc), startpc) | 1;
	struct lb_site *s;
	uintptr_t i;

	/* linear probing over hash values, checked against the pair */
	for (;; h = (h + 2) | 1) {
		i = (uintptr_t)u64map__get(&L->site_idx, h);
		if (!i)
			break;
		s = &L->sites[i - 1];
		if (s->gopc == gopc && s->startpc == startpc)
			return s;
	}
	if (!grow((void **)&L->sites, &L->capsites, L->nsites, sizeof(*L->sites)))
		return NULL;
	s = &L->sites[L->nsites];
	memset(s, 0, sizeof(*s));
	s->gopc = gopc;
	s->startpc = startpc;
	if (u64map__put(&L->site_idx, h, (void *)(uintptr_t)(L->nsites + 1)))
		return NULL;
	L->nsites++;
	return s;
}

static int by_set(struct gt_labels *L, uint64_t set, uint64_t what, uint64_t v)
{
	uint64_t k[GS_AGG_WORDS] = { set, what };

	return gs_agg__add(&L->by_set, k, v) ? 0 : -ENOMEM;
}

/* Unlabelled time of g: to its site. */
static int site_time(struct gt_labels *L, struct gs_g *g, uint64_t d, bool running,
		     unsigned reason)
{
	struct lb_site *s = site(L, g->gopc, g->startpc);

	if (!s)
		return -ENOMEM;
	if (!priv(L, g)[P_SITE_COUNTED]) {
		priv(L, g)[P_SITE_COUNTED] = 1;
		s->goroutines++;
	}
	if (running) {
		s->running += d;
		return 0;
	}
	s->offcpu += d;
	for (size_t i = 0; i < s->nreasons; i++)
		if (s->reasons[i].reason == reason) {
			s->reasons[i].ns += d;
			return 0;
		}
	if (!grow((void **)&s->reasons, &s->capreasons, s->nreasons, sizeof(*s->reasons)))
		return -ENOMEM;
	s->reasons[s->nreasons++] = (struct lb_reason){ reason, d };
	return 0;
}

static int running_time(struct gt_labels *L, struct gs_g *g, uint64_t set, uint64_t from,
			uint64_t to)
{
	uint64_t d = to > from ? to - from : 0;
	int err;

	if (!d)
		return 0;
	L->running += d;
	if ((err = by_set(L, set, 1, d)))
		return err;
	return unlabelled(L, set) ? site_time(L, g, d, true, 0) : 0;
}

int labels__interval(struct gt_labels *L, struct gstate *gs, const struct gs_interval *iv)
{
	struct gs_g *g = (struct gs_g *)iv->g;
	uint64_t d = iv->end - iv->start, from;
	unsigned reason;
	int err;

	if (g->system)
		return 0;
	if (iv->state == GS_RUNNING) {
		/* the part before a label change mid-run was counted at the change */
		from = iv->start > priv(L, g)[P_RUN_FROM] ? iv->start : priv(L, g)[P_RUN_FROM];
		priv(L, g)[P_RUN_FROM] = 0;
		return running_time(L, g, iv->labels, from, iv->end);
	}
	if (!((iv->state == GS_WAITING && !iv->pseudo) || iv->state == GS_SYSCALL))
		return 0;
	reason = iv->state == GS_SYSCALL ? LB_SYSCALL : iv->reason;
	L->offcpu += d;
	if ((err = by_set(L, iv->labels, 0, d)))
		return err;
	return unlabelled(L, iv->labels) ? site_time(L, g, d, false, reason) : 0;
}

int labels__labels(struct gt_labels *L, struct gstate *gs, struct gs_g *g, uint64_t old,
		   uint64_t ts)
{
	uint64_t from;
	int err;

	if (g->system || g->state != GS_RUNNING)
		return 0;
	from = g->since > priv(L, g)[P_RUN_FROM] ? g->since : priv(L, g)[P_RUN_FROM];
	if ((err = running_time(L, g, old, from, ts)))
		return err;
	priv(L, g)[P_RUN_FROM] = ts;
	return 0;
}

int labels__birth(struct gt_labels *L, struct gstate *gs, struct gs_g *g,
		  const struct gt_event_hdr *ev)
{
	if (ev->type != GT_EV_CREATE || g->system)
		return 0;
	L->creations++;
	return by_set(L, g->labels, 2, 1);
}

int labels__unpark(struct gt_labels *L, struct gstate *gs, struct gs_g *g, uint64_t by,
		   uint64_t ts)
{
	struct gs_g *w = by ? gstate__get(gs, by) : NULL;
	uint64_t wl = w ? w->labels : 0;
	struct lb_site *s;

	if (g->system || !unlabelled(L, g->labels))
		return 0;
	if (!(s = site(L, g->gopc, g->startpc)))
		return -ENOMEM;
	s->wakeups++;
	if (!by) {
		s->by_runtime++;
		return 0;
	}
	if (unlabelled(L, wl))
		wl = 0;
	for (size_t i = 0; i < s->nwakers; i++)
		if (s->wakers[i].labels == wl) {
			s->wakers[i].n++;
			return 0;
		}
	if (!grow((void **)&s->wakers, &s->capwakers, s->nwakers, sizeof(*s->wakers)))
		return -ENOMEM;
	s->wakers[s->nwakers++] = (struct lb_waker){ wl, 1 };
	return 0;
}

/* Does the change's stack go through pprof.Do (entry or deferred exit)? */
static bool stack_via_do(struct gt_capture *cap, uint64_t stack)
{
	const struct gt_stack *st = stack ? capture__stack(cap, stack) : NULL;
	struct gt_frame f[16];

	for (uint32_t i = 0; st && i < st->nr && i < 8; i++) {
		int n = capture__symbolize(cap, st->pcs[i] - 1, f, 16);

		for (int j = 0; j < n; j++)
			if (!strncmp(f[j].func, "runtime/pprof.Do", 16))
				return true;
	}
	return false;
}

static void note_key(struct lb_change *c, const char *k)
{
	for (int i = 0; i < c->nkeys; i++)
		if (!strcmp(c->keys[i], k))
			return;
	if (c->nkeys < LB_CHANGE_KEYS)
		c->keys[c->nkeys++] = k;
}

/* A label change, seen before the model applies it (g->labels is the old set). */
/*
 * A CPU sample's period counts for the label set the sample itself read
 * from the goroutine (m.curg), whatever code it ran for it (Go, the
 * runtime on its behalf, cgo); threads serving no goroutine and runtime
 * goroutines are left out, as everywhere in this report.
 */
static int cpu_sample(struct gt_labels *L, struct gstate *gs, const struct gt_ev_cpu_sample *e)
{
	struct gs_g *g;

	if (!e->h.goid || !(g = gstate__get(gs, e->h.goid)) || g->system)
		return 0;
	L->cpu_samples = true;
	L->cpu += e->period_ns;
	return by_set(L, e->labels, 3, e->period_ns);
}

int labels__event(struct gt_labels *L, struct gstate *gs, const struct gt_event_hdr *ev)
{
	const struct gt_ev_labels *e = (const void *)ev;
	struct gs_g *g;
	const struct gt_labelset *o, *n;
	struct lb_change *c;
	bool dropped = false, replaced = false;
	uint64_t stack;
	uintptr_t i;

	if (ev->type == GT_EV_CPU_SAMPLE)
		return cpu_sample(L, gs, (const struct gt_ev_cpu_sample *)ev);
	if (ev->type != GT_EV_LABELS || !(g = gstate__get(gs, ev->goid)) || g->system)
		return 0;
	if (e->labels == g->labels)
		return 0;
	L->changes++;
	o = set_of(L, g->labels);
	n = set_of(L, e->labels);
	for (uint32_t k = 0; o && k < o->count; k++) {
		const char *v = value_of(n, o->keys[k]);

		if (!v)
			dropped = true;
		else if (strcmp(v, o->values[k]))
			replaced = true;
	}
	if (!dropped && !replaced)
		return 0;
	stack = capture__labels_stack(e);
	i = (uintptr_t)u64map__get(&L->change_idx, stack | (1ULL << 63));
	if (!i) {
		if (!grow((void **)&L->changes_v, &L->capchanges, L->nchanges,
			  sizeof(*L->changes_v)))
			return -ENOMEM;
		c = &L->changes_v[L->nchanges];
		memset(c, 0, sizeof(*c));
		c->stack = stack;
		c->via_do = stack_via_do(L->cap, stack);
		if (u64map__put(&L->change_idx, stack | (1ULL << 63),
				(void *)(uintptr_t)(L->nchanges + 1)))
			return -ENOMEM;
		L->nchanges++;
	} else {
		c = &L->changes_v[i - 1];
	}
	c->drops += dropped;
	c->replaces += replaced;
	for (uint32_t k = 0; o && k < o->count; k++) {
		const char *v = value_of(n, o->keys[k]);

		if (!v || strcmp(v, o->values[k]))
			note_key(c, o->keys[k]);
	}
	return 0;
}

static struct lb_key *key(struct gt_labels *L, const char *k)
{
	for (size_t i = 0; i < L->nkeys; i++)
		if (!strcmp(L->keys[i].key, k))
			return &L->keys[i];
	if (!grow((void **)&L->keys, &L->capkeys, L->nkeys, sizeof(*L->keys)))
		return NULL;
	L->keys[L->nkeys] = (struct lb_key){ .key = k };
	return &L->keys[L->nkeys++];
}

static int cmp_key(const void *a, const void *b)
{
	const struct lb_key *x = a, *y = b;
	uint64_t tx = x->offcpu + x->running, ty = y->offcpu + y->running;

	if (tx != ty)
		return tx < ty ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int cmp_site(const void *a, const void *b)
{
	const struct lb_site *x = a, *y = b;
	uint64_t tx = x->offcpu + x->running, ty = y->offcpu + y->running;

	if (tx != ty)
		return tx < ty ? 1 : -1;
	return x->gopc < y->gopc ? -1 : x->gopc > y->gopc;
}

static int cmp_waker(const void *a, const void *b)
{
	const struct lb_waker *x = a, *y = b;

	return x->n != y->n ? (x->n < y->n ? 1 : -1) : (x->labels > y->labels) - (x->labels < y->labels);
}

static int cmp_reason(const void *a, const void *b)
{
	const struct lb_reason *x = a, *y = b;

	return x->ns != y->ns ? (x->ns < y->ns ? 1 : -1) : (int)x->reason - (int)y->reason;
}

static int cmp_change(const void *a, const void *b)
{
	const struct lb_change *x = a, *y = b;
	uint64_t tx = x->drops + x->replaces, ty = y->drops + y->replaces;

	return tx != ty ? (tx < ty ? 1 : -1) : (x->stack > y->stack) - (x->stack < y->stack);
}

int labels__end(struct gt_labels *L, struct gstate *gs)
{
	L->first_ts = gs->first_ts;
	L->last_ts = gs->last_ts;
	for (size_t i = 0; i < L->by_set.len; i++) {
		const struct gs_agg_ent *e = &L->by_set.ents[i];
		const struct gt_labelset *ls = set_of(L, e->k[0]);

		if (!ls || !ls->count)
			continue;
		switch (e->k[1]) {
		case 0: L->labelled_offcpu += e->sum; break;
		case 1: L->labelled_running += e->sum; break;
		case 2: L->labelled_creations += e->sum; break;
		default: L->labelled_cpu += e->sum; break;
		}
		for (uint32_t j = 0; j < ls->count; j++) {
			struct lb_key *k = key(L, ls->keys[j]);

			if (!k)
				return -ENOMEM;
			switch (e->k[1]) {
			case 0: k->offcpu += e->sum; break;
			case 1: k->running += e->sum; break;
			case 2: k->creations += e->sum; break;
			default: k->cpu += e->sum; break;
			}
		}
	}
	if (L->nkeys)
		qsort(L->keys, L->nkeys, sizeof(*L->keys), cmp_key);
	for (size_t i = 0; i < L->nsites; i++) {
		struct lb_site *s = &L->sites[i];

		if (s->nwakers) /* qsort(NULL, 0) is undefined (UBSan) */
			qsort(s->wakers, s->nwakers, sizeof(*s->wakers), cmp_waker);
		if (s->nreasons)
			qsort(s->reasons, s->nreasons, sizeof(*s->reasons), cmp_reason);
	}
	/* the index is not needed once sorted */
	if (L->nsites)
		qsort(L->sites, L->nsites, sizeof(*L->sites), cmp_site);
	u64map__free(&L->site_idx);
	if (L->nchanges)
		qsort(L->changes_v, L->nchanges, sizeof(*L->changes_v), cmp_change);
	u64map__free(&L->change_idx);
	return 0;
}

/* ---- its own pass ---- */

static int h_event(struct gstate *gs, const struct gt_event_hdr *ev)
{
	return labels__event(gs->arg, gs, ev);
}

static int h_birth(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	return labels__birth(gs->arg, gs, g, ev);
}

static int h_interval(struct gstate *gs, const struct gs_interval *iv)
{
	return labels__interval(gs->arg, gs, iv);
}

static int h_labels(struct gstate *gs, struct gs_g *g, uint64_t old, uint64_t ts)
{
	return labels__labels(gs->arg, gs, g, old, ts);
}

static int h_unpark(struct gstate *gs, struct gs_g *g, uint64_t by, uint64_t ts)
{
	return labels__unpark(gs->arg, gs, g, by, ts);
}

int labels__run(struct gt_labels *L, struct gt_capture *cap)
{
	static const struct gs_ops ops = {
		.priv_size = LABELS_PRIV_WORDS * sizeof(uint64_t),
		.event = h_event,
		.birth = h_birth,
		.interval = h_interval,
		.labels = h_labels,
		.unpark = h_unpark,
	};
	struct gstate gs;
	int err;

	labels__init(L, cap, 0);
	gstate__init(&gs, cap, &ops, L);
	err = gstate__process(&gs);
	if (!err)
		err = labels__end(L, &gs);
	else
		pr_err("labels: reading the capture failed: %s\n", strerror(-err));
	gstate__exit(&gs);
	return err;
}

/* ---- naming ---- */

void labels__site_str(struct gt_capture *cap, uint64_t gopc, char *buf, size_t len)
{
	struct gt_frame f[16];
	int n = gopc ? capture__symbolize(cap, gopc - 1, f, 16) : 0;

	/* the innermost frame: the go statement itself, even when inlined */
	if (n > 0)
		snprintf(buf, len, "%s %s:%d", f[0].func, f[0].file, f[0].line);
	else
		snprintf(buf, len, gopc ? "0x%" PRIx64 : "(not created in the capture)", gopc);
}

void labels__set_str(struct gt_capture *cap, uint64_t id, char *buf, size_t len)
{
	const struct gt_labelset *ls = id ? capture__labelset(cap, id) : NULL;
	size_t off;

	if (!ls || !ls->count) {
		snprintf(buf, len, "(no labels)");
		return;
	}
	off = snprintf(buf, len, "{");
	for (uint32_t i = 0; i < ls->count && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s=%s", i ? ", " : "", ls->keys[i],
				ls->values[i]);
	if (off < len)
		snprintf(buf + off, len - off, "}");
}

static bool label_plumbing(const char *f)
{
	return !strncmp(f, "runtime.", 8) || !strncmp(f, "runtime/pprof.", 14) ||
	       !strncmp(f, "context.", 8);
}

void labels__change_site(struct gt_capture *cap, uint64_t stack, char *buf, size_t len)
{
	const struct gt_stack *st = stack ? capture__stack(cap, stack) : NULL;
	struct gt_frame f[16];

	for (uint32_t i = 0; st && i < st->nr; i++) {
		int n = capture__symbolize(cap, st->pcs[i] - 1, f, 16);

		for (int j = 0; j < n; j++)
			if (!label_plumbing(f[j].func)) {
				snprintf(buf, len, "%s %s:%d", f[j].func, f[j].file, f[j].line);
				return;
			}
	}
	snprintf(buf, len, "%s", st ? "(runtime)" : "(no stack: --no-stacks or a version 1 capture)");
}

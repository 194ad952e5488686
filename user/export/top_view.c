// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What `gtrace top` shows (see top_view.h).  Counts "now" come from the
 * last pass; times ("sampled wait") from the sampler's aggregation since
 * start (or the last 'r'), so a blocking stack is ranked by how long
 * goroutines were seen waiting in it, as a profile would rank it.
 */
#include <errno.h>
#include <curses.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/clock.h"
#include "export/profile_export.h"
#include "export/symcache.h"
#include "export/top_view.h"
#include "lib/u64map.h"

#define HIST 64
#define ROWS_MAX 4096

struct topview {
	struct sampler *s;
	struct symcache *sc;
	size_t hist[HIST];
	uint64_t hist_t[HIST];
	int nhist, hpos;
	size_t first_count;
	uint64_t t0;
	struct u64map first_seen; /* goid -> first sight (mono ns) */
	bool by_count;		  /* blocking stacks by goroutines now, not by wait time */
	long reason;		  /* state << 8 | reason, or -1 */
	long lset;		  /* label set index, or -1 */
	int sel;
	bool expanded;
	double hz;
	struct sampler_pass_stats last;
};

struct topview *topview__new(struct sampler *s)
{
	struct topview *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->s = s;
	v->sc = symcache__new(sampler__target(s));
	v->reason = v->lset = -1;
	v->t0 = clock__mono_ns();
	if (!v->sc) {
		free(v);
		return NULL;
	}
	return v;
}

void topview__free(struct topview *v)
{
	if (!v)
		return;
	symcache__free(v->sc);
	u64map__free(&v->first_seen);
	free(v);
}

int topview__update(struct topview *v, const struct sampler_pass_stats *st, double hz)
{
	const struct gt_snapshot *sn = sampler__last(v->s);
	uint64_t now = clock__mono_ns();

	v->last = *st;
	v->hz = hz;
	if (!v->nhist)
		v->first_count = st->counted;
	v->hist[v->hpos] = st->counted;
	v->hist_t[v->hpos] = now;
	v->hpos = (v->hpos + 1) % HIST;
	if (v->nhist < HIST)
		v->nhist++;
	for (size_t i = 0; sn && i < sn->n; i++)
		if (sn->g[i].goid && !u64map__get(&v->first_seen, sn->g[i].goid) &&
		    u64map__put(&v->first_seen, sn->g[i].goid, (void *)(uintptr_t)now))
			return -ENOMEM;
	return 0;
}

/* ---- what passes the filters ---- */

static long state_key(enum gs_state st, uint8_t reason)
{
	return (long)st << 8 | (st == GS_WAITING ? reason : 0);
}

static bool same_lset(const struct sampler_lset *ls, const struct gt_goroutine *g)
{
	if (ls->n != g->nlabels)
		return false;
	for (int i = 0; i < ls->n; i++)
		if (strcmp(ls->labels[i].key, g->labels[i].key) ||
		    strcmp(ls->labels[i].value, g->labels[i].value))
			return false;
	return true;
}

static bool g_shown(const struct topview *v, const struct gt_goroutine *g)
{
	const struct sampler_profile *p = sampler__profile(v->s);

	if (g->flags & GT_G_SYSTEM)
		return false;
	if (v->reason >= 0 && state_key(sampler__state(g->status), g->reason) != v->reason)
		return false;
	if (v->lset >= 0 && (size_t)v->lset < p->nlsets && !same_lset(&p->lsets[v->lset], g))
		return false;
	return true;
}

static bool e_shown(const struct topview *v, const struct sampler_sample *e)
{
	return (v->reason < 0 || state_key(e->state, e->reason) == v->reason) &&
	       (v->lset < 0 || (long)e->lset == v->lset);
}

/* ---- lines ---- */

struct out {
	topview_line_fn fn;
	void *ctx;
	int rows, cols, n;
};

static void line(struct out *o, enum topview_attr a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void line(struct out *o, enum topview_attr a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (o->rows && o->n >= o->rows)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (o->cols > 0 && o->cols < (int)sizeof(buf))
		buf[o->cols] = 0;
	o->fn(o->ctx, a, buf);
	o->n++;
}

static void state_name(const struct topview *v, long key, char *buf, size_t len)
{
	enum gs_state st = key >> 8;

	if (st == GS_WAITING)
		snprintf(buf, len, "%s", sampler__reason_name(v->s, key & 0xff));
	else
		snprintf(buf, len, "%s", gs_state_name(st));
}

static void lset_name(const struct sampler_lset *ls, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	if (!ls->n)
		snprintf(buf, len, "(no labels)");
	for (int i = 0; i < ls->n && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%s=%s", i ? " " : "", ls->labels[i].key,
			       ls->labels[i].value);
}

/* The first frame that is not the runtime's: where the program blocked. */
static const struct gt_frame *blocking_frame(struct topview *v, const struct sampler_stack *k)
{
	const struct gt_frame *first = NULL;

	for (int i = 0; i < k->n; i++) {
		const struct gt_frame *fr;
		int m = symcache__frames(v->sc, k->pcs[i], &fr);

		for (int j = 0; j < m; j++) {
			if (!first)
				first = &fr[j];
			if (strncmp(fr[j].func, "runtime.", 8) && strncmp(fr[j].func, "internal/", 9) &&
			    strncmp(fr[j].func, "sync.", 5) && strncmp(fr[j].func, "time.Sleep", 10) &&
			    strncmp(fr[j].func, "syscall.", 8))
				return &fr[j];
		}
	}
	return first;
}

struct agg {
	long key;	 /* state key */
	uint32_t stack;
	uint64_t ns;	 /* sampled wait (offcpu) or wall */
	uint64_t now;	 /* goroutines at the last pass */
};

static int cmp_agg_ns(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;

	return x->ns != y->ns ? (x->ns < y->ns ? 1 : -1) : (x->now < y->now) - (x->now > y->now);
}

static int cmp_agg_now(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;

	return x->now != y->now ? (x->now < y->now ? 1 : -1) : (x->ns < y->ns) - (x->ns > y->ns);
}

/* Adds to the row of (key, stack) in a[0..*n): linear, the lists are short. */
static void add_agg(struct agg *a, size_t *n, size_t cap, long key, uint32_t stack, uint64_t ns,
		    uint64_t now)
{
	size_t i;

	for (i = 0; i < *n && (a[i].key != key || a[i].stack != stack); i++)
		;
	if (i == *n) {
		if (*n == cap)
			return;
		a[(*n)++] = (struct agg){ key, stack, 0, 0 };
	}
	a[i].ns += ns;
	a[i].now += now;
}

static void header(struct topview *v, struct out *o)
{
	const struct gt_target *t = sampler__target(v->s);
	const struct sampler_profile *p = sampler__profile(v->s);
	int old = v->nhist >= 10 ? (v->hpos - 10 + HIST) % HIST : (v->hpos - v->nhist + HIST) % HIST;
	int cur = (v->hpos - 1 + HIST) % HIST;
	double dt = v->nhist > 1 ? (v->hist_t[cur] - v->hist_t[old]) / 1e9 : 0;
	double rate = dt > 0 ? ((double)v->hist[cur] - (double)v->hist[old]) / dt : 0;
	char buf[256] = "", lb[256];

	line(o, TV_TITLE, "gtrace top - pid %d (%s, %s) - %zu goroutines, growth %+.1f/s (last %.0f s), "
			  "%+ld since start", t->pid, t->exe_name, t->ver.str, v->last.counted, rate, dt,
	     (long)v->last.counted - (long)v->first_count);
	line(o, TV_DIM, "sampling %g Hz, no probes; pass %.1f ms, %.0f us CPU per 1000 goroutines; "
			"%" PRIu64 " passes over %.0f s; keys: q quit, s sort, w reason, l label, "
			"c clear, j/k select, e expand, r reset",
	     v->hz, v->last.wall_ns / 1e6,
	     v->last.goroutines ? v->last.cpu_ns / 1e3 / (v->last.goroutines / 1000.0) : 0,
	     p->passes, (p->end_mono - p->start_mono) / 1e9);
	if (v->reason >= 0)
		state_name(v, v->reason, buf, sizeof(buf));
	if (v->lset >= 0 && (size_t)v->lset < p->nlsets)
		lset_name(&p->lsets[v->lset], lb, sizeof(lb));
	if (v->reason >= 0 || v->lset >= 0)
		line(o, TV_NORMAL, "filter:%s%s%s%s", v->reason >= 0 ? " state=" : "", buf,
		     v->lset >= 0 ? " labels " : "", v->lset >= 0 ? lb : "");
}

static void states(struct topview *v, struct out *o)
{
	const struct gt_snapshot *sn = sampler__last(v->s);
	const struct sampler_profile *p = sampler__profile(v->s);
	struct agg a[512];
	size_t n = 0;
	uint64_t tot = 0, totnow = 0;
	char name[128];

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct sampler_sample *e = &p->samples[i];

		if (e_shown(v, e)) {
			add_agg(a, &n, 512, state_key(e->state, e->reason), 0, e->wall_ns, 0);
			tot += e->wall_ns;
		}
	}
	for (size_t i = 0; sn && i < sn->n; i++) {
		const struct gt_goroutine *g = &sn->g[i];

		if (!g_shown(v, g))
			continue;
		add_agg(a, &n, 512, state_key(sampler__state(g->status), g->reason), 0, 0, 1);
		totnow++;
	}
	qsort(a, n, sizeof(*a), cmp_agg_now);
	line(o, TV_NORMAL, "%s", "");
	line(o, TV_HEADER, "%-28s %10s %8s %12s", "STATE / WAIT REASON", "GOROUTINES", "NOW %",
	     "SAMPLED WALL");
	for (size_t i = 0; i < n; i++) {
		state_name(v, a[i].key, name, sizeof(name));
		line(o, TV_NORMAL, "%-28s %10" PRIu64 " %7.1f%% %11.1f%%", name, a[i].now,
		     totnow ? 100.0 * a[i].now / totnow : 0, tot ? 100.0 * a[i].ns / tot : 0);
	}
}

static void blocking(struct topview *v, struct out *o, int room)
{
	const struct sampler_profile *p = sampler__profile(v->s);
	static struct agg a[ROWS_MAX];
	size_t n = 0;
	uint64_t tot = 0;
	char name[128];

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct sampler_sample *e = &p->samples[i];

		if (!e->offcpu_ns || !e_shown(v, e))
			continue;
		add_agg(a, &n, ROWS_MAX, state_key(e->state, e->reason), e->stack, e->offcpu_ns,
			e->last_pass == p->passes ? e->last_count : 0);
		tot += e->offcpu_ns;
	}
	qsort(a, n, sizeof(*a), v->by_count ? cmp_agg_now : cmp_agg_ns);
	if (v->sel >= (int)n)
		v->sel = n ? n - 1 : 0;
	line(o, TV_NORMAL, "%s", "");
	line(o, TV_HEADER, "%-10s %7s %6s  %-22s %s (sorted by %s)", "WAITED", "SHARE", "NOW",
	     "WAIT REASON", "TOP BLOCKING FUNCTIONS", v->by_count ? "goroutines now" : "sampled wait time");
	for (int i = 0; i < (int)n && i < room; i++) {
		const struct sampler_stack *k = &p->stacks[a[i].stack];
		const struct gt_frame *f = blocking_frame(v, k);

		state_name(v, a[i].key, name, sizeof(name));
		line(o, i == v->sel ? TV_SELECTED : TV_NORMAL, "%9.1fs %6.1f%% %6" PRIu64 "  %-22s %s %s:%d",
		     a[i].ns / 1e9, tot ? 100.0 * a[i].ns / tot : 0, a[i].now, name,
		     f ? f->func : "?", f ? f->file : "?", f ? f->line : 0);
		if (i == v->sel && v->expanded) {
			for (int j = 0; j < k->n; j++) {
				const struct gt_frame *fr;
				int m = symcache__frames(v->sc, k->pcs[j], &fr);

				for (int l = 0; l < m; l++)
					line(o, TV_DIM, "              %s %s:%d", fr[l].func, fr[l].file,
					     fr[l].line);
			}
		}
	}
}

struct site {
	uint64_t gopc;
	uint64_t first; /* oldest first sight */
	uint64_t n;
};

static int cmp_site(const void *a, const void *b)
{
	const struct site *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (x->n < y->n) - (x->n > y->n);
}

static void suspects(struct topview *v, struct out *o, int room)
{
	const struct gt_snapshot *sn = sampler__last(v->s);
	static struct site a[ROWS_MAX];
	size_t n = 0;
	uint64_t now = clock__mono_ns();
	char site[512];

	for (size_t i = 0; sn && i < sn->n; i++) {
		const struct gt_goroutine *g = &sn->g[i];
		uint64_t first = (uintptr_t)u64map__get(&v->first_seen, g->goid);
		size_t j;

		if (!g_shown(v, g) || !first)
			continue;
		for (j = 0; j < n && a[j].gopc != g->gopc; j++)
			;
		if (j == n) {
			if (n == ROWS_MAX)
				continue;
			a[n++] = (struct site){ g->gopc, first, 0 };
		}
		a[j].n++;
		if (first < a[j].first)
			a[j].first = first;
	}
	qsort(a, n, sizeof(*a), cmp_site);
	line(o, TV_NORMAL, "%s", "");
	line(o, TV_HEADER, "%-10s %10s  %s", "ALIVE", "GOROUTINES",
	     "CREATED BY (longest-alive first: leak suspects; ages since gtrace first saw them)");
	for (int i = 0; i < (int)n && i < room; i++) {
		profexp__site(v->sc, a[i].gopc, site, sizeof(site));
		line(o, TV_NORMAL, "%s%8.0fs %10" PRIu64 "  %s", a[i].first <= v->t0 + 2000000000ull ? ">" : " ",
		     (now - a[i].first) / 1e9, a[i].n, site);
	}
}

static void labels(struct topview *v, struct out *o, int room)
{
	const struct sampler_profile *p = sampler__profile(v->s);
	static struct agg a[ROWS_MAX];
	size_t n = 0;
	uint64_t tot = 0, totnow = 0;
	char name[512];

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct sampler_sample *e = &p->samples[i];
		uint64_t now = e->last_pass == p->passes ? e->last_count : 0;

		if (!e_shown(v, e))
			continue;
		add_agg(a, &n, ROWS_MAX, e->lset, 0, e->wall_ns, now);
		tot += e->wall_ns;
		totnow += now;
	}
	qsort(a, n, sizeof(*a), cmp_agg_ns);
	line(o, TV_NORMAL, "%s", "");
	line(o, TV_HEADER, "%12s %10s  %s", "WALL SHARE", "GOROUTINES", "LABEL SET");
	for (int i = 0; i < (int)n && i < room; i++) {
		lset_name(&p->lsets[a[i].key], name, sizeof(name));
		line(o, TV_NORMAL, "%11.1f%% %10" PRIu64 "  %s", tot ? 100.0 * a[i].ns / tot : 0,
		     a[i].now, name);
	}
	(void)totnow;
}

void topview__draw(struct topview *v, int rows, int cols, topview_line_fn fn, void *ctx)
{
	struct out o = { fn, ctx, rows, cols, 0 };
	int room = rows ? (rows - 20) / 3 : 15;

	if (room < 3)
		room = 3;
	header(v, &o);
	states(v, &o);
	blocking(v, &o, room + 2);
	suspects(v, &o, room);
	labels(v, &o, room);
}

/* The n-th distinct key after cur among the sample keys, by wall; -1 after the last. */
static long next_key(struct topview *v, long cur, bool lsets)
{
	const struct sampler_profile *p = sampler__profile(v->s);
	static struct agg a[ROWS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct sampler_sample *e = &p->samples[i];

		add_agg(a, &n, ROWS_MAX, lsets ? (long)e->lset : state_key(e->state, e->reason), 0,
			e->wall_ns, 0);
	}
	qsort(a, n, sizeof(*a), cmp_agg_ns);
	for (size_t i = 0; i < n; i++)
		if (a[i].key == cur)
			return i + 1 < n ? a[i + 1].key : -1;
	return n ? a[0].key : -1;
}

bool topview__key(struct topview *v, int key)
{
	switch (key) {
	case 'q': case 'Q': return false;
	case 's': v->by_count = !v->by_count; v->sel = 0; break;
	case 'w': v->reason = next_key(v, v->reason, false); v->sel = 0; break;
	case 'l': v->lset = next_key(v, v->lset, true); v->sel = 0; break;
	case 'c': v->reason = v->lset = -1; v->sel = 0; break;
	case 'j': case KEY_DOWN: v->sel++; break;
	case 'k': case KEY_UP: if (v->sel > 0) v->sel--; break;
	case 'e': case '\n': case KEY_ENTER: v->expanded = !v->expanded; break;
	case 'r': sampler__reset(v->s); break;
	default: break;
	}
	return true;
}

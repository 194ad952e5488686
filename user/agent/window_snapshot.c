// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Window profiles from repeated goroutine snapshots (live/goroutines.h, the
 * reader behind `gtrace snapshot`): no probe, nothing in the target, only
 * process_vm_readv.  Each read weighs every goroutine by the time since the
 * previous read, so the sampled profiles are time profiles:
 *   wall       every goroutine, whatever its state
 *   offcpu     waiting and in-syscall goroutines (state, wait_reason labels)
 *   runnable   goroutines queued for a P (scheduling latency, sampled)
 *   goroutines the last read of the window, one count per goroutine
 * Runtime goroutines are left out, as Go's own goroutine profile does.  The
 * rate follows the budget: the agent's CPU for a process's reads is kept
 * under --budget of that process's own CPU, never below min_hz.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/debug.h"
#include "lib/u64map.h"
#include "live/goroutine.h"
#include "live/greader.h"
#include "export/pprof_builder.h"
#include "agent/window_profiles.h"

#define MAX_INLINE 16
#define MAX_LABELS 32

enum { K_WALL, K_OFFCPU, K_RUNNABLE, K_GOROUTINES, K_N };

static const struct kind {
	const char *name, *type, *unit, *period_type;
} kinds[K_N] = {
	[K_WALL] = { "wall", "wall", "nanoseconds", "wall" },
	[K_OFFCPU] = { "offcpu", "delay", "nanoseconds", "wall" },
	[K_RUNNABLE] = { "runnable", "delay", "nanoseconds", "wall" },
	[K_GOROUTINES] = { "goroutines", "goroutine", "count", "goroutine" },
};

/* One aggregated sample: a stack and label set, summed over reads. */
struct agg_sample {
	struct agg_sample *next; /* same hash */
	struct agg_sample *all;	 /* every sample, for writing */
	int nlocs, nlab;
	uint64_t *locs;
	struct pprof_label lab[MAX_LABELS];
	int64_t v[2];
};

struct agg {
	struct pprof_builder *b;
	struct u64map by_hash;
	struct agg_sample *all;
	uint64_t n;
};

struct wprof {
	struct gt_target *t;
	struct gt_greader *r;
	struct wprof_opts o;
	double hz;
	struct agg agg[K_N];
	struct gt_snapshot last; /* kept for the goroutines profile */
	bool have_last;
	uint64_t next_due, prev_read; /* CLOCK_MONOTONIC */
	struct wprof_stats st;
	uint64_t target_cpu0;	      /* target utime+stime at window start, ns */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* utime + stime of pid in ns, 0 when unreadable. */
static uint64_t process_cpu_ns(pid_t pid)
{
	unsigned long long ut = 0, stime = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after "comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &stime) != 2)
		return 0;
	return (ut + stime) * (1000000000ull / sysconf(_SC_CLK_TCK));
}

static int agg_init(struct agg *a, const struct kind *k, const struct gt_target *t)
{
	memset(a, 0, sizeof(*a));
	a->b = pprof_builder__new();
	if (!a->b)
		return -ENOMEM;
	if (strcmp(k->type, "goroutine"))
		pprof_builder__sample_type(a->b, "samples", "count");
	pprof_builder__sample_type(a->b, k->type, k->unit);
	pprof_builder__default_type(a->b, k->type);
	pprof_builder__mapping(a->b, 0, 0, t->exe_name,
			       t->elf.go_build_id[0] ? t->elf.go_build_id : t->elf.gnu_build_id);
	return 0;
}

static void agg_free(struct agg *a)
{
	for (struct agg_sample *s = a->all, *n; s; s = n) {
		n = s->all;
		for (int i = 0; i < s->nlab; i++) {
			free((char *)s->lab[i].key);
			free((char *)s->lab[i].value);
		}
		free(s->locs);
		free(s);
	}
	u64map__free(&a->by_hash);
	pprof_builder__free(a->b);
	memset(a, 0, sizeof(*a));
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

static bool same(const struct agg_sample *s, const uint64_t *locs, int nlocs,
		 const struct pprof_label *lab, int nlab)
{
	if (s->nlocs != nlocs || s->nlab != nlab || memcmp(s->locs, locs, nlocs * sizeof(*locs)))
		return false;
	for (int i = 0; i < nlab; i++)
		if (strcmp(s->lab[i].key, lab[i].key) || strcmp(s->lab[i].value, lab[i].value))
			return false;
	return true;
}

/* Adds values to the sample of (locs, labels), creating it on first use. */
static int agg_add(struct agg *a, const uint64_t *locs, int nlocs, const struct pprof_label *lab,
		   int nlab, int64_t v0, int64_t v1)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, locs, nlocs * sizeof(*locs));
	struct agg_sample *head, *s;

	for (int i = 0; i < nlab; i++) {
		h = fnv(h, lab[i].key, strlen(lab[i].key) + 1);
		h = fnv(h, lab[i].value, strlen(lab[i].value) + 1);
	}
	h = h ? h : 1;
	head = u64map__get(&a->by_hash, h);
	for (s = head; s; s = s->next)
		if (same(s, locs, nlocs, lab, nlab))
			break;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || !(s->locs = malloc((nlocs ? nlocs : 1) * sizeof(*locs)))) {
			free(s);
			return -ENOMEM;
		}
		memcpy(s->locs, locs, nlocs * sizeof(*locs));
		s->nlocs = nlocs;
		for (int i = 0; i < nlab; i++) {
			s->lab[i].key = strdup(lab[i].key);
			s->lab[i].value = strdup(lab[i].value);
		}
		s->nlab = nlab;
		s->next = head;
		s->all = a->all;
		a->all = s;
		if (u64map__put(&a->by_hash, h, s))
			return -ENOMEM;
	}
	s->v[0] += v0;
	s->v[1] += v1;
	a->n++;
	return 0;
}

/* Location ids of g's stack in a's builder, leaf first; a pseudo frame when unreadable. */
static int stack_locs(struct wprof *w, struct agg *a, const struct gt_goroutine *g,
		      uint64_t *locs)
{
	struct gt_frame fr[MAX_INLINE];
	int n = 0;

	if (g->flags & GT_G_NO_STACK)
		locs[n++] = pprof_builder__pseudo(a->b, g->status == GT_G_RUNNING ?
								"[running: stack not readable from outside]" :
								"[stack not readable from outside]");
	for (int i = 0; i < g->nframes && n < GT_G_MAX_FRAMES; i++) {
		uint64_t id = pprof_builder__find(a->b, g->pcs[i]);

		if (!id) {
			/* a return address: the call is the instruction before it */
			int k = pclntab__frames(w->t->pcln, g->pcs[i] - 1, fr, MAX_INLINE);

			id = pprof_builder__location(a->b, g->pcs[i], fr, k);
		}
		locs[n++] = id;
	}
	if (!n)
		locs[n++] = pprof_builder__pseudo(a->b, "[no stack]");
	return n;
}

static int labels_of(const struct gt_target *t, const struct gt_goroutine *g, int kind,
		     struct pprof_label *lab)
{
	int n = 0;

	if (kind == K_WALL || kind == K_OFFCPU)
		lab[n++] = (struct pprof_label){ "state", goroutine__status_name(g->status) };
	if (kind == K_OFFCPU && g->status == GT_G_WAITING)
		lab[n++] = (struct pprof_label){ "wait_reason", goroutine__state(t, g) };
	for (int i = 0; i < g->nlabels && n < MAX_LABELS; i++)
		lab[n++] = (struct pprof_label){ g->labels[i].key, g->labels[i].value };
	return n;
}

static int add_g(struct wprof *w, int kind, const struct gt_goroutine *g, int64_t v0, int64_t v1)
{
	static uint64_t locs[GT_G_MAX_FRAMES + 2];
	struct pprof_label lab[MAX_LABELS];
	struct agg *a = &w->agg[kind];
	int nl = labels_of(w->t, g, kind, lab), n = stack_locs(w, a, g, locs);

	return agg_add(a, locs, n, lab, nl, v0, v1);
}

int wprof__open(struct wprof **out, struct gt_target *t, const struct wprof_opts *o)
{
	struct wprof *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->t = t;
	w->o = *o;
	w->hz = o->hz > 0 ? o->hz : 10;
	err = greader__open(&w->r, t);
	for (int k = 0; !err && k < K_N; k++)
		err = agg_init(&w->agg[k], &kinds[k], t);
	if (err) {
		wprof__close(w);
		return err;
	}
	w->target_cpu0 = process_cpu_ns(t->pid);
	*out = w;
	return 0;
}

static int read_once(struct wprof *w, uint64_t now)
{
	uint64_t c0 = thread_cpu_ns();
	int64_t dt = w->prev_read ? (int64_t)(now - w->prev_read) : (int64_t)(1e9 / w->hz);
	struct gt_snapshot s = { 0 };
	int err = greader__read_all(w->r, &s, NULL);

	if (err && err != -ESRCH) {
		greader__free_snapshot(&s);
		return err;
	}
	w->prev_read = now;
	for (size_t i = 0; i < s.n; i++) {
		const struct gt_goroutine *g = &s.g[i];

		if (g->flags & GT_G_SYSTEM)
			continue;
		add_g(w, K_WALL, g, 1, dt);
		if (g->status == GT_G_WAITING || g->status == GT_G_SYSCALL)
			add_g(w, K_OFFCPU, g, 1, dt);
		else if (g->status == GT_G_RUNNABLE)
			add_g(w, K_RUNNABLE, g, 1, dt);
	}
	w->st.reads++;
	w->st.goroutines += s.n;
	if (w->have_last)
		greader__free_snapshot(&w->last);
	w->last = s;
	w->have_last = true;
	w->st.cost_ns += thread_cpu_ns() - c0;
	return s.target_exited ? -ESRCH : 0;
}

uint64_t wprof__tick(struct wprof *w, uint64_t now, int *err)
{
	*err = 0;
	if (now >= w->next_due) {
		*err = read_once(w, now);
		/* from the previous due time, so the rate holds whatever a read took */
		w->next_due = (w->next_due && now - w->next_due < 1e9 / w->hz ? w->next_due : now) +
			      (uint64_t)(1e9 / w->hz);
	}
	return w->next_due;
}

static int finish(struct wprof *w, int kind, int64_t start_ns, int64_t end_ns,
		  struct agent_profile *p)
{
	struct agg *a = &w->agg[kind];
	char *buf = NULL, c[256];
	size_t len = 0;
	FILE *m;
	int err = 0;

	pprof_builder__time(a->b, start_ns, end_ns - start_ns);
	pprof_builder__period(a->b, kinds[kind].period_type, kinds[kind].unit,
			      kind == K_GOROUTINES ? 1 : (int64_t)(1e9 / w->hz));
	snprintf(c, sizeof(c), "gtrace agent: %s, sampled from goroutine snapshots at %.3g Hz "
		 "(%llu reads), no probes; duty cycle 1", kinds[kind].name, w->hz,
		 (unsigned long long)w->st.reads);
	pprof_builder__comment(a->b, c);
	for (struct agg_sample *s = a->all; s && !err; s = s->all)
		err = pprof_builder__sample(a->b, s->locs, s->nlocs,
					    kind == K_GOROUTINES ? &s->v[1] : s->v, s->lab,
					    s->nlab);
	m = err ? NULL : open_memstream(&buf, &len);
	if (!m)
		return err ? err : -ENOMEM;
	err = pprof_builder__write(a->b, m);
	if (fclose(m) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return err;
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->type, sizeof(p->type), "%s", kinds[kind].name);
	p->pprof = (uint8_t *)buf;
	p->len = len;
	p->start_ns = start_ns;
	p->end_ns = end_ns;
	p->duty = 1;
	p->samples = a->n;
	return 0;
}

/* Next window's rate: the reads' cost kept under the budget share of the target's CPU. */
static void retune(struct wprof *w)
{
	double want;

	if (w->o.budget <= 0 || !w->st.cost_ns)
		return;
	want = w->st.target_ns ? w->hz * w->o.budget * w->st.target_ns / w->st.cost_ns : w->o.min_hz;
	if (want > w->o.hz)
		want = w->o.hz;
	if (want < w->o.min_hz)
		want = w->o.min_hz;
	if (want != w->hz)
		pr_debug("pid %d: sampling %.3g Hz -> %.3g Hz (spent %.3g%% of its CPU)\n", w->t->pid,
			 w->hz, want, w->st.spent * 100);
	w->hz = want;
}

int wprof__cut(struct wprof *w, int64_t start_ns, int64_t end_ns, int final,
	       struct agent_window *out, struct wprof_stats *st)
{
	uint64_t c0 = thread_cpu_ns(), cpu = process_cpu_ns(w->t->pid);
	int err = 0;

	memset(out, 0, sizeof(*out));
	/* the goroutine profile is the state at the window's end: the last read */
	if (w->have_last)
		for (size_t i = 0; i < w->last.n && !err; i++)
			if (!(w->last.g[i].flags & GT_G_SYSTEM))
				err = add_g(w, K_GOROUTINES, &w->last.g[i], 0, 1);
	out->p = calloc(K_N, sizeof(*out->p));
	if (!out->p)
		err = -ENOMEM;
	for (int k = 0; k < K_N && !err; k++) {
		if (k == K_GOROUTINES && !w->have_last)
			continue;
		err = finish(w, k, start_ns, end_ns, &out->p[out->n]);
		if (!err)
			out->n++;
	}
	for (int k = 0; k < K_N; k++) {
		agg_free(&w->agg[k]);
		if (!final && !err)
			err = agg_init(&w->agg[k], &kinds[k], w->t);
	}
	w->st.cost_ns += thread_cpu_ns() - c0;
	w->st.target_ns = cpu > w->target_cpu0 ? cpu - w->target_cpu0 : 0;
	w->st.hz = w->hz;
	w->st.spent = w->st.target_ns ? (double)w->st.cost_ns / w->st.target_ns : 0;
	if (cpu)
		w->target_cpu0 = cpu;
	*st = w->st;
	retune(w);
	memset(&w->st, 0, sizeof(w->st));
	if (err)
		agent_window__free(out);
	return err;
}

void wprof__close(struct wprof *w)
{
	if (!w)
		return;
	for (int k = 0; k < K_N; k++)
		agg_free(&w->agg[k]);
	if (w->have_last)
		greader__free_snapshot(&w->last);
	if (w->r)
		greader__close(w->r);
	free(w);
}

void agent_window__free(struct agent_window *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->p[i].pprof);
	free(w->p);
	memset(w, 0, sizeof(*w));
}

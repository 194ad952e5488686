// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Window profiles from the no-probe goroutine sampler (live/sampler.h, the
 * module behind `gtrace profile`): no probe, nothing in the target, only
 * process_vm_readv, with stacks of goroutines that did not move reused
 * from the previous pass.  Each pass weighs every goroutine by the time
 * since the previous pass.  At a window's end the sampler's aggregation is
 * split into one pprof per type, as Pyroscope wants one profile type per
 * series:
 *   wall       every goroutine, whatever its state (label state)
 *   offcpu     waiting and in-syscall goroutines (state, wait_reason)
 *   runnable   goroutines queued for a P (scheduling latency, sampled)
 *   goroutines the last pass of the window, one count per goroutine
 * Only state, wait_reason and the goroutines' own pprof labels become
 * sample labels: Pyroscope turns string labels into series, so creation
 * sites and goids stay out.  The rate follows the budget: the agent's CPU
 * for a process's passes is kept under --budget of that process's own CPU,
 * never below min_hz.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/sampler.h"
#include "export/pprof_builder.h"
#include "export/symcache.h"
#include "agent/window_profiles.h"

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

struct wprof {
	const struct gt_target *t;
	struct sampler *s;
	struct symcache *sc;
	struct wprof_opts o;
	double hz;
	uint64_t next_due, prev_pass; /* CLOCK_MONOTONIC */
	struct wprof_stats st;
	uint64_t target_cpu0;	      /* target utime+stime at window start, ns */
};

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

int wprof__open(struct wprof **out, struct gt_target *t, const struct wprof_opts *o)
{
	struct wprof *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->t = t;
	w->o = *o;
	w->hz = o->hz > 0 ? o->hz : 10;
	err = sampler__open_target(&w->s, t, NULL);
	if (!err && !(w->sc = symcache__new(t)))
		err = -ENOMEM;
	if (err) {
		wprof__close(w);
		return err;
	}
	w->target_cpu0 = process_cpu_ns(t->pid);
	*out = w;
	return 0;
}

uint64_t wprof__tick(struct wprof *w, uint64_t now, int *err)
{
	struct sampler_pass_stats ps;
	uint64_t c0, weight;

	*err = 0;
	if (now < w->next_due)
		return w->next_due;
	c0 = clock__thread_cpu_ns();
	weight = w->prev_pass ? now - w->prev_pass : (uint64_t)(1e9 / w->hz);
	*err = sampler__pass(w->s, weight, NULL, &ps);
	w->prev_pass = now;
	if (!*err) {
		w->st.reads++;
		w->st.goroutines += ps.goroutines;
	}
	w->st.cost_ns += clock__thread_cpu_ns() - c0;
	/* from the previous due time, so the rate holds whatever a pass took */
	w->next_due = (w->next_due && now - w->next_due < 1e9 / w->hz ? w->next_due : now) +
		      (uint64_t)(1e9 / w->hz);
	return w->next_due;
}

static struct pprof_builder *new_builder(const struct wprof *w, int kind, int64_t start_ns,
					 int64_t end_ns, uint64_t passes)
{
	const struct kind *k = &kinds[kind];
	struct pprof_builder *b = pprof_builder__new();
	char c[256];

	if (!b)
		return NULL;
	if (kind != K_GOROUTINES)
		pprof_builder__sample_type(b, "samples", "count");
	pprof_builder__sample_type(b, k->type, k->unit);
	pprof_builder__default_type(b, k->type);
	pprof_builder__period(b, k->period_type, k->unit,
			      kind == K_GOROUTINES ? 1 : (int64_t)(1e9 / w->hz));
	pprof_builder__time(b, start_ns, end_ns - start_ns);
	pprof_builder__mapping(b, 0, 0, w->t->exe_name,
			       w->t->elf.go_build_id[0] ? w->t->elf.go_build_id : w->t->elf.gnu_build_id);
	snprintf(c, sizeof(c), "gtrace agent: %s, sampled from goroutine passes at %.3g Hz "
		 "(%llu passes), no probes; duty cycle 1", k->name, w->hz, (unsigned long long)passes);
	pprof_builder__comment(b, c);
	return b;
}

static int add_sample(struct wprof *w, struct pprof_builder *b, int kind,
		      const struct sampler_profile *p, const struct sampler_sample *e)
{
	static uint64_t locs[GT_G_MAX_FRAMES * 4 + 2];
	const struct sampler_stack *k = &p->stacks[e->stack];
	const struct sampler_lset *ls = &p->lsets[e->lset];
	struct pprof_label lab[MAX_LABELS];
	int64_t v[2];
	int n = 0, nl = 0;

	switch (kind) {
	case K_WALL: v[0] = e->seen; v[1] = e->wall_ns; break;
	case K_OFFCPU: v[0] = e->seen; v[1] = e->offcpu_ns; break;
	case K_RUNNABLE: v[0] = e->seen; v[1] = e->runnable_ns; break;
	default: v[0] = e->last_count; break;
	}
	if (k->flags & SAMPLER_START_ONLY)
		locs[n++] = pprof_builder__pseudo(b, e->state == GS_RUNNING ?
							     "[running: stack not readable from outside]" :
							     "[no stack]");
	for (int i = 0; i < k->n && n < (int)(sizeof(locs) / sizeof(*locs)); i++) {
		uint64_t id = pprof_builder__find(b, k->pcs[i]);
		const struct gt_frame *fr;

		if (!id) {
			int m = symcache__frames(w->sc, k->pcs[i], &fr);

			id = pprof_builder__location(b, k->pcs[i], fr, m);
		}
		locs[n++] = id;
	}
	if (kind == K_WALL || kind == K_OFFCPU)
		lab[nl++] = (struct pprof_label){ .key = "state", .value = gs_state_name(e->state) };
	if (kind == K_OFFCPU && e->state == GS_WAITING)
		lab[nl++] = (struct pprof_label){ .key = "wait_reason",
						  .value = sampler__reason_name(w->s, e->reason) };
	for (int i = 0; i < ls->n && nl < MAX_LABELS; i++)
		if (*ls->labels[i].value)
			lab[nl++] = (struct pprof_label){ .key = ls->labels[i].key,
							  .value = ls->labels[i].value };
	return pprof_builder__sample(b, locs, n, v, lab, nl);
}

static int finish(struct pprof_builder *b, int kind, int64_t start_ns, int64_t end_ns,
		  uint64_t nsamples, struct agent_profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int err;

	if (!m)
		return -ENOMEM;
	err = pprof_builder__write(b, m);
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
	p->samples = nsamples;
	return 0;
}

/* Next window's rate: the passes' cost kept under the budget share of the target's CPU. */
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
	uint64_t c0 = clock__thread_cpu_ns(), cpu = process_cpu_ns(w->t->pid);
	const struct sampler_profile *p = sampler__profile(w->s);
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->p = calloc(K_N, sizeof(*out->p));
	if (!out->p)
		err = -ENOMEM;
	for (int kind = 0; kind < K_N && !err; kind++) {
		struct pprof_builder *b;
		uint64_t n = 0;

		if (kind == K_GOROUTINES && !p->passes)
			continue;
		b = new_builder(w, kind, start_ns, end_ns, p->passes);
		if (!b) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < p->nsamples && !err; i++) {
			const struct sampler_sample *e = &p->samples[i];
			bool in = kind == K_WALL ? e->wall_ns > 0 :
				  kind == K_OFFCPU ? e->offcpu_ns > 0 :
				  kind == K_RUNNABLE ? e->runnable_ns > 0 :
				  e->last_pass == p->passes && e->last_count;

			if (in) {
				err = add_sample(w, b, kind, p, e);
				n++;
			}
		}
		if (!err)
			err = finish(b, kind, start_ns, end_ns, n, &out->p[out->n]);
		if (!err)
			out->n++;
		pprof_builder__free(b);
	}
	sampler__reset(w->s);
	w->st.cost_ns += clock__thread_cpu_ns() - c0;
	w->st.target_ns = cpu > w->target_cpu0 ? cpu - w->target_cpu0 : 0;
	w->st.hz = w->hz;
	w->st.spent = w->st.target_ns ? (double)w->st.cost_ns / w->st.target_ns : 0;
	if (cpu)
		w->target_cpu0 = cpu;
	*st = w->st;
	if (!final)
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
	if (w->s)
		sampler__close(w->s);
	if (w->sc)
		symcache__free(w->sc);
	free(w);
}

void agent_window__free(struct agent_window *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->p[i].pprof);
	free(w->p);
	memset(w, 0, sizeof(*w));
}

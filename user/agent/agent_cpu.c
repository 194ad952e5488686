// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's cpu profile: one host-wide CPU sampler (live/cpu_sampler.h,
 * one perf event per CPU and a BPF filter on the targets map, no uprobe)
 * for every profiled process, its ring buffer drained in the agent's loop,
 * records routed by tgid to that process's rows (export/cpu_profile.h),
 * and at each window's cut one pprof per process with Go's own CPU
 * profile's sample types (samples/count, cpu/nanoseconds).  Label sets are
 * content-hashed and sent once for all targets, so they live in one shared
 * store; stacks (ids seeded by the tgid) live per process.  Sample labels
 * are the rows' code (go, runtime, cgo), the goroutine's pprof labels and
 * its goid as a number (one row per sample at most, so it cannot outgrow
 * the samples); host and zone are series labels, not repeated here.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "lib/debug.h"
#include "export/cpu_profile.h"
#include "export/pprof_builder.h"
#include "export/symcache.h"
#include "agent/agent_priv.h"
#include "live/sample_cost.h"

/* Sampler records: definitions carry their tgid in h.pad2, samples in tgid. */
static int on_record(void *ctx, const void *data, size_t len)
{
	struct agent *a = ctx;
	const struct gt_event_hdr *h = data;
	struct proc *p;
	pid_t pid;

	if (len < sizeof(*h))
		return 0;
	if (h->type == GT_EV_LABELSET)
		return cpu_profile__record(a->cpu_defs, data, len) == -ENOMEM ? -ENOMEM : 0;
	if (h->type == GT_EV_CPU_SAMPLE && len >= sizeof(struct gt_ev_cpu_sample))
		pid = ((const struct gt_ev_cpu_sample *)data)->tgid;
	else if (h->type == GT_EV_STACK)
		pid = h->pad2;
	else
		return 0;
	/* a process dropped since: its last records have no one to go to */
	p = u64map__get(&a->procs, pid);
	if (!p || !p->cpu)
		return 0;
	return cpu_profile__record(p->cpu, data, len) == -ENOMEM ? -ENOMEM : 0;
}

void cpu__setup(struct agent *a, const struct agent_opts *o)
{
	struct gt_cpu_sampler_opts so = { .hz = o->cpu_hz };
	int ncpus = libbpf_num_possible_cpus();

	if (!o->cpu_hz)
		return;
	/*
	 * The ring buffer is resident twice (the kernel maps its data pages
	 * twice): 4 MB would be 8 MB of the agent's RSS on any host.  A sample
	 * is at most ~1 KB and the loop drains at an eighth full; 64 KB per CPU
	 * at 99 Hz is over 0.5 s of samples, from 1 MB (2-core hosts) up.
	 */
	so.buffer_bytes = 1 << 20;
	while (so.buffer_bytes < (uint64_t)(ncpus > 0 ? ncpus : 1) * (64 << 10) &&
	       so.buffer_bytes < (64u << 20))
		so.buffer_bytes <<= 1;
	a->cpu_defs = cpu_profile__new();
	if (!a->cpu_defs || cpu_sampler__open(&a->cpu, &so, on_record, a)) {
		pr_warn("gtrace: agent: no cpu profiles: the CPU sampler cannot be opened\n");
		cpu_profile__free(a->cpu_defs);
		a->cpu_defs = NULL;
		a->cpu = NULL;
		return;
	}
	cpu_sampler__enable(a->cpu, true);
	if (sample_cost__measure(&a->sample_ns)) {
		/* the program's own time is still charged; the interrupt is then taken as 2 us */
		pr_warn("gtrace: agent: cannot measure a sample interrupt here; taking 2 us\n");
		a->sample_ns = 2000;
	}
	pr_debug("agent: CPU sampler at %u Hz on %d CPUs, %.0f ns a sample's interrupt\n",
		 o->cpu_hz, cpu_sampler__ncpus(a->cpu), a->sample_ns);
}

void cpu__add(struct agent *a, struct proc *p)
{
	if (!a->cpu)
		return;
	p->cpu = cpu_profile__new();
	p->cpu_sc = p->cpu ? symcache__new(&p->t) : NULL;
	if (!p->cpu_sc || cpu_sampler__add_target(a->cpu, &p->t)) {
		pr_warn("pid %d (%s): no cpu profile: cannot add it to the CPU sampler\n", p->pid,
			p->id.service);
		cpu__remove(a, p);
		return;
	}
	cpu_profile__share_labelsets(p->cpu, a->cpu_defs);
}

uint64_t cpu__charge(struct agent *a, struct proc *p)
{
	uint64_t n, ns, cost;

	if (!a->cpu || !p->cpu || cpu_sampler__target_cost(a->cpu, p->pid, &n, &ns))
		return 0;
	if (n < p->cpu_samples0 || ns < p->cpu_prog0) /* added again: its counters started over */
		p->cpu_samples0 = p->cpu_prog0 = 0;
	cost = ns - p->cpu_prog0 + (uint64_t)((n - p->cpu_samples0) * a->sample_ns);
	p->cpu_win_samples += n - p->cpu_samples0;
	p->cpu_win_prog_ns += ns - p->cpu_prog0;
	p->cpu_samples0 = n;
	p->cpu_prog0 = ns;
	p->cpu_cost_ns += cost;
	return cost;
}

void cpu__remove(struct agent *a, struct proc *p)
{
	if (a->cpu && p->cpu)
		cpu_sampler__remove_target(a->cpu, p->pid);
	cpu_profile__free(p->cpu);
	symcache__free(p->cpu_sc);
	p->cpu = NULL;
	p->cpu_sc = NULL;
}

void cpu__drain(struct agent *a)
{
	int n;

	if (a->cpu && (n = cpu_sampler__poll(a->cpu, 0)) < 0 && n != -ENOMEM)
		pr_debug("agent: CPU sampler poll: %s\n", strerror(-n));
}

int cpu__fd(const struct agent *a)
{
	return a->cpu ? cpu_sampler__fd(a->cpu) : -1;
}

/* The rows of [start, end) as a gzipped pprof in *out. */
static int build(struct agent *a, struct proc *p, int64_t start, int64_t end,
		 struct agent_profile *out)
{
	uint64_t period = cpu_sampler__period_ns(a->cpu);
	struct pprof_builder *b = pprof_builder__new();
	char c[256], *buf = NULL;
	size_t len = 0;
	FILE *m;
	int err;

	if (!b)
		return -ENOMEM;
	/* Go's own CPU profile: samples/count, cpu/nanoseconds, period cpu/nanoseconds */
	pprof_builder__sample_type(b, "samples", "count");
	pprof_builder__sample_type(b, "cpu", "nanoseconds");
	pprof_builder__default_type(b, "cpu");
	pprof_builder__period(b, "cpu", "nanoseconds", (int64_t)period);
	pprof_builder__time(b, start, end - start);
	pprof_builder__mapping(b, 0, 0, p->t.exe_name,
			       p->t.elf.go_build_id[0] ? p->t.elf.go_build_id : p->t.elf.gnu_build_id);
	snprintf(c, sizeof(c), "gtrace agent: cpu, sampled on CPU time at %u Hz per CPU "
		 "(perf_event + BPF, no uprobe, %llu samples); duty cycle 1", a->o->cpu_hz,
		 (unsigned long long)cpu_profile__samples(p->cpu));
	pprof_builder__comment(b, c);
	err = cpu_profile__pprof_rows(p->cpu, b, p->cpu_sc, 2, 1, 0, NULL, NULL);
	if (!err) {
		if (!(m = open_memstream(&buf, &len))) {
			err = -ENOMEM;
		} else {
			err = pprof_builder__write(b, m);
			if (fclose(m) && !err)
				err = -EIO;
		}
	}
	pprof_builder__free(b);
	if (err) {
		free(buf);
		return err;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->type, sizeof(out->type), "cpu");
	out->pprof = (uint8_t *)buf;
	out->len = len;
	out->start_ns = start;
	out->end_ns = end;
	out->duty = 1;
	out->samples = cpu_profile__samples(p->cpu);
	return 0;
}

void cpu__cut(struct agent *a, struct proc *p, int64_t start, int64_t end, struct agent_window *w)
{
	struct agent_profile *np;
	int err;

	if (!a->cpu || !p->cpu)
		return;
	cpu__drain(a); /* what the kernel holds of this window */
	cpu__charge(a, p);
	p->cpu_last_spent = p->last.target_ns ? (double)p->cpu_cost_ns / p->last.target_ns : 0;
	if (p->cpu_win_samples)
		pr_debug("pid %d: cpu sampler: %llu samples, program %.0f ns + interrupt %.0f ns a sample, "
			 "%.4f%% of its CPU\n", p->pid, (unsigned long long)p->cpu_win_samples,
			 (double)p->cpu_win_prog_ns / p->cpu_win_samples, a->sample_ns,
			 p->cpu_last_spent * 100);
	p->cpu_cost_ns = p->cpu_win_samples = p->cpu_win_prog_ns = 0;
	np = realloc(w->p, (w->n + 1) * sizeof(*w->p));
	if (!np) {
		err = -ENOMEM;
	} else {
		w->p = np;
		err = build(a, p, start, end, &w->p[w->n]);
		if (!err)
			w->n++;
	}
	if (err)
		pr_debug("pid %d: no cpu profile this window: %s\n", p->pid, strerror(-err));
	a->cpu_samples += cpu_profile__samples(p->cpu);
	cpu_profile__reset(p->cpu);
}

void cpu__close(struct agent *a)
{
	cpu_sampler__close(a->cpu);
	cpu_profile__free(a->cpu_defs);
	a->cpu = NULL;
	a->cpu_defs = NULL;
}

void cpu__render(struct agent *a, FILE *f)
{
	uint64_t produced, lost;

	if (!a->cpu)
		return;
	cpu_sampler__counters(a->cpu, &produced, &lost);
	fprintf(f, "# HELP gtrace_cpu_samples_total On-CPU samples in shipped cpu profiles.\n"
		   "# TYPE gtrace_cpu_samples_total counter\ngtrace_cpu_samples_total %llu\n"
		   "# HELP gtrace_cpu_samples_lost_total On-CPU samples the kernel could not queue.\n"
		   "# TYPE gtrace_cpu_samples_lost_total counter\ngtrace_cpu_samples_lost_total %llu\n"
		   "# HELP gtrace_cpu_hz The CPU sampler's rate, per CPU.\n"
		   "# TYPE gtrace_cpu_hz gauge\ngtrace_cpu_hz %u\n",
		(unsigned long long)a->cpu_samples, (unsigned long long)lost, a->o->cpu_hz);
	fprintf(f, "# HELP gtrace_sample_interrupt_ns One CPU sample's interrupt, measured at start "
		   "(the program's own time is counted per sample).\n"
		   "# TYPE gtrace_sample_interrupt_ns gauge\ngtrace_sample_interrupt_ns %.0f\n"
		   "# HELP gtrace_cpu_sampler_spent_ratio What the CPU sampler cost a process (its "
		   "program on the process's samples + their interrupts) over that process's own CPU, "
		   "last window; part of gtrace_budget_spent_ratio.\n"
		   "# TYPE gtrace_cpu_sampler_spent_ratio gauge\n", a->sample_ns);
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);

		if (p && p->cpu)
			fprintf(f, "gtrace_cpu_sampler_spent_ratio{pid=\"%d\",service=\"%s\"} %.6g\n",
				p->pid, p->id.service, p->cpu_last_spent);
	}
}

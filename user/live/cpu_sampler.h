/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * On-CPU sampling of Go processes (bpf/cpu_sample.bpf.c): one
 * PERF_COUNT_SW_CPU_CLOCK event per CPU at hz samples per second of CPU
 * time, a BPF program that keeps only the threads of the added targets (in
 * the kernel) and records goid, label set, user stack (kernel stack on
 * request) and what the thread ran (Go, runtime system stack, C).  No
 * uprobe is attached.  Records are GT_EV_CPU_SAMPLE plus the STACK and
 * LABELSET definitions they use, in the layout of bpf/gtrace_events.h, PCs
 * link-time (PIE bias removed), exactly like the tracer's.
 *
 * Two ways to use it:
 *  - on its own (`gtrace profile --cpu`, the agent): opts.share = NULL, the
 *    sampler has its own ring buffer; call cpu_sampler__poll and receive
 *    records through fn.  Several targets can be added (one perf event per
 *    CPU serves them all); definitions carry the tgid in h.pad2 and their
 *    ids are per process.
 *  - inside a recording (`record --cpu`): opts.share = the tracer; samples
 *    go into the tracer's ring buffer, loss counters and definition maps,
 *    so tracer__poll delivers them in the same stream and the trailer
 *    accounts for them; fn is not used.
 *
 * Typical use:
 *	cpu_sampler__open(&s, &opts, fn, ctx);
 *	cpu_sampler__add_target(s, &target);
 *	cpu_sampler__enable(s, true);
 *	while (...) cpu_sampler__poll(s, 100);
 *	cpu_sampler__close(s);
 */
#ifndef GTRACE_CPU_SAMPLER_H
#define GTRACE_CPU_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "binary/target.h"
#include "live/tracer.h"

#define GT_CPU_HZ_DEFAULT 99 /* off the kernel's 100/250/1000 Hz ticks, like perf's default */
/*
 * The agent's: always on, on every CPU of the host.  At 99 Hz the sampler
 * cost a saturated net/http server 2-3% of its CPU per request on this VM
 * (each sample a timer interrupt, a BPF stack walk), several times what
 * the agent could account from inside; the eBPF profilers' 19-20 Hz, also
 * off the kernel's ticks, is a fifth of that (docs/agent.md).
 */
#define GT_AGENT_CPU_HZ_DEFAULT 19
#define GT_CPU_HZ_MAX 10000

struct gt_cpu_sampler_opts {
	unsigned hz;		/* samples per second of CPU time, per CPU; 0: GT_CPU_HZ_DEFAULT */
	bool kernel_stacks;	/* also the kernel stack of samples taken in the kernel */
	uint64_t buffer_bytes;	/* own ring buffer (power of two; 0: 4 MiB); unused with share */
	struct gt_tracer *share; /* write into this tracer's ring buffer and maps */
};

struct gt_cpu_sampler;

/* Loads the program and opens the per-CPU events (off until enabled).  0 or -errno (printed). */
int cpu_sampler__open(struct gt_cpu_sampler **out, const struct gt_cpu_sampler_opts *o,
		      gt_record_fn fn, void *ctx);
/*
 * Starts sampling t's threads (t must stay open while added).  A pid added
 * again after cpu_sampler__remove_target gets its definitions sent anew.
 * 0 or -errno (printed).
 */
int cpu_sampler__add_target(struct gt_cpu_sampler *s, const struct gt_target *t);
/* Stops sampling pid (its exit, for the agent). */
void cpu_sampler__remove_target(struct gt_cpu_sampler *s, pid_t pid);
/*
 * The samples the program took in pid's threads since it was added, and
 * its own run time on them (ns; the timer interrupt around it is not in
 * it: sample_cost.h).  0, or -ENOENT when pid is not a target.
 */
int cpu_sampler__target_cost(struct gt_cpu_sampler *s, pid_t pid, uint64_t *samples,
			     uint64_t *prog_ns);
void cpu_sampler__enable(struct gt_cpu_sampler *s, bool on);
/* Own ring buffer only: waits up to timeout_ms, delivers records.  >= 0 records or -errno. */
int cpu_sampler__poll(struct gt_cpu_sampler *s, int timeout_ms);
/* Own ring buffer only: an fd that polls readable when records wait (-1 otherwise). */
int cpu_sampler__fd(const struct gt_cpu_sampler *s);
/* Samples produced and lost since open (all targets). */
void cpu_sampler__counters(struct gt_cpu_sampler *s, uint64_t *produced, uint64_t *lost);
/* CPU time one sample stands for, ns. */
uint64_t cpu_sampler__period_ns(const struct gt_cpu_sampler *s);
/* Per-CPU events opened (offline CPUs are skipped). */
int cpu_sampler__ncpus(const struct gt_cpu_sampler *s);
/* Detaches every event and frees; targets run on untouched. */
void cpu_sampler__close(struct gt_cpu_sampler *s);

#endif

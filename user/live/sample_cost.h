/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What one CPU-clock sample costs the thread it lands on before any BPF
 * program runs: the timer interrupt, perf's overflow path and the return
 * to user space.  The CPU sampler's program times itself per target
 * (cpu_sampler__target_cost); this is the part around it, which no
 * program can see.  Measured on the calling thread: a fixed spin timed
 * with and without a PERF_COUNT_SW_CPU_CLOCK event on that thread alone
 * (no program, no buffer), the difference over the samples it took.
 * Costs the caller about 0.1 s of its own CPU, nothing elsewhere.
 */
#ifndef GTRACE_SAMPLE_COST_H
#define GTRACE_SAMPLE_COST_H

/* ns per sample (the best of a few rounds each way), or -errno when no event could be opened. */
int sample_cost__measure(double *ns_per_sample);

#endif

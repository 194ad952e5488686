/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The BPF side of a recording, as libbpf-tools' loaders do it: open the
 * skeleton, set the target's knobs (offsets, callers, event classes) as
 * rodata, load, attach every probe of the probe plan at the sites the site
 * chooser picked, then hand ring-buffer records to the caller in batches.
 * Nothing here knows the capture format.
 */
#ifndef GTRACE_TRACER_H
#define GTRACE_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binary/target.h"
#include "capture/capture.h" /* gt_record_fn */
#include <linux/types.h>
#include "bpf/gtrace_events.h"

/* Definition records: with only these in events_mask, no probe is attached. */
#define GT_DEFINITION_EVENTS (1u << GT_EV_LABELSET | 1u << GT_EV_STACK)

struct gt_tracer_opts {
	uint32_t events_mask;	/* bit (1 << GT_EV_*) */
	bool stacks;		/* walk stacks at parks */
	uint64_t buffer_bytes;	/* ring buffer size, power of two */
	bool probe_at_entry;	/* put entry probes on the first byte (benchmarks) */
	bool count_only;	/* attach the counting-only program at the same sites (benchmarks) */
	bool per_site_links;	/* one perf link per site, not multi-uprobe links (measuring) */
	bool create_at_ret;	/* <= 1.23: creations at newproc1's RETs, the old way (measuring) */
	/*
	 * Detach without waiting: closing a multi-uprobe link removes the
	 * breakpoints, then waits for the kernel's grace period (30-100 ms on a
	 * loaded VM); a short-lived thread does that wait, not the caller.  For
	 * one loop serving many targets (the agent).
	 */
	bool async_detach;
};

struct gt_tracer;

/* Loads and attaches.  0 or -errno after one line saying what to do. */
int tracer__open(struct gt_tracer **out, struct gt_target *t, const struct gt_tracer_opts *o,
		 gt_record_fn fn, void *ctx);
/*
 * (Re)attaches the whole probe set: with multi-uprobe links (Linux 6.6+) one
 * link per program, else one perf link per site.  tracer__open attaches
 * already; after tracer__detach this puts the probes back (slices).
 */
int tracer__attach(struct gt_tracer *tr);
/* Turns every probe on or off at once (attach and detach take time). */
void tracer__enable(struct gt_tracer *tr, bool on);
/*
 * Waits up to timeout_ms, then delivers what the ring buffer holds.  By
 * default the wait ends only when the programs ask for a wake-up (an eighth
 * of the buffer full) or at the timeout, so records are taken in batches;
 * a prompt tracer (tracer__prompt) returns as soon as any record is there.
 * >= 0 records, or -errno.
 */
int tracer__poll(struct gt_tracer *tr, int timeout_ms);
/*
 * Takes records as they come.  For slices (record --budget, the agent):
 * with batched waits the agent's exact off-CPU profiles came out less
 * accurate per window (exact / sampled 0.54-3.99 against 0.92-1.13 in
 * tests/e2e/agent.sh runs); why is not found yet (docs/performance.md).
 */
void tracer__prompt(struct gt_tracer *tr, bool on);
/*
 * An fd that polls readable whenever the ring buffer holds a record, for a
 * caller that polls it among other fds (the agent) and drains with
 * tracer__poll(tr, 0); make such a tracer prompt.
 */
int tracer__wake_fd(struct gt_tracer *tr);
/* Totals since attach: records produced and lost, per event type. */
void tracer__counters(struct gt_tracer *tr, uint64_t produced[], uint64_t lost[]);
/* All records the programs produced so far, every type together. */
uint64_t tracer__produced_total(struct gt_tracer *tr);
/* Records lost since attach, all types together. */
uint64_t tracer__lost_total(struct gt_tracer *tr);
/* Probe hits since load, every program (the target's or not, enabled or not). */
uint64_t tracer__hits(struct gt_tracer *tr);
int tracer__nprobes(const struct gt_tracer *tr);
/* Kernel links holding them now (0 while detached). */
int tracer__nlinks(const struct gt_tracer *tr);
/* Whether the probes go on as multi-uprobe links (else one perf link per site). */
bool tracer__multi(const struct gt_tracer *tr);
bool tracer__attached(const struct gt_tracer *tr);
/* How long the last tracer__attach / tracer__detach took, ns. */
void tracer__timings(const struct gt_tracer *tr, uint64_t *attach_ns, uint64_t *detach_ns);
/*
 * Run counts and run time of the BPF programs, summed (bpf_prog_info).
 * Run time counts only while tracer__enable_stats holds the kernel's
 * BPF_ENABLE_STATS (a system-wide switch, released by tracer__close).
 */
int tracer__enable_stats(struct gt_tracer *tr);
void tracer__prog_stats(struct gt_tracer *tr, uint64_t *run_cnt, uint64_t *run_time_ns);
/* fd of one of the BPF object's maps ("rb", "produced", ...), for a sampler sharing them; or -1. */
int tracer__map_fd(struct gt_tracer *tr, const char *name);
uint64_t tracer__buffer_bytes(const struct gt_tracer *tr);
/* Removes every probe (records already in the ring buffer stay readable); attach again with tracer__attach. */
void tracer__detach(struct gt_tracer *tr);
/*
 * Go <= 1.23: creates still held in the kernel (goroutines made but not
 * run yet) are delivered, their goids read from the target.  Call after
 * the last poll.  Returns how many.
 */
int tracer__flush_pending(struct gt_tracer *tr);
/* Detaches and frees; the target runs on untouched. */
void tracer__close(struct gt_tracer *tr);
/*
 * Waits up to timeout_ns for the links that async_detach closes on other
 * threads; a process calls it before it exits (an exit mid-close leaks the
 * uprobe, breakpoints and all, tracer.c).  Returns how many are still
 * closing (0: all gone).
 */
int tracer__wait_detached(uint64_t timeout_ns);

#endif

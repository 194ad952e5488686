/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Capture in slices under a CPU budget (`record --budget`, and the agent):
 * every period (1 s) the probes are attached for a slice of it and really
 * detached for the rest, because an attached probe costs its trap on every
 * hit even when the program returns at once.  The slice is sized so the
 * target's added CPU stays under budget_pct of its own CPU:
 *
 *   added  = hits x (trap_ns + program ns per hit)     (counted in a slice)
 *   own    = target CPU (/proc/PID/stat) - added        (over the period)
 *   duty   = budget_pct/100 x own / (hit rate in a slice x cost per hit)
 *
 * planned under the budget as a ceiling (slicer__aim), allowed to grow at
 * most 2x a period (a burst after a quiet slice must not blow the budget),
 * at the floor while no probe has fired yet (an idle target), and at most
 * max_duty.  A slice
 * is never shorter than 5 ms: below that the slices come every k periods
 * instead (slicer__layout).  A caller's min_duty floors the duty itself.  Program time is
 * the kernel's own (BPF_ENABLE_STATS held while the slicer is open); the
 * trap itself is not measurable from here and is taken as trap_ns (~1 µs
 * on this kind of VM: shared/reference/probe-cost.md).  gtrace's own
 * CPU counts only when the caller charges it (slicer__charge): the agent
 * does, record --budget does not.
 *
 * The slicer owns the switching; the caller owns the capture: each time a
 * gap (probes off) ends, slicer__tick fills a GT_EV_GAP record for it, with
 * the events the previous slice's rate predicts for the window.  Use:
 *
 *   slicer__open(&s, tr, pid, &opts);   tracer opened (attached) already
 *   slicer__attach(s, now);             first slice begins
 *   loop: poll up to slicer__next_switch(s); if (slicer__tick(s, now, &gap) == 1) write gap
 *   slicer__finish(s, now, &gap);       probes off; 1: a last gap to write
 *   slicer__close(s);
 */
#ifndef GTRACE_SLICER_H
#define GTRACE_SLICER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "live/tracer.h"

struct gt_slicer_opts {
	double budget_pct;  /* the target's added CPU, % of its own (> 0) */
	uint64_t period_ns; /* one slice per period; 0: 1 s */
	double min_duty;    /* a floor on the duty, over the budget; 0: none (slices >= 5 ms) */
	double max_duty;    /* 0: 1 */
	double first_duty;  /* the first slice, before anything is measured; 0: min(0.01, max) */
	double trap_ns;	    /* what one trap costs the target; 0: 1000 */
	unsigned max_skip;  /* a slice at least every this many periods; 0: 15 */
	unsigned idle_skip; /* before any hit: one shortest slice every this many periods; 0: 1 */
};

struct gt_slicer_stats {
	uint64_t slices;	    /* slices begun */
	uint64_t on_ns, off_ns;	    /* probes live / off, summed over finished windows */
	uint64_t gaps, gap_est_events; /* gap windows and the events they are estimated to hold */
	uint64_t slice_events;	    /* records produced inside slices */
	uint64_t hits;		    /* probe hits inside slices */
	double duty;		    /* the duty cycle of the coming slice */
	double duty_min, duty_max;  /* of the slices so far */
	double cost_per_hit_ns;	    /* trap + program, last measured */
	double target_cpu;	    /* the target's CPU over the last period, cores */
	double added_pct;	    /* estimated added CPU over the last period, % of its own */
	double aim_pct;		    /* what the coming slice is planned to add, % (<= budget) */
	uint64_t over_budget;	    /* finished periods whose added_pct went over the budget */
	uint64_t attach_ns_max, detach_ns_max; /* slowest switch seen */
};

struct gt_slicer;

/* tr: an opened tracer.  0 or -errno (printed). */
int slicer__open(struct gt_slicer **out, struct gt_tracer *tr, pid_t pid,
		 const struct gt_slicer_opts *o);
/* Begins a slice now: attaches (if needed) and turns the probes on.  0 or -errno. */
int slicer__attach(struct gt_slicer *s, uint64_t now_ns);
/* Ends the slice now: probes off and detached; the gap begins.  0 or -errno. */
int slicer__detach(struct gt_slicer *s, uint64_t now_ns);
/*
 * Switches when due.  Returns 1 when a gap just ended (a new slice began)
 * with *gap filled, 0 when nothing to write, -errno on a failed attach.
 */
int slicer__tick(struct gt_slicer *s, uint64_t now_ns, struct gt_ev_gap *gap);
/* CLOCK_MONOTONIC ns of the next switch (for the caller's poll timeout). */
uint64_t slicer__next_switch(const struct gt_slicer *s);
/* Whether the probes are live now. */
bool slicer__on(const struct gt_slicer *s);
/* The duty cycle of the coming (or current) slice, 0..1. */
double slicer__duty(const struct gt_slicer *s);
/* Stops: probes off and detached.  1 with *gap filled when a gap was open, else 0. */
int slicer__finish(struct gt_slicer *s, uint64_t now_ns, struct gt_ev_gap *gap);
void slicer__stats(const struct gt_slicer *s, struct gt_slicer_stats *st);
/*
 * A cap on the coming slices' duty (a host-wide budget shared by several
 * slicers), within [the duty floor, 1]; the slice running now is not cut.
 */
void slicer__set_max_duty(struct gt_slicer *s, double max_duty);
/*
 * CPU the caller spent for this target outside it since the last call, in
 * the budget from the next plan on: per_slice, work that grows with the
 * slices (draining their records) and is added to their cost; else work
 * that does not (sampling), taken off the budget first.  record --budget
 * charges nothing (its reader is not the target's cost); the agent charges
 * both, since on a busy host its CPU is the target's too.
 */
void slicer__charge(struct gt_slicer *s, uint64_t ns, bool per_slice);
/*
 * The duty the next slices may take (before clamping): the budget's share
 * of the target's own CPU over a period, less the fixed charges, over what
 * the probes (and per-slice charges) cost per ns attached; 0 when the fixed
 * charges alone spend the budget.
 */
double slicer__want_duty(double budget_pct, double own_ns, double period_ns, double fixed_ns,
			 double cost_rate);

/*
 * The budget is a ceiling, not a target: a period costs what its plan
 * predicted times q, and q varies from period to period (the target's
 * event rate in a 5-50 ms slice is not the last slice's).  The slicer keeps
 * q's running mean m and mean deviation d and aims at the budget over
 * (m + 2d), so a period two deviations above the mean still fits; a model
 * that under-predicts (m > 1) is corrected by the same step.  Start: m 1,
 * d 0.15 (aim 0.77 of the budget until periods are measured).
 */
struct slicer_spread {
	double m, d;
};
#define SLICER_SPREAD_INIT ((struct slicer_spread){ .m = 1, .d = 0.15 })
/*
 * How a duty is laid out: returns the span until the next slice begins
 * (one period, or k periods when the duty is under min_duty: a slice is
 * never shorter than min_duty x period, so it comes every k periods, k at
 * most max_skip) and sets *slice_ns, the slice's planned length (shortened by the
 * measured overrun, >= 1, of a host that wakes the caller late).
 */
uint64_t slicer__layout(double duty, double min_duty, uint64_t period_ns, double overrun,
			unsigned max_skip, uint64_t *slice_ns);
/* Adds one period's q = actual / predicted (ignored unless both > 0); returns the aim factor. */
double slicer__aim(struct slicer_spread *sp, double actual_pct, double predicted_pct);

/*
 * What the probes cost the target while attached, in cores (trap and
 * program time per ns of the last finished slice); 0 before one finished.
 */
double slicer__on_cost(const struct gt_slicer *s);
void slicer__close(struct gt_slicer *s);

/* The utime+stime of a whole process, ns (/proc/PID/stat), or -errno. */
int64_t slicer__process_cpu_ns(pid_t pid);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's exact profiles: transition capture in slices under a CPU
 * budget (the `record --budget` mechanism, live/slicer.h), per process,
 * cut into the agent's windows.  Each window's records go to one capture
 * file that is read back, when the window ends, by the same pprof builder
 * `gtrace report -f pprof --profile offcpu|schedlat` uses (export_pprof),
 * scaled to the window, with the duty cycle in the comments:
 *   offcpu_exact  time waiting and in syscalls per park stack, from the
 *                 transitions (the sampled estimate is `offcpu`)
 *   schedlat      time runnable before running (sampled: `runnable`)
 * A source sits beside the sampler (window_profiles.h) and appends its
 * profiles to the same window.
 */
#ifndef GTRACE_WINDOW_SLICES_H
#define GTRACE_WINDOW_SLICES_H

#include <stdint.h>
#include "binary/target.h"
#include "agent/window_profiles.h"

struct wslice_opts {
	double budget;	    /* the target's added CPU, share of its own (0.005 = 0.5%) */
	double trap_ns;	    /* what one trap costs here (measured at start); 0: 1000 */
	const char *tmpdir; /* a private directory for the window captures */
	uint64_t buffer;    /* ring buffer bytes (power of two) */
	double min_duty;    /* 0: the slicer's default */
	unsigned max_skip;  /* at least one slice in this many periods (a window's); 0: the slicer's */
	unsigned idle_skip; /* an idle target's one slice in this many periods; 0: the slicer's */
};

/* One window's accounting. */
struct wslice_stats {
	uint64_t slices;    /* slices begun */
	uint64_t events;    /* records the probes produced in the window */
	uint64_t lost;	    /* records the kernel could not queue */
	double duty;	    /* share of the window the probes were on */
	double added_ns;    /* target CPU the probes cost (hits x trap + program), estimated */
	uint64_t target_ns; /* the target's own CPU in the window */
	double spent;	    /* added_ns / target_ns: what the budget is checked against */
	uint64_t cost_ns;   /* the agent's own CPU for this source */
};

struct wslice;

/* Loads and attaches the probes for t (the first slice begins).  0 or -errno. */
int wslice__open(struct wslice **out, struct gt_target *t, const struct wslice_opts *o);
/*
 * Drains the ring buffer and switches the probes when due; returns when
 * it next wants to run (CLOCK_MONOTONIC ns).  *err: -ESRCH when the process
 * is gone, other -errno when the probes could not go back on (the source
 * is then off, sampling goes on).
 */
uint64_t wslice__tick(struct wslice *w, uint64_t now, int *err);
/*
 * Ends the window [start_ns, end_ns) (UTC): appends its offcpu_exact and
 * schedlat profiles to *out (which may hold the sampled ones already).
 * final: the process is gone; the probes are detached first.  0 or -errno.
 */
int wslice__cut(struct wslice *w, int64_t start_ns, int64_t end_ns, int final,
		struct agent_window *out, struct wslice_stats *st);
/* Cores the probes cost the target while attached (last slice); 0 unknown. */
double wslice__on_cost(const struct wslice *w);
/* The planned duty of the coming slice. */
double wslice__duty(const struct wslice *w);
/* The host-wide cap's share for this process: the coming slices' largest duty. */
void wslice__set_max_duty(struct wslice *w, double max_duty);
/* The agent's CPU for this process outside the slices (its sampling passes), ns. */
void wslice__charge_fixed(struct wslice *w, uint64_t ns);
/*
 * Polls readable when the ring buffer wants draining (then call
 * wslice__tick now); -1 when there is nothing to watch.
 */
int wslice__fd(const struct wslice *w);
/* Whether the probes are attached now. */
int wslice__attached(const struct wslice *w);
/* Detaches every probe and frees. */
void wslice__close(struct wslice *w);

#endif

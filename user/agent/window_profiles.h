/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one seam between `gtrace agent` and whatever produces profiles: a
 * process plus a window in, pprof profiles out.  The agent calls tick when
 * the source asks to run and cut at each window's end; it never looks at
 * goroutines itself, so a source can be swapped (today: repeated
 * no-probe goroutine sampler, user/agent/window_sampler.c) without touching
 * discovery, identity or shipping.
 */
#ifndef GTRACE_WINDOW_PROFILES_H
#define GTRACE_WINDOW_PROFILES_H

#include <stddef.h>
#include <stdint.h>
#include "binary/target.h"

/* One profile of one window. */
struct agent_profile {
	char type[24];	   /* Pyroscope's __name__: "wall", "offcpu", "runnable", "goroutines", "cpu" */
	uint8_t *pprof;	   /* gzipped pprof */
	size_t len;
	int64_t start_ns, end_ns; /* UTC ns: the window */
	double duty;	   /* share of the window the profile covers, 1 = all of it */
	uint64_t samples;  /* samples (or goroutines) it holds */
};

struct agent_window {
	struct agent_profile *p;
	int n;
};

struct wprof_opts {
	double hz;	   /* samples a second to start with */
	double min_hz;	   /* the budget never lowers the rate below this */
	double budget;	   /* agent CPU per target CPU (0.01 = 1%); 0 = fixed rate */
};

/* Per-window accounting, for metrics and the budget. */
struct wprof_stats {
	uint64_t reads;	      /* snapshots taken in the window */
	uint64_t goroutines;  /* goroutines seen, summed over reads */
	uint64_t cost_ns;     /* agent CPU spent reading and building, this window */
	uint64_t target_ns;   /* the target's own CPU time in the window (utime+stime) */
	double hz;	      /* rate used */
	double spent;	      /* cost_ns / target_ns (0 when the target used no CPU) */
};

struct wprof;

/* Prepares sampling t (which must outlive the source).  0 or -errno. */
int wprof__open(struct wprof **out, struct gt_target *t, const struct wprof_opts *o);
/*
 * Takes a sample if one is due at now (CLOCK_MONOTONIC ns) and returns when
 * the next one is due.  -ESRCH in *err when the process went away.
 */
uint64_t wprof__tick(struct wprof *w, uint64_t now, int *err);
/*
 * Ends the window [start_ns, end_ns) (UTC) and fills *out with its profiles
 * (free with agent_window__free); the next window starts empty.  final: the
 * process is gone, do not read it again.  0 or -errno.
 */
int wprof__cut(struct wprof *w, int64_t start_ns, int64_t end_ns, int final,
	       struct agent_window *out, struct wprof_stats *st);
void wprof__close(struct wprof *w);

void agent_window__free(struct agent_window *w);

#endif

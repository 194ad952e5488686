/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `gtrace agent`: continuous profiling of every Go process on the host.
 * One loop: discovery (exec/exit tracepoints plus a /proc rescan), one
 * profile source per process (agent/window_profiles.h), a window clock
 * aligned to wall-clock multiples of --window, and at each window's end one
 * batch per sink (Pyroscope push, OTLP, --dir) handed to the sender thread.
 */
#ifndef GTRACE_AGENT_H
#define GTRACE_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "live/az.h"
#include "agent/ship.h"

#define AGENT_MAX_LABELS 24

struct agent_opts {
	const char *pyroscope_url; /* base URL; the push path is added */
	const char *otlp_url;	   /* base URL; /v1development/profiles is added */
	struct ship_sink_opts pyroscope, otlp; /* headers and auth (name/url/type set by the agent) */
	const char *dir;
	uint64_t dir_max;
	const char *spool;	   /* NULL: memory only */
	uint64_t spool_max;
	double window_s;
	double budget;		   /* share, 0.01 = 1% */
	double host_budget;	   /* probes' cost on all targets together, cores (0.05 = 5% of one) */
	double slice_min_duty;	   /* a duty floor over the budget, 0: none; tests force slices with 1 */
	double sample_hz;
	unsigned cpu_hz;	   /* the host-wide CPU sampler's rate per CPU; 0: no cpu profile */
	const char *include, *exclude; /* extended regexes on service name and executable path */
	int nlabels;
	const char *labels[AGENT_MAX_LABELS][2];
	const char *metrics_addr;
	struct gt_az_opts az;
	double duration_s;	   /* 0: until SIGTERM/SIGINT */
	double flush_grace_s;	   /* at exit, time to deliver what is queued */
};

/* Runs until *stop is set (by a signal handler) or duration_s passed.  0 or -errno. */
int agent__run(const struct agent_opts *o, volatile sig_atomic_t *stop);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's state, shared by its loop (agent.c), the exact-profile
 * slices it runs per process (agent_slices.c) and the host-wide CPU
 * sampler behind the cpu profiles (agent_cpu.c).  Not for other modules.
 */
#ifndef GTRACE_AGENT_PRIV_H
#define GTRACE_AGENT_PRIV_H

#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/u64map.h"
#include "live/az.h"
#include "live/cpu_sampler.h"
#include "export/cpu_profile.h"
#include "export/symcache.h"
#include "live/proc_events.h"
#include "agent/agent.h"
#include "agent/discovery.h"
#include "agent/identity.h"
#include "agent/dirsink.h"
#include "agent/metrics.h"
#include "agent/ship.h"
#include "agent/window_profiles.h"
#include "agent/window_slices.h"

#define SINK_PYRO 0
#define SINK_OTLP 1

struct proc {
	pid_t pid;
	struct agent_binary *bin;
	struct gt_target t;
	struct wprof *w;
	struct cpu_profile *cpu; /* its rows from the host-wide CPU sampler; NULL: none */
	struct symcache *cpu_sc;
	/*
	 * What the CPU sampler cost it (agent_cpu.c): the program's counters
	 * at the last charge, this window's cost so far, the last window's.
	 */
	uint64_t cpu_samples0, cpu_prog0, cpu_cost_ns;
	uint64_t cpu_win_samples, cpu_win_prog_ns; /* this window's, for -v */
	double cpu_last_spent;
	struct agent_identity id;
	int64_t win_start;	/* UTC ns: this process's part of the current window */
	uint64_t next_due;	/* CLOCK_MONOTONIC */
	struct wprof_stats last; /* of the last window cut */
	uint64_t windows;
	struct wslice *ws;	/* exact profiles from capture slices; NULL: sampling only */
	uint64_t ws_due;	/* CLOCK_MONOTONIC */
	struct wslice_stats ws_last; /* of the last window cut */
	uint64_t ws_events, ws_lost, ws_slices; /* totals */
	/* the probes are loaded on a thread (BPF load and verify: ~0.1 s CPU, seconds of
	   wall time on a loaded host, which would stall every other process's sampling) */
	pthread_t ws_thr;
	bool ws_opening;
	int ws_done, ws_err;	/* set by the thread (ws_done atomically, last) */
	struct wslice *ws_new;
	struct wslice_opts ws_opts;
};

/* Profiles cut early (exits, execs) waiting for their window's batch. */
struct pending {
	struct agent_window w;
	struct agent_identity id;
	struct pending *next;
};

struct agent {
	const struct agent_opts *o;
	struct gt_az az;
	struct binaries *bins;
	struct u64map procs; /* pid -> struct proc */
	struct pollfd *pfd;  /* the main loop's poll set: fixed fds, then ring buffers */
	struct proc **pfd_proc; /* whose ring buffer each of those is */
	size_t pfd_cap;
	struct u64map skipped; /* pid -> (void *)1: not Go, excluded, or failed */
	struct pending *pending;
	struct gt_proc_events *pe;
	struct shipper *ship;
	int nsinks, sink_of[2]; /* index in the shipper, -1 = off */
	struct dirsink *dir;
	struct metrics_server *ms;
	regex_t inc, exc;
	bool has_inc, has_exc;
	char pyro_url[2048], otlp_url[2048];
	int64_t win_start, win_end; /* UTC ns */
	pid_t self;
	/* counters for /metrics */
	uint64_t windows, profiles, proc_events, reads, goroutines, started, exited, failed;
	uint64_t encode_errors;
	/* --budget > 0: exact profiles from slices */
	bool slicing;
	double trap_ns;		/* one trap, measured at start */
	char tmpdir[4096];	/* the window captures */
	uint64_t next_cap;	/* CLOCK_MONOTONIC: next host-wide cap */
	double host_cores;	/* the probes' planned cost on every target, cores */
	/* --cpu-hz > 0: one CPU sampler for every process (agent_cpu.c) */
	struct gt_cpu_sampler *cpu;
	struct cpu_profile *cpu_defs; /* the label sets, shared by all processes */
	double sample_ns;	      /* one sample's interrupt, measured at start */
	uint64_t cpu_samples;	/* in cut profiles */
};

/* ---- exact profiles from capture slices (agent_slices.c) ---- */

/* --budget > 0: the trap measured and a directory for the window captures; sets a->slicing. */
void slices__setup(struct agent *a, const struct agent_opts *o);
/* Starts loading p's probes on a thread. */
void slices__open(struct agent *a, struct proc *p);
/* Installs what the loading thread opened once it is done (wait: waits for it). */
void slices__opened(struct proc *p, bool wait);
/* Appends p's exact profiles of [start, end) to w. */
void slices__cut(struct agent *a, struct proc *p, int64_t start, int64_t end, int final,
		 struct agent_window *w);
/* The host-wide cap, at most once a second. */
void slices__host_cap(struct agent *a, uint64_t now);
/* The per-process probe metrics and the host's. */
void slices__render(struct agent *a, FILE *f);

/* ---- the cpu profile from the host-wide CPU sampler (agent_cpu.c) ---- */

/* --cpu-hz > 0: opens the sampler (without it: a warning, no cpu profiles). */
void cpu__setup(struct agent *a, const struct agent_opts *o);
/* Adds p to the sampler's targets; p->cpu NULL when that failed. */
void cpu__add(struct agent *a, struct proc *p);
/* Removes p from the targets and frees its rows. */
void cpu__remove(struct agent *a, struct proc *p);
/* Delivers what the ring buffer holds. */
void cpu__drain(struct agent *a);
/* The ring buffer's fd for poll, -1 without a sampler. */
int cpu__fd(const struct agent *a);
/*
 * What the CPU sampler cost p since the last call (ns: the program's own
 * time on its samples + each sample's interrupt), added to the window's.
 */
uint64_t cpu__charge(struct agent *a, struct proc *p);
/* Appends p's cpu profile of [start, end) to w and starts its next window empty. */
void cpu__cut(struct agent *a, struct proc *p, int64_t start, int64_t end, struct agent_window *w);
void cpu__close(struct agent *a);
void cpu__render(struct agent *a, FILE *f);

/* The process in slot i of a->procs (0 .. procs.cap), or NULL for an empty slot. */
static inline struct proc *agent__proc_at(const struct agent *a, size_t i)
{
	return a->procs.keys && a->procs.keys[i] ? a->procs.vals[i] : NULL;
}

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sampled goroutine profiles of a live Go process, without a probe: each
 * pass reads every goroutine from outside (live/greader.h, reusing the
 * stacks of goroutines that did not move) and adds the pass's weight to
 * the (stack, state, wait reason, labels[, goid]) each one was seen in.
 * No BPF, no ptrace stop: the target runs on.  Used by `gtrace profile`,
 * `gtrace top` and the agent (one sampler per process).
 *
 *	struct sampler *s;
 *	sampler__open(&s, pid, NULL);           // or with opts
 *	while (...) { sampler__pass(s, period_ns, &stop); sleep... }
 *	p = sampler__profile(s);                 // render: export/profile_export.h
 *	sampler__reset(s);                       // start the next window (agent)
 *	sampler__close(s);
 *
 * What a sample means: a goroutine seen in a state at a pass adds the
 * weight (normally the sampling period) to its key, as fgprof does inside
 * a process.  Running goroutines have no stack that can be read from
 * outside (their sched.pc/sp are stale while they run): they are counted
 * with state "running" and a stack of their start function only, marked
 * SAMPLER_START_ONLY; no frame is made up.  Runtime goroutines (Go's
 * isSystemGoroutine) are left out, as Go's goroutine profile does.
 */
#ifndef GTRACE_SAMPLER_H
#define GTRACE_SAMPLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "binary/target.h"
#include "capture/gstate.h"
#include "live/goroutine.h"

struct sampler_opts {
	bool goid_labels; /* keep goroutines apart: the goid is part of the key */
	bool system;	  /* include runtime goroutines */
};

/* A stack of the profile: link-time return addresses, leaf first. */
struct sampler_stack {
	int n;
	uint32_t flags; /* GT_G_TRUNCATED, GT_G_STACK_PARTIAL, SAMPLER_START_ONLY */
	uint64_t *pcs;
};

#define SAMPLER_START_ONLY 0x100 /* pcs[0] is the start function's entry + 1: no stack read */

/* A label set of the profile, sorted by key. */
struct sampler_lset {
	int n;
	struct gt_label *labels;
};

/* One aggregated sample. */
struct sampler_sample {
	uint32_t stack;	     /* index into stacks[] */
	uint32_t lset;	     /* index into lsets[]; 0 is the empty set */
	enum gs_state state; /* the capture model's states (gstate.h) */
	uint8_t reason;	     /* wait reason, when waiting */
	uint64_t goid;	     /* with goid_labels, else 0 */
	uint64_t gopc;	     /* creation site (link-time) */
	uint64_t wall_ns;    /* every state */
	uint64_t offcpu_ns;  /* waiting and syscall */
	uint64_t runnable_ns;/* runnable: waiting for a P */
	uint64_t seen;	     /* goroutine-passes */
	uint64_t last_pass;  /* the pass it was last seen in */
	uint64_t last_count; /* goroutines with this key at that pass */
};

struct sampler_profile {
	struct sampler_stack *stacks;
	size_t nstacks;
	struct sampler_lset *lsets;
	size_t nlsets;
	struct sampler_sample *samples;
	size_t nsamples;
	uint64_t passes;		/* passes aggregated */
	uint64_t start_mono, end_mono;	/* first and last pass (CLOCK_MONOTONIC) */
	int64_t start_real;		/* wall clock of the first pass */
	uint64_t weight_ns;		/* sum of the passes' weights */
	uint64_t read_ns;		/* wall time spent reading */
	uint64_t cpu_ns;		/* this process's CPU time spent reading (user + system) */
	uint64_t goroutines_read;	/* goroutines read over all passes (system ones too) */
	size_t last_goroutines;		/* goroutines counted at the last pass */
	uint64_t inconsistent, cached;	/* over all passes */
};

/* What one pass cost and saw. */
struct sampler_pass_stats {
	uint64_t wall_ns, cpu_ns;
	size_t goroutines, counted, cached, inconsistent;
	uint64_t nreadv;
};

struct sampler;

/*
 * Opens pid (ELF, pclntab, Go offsets) and prepares reading its
 * goroutines.  o may be NULL.  0 or -errno after one line saying why.
 */
int sampler__open(struct sampler **out, pid_t pid, const struct sampler_opts *o);
/*
 * The same for a process whose binary is already open (binary/target.h
 * target__bind): t's ELF, pclntab and offsets are shared, never closed
 * here.  Lets the agent inspect a binary once for all its processes.
 */
int sampler__open_target(struct sampler **out, const struct gt_target *t,
			 const struct sampler_opts *o);
void sampler__close(struct sampler *s);

/*
 * One pass: reads every goroutine and adds weight_ns to each one's key.
 * *stop, when set, ends the read early (that pass is then not counted).
 * 0, -EINTR, -ESRCH (the target exited), or -errno.
 */
int sampler__pass(struct sampler *s, uint64_t weight_ns, volatile sig_atomic_t *stop,
		  struct sampler_pass_stats *st);

/* The aggregation since open or the last reset. */
const struct sampler_profile *sampler__profile(const struct sampler *s);
/* Forgets the aggregation (stacks and label sets are kept for reuse). */
void sampler__reset(struct sampler *s);

/* The last pass as read (every goroutine, runtime ones too), or NULL before the first. */
const struct gt_snapshot *sampler__last(const struct sampler *s);
/* The target, for symbolization and wait-reason names. */
const struct gt_target *sampler__target(const struct sampler *s);

/* The state of a goroutine in the capture model's words (gs_state_name). */
enum gs_state sampler__state(uint32_t status);
/* "chan receive", "(no reason)": the wait reason's name as `gtrace report` gives it. */
const char *sampler__reason_name(const struct sampler *s, uint8_t reason);

/*
 * Pacing: when a pass takes more than max_share of the period, the rate
 * is lowered so it takes about that share (never below min_hz).
 */
struct sampler_pacer {
	double hz;	  /* current rate */
	double max_share; /* of the period a pass may take, e.g. 0.25 */
	double min_hz;
	int lowered;	  /* times the rate was lowered */
};

/* After a pass of pass_ns: true when pc->hz was lowered (the caller says so). */
bool sampler__pace(struct sampler_pacer *pc, uint64_t pass_ns);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Renderers of a sampled profile (live/sampler.h) for `gtrace profile`:
 * pprof with sample types wall, offcpu, runnable (nanoseconds) and
 * goroutines (count at the last pass), plus cpu (nanoseconds, from the CPU
 * sampler's rows, export/cpu_profile.h) with --cpu; text; one JSON object per sample.
 * Labels and comments use the words of `gtrace report`: state,
 * wait_reason, created_by, the goroutine's own labels, az, host, goid.
 */
#ifndef GTRACE_PROFILE_EXPORT_H
#define GTRACE_PROFILE_EXPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "export/cpu_profile.h"
#include "export/symcache.h"
#include "live/sampler.h"

struct profexp_opts {
	double hz;	    /* sampling rate used (after any lowering) */
	const char *az;	    /* "" or NULL: unknown */
	const char *host;
	const char *clock;  /* clock__describe() of the run, or NULL */
	int top;	    /* text: stacks shown */
	/* --cpu: the CPU samples of the same seconds, a cpu sample type (pprof only) */
	const struct cpu_profile *cpu;
	unsigned cpu_hz;
	uint64_t cpu_period_ns, cpu_lost;
};

int profexp__pprof(FILE *f, const struct sampler *s, const struct profexp_opts *o);
int profexp__text(FILE *f, const struct sampler *s, const struct profexp_opts *o);
int profexp__jsonl(FILE *f, const struct sampler *s, const struct profexp_opts *o);

/* "func file:line" of a creation site (link-time return address), "runtime" when 0. */
void profexp__site(struct symcache *sc, uint64_t gopc, char *buf, size_t len);

#endif

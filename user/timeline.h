/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline driver shared by the Perfetto and Chrome JSON exporters:
 * one track per goroutine, one slice per state interval, instants for
 * creation and label changes, flows creator -> child's first run and
 * waker -> woken goroutine's next run.  It owns what both formats must
 * agree on (the --goroutines filter, --min-duration, which flows can be
 * drawn with both ends, what gets reported as dropped); a backend only
 * encodes.  Slices are emitted when they end, so per track they come in
 * time order; flows are emitted only once both ends are known to exist.
 */
#ifndef GTRACE_TIMELINE_H
#define GTRACE_TIMELINE_H

#include <stdio.h>
#include "export.h"
#include "gstate.h"

struct tl;

/* One debug argument of a slice or instant. */
struct tl_arg {
	const char *key;
	const char *str; /* or NULL: num */
	uint64_t num;
};

#define TL_MAX_ARGS (GT_LABEL_MAX + 8)

struct tl_ops {
	int (*begin)(struct tl *t);
	/* Declares g's track (once, before its first slice or instant). */
	int (*track)(struct tl *t, const struct gs_g *g, const char *name);
	/* A finished slice on iv->goid's track; flow_in terminates that flow (0 none). */
	int (*slice)(struct tl *t, const struct gs_interval *iv, const char *name,
		     const struct tl_arg *args, int nargs, uint64_t flow_in);
	/* An instant on goid's track; flow_out starts that flow (0 none). */
	int (*instant)(struct tl *t, uint64_t goid, uint32_t tid, uint64_t ts, const char *name,
		       const struct tl_arg *args, int nargs, uint64_t flow_out);
	int (*end)(struct tl *t);
};

struct tl {
	struct gt_capture *cap;
	const struct gt_export_opts *o;
	FILE *out;
	const char *format; /* "perfetto", "chrome": for messages */
	const struct tl_ops *ops;
	void *priv;
	struct gstate gs;
	struct gs_filter filter;
	struct u64map stacks; /* stack id -> symbolized text (distinct stacks only) */
	uint64_t pid;
	uint64_t t0; /* first timestamp: known after the first event */
	uint64_t next_flow;
	/* what was written and what was left out */
	uint64_t nslices, ninstants, nflows, ntracks;
	uint64_t dropped_short, dropped_goroutines, dropped_flows;
};

/* Runs the capture through the backend.  0 or -errno (printed). */
int timeline__run(struct tl *t);

/* The target's name for the process track: target.exe, target.comm or "go". */
const char *tl_process_name(struct tl *t);
/* Symbolized stack, one "func file:line" per line, leaf first; cached per id. */
const char *tl_stack_text(struct tl *t, uint64_t stack);

#endif

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
#include "export/export.h"
#include "capture/gstate.h"

struct tl;
struct tl_window;

/*
 * One debug argument of a slice or instant.  key and str must stay valid
 * and unchanged until the capture is done (the Perfetto backend memoizes
 * their iids by address): literals, label sets, tl_stack_text().
 */
struct tl_arg {
	const char *key;
	const char *str; /* or NULL: num */
	uint64_t num;
};

#define TL_MAX_ARGS (GT_LABEL_MAX + 8)
/* gs_g.priv[] slot a backend may use (zero at the goroutine's birth) */
#define TL_PRIV_BACKEND 1

/*
 * Merged outputs: the wall-clock span [start, end] where events of captures
 * a and b lie within bound_ns of each other, so their order is not known.
 */
struct tl_window {
	unsigned a, b;	    /* capture indexes, a < b */
	int64_t start, end; /* wall ns */
	uint64_t bound_ns;  /* pair bound (docs/clock-and-az.md) */
	const char *name;   /* "order uncertain ±32 s: A / B" */
};

struct tl_ops {
	int (*begin)(struct tl *t);
	/*
	 * Declares g's track (once, before its first slice or instant); its
	 * name is tl_track_name()'s, which a backend builds only if it needs
	 * the whole text (a spawn storm declares a track every few events).
	 */
	int (*track)(struct tl *t, const struct gs_g *g);
	/* A finished slice on iv->goid's track; flow_in terminates that flow (0 none). */
	int (*slice)(struct tl *t, const struct gs_interval *iv, const char *name,
		     const struct tl_arg *args, int nargs, uint64_t flow_in);
	/*
	 * An instant on goid's track; flow_out starts that flow (0 none).
	 * name, like a slice's, stays valid and unchanged for the capture.
	 */
	int (*instant)(struct tl *t, uint64_t goid, uint32_t tid, uint64_t ts, const char *name,
		       const struct tl_arg *args, int nargs, uint64_t flow_out);
	int (*end)(struct tl *t);
	/*
	 * Declares the current capture's process (once per capture, after
	 * begin, before its first track).  Optional: a backend that declares
	 * its one process in begin leaves it NULL.
	 */
	int (*process)(struct tl *t);
	/* Merged outputs: a window where order across two captures is uncertain. */
	int (*window)(struct tl *t, const struct tl_window *w);
	/* Optional: g is gone (exited, or the capture ended), after its last slice. */
	void (*forget)(struct tl *t, const struct gs_g *g);
	/* Frees what the backend's open allocated (t->priv). */
	void (*close)(struct tl *t);
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
	struct u64map cpu_names; /* function name (address) -> "cpu: <function>" */
	char *names[2][256];  /* "waiting: <reason>" / "GC pause: <reason>" by wait reason */
	uint64_t pid;	 /* set before timeline__add (0 = target.pid) */
	uint64_t t0; /* first timestamp: known after the first event */
	uint64_t first_ts, last_ts; /* this capture's event span (mono), 0 = none */
	uint64_t next_flow;
	/*
	 * Several captures in one output (gtrace merge): set before each
	 * timeline__add.  With wall set, every timestamp a backend writes is
	 * the capture's own wall time (capture__wall_ns, tl_ts), so captures
	 * from different hosts share one axis.  idx keeps track ids apart.
	 */
	bool wall;
	unsigned idx;		/* capture index in the output (0 for report) */
	const char *proc_name;	/* NULL = tl_process_name() */
	const char *proc_desc;	/* longer description (clock bound, path), may be NULL */
	int64_t error_ns;	/* the capture's clock bound, -1 unknown */
	int64_t wall_t0;	/* chrome with wall: ts origin, 0 = first event */
	bool begun;		/* ops->begin ran (once per output) */
	/* what was written and what was left out (all captures) */
	uint64_t nslices, ninstants, nflows, ntracks;
	uint64_t dropped_short, dropped_goroutines, dropped_flows;
};

typedef int (*tl_open_fn)(struct tl *t, const struct gt_export_opts *o, FILE *out);

/*
 * One capture through the backend that open sets up, then closed: what
 * `gtrace report -f perfetto|chrome` does.  0 or -errno (printed).
 */
int timeline__export(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out,
		     tl_open_fn open);

/*
 * The same in steps, for several captures in one output: add each (with
 * t->pid, idx, proc_name... set for it), note the windows, then finish,
 * which ends the output, flushes and prints what was written.  Each
 * returns 0 or -errno (printed).
 */
int timeline__add(struct tl *t, struct gt_capture *cap);
int timeline__window(struct tl *t, const struct tl_window *w);
int timeline__finish(struct tl *t);
/* Frees the backend (either open below). */
void timeline__close(struct tl *t);

/*
 * The two timeline backends as output objects, for several captures in
 * one file: open sets *t up (o and out must outlive it), close frees.
 */
int perfetto__open(struct tl *t, const struct gt_export_opts *o, FILE *out);
void perfetto__close(struct tl *t);
int chrome__open(struct tl *t, const struct gt_export_opts *o, FILE *out);
void chrome__close(struct tl *t);

/* A timestamp of the current capture as the output writes it (mono or wall ns). */
static inline int64_t tl_ts(const struct tl *t, uint64_t mono)
{
	return t->wall ? capture__wall_ns(t->cap, mono) : (int64_t)mono;
}

/*
 * A goroutine track's name, "G<goid> <start function>", or "G<goid>" alone
 * when g was first seen mid-life (no start known: tl_start_known()).
 */
void tl_track_name(const struct gs_g *g, char *name, size_t size);
static inline bool tl_start_known(const struct gs_g *g)
{
	return g->start_func[0] != '?' || g->start_func[1];
}

/* The target's name for the process track: target.exe, target.comm or "go". */
const char *tl_process_name(struct tl *t);
/* Symbolized stack, one "func file:line" per line, leaf first; cached per id. */
const char *tl_stack_text(struct tl *t, uint64_t stack);

#endif

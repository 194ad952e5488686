/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one goroutine state machine every exporter uses, as Go's
 * internal/trace is for its consumers: fed capture events in file order, it
 * keeps per live goroutine its state, since when, its park stack, labels and
 * creation info, and hands each finished state interval to the exporter.
 * It tolerates what real captures contain: goroutines that existed before
 * the capture (their first state is inferred from the first event seen),
 * a start without its unpark, loss windows (intervals that cross one are
 * flagged uncertain) and SNAPSHOT records.  Memory is bounded by live
 * goroutines: dead ones are dropped at EXIT.  The per-event path does not
 * allocate (goroutine records are recycled).
 *
 * Two ways in: over a capture (gstate__init, gstate__process), or live,
 * one record at a time as a producer hands them over (gstate__init_live,
 * gstate__event), looking goroutines up as of now (gstate__get,
 * gstate__foreach) and writing that state back out as SNAPSHOT records
 * (gstate__snapshot_record) that this machine reads back to the same state.
 */
#ifndef GTRACE_GSTATE_H
#define GTRACE_GSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include "capture/capture.h"
#include "capture/gs_table.h" /* what the exporters fold gstate's intervals into */
#include "lib/u64map.h"

enum gs_state {
	GS_UNKNOWN,  /* before the capture saw anything of it */
	GS_RUNNING,
	GS_RUNNABLE,
	GS_WAITING,
	GS_SYSCALL,
	GS_DEAD,
	GS_NR_STATES,
};

/* One live goroutine.  Exporters may keep per-goroutine data in priv[]. */
struct gs_g {
	uint64_t goid;
	enum gs_state state;
	uint8_t reason;	   /* wait reason while waiting */
	bool pseudo;	   /* waiting is a GC/STW pseudo-wait (not blocking) */
	bool clipped;	   /* current interval began before the capture */
	bool system;	   /* runtime goroutine (start func in runtime, not main) */
	bool created;	   /* its CREATE was seen (not a snapshot or a guess) */
	uint8_t start_ev;  /* event type that began the current interval */
	uint32_t tid;	   /* thread of the event that began the interval */
	uint64_t since;	   /* when the current interval began */
	uint64_t stack;	   /* park stack id (last park), 0 = none */
	uint64_t labels;   /* current label set id */
	uint64_t parent, gopc, startpc;
	uint64_t created_ts; /* CREATE ts, or first sight */
	uint64_t woken_by;   /* waker goid of the pending unpark (until next run) */
	uint64_t woken_ts;   /* when, 0 = none pending */
	uint64_t loss_seen;  /* loss windows seen when the interval began */
	const char *start_func; /* symbolized startpc ("?" unknown); owned by the capture */
	bool ran;	     /* has had a running interval */
	struct gs_g *next_free;
	uint64_t priv[];     /* gs_ops.priv_size bytes, zeroed at birth */
};

/* A finished stay of one goroutine in one state. */
struct gs_interval {
	const struct gs_g *g; /* the goroutine (its state is already the next one) */
	uint64_t goid;
	enum gs_state state;
	uint8_t reason;	      /* waiting: runtime wait reason */
	bool pseudo;	      /* waiting: GC/STW pseudo-wait, not blocking time */
	bool uncertain;	      /* crossed a loss window, or the transition was not seen */
	bool clipped;	      /* began before the capture: start is the first sight */
	bool open;	      /* still in this state when the capture ended */
	uint8_t start_ev, end_ev; /* event types that began and ended it (0 at capture end) */
	uint64_t start, end;
	uint64_t stack;	      /* waiting: park stack id; runnable after unpark: same */
	uint64_t labels;      /* label set id while in it */
	uint64_t waker;	      /* waiting ended by an unpark: the waker goid, 0 = runtime */
	uint64_t woken_by;    /* running begun after an unpark: the waker (0 = none) */
	uint64_t woken_ts;    /* ... and when it was woken */
	bool first_run;	      /* running: the goroutine's first, after a seen CREATE */
	uint32_t tid;	      /* thread of the event that began it */
};

struct gstate;

/*
 * What an exporter wants to hear.  Every member is optional.  A non-zero
 * return stops processing and is returned by gstate__process.
 */
struct gs_ops {
	size_t priv_size; /* bytes of gs_g.priv per goroutine */
	/* Every record, before the state machine sees it. */
	int (*event)(struct gstate *gs, const struct gt_event_hdr *ev);
	/* A goroutine became known (CREATE, SNAPSHOT or first sight). */
	int (*birth)(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev);
	int (*interval)(struct gstate *gs, const struct gs_interval *iv);
	/* Labels changed at ts (g->labels is the new set). */
	int (*labels)(struct gstate *gs, struct gs_g *g, uint64_t old, uint64_t ts);
	/* An unpark: by woke g at ts (by 0 = runtime). */
	int (*unpark)(struct gstate *gs, struct gs_g *g, uint64_t by, uint64_t ts);
	/* g exits (or the capture ends with it alive: ev NULL); g is freed after. */
	int (*death)(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev);
};

struct gs_loss {
	uint64_t start, end, lost;
};

/*
 * The names gstate needs when no capture is behind it (gstate__init_live):
 * the outermost function at an exact pc (a start PC), and the runtime's
 * name for a wait reason; either may return NULL for "unknown".
 */
struct gs_names {
	const char *(*func)(void *arg, uint64_t pc);
	const char *(*reason)(void *arg, unsigned reason);
	void *arg;
};

struct gstate {
	struct gt_capture *cap; /* NULL when live: names come from .names */
	struct gs_names names;
	const struct gs_ops *ops;
	void *arg;	       /* exporter's context */
	struct u64map gs;      /* goid -> struct gs_g * */
	struct gs_g *free;     /* recycled records */
	struct gs_loss *loss;  /* loss windows, in file order */
	size_t nloss, caploss;
	uint64_t first_ts, last_ts;
	uint64_t lost;	       /* records lost, summed over LOSS events */
	/* GAP windows (record --budget): also loss windows above, but by design */
	uint64_t ngaps, gap_ns, gap_est_events;
	uint8_t reason_preempted; /* waitReasonPreempted in this capture, 0 = unknown */
	/* counters for summaries */
	uint64_t nr_events, nr_created, nr_exited, nr_snapshot, nr_guessed, nr_bad;
	uint64_t nr_resynced; /* goroutines a snapshot after a gap corrected or first showed */
};

/* 0 or -ENOMEM.  ops may be NULL (nothing to hear: lookups only). */
int gstate__init(struct gstate *gs, struct gt_capture *cap, const struct gs_ops *ops, void *arg);
/*
 * The same for a live stream, with the target's names.  A user that runs
 * for ever feeds no LOSS or GAP records: their windows are kept (for the
 * intervals' uncertain flag) and would grow with run time.
 */
int gstate__init_live(struct gstate *gs, const struct gs_names *names, const struct gs_ops *ops,
		      void *arg);
void gstate__exit(struct gstate *gs);
/* Feeds one record (what a gt_tool's event callback does). */
int gstate__event(struct gstate *gs, const struct gt_event_hdr *ev);
/*
 * Streams the whole capture through the state machine, then closes every
 * open interval at the last timestamp seen (open = true) and calls death(ev
 * NULL) for goroutines still alive.  -ECANCELED from a callback stops early
 * without error: the caller wanted only a prefix (goroutine profile --at).
 */
int gstate__process(struct gstate *gs);
/* Closes every open interval at ts (once, at the end). */
int gstate__finish(struct gstate *gs, uint64_t ts);

struct gs_g *gstate__get(const struct gstate *gs, uint64_t goid);
/* Calls fn for every live goroutine (order unspecified); stops on non-zero. */
int gstate__foreach(struct gstate *gs, int (*fn)(struct gstate *gs, struct gs_g *g, void *arg),
		    void *arg);
/*
 * g as it is now, as a SNAPSHOT record stamped ts: the runtime status its
 * state stands for (_Gpreempted for a GC suspension), the park reason and
 * stack while waiting.  Fed back to a gstate, it yields the same state.
 */
void gstate__snapshot_record(const struct gs_g *g, uint64_t ts, struct gt_ev_snapshot *out);

/*
 * The runtime's name for a wait reason; "(no reason)" for waitReasonZero
 * (born parked, or already waiting when the capture began).
 */
const char *gs_reason_name(struct gt_capture *cap, unsigned reason);
/* "running", "runnable", "waiting", "syscall", "dead", "unknown". */
const char *gs_state_name(enum gs_state s);
/* The outermost function at pc (an exact PC, e.g. a start PC), or "?". */
const char *gs_func_name(struct gt_capture *cap, uint64_t pc);

/* "label:k=v" or "1,2,3" (goids): a goroutine filter.  NULL spec = all. */
struct gs_filter {
	const char *key, *val; /* label filter */
	size_t klen;
	uint64_t *goids;       /* sorted */
	size_t ngoids;
	bool any;
};

/* 0 or -EINVAL (printed). */
int gs_filter__parse(struct gs_filter *f, const char *spec);
void gs_filter__free(struct gs_filter *f);
/* Does g (with its current labels) match? */
bool gs_filter__match(const struct gs_filter *f, struct gt_capture *cap, const struct gs_g *g);
/* Does a label set hold the filter's KEY=VALUE?  false for goid filters and ls NULL. */
bool gs_filter__match_labels(const struct gs_filter *f, const struct gt_labelset *ls);

#endif

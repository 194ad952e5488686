/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where pprof labels get lost (docs/labels.md): from the goroutine model,
 * per label key the share of off-CPU time, running time and goroutine
 * creations that carry it; unlabelled time by creation site and start
 * function, with the labels of the goroutines that woke it; label changes
 * that drop or replace keys, per site.  The analysis is a set of gstate
 * hooks, so the text report can run it in its own pass over the capture
 * and `report --labels` on its own.  User goroutines only: runtime ones
 * never inherit labels (newproc1) and would only dilute the shares.
 */
#ifndef GTRACE_EXPORT_LABELS_H
#define GTRACE_EXPORT_LABELS_H

#include <stdio.h>
#include "capture/gstate.h"

/* Words of gs_g.priv the analysis uses, from the offset given to labels__new. */
#define LABELS_PRIV_WORDS 2

/* Time carried by one label key (or, for the "no labels" row, by none). */
struct lb_key {
	const char *key;
	uint64_t offcpu, running, creations, cpu;
};

/* The labels of the goroutines that woke an unlabelled site, and how often. */
struct lb_waker {
	uint64_t labels; /* label set id of the waker at the wake-up, 0 = none */
	uint64_t n;
};

struct lb_reason {
	unsigned reason; /* wait reason, or LB_SYSCALL */
	uint64_t ns;
};
#define LB_SYSCALL 0x100

/* Unlabelled time of the goroutines of one creation site and start function. */
struct lb_site {
	uint64_t gopc, startpc;
	uint64_t goroutines;	/* that spent unlabelled time here */
	uint64_t offcpu, running;
	uint64_t wakeups, by_runtime; /* wake-ups while unlabelled; by the scheduler (timers, netpoll) */
	struct lb_waker *wakers;      /* by goroutines, most first after labels__end */
	size_t nwakers, capwakers;
	struct lb_reason *reasons;    /* off-CPU by wait reason, most first after labels__end */
	size_t nreasons, capreasons;
};

#define LB_CHANGE_KEYS 8
/* Label changes that dropped or replaced keys, at one stack. */
struct lb_change {
	uint64_t stack;	  /* where (stack id of the change), 0 = unknown */
	bool via_do;	  /* the stack goes through runtime/pprof.Do */
	uint64_t drops, replaces; /* changes that dropped keys; that replaced a value */
	const char *keys[LB_CHANGE_KEYS]; /* keys dropped or replaced (first seen) */
	int nkeys;
};

struct gt_labels {
	struct gt_capture *cap;
	size_t priv; /* first gs_g.priv word ours */
	uint64_t first_ts, last_ts;
	/* totals over user goroutines */
	uint64_t offcpu, running, creations, changes;
	uint64_t labelled_offcpu, labelled_running, labelled_creations;
	uint64_t cpu, labelled_cpu; /* on-CPU ns from CPU samples (record --cpu) */
	struct lb_key *keys;
	size_t nkeys, capkeys;
	struct lb_site *sites;
	size_t nsites, capsites;
	struct u64map site_idx; /* hash(gopc, startpc) -> index + 1 */
	struct lb_change *changes_v;
	size_t nchanges, capchanges;
	struct u64map change_idx; /* stack id -> index + 1 */
	/* by label set, folded into keys at the end */
	struct gs_agg by_set; /* k[0] set, k[1] 0 off-CPU / 1 running / 2 creations / 3 CPU */
	bool cpu_samples;     /* the capture has CPU samples of user goroutines */
};

/* 0 or -ENOMEM.  priv: index of the first of LABELS_PRIV_WORDS gs_g.priv words. */
int labels__init(struct gt_labels *L, struct gt_capture *cap, size_t priv);
void labels__exit(struct gt_labels *L);

/* gstate hooks: call each from the exporter's gs_ops member of that name. */
int labels__event(struct gt_labels *L, struct gstate *gs, const struct gt_event_hdr *ev);
int labels__birth(struct gt_labels *L, struct gstate *gs, struct gs_g *g,
		  const struct gt_event_hdr *ev);
int labels__interval(struct gt_labels *L, struct gstate *gs, const struct gs_interval *iv);
int labels__labels(struct gt_labels *L, struct gstate *gs, struct gs_g *g, uint64_t old,
		   uint64_t ts);
int labels__unpark(struct gt_labels *L, struct gstate *gs, struct gs_g *g, uint64_t by,
		   uint64_t ts);
/* After gstate__process: folds and sorts (keys, sites, wakers, changes: heaviest first). */
int labels__end(struct gt_labels *L, struct gstate *gs);

/* Runs the whole analysis over cap in its own pass. 0 or -errno (printed). */
int labels__run(struct gt_labels *L, struct gt_capture *cap);

/* Naming, shared by the renderers. */
void labels__site_str(struct gt_capture *cap, uint64_t gopc, char *buf, size_t len);
void labels__set_str(struct gt_capture *cap, uint64_t id, char *buf, size_t len);
/* The first frame of a change's stack outside the runtime and runtime/pprof. */
void labels__change_site(struct gt_capture *cap, uint64_t stack, char *buf, size_t len);

/* Renderers (labels_out.c): the section of the text report, jsonl, a pprof profile. */
void labels__print_text(const struct gt_labels *L, FILE *out);
int labels__print_jsonl(const struct gt_labels *L, FILE *out);
int labels__write_pprof(const struct gt_labels *L, FILE *out);

#endif

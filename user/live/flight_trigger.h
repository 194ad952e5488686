/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The flight recorder's triggers: conditions over the goroutines as the
 * live gstate has them now (runtime goroutines aside, as in reports), and
 * the label sets the target defines.  Edge-triggered: one fires when its
 * condition becomes true, at most once per 10 s.
 */
#ifndef GTRACE_FLIGHT_TRIGGER_H
#define GTRACE_FLIGHT_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>
#include "binary/target.h"
#include "capture/gstate.h"

#define FLIGHT_MAX_TRIGGERS 32

enum flight_trigger_kind { FT_GOROUTINES, FT_WAITING, FT_BLOCKED, FT_LABEL };

struct flight_trigger {
	enum flight_trigger_kind kind;
	const char *text;     /* as given (kept by the caller) */
	char name[64];	      /* for file names: text with unsafe characters replaced */
	uint64_t n;	      /* count threshold, or ns for blocked */
	int reason;	      /* waiting[]: waitReason value */
	struct gs_filter label; /* label: KEY=VALUE */
	bool armed;	      /* condition was false since the last firing (edge trigger) */
	bool pending;	      /* label seen, not fired yet */
	uint64_t last_fire, fired;
};

/*
 * goroutines>N, waiting[REASON]>N, blocked>DURATION, label:KEY=VALUE.
 * Syntax only (waiting[] reasons are resolved against the target later);
 * 0 or -EINVAL (not printed).
 */
int flight_trigger__parse(const char *s, struct flight_trigger *tr);
/* Finds each waiting[] reason in the target's Go; 0 or -EINVAL (printed). */
int flight_trigger__resolve(struct flight_trigger *t, int n, const struct gt_target *target);
/* A label set was defined (a LABELSET record): label: triggers it matches become pending. */
void flight_trigger__labelset(struct flight_trigger *t, int n, const struct gt_event_hdr *rec);

/* What the conditions look at, counted over the live goroutines. */
struct flight_counts {
	uint64_t alive, waiting[256], oldest_park;
};
void flight_trigger__count(struct gstate *live, uint64_t now, struct flight_counts *c);
/* Calls fire for every trigger that fires at now. */
void flight_trigger__check(struct flight_trigger *t, int n, const struct flight_counts *c,
			   uint64_t now, void (*fire)(void *arg, struct flight_trigger *tr),
			   void *arg);

#endif

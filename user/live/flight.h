/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The flight recorder behind `gtrace flight`: attaches like `record`, but
 * keeps only the last N seconds (or N MB) of events in memory
 * (flight_ring.h) and writes them out as an ordinary capture when asked,
 * when it stops or when a trigger fires (flight_trigger.h).  A dump must
 * read on its own, so besides the window it carries every stack and label
 * set definition still referenced, and a snapshot of every goroutine as it
 * was when the window begins: a second gstate that the evicted records
 * move along.  Memory is the window plus state bounded by the number of
 * live goroutines and distinct stacks, never by run time.
 */
#ifndef GTRACE_FLIGHT_H
#define GTRACE_FLIGHT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "live/az.h"
#include "live/flight_trigger.h"

struct flight_opts {
	pid_t pid;
	double window_s;
	uint64_t window_bytes;
	const char *dir;
	uint64_t buffer;
	bool stacks;
	struct gt_az_opts az;
	struct flight_trigger trig[FLIGHT_MAX_TRIGGERS];
	int ntrig;
};

struct flight;

/*
 * Opens the target, attaches the probes, takes the attach snapshot and
 * prints the "flight recorder on" line.  o must outlive the recorder.
 * 0 or -errno (printed); on error nothing is left to free.
 */
int flight__open(struct flight **f, struct flight_opts *o);
/*
 * Records until *stop is set, the target exits or an error; a dump each
 * time *dump_now is set (cleared here) and each time a trigger fires.
 * Returns why it stopped: "interrupted", "target exited" or "error".
 */
const char *flight__run(struct flight *f, const volatile sig_atomic_t *stop,
			volatile sig_atomic_t *dump_now);
/* Detaches, drains, writes the last window (why as its reason) and frees f. 0 or -errno. */
int flight__close(struct flight *f, const char *why);

#endif

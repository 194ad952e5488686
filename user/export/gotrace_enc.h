/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wire format of Go's execution trace, version "go 1.26" (the newest
 * both Go 1.26's and Go 1.27's internal/trace accept; docs/formats/gotrace.md):
 * a 16-byte header, then one generation: per-M event batches (at most
 * 64 KiB each, events as a type byte and uvarint arguments, timed events
 * starting with the delta from the previous event of the batch), a sync
 * batch (frequency and a clock snapshot), string and stack tables, and the
 * end-of-generation byte.  Timestamps are CLOCK_MONOTONIC ns (frequency
 * 1e9), the clock the capture uses, so no conversion loses precision.
 * This file knows bytes only; what to say is export_gotrace.c's business.
 */
#ifndef GTRACE_GOTRACE_ENC_H
#define GTRACE_GOTRACE_ENC_H

#include <stdint.h>
#include <stdio.h>

/* Event numbers of internal/trace/tracev2 (append-only upstream). */
enum {
	GTV_EVENT_BATCH = 1,
	GTV_STACKS = 2,
	GTV_STACK = 3,
	GTV_STRINGS = 4,
	GTV_STRING = 5,
	GTV_FREQUENCY = 8,
	GTV_PROC_START = 10,
	GTV_PROC_STOP = 11,
	GTV_PROC_STATUS = 13,
	GTV_GO_CREATE = 14,
	GTV_GO_START = 16,
	GTV_GO_DESTROY = 17,
	GTV_GO_STOP = 19,
	GTV_GO_BLOCK = 20,
	GTV_GO_UNBLOCK = 21,
	GTV_GO_SYSCALL_BEGIN = 22,
	GTV_GO_SYSCALL_END = 23,
	GTV_GO_SYSCALL_END_BLOCKED = 24,
	GTV_GO_STATUS = 25,
	GTV_USER_REGION_BEGIN = 42,
	GTV_USER_REGION_END = 43,
	GTV_USER_LOG = 44,
	GTV_GO_CREATE_BLOCKED = 47,
	GTV_GO_STATUS_STACK = 48,
	GTV_SYNC = 50,
	GTV_CLOCK_SNAPSHOT = 51,
	GTV_END_OF_GENERATION = 52,
};

/* tracev2.GoStatus and ProcStatus values */
enum { GTV_G_RUNNABLE = 1, GTV_G_RUNNING = 2, GTV_G_SYSCALL = 3, GTV_G_WAITING = 4 };
enum { GTV_P_RUNNING = 1, GTV_P_IDLE = 2, GTV_P_SYSCALL = 3 };

#define GTV_NO_THREAD UINT64_MAX /* ThreadID(-1) as the runtime writes it */

struct gtv_frame {
	uint64_t pc;
	const char *func, *file;
	uint64_t line;
};

struct gtv;

/* Writes the header; 0 or -ENOMEM. */
int gtv__open(struct gtv **w, FILE *out);
/* Frees (does not close out). */
void gtv__close(struct gtv *w);
/* A string's id (interned, >= 1); strings longer than 1 KiB keep their tail. */
uint64_t gtv__string(struct gtv *w, const char *s);
/* A new stack table entry (leaf first, at most 128 frames); its id (>= 1), 0 on ENOMEM. */
uint64_t gtv__stack(struct gtv *w, const struct gtv_frame *f, int n);
/*
 * One timed event on thread m at ts (ns): type and its arguments after the
 * timestamp.  A ts before the thread's previous event is moved up to it
 * (the format has no negative deltas).  0 or -errno.
 */
int gtv__event(struct gtv *w, uint64_t m, uint64_t ts, uint8_t type, int nargs,
	       const uint64_t *args);
/*
 * Ends the generation: every pending batch, the sync batch (frequency and
 * the clock snapshot mono_ns <-> wall sec/nsec), the string and stack
 * tables, the end-of-generation signal.  0 or -EIO.
 */
int gtv__finish(struct gtv *w, uint64_t mono_ns, int64_t wall_ns);
/* Events written so far. */
uint64_t gtv__nevents(const struct gtv *w);

#endif

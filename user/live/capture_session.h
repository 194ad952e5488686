/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every command that writes a capture from a live target shares
 * (`record`, `flight`): the privilege and kernel checks, the header
 * metadata, symbols for the PCs records mention, and the trailer with
 * loss totals.  Moved out of cmd_record.c so both write the same capture.
 */
#ifndef GTRACE_CAPTURE_SESSION_H
#define GTRACE_CAPTURE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "live/az.h"
#include "capture/capture.h"
#include "lib/clock.h"
#include "binary/target.h"
#include "live/tracer.h"
#include "lib/u64map.h"

/* Root, or CAP_BPF + CAP_PERFMON; and a kernel with BTF and uprobes.  0 or -errno (printed). */
int capture_session__check_privileges(const char *cmd);
int capture_session__check_kernel(void);

/*
 * The header metadata `gtrace record` writes: gtrace/capture versions,
 * kernel, target, Go version, offsets, wait reason names, clock mapping
 * (clock; NULL: sample one now), availability zone (az from az__resolve
 * once per run; NULL: none), start time.
 */
void capture_session__write_header(struct gt_capture_writer *w, const struct gt_target *t,
				   uint32_t mask, bool stacks, uint64_t buffer,
				   const struct gt_clock_map *clock, const struct gt_az *az);
/* Writes one clock mapping (again after a step or drift) as clock.* metadata. */
void capture_session__write_clock(struct gt_capture_writer *w, const struct gt_clock_map *cm);

/*
 * Defines in w the frames of every PC rec mentions (stack PCs, create and
 * snapshot gopc/startpc) that done does not hold yet.  Symbols are keyed as
 * the reader asks for them: return addresses minus one, entries exact.
 */
void capture_session__symbols(struct gt_capture_writer *w, const struct gt_target *t,
			      struct u64map *done, const struct gt_event_hdr *rec);

/*
 * The trailer: per event type produced/written/lost (tracer totals plus
 * user_produced, records made in user space; tr and user_produced may be
 * NULL), record.events, end time and why the capture stopped.
 */
void capture_session__write_trailer(struct gt_capture_writer *w, struct gt_tracer *tr,
				    const uint64_t written[GT_EV_MAX],
				    const uint64_t user_produced[GT_EV_MAX], uint64_t events,
				    const char *why);

/*
 * Loss while a session runs: the kernel's counters only grow, so each poll
 * turns the growth since the previous one into a LOSS record spanning the
 * time between the two polls.  Start with seen = 0, last_poll_ns = start.
 */
struct capture_loss {
	uint64_t seen;	       /* total lost when last looked */
	uint64_t last_poll_ns; /* CLOCK_MONOTONIC of the last look */
};
/* True, with *e filled, when records were lost since the last call. */
bool capture_session__loss(struct gt_tracer *tr, struct capture_loss *l, struct gt_ev_loss *e);

/* The target has exited (pidfd readable, or without a pidfd, kill(pid, 0) says ESRCH). */
bool capture_session__target_gone(int pidfd, pid_t pid);

/*
 * Watches one target for the ends of a live session: exit, and exec.  An
 * exec keeps the pid (and the pidfd quiet) but replaces the image the
 * probes and symbols belong to, so the session must stop.  memfd is
 * /proc/PID/mem opened at the start: it stays bound to that image's mm, and
 * a read through it returns 0 bytes once the mm is gone (exec or exit).
 */
struct capture_watch {
	pid_t pid;
	int pidfd, memfd;
	uint64_t addr; /* an address mapped in the image we attached to */
};
#define CAPTURE_WHY_EXITED "target exited"
#define CAPTURE_WHY_EXEC "target exec'd a new program (the probes were on the old image)"
void capture_session__watch_open(struct capture_watch *w, pid_t pid);
/* NULL while the target runs the image we attached to, else CAPTURE_WHY_*. */
const char *capture_session__watch_check(struct capture_watch *w);
void capture_session__watch_close(struct capture_watch *w);

/* How often the progress line is redrawn, ns: each second on a terminal, every 10 s into a log. */
static inline uint64_t capture_session__progress_every(bool tty)
{
	return tty ? 1000000000ull : 10000000000ull;
}

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Host-wide exec and exit notifications (bpf/proc_events.bpf.c): a ring
 * buffer the agent polls with its other file descriptors.  Costs nothing in
 * any target; tracepoints only.
 */
#ifndef GTRACE_PROC_EVENTS_H
#define GTRACE_PROC_EVENTS_H

#include <stdint.h>
#include <sys/types.h>

struct gt_proc_events;

/* kind: GT_PROC_EXEC or GT_PROC_EXIT (bpf/gtrace_events.h). */
typedef void (*gt_proc_event_fn)(void *ctx, int kind, pid_t pid);

/* Loads and attaches the tracepoints.  0 or -errno (printed). */
int proc_events__open(struct gt_proc_events **out, gt_proc_event_fn fn, void *ctx);
/* An fd that is readable when records wait (for poll/epoll). */
int proc_events__fd(const struct gt_proc_events *pe);
/* Hands every waiting record to fn.  Number handled or -errno. */
int proc_events__consume(struct gt_proc_events *pe);
/* Records the kernel could not queue (a /proc rescan then catches up). */
uint64_t proc_events__lost(const struct gt_proc_events *pe);
void proc_events__close(struct gt_proc_events *pe);

#endif

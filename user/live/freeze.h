/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `--stop`: freezing a target with SIGSTOP for a consistent read, and
 * always resuming it, even from a signal handler.
 */
#ifndef GTRACE_FREEZE_H
#define GTRACE_FREEZE_H

#include <signal.h>
#include <sys/types.h>

/* Stops pid and waits (bounded, or until *interrupted) until every thread is off CPU. 0 or -errno. */
int freeze__stop(pid_t pid, volatile sig_atomic_t *interrupted);
/* Resumes the process frozen, if any.  Async-signal-safe: call it from a handler. */
void freeze__resume(void);

#endif

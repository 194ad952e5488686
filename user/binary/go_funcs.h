/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the names of Go runtime functions mean: facts about the runtime's
 * own code that every layer asks about (the snapshot reader, the goroutine
 * model, the reports), kept next to the rest of the Go knowledge.
 */
#ifndef GTRACE_GO_FUNCS_H
#define GTRACE_GO_FUNCS_H

#include <stdbool.h>

struct gt_pclntab;
struct gt_func;

/*
 * Go's isSystemGoroutine by the name of the goroutine's start function:
 * runtime.* except the entries that run user code (runtime.main,
 * runtime.handleAsyncEvent).  The finalizer goroutine is the one more
 * exception, decided by its state: see go_funcs__finalizer.
 */
bool go_funcs__is_system(const char *name);

/* The finalizer goroutine's function (runtime.runfinq, runtime.runFinalizers from 1.26), or NULL. */
const struct gt_func *go_funcs__finalizer(const struct gt_pclntab *t);

#endif

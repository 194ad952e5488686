/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Renderers of a live snapshot (live/greader.h) for `gtrace snapshot`:
 * text grouped by identical stack, one JSON object per goroutine, or a
 * pprof goroutine profile.  Each may reorder s->g.  0 or -errno.
 */
#ifndef GTRACE_SNAPSHOT_EXPORT_H
#define GTRACE_SNAPSHOT_EXPORT_H

#include <stdio.h>
#include "binary/target.h"
#include "live/goroutine.h"

/* stopped: how the target was read, for the header ("while it ran (not stopped)"). */
int snapexp__text(FILE *f, const struct gt_target *t, struct gt_snapshot *s, const char *stopped);
int snapexp__jsonl(FILE *f, const struct gt_target *t, struct gt_snapshot *s);
int snapexp__pprof(FILE *f, const struct gt_target *t, struct gt_snapshot *s);

#endif

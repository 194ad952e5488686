/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The attach-time picture of a recording: every goroutine of the target as
 * capture records, so a capture knows the goroutines that existed before
 * its first event.
 */
#ifndef GTRACE_SNAPSHOT_RECORDS_H
#define GTRACE_SNAPSHOT_RECORDS_H

#include "binary/target.h"
#include "capture/capture.h" /* gt_record_fn */

/*
 * Takes a snapshot of t and hands it to fn as records: for each goroutine,
 * its GT_EV_LABELSET and GT_EV_STACK definitions (once per id; ids have the
 * top bit set so they never collide with the BPF side's), then one
 * GT_EV_SNAPSHOT.  PCs in records are link-time addresses, as pclntab wants.
 * Returns the number of goroutines emitted, or -errno.
 */
int snaprec__emit(struct gt_target *t, gt_record_fn fn, void *ctx);

#endif

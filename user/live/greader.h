/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every goroutine of a running Go process, read from outside with
 * process_vm_readv: runtime.allgs (live/allgs.h), then per g its id,
 * status, wait reason, parent, creation site, labels (live/glabels.h) and
 * a frame-pointer walk of its stack (live/gwalk.h).  The target runs on
 * while it is read, so each g is re-checked after its walk and re-read
 * when it moved.  A read can reuse the previous one: a g whose resume
 * point (sched/syscall pc, sp, bp), status and stack bounds did not change
 * keeps its stack without a walk (GT_G_CACHED).  Used by `gtrace snapshot`,
 * the sampler behind `profile`/`top`, and the attach-time GT_EV_SNAPSHOT
 * records of `record`/`flight`.
 */
#ifndef GTRACE_GREADER_H
#define GTRACE_GREADER_H

#include <signal.h>
#include "binary/target.h"
#include "live/goroutine.h"

struct gt_greader;

/*
 * Prepares reading t's goroutines: finds allglen/allgptr and the load bias.
 * 0, -EPERM (no ptrace access), -ESRCH (gone), -ENOENT (allgs not found); printed.
 */
int greader__open(struct gt_greader **out, struct gt_target *t);
void greader__close(struct gt_greader *r);

/*
 * Reads the g at addr into *g (caller frees with goroutine__free): its own
 * copies of stack and labels.  0, -ESRCH, -ENOENT (dead or unreadable).
 */
int greader__read_one(struct gt_greader *r, uint64_t addr, struct gt_goroutine *g);

/*
 * Reads every goroutine that is not idle or dead.  *stop, when set during
 * the read, ends it early (what was read is kept).  0 or -errno; on -ESRCH
 * the snapshot still holds what was read and target_exited is set.
 */
int greader__read_all(struct gt_greader *r, struct gt_snapshot *s, volatile sig_atomic_t *stop);

/*
 * As greader__read_all, reusing prev (the previous read of the same
 * process, or NULL) for goroutines that did not move.  prev's label sets
 * move into s: free prev (greader__free_snapshot) before s, and do not read prev's labels after s
 * is freed.
 */
int greader__read_since(struct gt_greader *r, struct gt_snapshot *s, struct gt_snapshot *prev,
			volatile sig_atomic_t *stop);

/* Frees a snapshot read by greader__read_all/read_since. */
void greader__free_snapshot(struct gt_snapshot *s);
/*
 * The same, keeping its goroutine arrays in r for r's next read: a sampler
 * that reads the same process again and again writes into warm memory.
 */
void greader__recycle_snapshot(struct gt_greader *r, struct gt_snapshot *s);

/* Link-time address of a runtime address (PIE). */
uint64_t greader__unbias(const struct gt_greader *r, uint64_t addr);

#endif

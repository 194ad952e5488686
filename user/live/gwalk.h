/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Frame-pointer walks of many goroutine stacks at once, from outside: each
 * round fetches one window of every stack still being walked with batched
 * process_vm_readv calls (most stacks fit in the first window).
 */
#ifndef GTRACE_GWALK_H
#define GTRACE_GWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "binary/target.h"
#include "live/remote_mem.h"

#define GWALK_WINDOW 1024 /* bytes of stack fetched per read while walking */
#define GWALK_INLINE 48	  /* return addresses kept in place per walk */

/* The fields of one read of a g (runtime addresses), to walk it and to compare two reads. */
struct graw {
	uint64_t goid, sched_sp, sched_pc, sched_bp, sys_sp, sys_pc, sys_bp;
	uint64_t stack_lo, stack_hi, m, labels, gopc, startpc, parent;
	int64_t waitsince;
	uint32_t status;
	uint8_t reason;
};

/* One stack being walked. */
struct gwalk {
	struct graw w;	/* the g as read: where the walk starts */
	uint64_t fp, win_lo, win_hi;
	uint64_t *pcs;	/* return addresses, leaf first: inl, or on the heap when deeper */
	int n, cap;
	uint32_t flags; /* GT_G_NO_STACK, GT_G_STACK_PARTIAL, GT_G_TRUNCATED */
	bool walking;
	uint64_t inl[GWALK_INLINE];
};

/* cap walks and their windows, reused from chunk to chunk. */
struct gwalk_batch {
	struct gwalk *w;
	size_t cap;
	uint8_t *win;
	struct rmem_vec *rv;
	bool *ok;
	uint32_t *req;
	size_t nwin, winbytes; /* windows fetched, and their bytes, since init (for -v) */
	uint64_t ncalls;       /* process_vm_readv calls */
};

int gwalk__batch_init(struct gwalk_batch *b, size_t cap);
void gwalk__batch_free(struct gwalk_batch *b);

/*
 * Prepares the walk of w->w: its resume PC (pushed as the first frame) and
 * frame pointer; a syscall walks from syscallpc/bp (found on the stack
 * before Go 1.23).  bias: runtime - link-time address.  0 or -ENOMEM.
 */
int gwalk__start(struct gwalk *w, pid_t pid, const struct gt_target *t, uint64_t bias);

/* Walks b->w[list[0..n)] to their ends.  0, -ESRCH or -ENOMEM. */
int gwalk__run(struct gwalk_batch *b, pid_t pid, const uint32_t *list, size_t n);

#endif

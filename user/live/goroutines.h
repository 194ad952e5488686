/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every goroutine of a running Go process, read from outside with
 * process_vm_readv: runtime.allgs (allglen/allgptr, found through .symtab
 * or by disassembling runtime.forEachGRace), then per g its id, status,
 * wait reason, parent, creation site, labels (map or slice layout) and a
 * frame-pointer walk of its stack.  The target runs on while it is read, so
 * each g is re-checked after its walk and re-read when it moved.  Used by
 * `gtrace snapshot`, and by `gtrace record`/`flight` for the attach-time
 * GT_EV_SNAPSHOT records.
 */
#ifndef GTRACE_GOROUTINES_H
#define GTRACE_GOROUTINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binary/target.h"
#include "live/tracer.h"

#define GT_G_MAX_FRAMES 512 /* frames walked per goroutine; more sets GT_G_TRUNCATED */
#define GT_G_LABEL_MAX 4096 /* bytes kept of a label key or value */
#define GT_G_RETRIES 4	    /* re-reads of a goroutine that moved while read */

/* Goroutine status values: enum gt_g_status (bpf/gtrace_events.h). */

/* Bits of gt_goroutine.flags. */
#define GT_G_TRUNCATED 0x01	  /* stack deeper than GT_G_MAX_FRAMES */
#define GT_G_NO_STACK 0x02	  /* running on a thread: no stack from outside */
#define GT_G_INCONSISTENT 0x04	  /* kept changing while read: fields may disagree */
#define GT_G_STACK_PARTIAL 0x08	  /* walk stopped early (unreadable frame, no syscallbp) */
#define GT_G_LABELS_TRUNCATED 0x10 /* a label was cut, or unreadable */
#define GT_G_SYSTEM 0x20	  /* a runtime goroutine (Go's isSystemGoroutine) */
#define GT_G_SHARED 0x80000000u /* internal: pcs and labels belong to the snapshot, shared */

struct gt_label {
	char *key, *value;
};

struct gt_goroutine {
	uint64_t addr;	   /* the g in the target */
	uint64_t goid;
	uint32_t status;   /* scan bit removed */
	uint8_t reason;	   /* waitReason, meaningful when waiting */
	int64_t waitsince; /* runtime nanotime (CLOCK_MONOTONIC) or 0 when unset */
	uint64_t parent;   /* parent goid, 0 when unknown (< 1.21) or runtime-created */
	uint64_t gopc;	   /* return address of the go statement (link-time address) */
	uint64_t startpc;  /* entry of the goroutine's function (link-time address) */
	uint64_t m;	   /* the M running it, 0 when none */
	int tid;	   /* that M's thread, 0 when none */
	uint32_t flags;
	int retries;	   /* re-reads needed for a consistent view */
	int nlabels;	   /* sorted by key */
	struct gt_label *labels;
	int nframes;	   /* return addresses, leaf first, link-time addresses */
	uint64_t *pcs;	   /* in a snapshot, shared by every goroutine with the same stack:
			    * equal stacks have equal pointers; read-only */
};

struct gt_snapshot {
	struct gt_goroutine *g;
	size_t n;	     /* goroutines kept (alive) */
	size_t allglen;	     /* length of allgs when read */
	size_t nsystem;	     /* of n, runtime goroutines */
	size_t ninconsistent;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC around the read */
	bool target_exited;  /* the process went away part way: g holds what was read */
	const char *allgs_source; /* "symtab" or "disasm runtime.forEachGRace" */
	void *store;	     /* private: the stacks and label sets g[] points into */
};

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
int greader__read_all(struct gt_greader *r, struct gt_snapshot *s, volatile int *stop);

/* Link-time address of a runtime address (PIE). */
uint64_t greader__unbias(const struct gt_greader *r, uint64_t addr);

void goroutine__free(struct gt_goroutine *g);
void snapshot__free(struct gt_snapshot *s);

/* "waiting", "running", ...: the runtime's name of a status. */
const char *goroutine__status_name(uint32_t status);
/* "chan receive", or the status name when not waiting. */
const char *goroutine__state(const struct gt_target *t, const struct gt_goroutine *g);

/*
 * Takes a snapshot of t and hands it to fn as records: for each goroutine,
 * its GT_EV_LABELSET and GT_EV_STACK definitions (once per id; ids have the
 * top bit set so they never collide with the BPF side's), then one
 * GT_EV_SNAPSHOT.  PCs in records are link-time addresses, as pclntab wants.
 * Returns the number of goroutines emitted, or -errno.
 */
int goroutines__emit_snapshot(struct gt_target *t, gt_record_fn fn, void *ctx);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A goroutine of a live process as read from outside (live/greader.h reads
 * them): id, status, wait reason, parent, creation site, labels and stack,
 * and a snapshot (every goroutine of one read).  Also the runtime's names
 * of statuses.  Used by snapshot, profile, top, and the attach-time
 * GT_EV_SNAPSHOT records of record/flight.
 */
#ifndef GTRACE_GOROUTINE_H
#define GTRACE_GOROUTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binary/target.h"

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
#define GT_G_CACHED 0x40	  /* stack reused from the previous read: g had not moved */
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
	struct gt_label *labels; /* in a snapshot, shared by pointer like pcs */
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
	size_t ncached;	     /* of n, stacks reused from the previous read (GT_G_CACHED) */
	uint64_t nreadv;     /* process_vm_readv calls the read made */
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC around the read */
	bool target_exited;  /* the process went away part way: g holds what was read */
	const char *allgs_source; /* "symtab" or "disasm runtime.forEachGRace" */
	void *store;	     /* private: the stacks and label sets g[] points into */
	void *keys;	     /* private: what each g was read at, for the next read's cache */
};

/* Frees a goroutine that owns its stack and labels (greader__read_one). */
void goroutine__free(struct gt_goroutine *g);

/* "waiting", "running", ...: the runtime's name of a status. */
const char *goroutine__status_name(uint32_t status);
/* "chan receive", or the status name when not waiting. */
const char *goroutine__state(const struct gt_target *t, const struct gt_goroutine *g);

#endif

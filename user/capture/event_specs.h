/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What each event type of bpf/gtrace_events.h is, in one table (as Go's
 * internal/trace keeps its event specs): the name every output uses, the
 * smallest valid record, the `record --events` class that selects it, and
 * which fields are code addresses.  The reader checks sizes with it, the
 * tracer makes code addresses link-time with it, capture sessions know
 * what to symbolize from it.  tests/unit/test_capture.c checks it against
 * the header.
 */
#ifndef GTRACE_EVENT_SPECS_H
#define GTRACE_EVENT_SPECS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include "bpf/gtrace_events.h"

enum gt_pc_kind {
	GT_PC_RETURN = 1, /* a return address: symbolize pc - 1, the call */
	GT_PC_ENTRY,	  /* a function entry (or exact pc): symbolize pc itself */
};

struct gt_event_pc {
	uint16_t off;  /* byte offset of a u64 field in the record, 0 = end of list */
	uint8_t kind;  /* enum gt_pc_kind */
};

#define GT_EVENT_SPEC_PCS 2

struct gt_event_spec {
	const char *name;      /* "park", "syscall_enter": jsonl "ev", text, pprof */
	uint16_t min_size;     /* shorter records are corrupt */
	const char *cli_class; /* `record --events` class, NULL when not selectable */
	struct gt_event_pc pcs[GT_EVENT_SPEC_PCS]; /* code-address fields */
	bool pc_array;	       /* GT_EV_STACK: pcs[nr], return addresses */
};

/* Indexed by enum gt_event_type; a type with name NULL is unknown. */
extern const struct gt_event_spec gt_event_specs[GT_EV_MAX];

/* The spec of type, or NULL when this version does not know it. */
static inline const struct gt_event_spec *event_spec(unsigned type)
{
	return type < GT_EV_MAX && gt_event_specs[type].name ? &gt_event_specs[type] : NULL;
}

/*
 * Calls fn on every code address in rec (a complete record of rec->size
 * bytes) with its kind; pc points into rec so fn may rewrite it.  Zero
 * addresses (unknown) are skipped.
 */
void event_spec__each_pc(struct gt_event_hdr *rec, void (*fn)(void *arg, __u64 *pc, int kind),
			 void *arg);

#endif

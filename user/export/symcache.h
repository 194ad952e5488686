/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbols of a live target's PCs, each looked up in pclntab once: 100,000
 * goroutines have a few hundred distinct PCs.  A return address is
 * symbolized at ret-1 (the call), an exact PC (a start function's entry)
 * as is.  Used by the snapshot renderers and the sampled profiles.
 */
#ifndef GTRACE_SYMCACHE_H
#define GTRACE_SYMCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "binary/target.h"

struct symcache_entry {
	const struct gt_func *fn; /* the function holding the PC, or NULL */
	int n;			  /* frames, inlined first; 0 when the PC is in no function */
	struct gt_frame fr[];
};

struct symcache;

struct symcache *symcache__new(const struct gt_target *t);
void symcache__free(struct symcache *c);

/* The entry of pc: a return address (exact false) or an exact PC.  Never NULL. */
const struct symcache_entry *symcache__at(struct symcache *c, uint64_t pc, bool exact);
/* The frames at a return address, inlined first; one "?" frame when it is in no function. */
int symcache__frames(struct symcache *c, uint64_t ret, const struct gt_frame **fr);
/* The function that called at a return address, "?" when unknown. */
const char *symcache__func_name(struct symcache *c, uint64_t ret);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The storage a snapshot's goroutines point into: identical stacks are
 * stored once (100,000 parked goroutines typically share a handful), every
 * label set once (keyed by its runtime address), in blocks freed together.
 */
#ifndef GTRACE_GSTORE_H
#define GTRACE_GSTORE_H

#include <stddef.h>
#include <stdint.h>
#include "live/glabels.h"

struct gstore;

struct gstore *gstore__new(void);
void gstore__free(struct gstore *st);

/* The stored copy of a stack: equal stacks get equal pointers.  NULL: out of memory. */
const uint64_t *gstore__stack(struct gstore *st, const uint64_t *pcs, int n);

/* The label set stored for runtime address p, or NULL. */
const struct glabels_set *gstore__lset(const struct gstore *st, uint64_t p);
/* Stores *set (malloc'd; the store owns it now) for p.  0 or -ENOMEM (set freed). */
int gstore__lset_add(struct gstore *st, uint64_t p, struct glabels_set *set);
/* Removes the set of p from st and hands it over (to move it to a newer store), or NULL. */
struct glabels_set *gstore__lset_take(struct gstore *st, uint64_t p);
/* Label sets held. */
size_t gstore__nlsets(const struct gstore *st);

#endif

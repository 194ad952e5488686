/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The flight recorder's window: records in a ring of batches, oldest
 * first, dropped a whole batch at a time once older than the window or
 * over its size.  A batch spans at most 1/8 of the window, so a slow
 * stream still ages out, and gives back its unused tail when full, so the
 * memory count is exact.
 */
#ifndef GTRACE_FLIGHT_RING_H
#define GTRACE_FLIGHT_RING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "bpf/gtrace_events.h"

/* Records back to back, each padded to 8 bytes (as in a capture's EVENTS chunk). */
struct flight_batch {
	struct flight_batch *next;
	uint64_t first_ts, last_ts;
	size_t len, cap;
	uint8_t data[];
};

struct flight_ring {
	struct flight_batch *head, *tail, **tail_link; /* tail_link: the pointer to tail */
	size_t bytes;				       /* batches, headers included */
	size_t batch_size;
	uint64_t window_ns, max_bytes;
	uint64_t evicted; /* batches dropped */
};

/* An empty ring keeping window_s seconds and at most max_bytes. */
void flight_ring__init(struct flight_ring *r, double window_s, uint64_t max_bytes);
/* Appends one record (len = its size); 0 or -ENOMEM. */
int flight_ring__append(struct flight_ring *r, const void *rec, size_t len);
/*
 * Drops the batches older than the window at now (or over its size),
 * handing each of their records to fn first, oldest first.
 */
void flight_ring__evict(struct flight_ring *r, uint64_t now,
			void (*fn)(void *arg, const struct gt_event_hdr *h), void *arg);
/* Time the window spans, ns (0 when empty). */
uint64_t flight_ring__span(const struct flight_ring *r);
void flight_ring__free(struct flight_ring *r);

/* Every record h of batch b, in order. */
#define flight_batch__for_each(b, h)                                                        \
	for (size_t _at = 0; _at + sizeof(struct gt_event_hdr) <= (b)->len &&                   \
			     ((h) = (const void *)((b)->data + _at), (h)->size);                 \
	     _at += ((h)->size + 7) & ~7u)

#endif

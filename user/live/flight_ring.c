// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The flight recorder's window of records (flight_ring.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "live/flight_ring.h"

void flight_ring__init(struct flight_ring *r, double window_s, uint64_t max_bytes)
{
	*r = (struct flight_ring){ .window_ns = window_s * 1e9, .max_bytes = max_bytes };
	/* Batches small enough that evicting one frees a sliver of the window. */
	r->batch_size = max_bytes / 16 < (1 << 20) ? max_bytes / 16 : 1 << 20;
	if (r->batch_size < 65536)
		r->batch_size = 65536;
}

/* A full batch gives back its unused tail: memory and window accounting stay exact. */
static void shrink_tail(struct flight_ring *r)
{
	struct flight_batch *b = r->tail, *nb;

	if (b->len == b->cap)
		return;
	nb = realloc(b, sizeof(*b) + b->len);
	if (!nb)
		return;
	r->bytes -= nb->cap - nb->len;
	nb->cap = nb->len;
	*r->tail_link = nb;
	r->tail = nb;
}

int flight_ring__append(struct flight_ring *r, const void *rec, size_t len)
{
	const struct gt_event_hdr *h = rec;
	struct flight_batch *b = r->tail;

	len = (len + 7) & ~7ul;
	if (!b || b->len + len > b->cap || h->ts > b->first_ts + r->window_ns / 8) {
		size_t cap = len > r->batch_size ? len : r->batch_size;

		if (b)
			shrink_tail(r);
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return -ENOMEM;
		*b = (struct flight_batch){ .cap = cap, .first_ts = h->ts };
		if (r->tail) {
			r->tail->next = b;
			r->tail_link = &r->tail->next;
		} else {
			r->head = b;
			r->tail_link = &r->head;
		}
		r->tail = b;
		r->bytes += sizeof(*b) + cap;
	}
	memcpy(b->data + b->len, rec, h->size);
	memset(b->data + b->len + h->size, 0, len - h->size);
	b->len += len;
	if (h->ts > b->last_ts)
		b->last_ts = h->ts;
	return 0;
}

void flight_ring__evict(struct flight_ring *r, uint64_t now,
			void (*fn)(void *arg, const struct gt_event_hdr *h), void *arg)
{
	while (r->head && (r->bytes > r->max_bytes || r->head->last_ts + r->window_ns < now)) {
		struct flight_batch *b = r->head;
		const struct gt_event_hdr *h;

		/* The batch still being filled leaves only by age. */
		if (b == r->tail && b->last_ts + r->window_ns >= now)
			break;
		flight_batch__for_each(b, h)
			fn(arg, h);
		r->head = b->next;
		if (r->tail_link == &b->next)
			r->tail_link = &r->head;
		if (r->tail == b)
			r->tail = NULL;
		r->bytes -= sizeof(*b) + b->cap;
		r->evicted++;
		free(b);
	}
}

uint64_t flight_ring__span(const struct flight_ring *r)
{
	return r->head && r->tail ? r->tail->last_ts - r->head->first_ts : 0;
}

void flight_ring__free(struct flight_ring *r)
{
	while (r->head) {
		struct flight_batch *b = r->head;

		r->head = b->next;
		free(b);
	}
	r->tail = NULL;
	r->bytes = 0;
}

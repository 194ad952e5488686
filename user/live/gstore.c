// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A snapshot's shared storage (see gstore.h): an arena of 512 KB blocks
 * for stacks, a hash of stacks for sharing, and the label sets by address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/u64map.h"
#include "live/gstore.h"

#define ABLK_WORDS 65536 /* 8-byte words per block */

struct ablk {
	struct ablk *next;
	size_t used, cap;
	uint64_t data[];
};

struct stk {
	int n;
	uint64_t pcs[];
};

struct gstore {
	struct ablk *blocks;
	struct u64map stacks; /* hash of pcs -> struct stk */
	struct u64map lsets;  /* runtime address of a label set -> struct glabels_set */
};

struct gstore *gstore__new(void)
{
	return calloc(1, sizeof(struct gstore));
}

static void *store_alloc(struct gstore *st, size_t len)
{
	size_t words = (len + 7) / 8;
	struct ablk *b = st->blocks;

	if (!b || b->cap - b->used < words) {
		size_t cap = words > ABLK_WORDS ? words : ABLK_WORDS;

		b = malloc(sizeof(*b) + cap * 8);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = st->blocks;
		st->blocks = b;
	}
	b->used += words;
	return b->data + b->used - words;
}

static void free_set(struct glabels_set *s)
{
	glabels__clear(s);
	free(s);
}

void gstore__free(struct gstore *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->lsets.cap; i++)
		if (st->lsets.keys && st->lsets.keys[i])
			free_set(st->lsets.vals[i]);
	u64map__free(&st->lsets);
	u64map__free(&st->stacks);
	while (st->blocks) {
		struct ablk *b = st->blocks;

		st->blocks = b->next;
		free(b);
	}
	free(st);
}

static uint64_t hash_pcs(const uint64_t *pcs, int n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;

	for (int i = 0; i < n; i++)
		h = (h ^ pcs[i]) * 0x100000001b3ull ^ (h >> 29);
	return h | 1; /* 0 is the map's empty key */
}

const uint64_t *gstore__stack(struct gstore *st, const uint64_t *pcs, int n)
{
	uint64_t h = hash_pcs(pcs, n);
	struct stk *s = u64map__get(&st->stacks, h);

	if (s && s->n == n && !memcmp(s->pcs, pcs, n * sizeof(*pcs)))
		return s->pcs;
	/* a hash collision keeps its own copy, unshared */
	s = store_alloc(st, sizeof(*s) + n * sizeof(*pcs));
	if (!s)
		return NULL;
	s->n = n;
	memcpy(s->pcs, pcs, n * sizeof(*pcs));
	if (!u64map__get(&st->stacks, h) && u64map__put(&st->stacks, h, s))
		return NULL;
	return s->pcs;
}

const struct glabels_set *gstore__lset(const struct gstore *st, uint64_t p)
{
	return u64map__get(&st->lsets, p);
}

int gstore__lset_add(struct gstore *st, uint64_t p, struct glabels_set *set)
{
	if (u64map__put(&st->lsets, p, set)) {
		free_set(set);
		return -ENOMEM;
	}
	return 0;
}

struct glabels_set *gstore__lset_take(struct gstore *st, uint64_t p)
{
	return st ? u64map__del(&st->lsets, p) : NULL;
}

size_t gstore__nlsets(const struct gstore *st)
{
	return st->lsets.len;
}

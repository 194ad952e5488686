// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The exporters' lookup tables (gs_table.h).  Both keep their entries in a
 * growing array, so indexes stay stable and follow insertion order, and
 * find them through an open-addressing index of entry + 1 (0 = empty) kept
 * at most half full; the growth and rebuild below serve both.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "capture/gs_table.h"

/* The entries' array with room for one more (first: min entries); NULL on ENOMEM. */
static void *room_for_one(void *arr, size_t len, size_t *cap, size_t min, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : min;
	void *p;

	if (len < *cap)
		return arr;
	p = realloc(arr, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

/* hash(tab, e): the hash of entry e, as the lookups compute it. */
typedef uint64_t (*entry_hash_fn)(const void *tab, size_t e);

/* Doubles the index (first: min slots) and re-inserts entries 0..len-1. */
static int index_grow(uint32_t **idx, size_t *idx_cap, size_t min, size_t len,
		      entry_hash_fn hash, const void *tab)
{
	size_t ncap = *idx_cap ? *idx_cap * 2 : min;
	uint32_t *n = calloc(ncap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t e = 0; e < len; e++) {
		size_t i = hash(tab, e) & (ncap - 1);

		while (n[i])
			i = (i + 1) & (ncap - 1);
		n[i] = e + 1;
	}
	free(*idx);
	*idx = n;
	*idx_cap = ncap;
	return 0;
}

/* ---- aggregation ---- */

static uint64_t key_hash(const uint64_t *k)
{
	uint64_t h = 0;

	for (int i = 0; i < GS_AGG_WORDS; i++)
		h = gs_hash64(h, k[i]);
	return h;
}

static uint64_t agg_entry_hash(const void *tab, size_t e)
{
	return key_hash(((const struct gs_agg *)tab)->ents[e].k);
}

/* The entry under k, added (zeroed) if new; NULL on ENOMEM. */
static struct gs_agg_ent *agg_find(struct gs_agg *a, const uint64_t *k)
{
	struct gs_agg_ent *e;
	size_t i;

	if ((a->len + 1) * 2 > a->idx_cap &&
	    index_grow(&a->idx, &a->idx_cap, 1024, a->len, agg_entry_hash, a))
		return NULL;
	i = key_hash(k) & (a->idx_cap - 1);
	for (; a->idx[i]; i = (i + 1) & (a->idx_cap - 1)) {
		e = &a->ents[a->idx[i] - 1];
		if (!memcmp(e->k, k, sizeof(e->k)))
			return e;
	}
	e = room_for_one(a->ents, a->len, &a->cap, 512, sizeof(*e));
	if (!e)
		return NULL;
	a->ents = e;
	e = &a->ents[a->len++];
	memset(e, 0, sizeof(*e));
	memcpy(e->k, k, sizeof(e->k));
	a->idx[i] = a->len;
	return e;
}

struct gs_agg_ent *gs_agg__add(struct gs_agg *a, const uint64_t *k, uint64_t v)
{
	struct gs_agg_ent *e = agg_find(a, k);

	if (!e)
		return NULL;
	e->count++;
	e->sum += v;
	if (v > e->max)
		e->max = v;
	return e;
}

void gs_agg__free(struct gs_agg *a)
{
	free(a->ents);
	free(a->idx);
	memset(a, 0, sizeof(*a));
}

static int cmp_sum(const void *pa, const void *pb)
{
	const struct gs_agg_ent *a = pa, *b = pb;

	if (a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	return a->count > b->count ? -1 : a->count < b->count;
}

void gs_agg__sort_by_sum(struct gs_agg *a)
{
	if (a->len)
		qsort(a->ents, a->len, sizeof(*a->ents), cmp_sum);
	free(a->idx);
	a->idx = NULL;
	a->idx_cap = 0;
}

/* ---- string table ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static uint64_t str_entry_hash(const void *tab, size_t e)
{
	return str_hash(((const struct gs_strtab *)tab)->strs[e]);
}

int64_t gs_strtab__intern(struct gs_strtab *t, const char *s)
{
	char **strs;
	size_t i;

	if ((t->len + 1) * 2 > t->idx_cap &&
	    index_grow(&t->idx, &t->idx_cap, 256, t->len, str_entry_hash, t))
		return -ENOMEM;
	i = str_hash(s) & (t->idx_cap - 1);
	for (; t->idx[i]; i = (i + 1) & (t->idx_cap - 1))
		if (!strcmp(t->strs[t->idx[i] - 1], s))
			return t->idx[i] - 1;
	strs = room_for_one(t->strs, t->len, &t->cap, 256, sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	t->strs = strs;
	t->strs[t->len] = strdup(s);
	if (!t->strs[t->len])
		return -ENOMEM;
	t->idx[i] = ++t->len;
	return t->len - 1;
}

void gs_strtab__free(struct gs_strtab *t)
{
	for (size_t i = 0; i < t->len; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The two lookup tables the exporters aggregate into: keys of a few words
 * -> count, sum, max (text summaries, pprof samples), and strings -> dense
 * indexes (pprof string tables).  Memory grows with distinct keys, never
 * with events.
 */
#ifndef GTRACE_GS_TABLE_H
#define GTRACE_GS_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* A hash of 64-bit words, for aggregation keys. */
static inline uint64_t gs_hash64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h;
}

/*
 * Aggregation: a key of up to 6 words -> count, sum, max.  Entries live in
 * one growing array (stable indexes, in insertion order); a side index
 * finds them.
 */
#define GS_AGG_WORDS 6
struct gs_agg_ent {
	uint64_t k[GS_AGG_WORDS];
	uint64_t count, sum, max;
};

struct gs_agg {
	struct gs_agg_ent *ents;
	size_t len, cap;
	uint32_t *idx; /* open addressing: entry index + 1, 0 = empty */
	size_t idx_cap;
};

/* Adds (1, v) under key k (GS_AGG_WORDS words).  The entry or NULL (ENOMEM). */
struct gs_agg_ent *gs_agg__add(struct gs_agg *a, const uint64_t *k, uint64_t v);
void gs_agg__free(struct gs_agg *a);
/* Sorts entries by sum, largest first (breaks the index: only before reporting). */
void gs_agg__sort_by_sum(struct gs_agg *a);

/* A string -> dense index table, for pprof string tables and name dedup. */
struct gs_strtab {
	char **strs;
	size_t len, cap;
	uint32_t *idx; /* as gs_agg's */
	size_t idx_cap;
};

/* Index of s (added if new), or -ENOMEM. */
int64_t gs_strtab__intern(struct gs_strtab *t, const char *s);
void gs_strtab__free(struct gs_strtab *t);

#endif

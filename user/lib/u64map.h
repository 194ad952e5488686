/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An open-addressing hash map from u64 keys (goids, stack ids, PCs) to
 * pointers, for the per-event lookups of the reader and the exporters:
 * no allocation per lookup, tombstone-free deletion (backward shift).
 * Key 0 is reserved (empty slot).
 */
#ifndef GTRACE_U64MAP_H
#define GTRACE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;
	void **vals;
	size_t cap; /* power of two */
	size_t len;
};

void *u64map__get(const struct u64map *m, uint64_t key);
/* Inserts or replaces; 0 or -ENOMEM. */
int u64map__put(struct u64map *m, uint64_t key, void *val);
/* Removes and returns the value, or NULL. */
void *u64map__del(struct u64map *m, uint64_t key);
void u64map__free(struct u64map *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->keys && m->keys[i]) ... */

#endif

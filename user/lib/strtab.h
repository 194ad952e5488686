/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * String interning for the exporters whose formats number their strings
 * (Perfetto's interned data): content -> id, ids from 1 in order of first
 * use.  Open addressing on a 64-bit hash; the strings are copied.
 */
#ifndef GTRACE_STRTAB_H
#define GTRACE_STRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strtab_ent {
	uint64_t hash, id;
	size_t len;
	char *s;
};

struct strtab {
	struct strtab_ent *e;
	size_t n, cap; /* cap a power of two */
	uint64_t next;
};

/* The id of s[0..len); *fresh says it was added now.  0 on ENOMEM. */
uint64_t strtab__intern(struct strtab *t, const char *s, size_t len, bool *fresh);
void strtab__free(struct strtab *t);

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* String interning (strtab.h). */
#include <stdlib.h>
#include <string.h>
#include "lib/strtab.h"

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	/* 8 bytes a step: the long strings are stacks, hashed on every use */
	for (; n >= 8; s += 8, n -= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; n; s++, n--)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

static int grow(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct strtab_ent *e = calloc(cap, sizeof(*e));

	if (!e)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->e[i].s)
			continue;
		for (j = t->e[i].hash & (cap - 1); e[j].s; j = (j + 1) & (cap - 1))
			;
		e[j] = t->e[i];
	}
	free(t->e);
	t->e = e;
	t->cap = cap;
	return 0;
}

uint64_t strtab__intern(struct strtab *t, const char *s, size_t len, bool *fresh)
{
	uint64_t h = hash(s, len);
	size_t j;

	*fresh = false;
	if ((t->n + 1) * 2 > t->cap && grow(t))
		return 0;
	for (j = h & (t->cap - 1); t->e[j].s; j = (j + 1) & (t->cap - 1))
		if (t->e[j].hash == h && t->e[j].len == len && !memcmp(t->e[j].s, s, len))
			return t->e[j].id;
	if (!(t->e[j].s = malloc(len + 1)))
		return 0;
	memcpy(t->e[j].s, s, len);
	t->e[j].s[len] = 0;
	t->e[j].hash = h;
	t->e[j].len = len;
	t->e[j].id = ++t->next;
	t->n++;
	*fresh = true;
	return t->e[j].id;
}

void strtab__free(struct strtab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->e[i].s);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A PC -> frames cache over pclntab (see symcache.h). */
#include <stdlib.h>
#include <string.h>
#include "export/symcache.h"
#include "lib/u64map.h"

#define MAX_INLINE 16
/* Keys tag a return address with the top bit, which no link-time address has. */
#define RET_KEY (1ull << 63)

struct symcache {
	const struct gt_target *t;
	struct u64map m;
};

struct symcache *symcache__new(const struct gt_target *t)
{
	struct symcache *c = calloc(1, sizeof(*c));

	if (c)
		c->t = t;
	return c;
}

void symcache__free(struct symcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->m.cap; i++)
		if (c->m.keys && c->m.keys[i])
			free(c->m.vals[i]);
	u64map__free(&c->m);
	free(c);
}

const struct symcache_entry *symcache__at(struct symcache *c, uint64_t pc, bool exact)
{
	static const struct symcache_entry none = { NULL, 0 };
	uint64_t at = exact ? pc : pc - 1, key = exact ? pc : pc | RET_KEY;
	struct gt_frame fr[MAX_INLINE];
	struct symcache_entry *s = key ? u64map__get(&c->m, key) : NULL;
	int n;

	if (s || !key)
		return s ? s : &none;
	n = pclntab__frames(c->t->pcln, at, fr, MAX_INLINE);
	n = n > 0 ? n : 0;
	s = malloc(sizeof(*s) + n * sizeof(*fr));
	if (!s)
		return &none;
	s->fn = pclntab__lookup_pc(c->t->pcln, at);
	s->n = n;
	memcpy(s->fr, fr, n * sizeof(*fr));
	if (u64map__put(&c->m, key, s)) {
		free(s);
		return &none;
	}
	return s;
}

static const struct gt_frame unknown_frame = { "?", "?", 0 };

int symcache__frames(struct symcache *c, uint64_t ret, const struct gt_frame **fr)
{
	const struct symcache_entry *s = symcache__at(c, ret, false);

	*fr = s->n ? s->fr : &unknown_frame;
	return s->n ? s->n : 1;
}

const char *symcache__func_name(struct symcache *c, uint64_t ret)
{
	const struct symcache_entry *s = symcache__at(c, ret, false);

	return s->fn ? s->fn->name : "?";
}

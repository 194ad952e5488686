// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/kallsyms into a sorted array (see kallsyms.h).  Only text symbols
 * (t/T, w/W) are kept: a kernel stack holds code addresses.  An address
 * belongs to the last symbol at or below it; past the last text symbol,
 * to none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "live/kallsyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct kallsyms {
	struct ksym *s;
	size_t n, cap;
};

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *k = calloc(1, sizeof(*k));
	char line[512], name[256], mod[128];
	unsigned long long addr;
	FILE *f;
	char type;

	if (!k)
		return NULL;
	if (!(f = fopen(path ? path : "/proc/kallsyms", "re"))) {
		pr_debug("kernel symbols: cannot read %s: %s\n", path ? path : "/proc/kallsyms",
			 strerror(errno));
		return k;
	}
	while (fgets(line, sizeof(line), f)) {
		int m = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod);
		struct ksym *s;

		if (m < 3 || !addr || !strchr("tTwW", type))
			continue;
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 65536;

			if (!(s = realloc(k->s, cap * sizeof(*s))))
				break;
			k->s = s;
			k->cap = cap;
		}
		s = &k->s[k->n];
		s->addr = addr;
		if (m == 4) {
			size_t len = strlen(name) + strlen(mod) + 4;

			if ((s->name = malloc(len)))
				snprintf(s->name, len, "%s [%s]", name, mod);
		} else {
			s->name = strdup(name);
		}
		if (!s->name)
			break;
		k->n++;
	}
	fclose(f);
	qsort(k->s, k->n, sizeof(*k->s), by_addr);
	return k;
}

void kallsyms__free(struct kallsyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->s[i].name);
	free(k->s);
	free(k);
}

size_t kallsyms__count(const struct kallsyms *k)
{
	return k ? k->n : 0;
}

const char *kallsyms__name(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k ? k->n : 0;

	if (!hi || addr < k->s[0].addr)
		return NULL;
	while (hi - lo > 1) { /* last symbol with s.addr <= addr */
		size_t mid = (lo + hi) / 2;

		if (k->s[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* past the end of kernel text (the last symbol has no size here) */
	return lo == k->n - 1 && addr - k->s[lo].addr > 1 << 20 ? NULL : k->s[lo].name;
}

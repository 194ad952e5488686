// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the snapshot renderers share: grouping, wait times, a line buffer (see snapshot_common.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/snapshot_common.h"

/* Frames shown: the root runtime.goexit is bookkeeping, Go's dumps hide it too. */
int snapexp__shown_frames(struct symcache *sc, const struct gt_goroutine *g)
{
	int n = g->nframes;

	if (n > 1 && !strcmp(symcache__func_name(sc, g->pcs[n - 1]), "runtime.goexit"))
		n--;
	return n;
}

void snapexp__fmt_dur(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ull;

	if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else
		snprintf(buf, len, "%.1fs", ns / 1e9);
}

/* Wait time from the runtime's waitsince: set lazily by the GC, so a lower bound. */
bool snapexp__wait_ns(const struct gt_snapshot *s, const struct gt_goroutine *g, uint64_t *ns)
{
	if (g->status != GT_G_WAITING || !g->waitsince || (uint64_t)g->waitsince > s->end_ns)
		return false;
	*ns = s->end_ns - g->waitsince;
	return true;
}

int snapexp__cmp_stack(const struct gt_goroutine *a, const struct gt_goroutine *b)
{
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	/* a snapshot stores each distinct stack once */
	if (a->pcs == b->pcs)
		return 0;
	return memcmp(a->pcs, b->pcs, a->nframes * sizeof(*a->pcs));
}

int snapexp__cmp_labels(const struct gt_goroutine *a, const struct gt_goroutine *b)
{
	if (a->nlabels != b->nlabels)
		return a->nlabels < b->nlabels ? -1 : 1;
	if (a->labels == b->labels) /* one label set, shared */
		return 0;
	for (int i = 0; i < a->nlabels; i++) {
		int c = strcmp(a->labels[i].key, b->labels[i].key);

		if (c || (c = strcmp(a->labels[i].value, b->labels[i].value)))
			return c;
	}
	return 0;
}

static int cmp_count(const void *pa, const void *pb)
{
	const struct snapexp_group *a = pa, *b = pb;

	if (a->n != b->n)
		return a->n < b->n ? 1 : -1;
	return a->first < b->first ? -1 : 1;
}

/* Sorts s->g by group and returns the groups, largest first. */
struct snapexp_group *snapexp__groups(const struct gt_target *t, struct gt_snapshot *s, size_t *ng,
				 int (*same)(const struct gt_goroutine *, const struct gt_goroutine *,
					     const struct gt_target *))
{
	struct snapexp_group *gr = calloc(s->n ? s->n : 1, sizeof(*gr));

	*ng = 0;
	if (!gr)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (*ng && same(&s->g[gr[*ng - 1].first], &s->g[i], t)) {
			gr[*ng - 1].n++;
			continue;
		}
		gr[(*ng)++] = (struct snapexp_group){ i, 1 };
	}
	qsort(gr, *ng, sizeof(*gr), cmp_count);
	return gr;
}

/* A line being built. */
void snapexp__put(struct snapexp_line *l, const char *s, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = (l->len + n) * 2;
		char *b = realloc(l->b, cap);

		if (!b) {
			l->oom = true;
			return;
		}
		l->b = b;
		l->cap = cap;
	}
	memcpy(l->b + l->len, s, n);
	l->len += n;
}

void snapexp__puts(struct snapexp_line *l, const char *s)
{
	snapexp__put(l, s, strlen(s));
}

void snapexp__putu(struct snapexp_line *l, uint64_t v)
{
	char d[24];
	int i = sizeof(d);

	do
		d[--i] = '0' + v % 10;
	while (v /= 10);
	snapexp__put(l, d + i, sizeof(d) - i);
}


// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `gtrace snapshot -f pprof`: a goroutine profile, one sample per stack and label set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "export/pprof_builder.h"
#include "export/snapshot_common.h"
#include "export/snapshot_export.h"

static struct symcache *sc; /* of the render in progress */

static int same_sample(const struct gt_goroutine *a, const struct gt_goroutine *b,
		       const struct gt_target *t)
{
	return !snapexp__cmp_stack(a, b) && !snapexp__cmp_labels(a, b) &&
	       (a->flags & GT_G_NO_STACK) == (b->flags & GT_G_NO_STACK);
}

static int cmp_sample(const void *pa, const void *pb)
{
	const struct gt_goroutine *a = pa, *b = pb;
	int c = snapexp__cmp_stack(a, b);

	return c ? c : snapexp__cmp_labels(a, b);
}

static int add_sample(struct pprof_builder *b, const struct gt_target *t,
		      const struct gt_goroutine *g, int64_t count)
{
	uint64_t locs[GT_G_MAX_FRAMES + 1];
	struct pprof_label lab[64];
	const struct gt_frame *fr;
	int n = 0, nl = g->nlabels < 64 ? g->nlabels : 64;

	if (g->flags & GT_G_NO_STACK)
		locs[n++] = pprof_builder__pseudo(b, "[running: stack unavailable]");
	for (int i = 0; i < g->nframes; i++) {
		int k = symcache__frames(sc, g->pcs[i], &fr);

		locs[n++] = pprof_builder__location(b, g->pcs[i], fr, k);
	}
	for (int i = 0; i < nl; i++)
		lab[i] = (struct pprof_label){ g->labels[i].key, g->labels[i].value };
	return pprof_builder__sample(b, locs, n, &count, lab, nl);
}

int snapexp__pprof(FILE *f, const struct gt_target *t, struct gt_snapshot *s)
{
	struct pprof_builder *b = pprof_builder__new();
	struct timespec now;
	struct snapexp_group *gr;
	size_t ng;
	int err = 0;

	if (!b)
		return -ENOMEM;
	sc = symcache__new(t);
	qsort(s->g, s->n, sizeof(*s->g), cmp_sample);
	gr = snapexp__groups(t, s, &ng, same_sample);
	clock_gettime(CLOCK_REALTIME, &now);
	pprof_builder__sample_type(b, "goroutine", "count");
	pprof_builder__period(b, "goroutine", "count", 1);
	pprof_builder__time(b, now.tv_sec * 1000000000ll + now.tv_nsec, 0);
	pprof_builder__mapping(b, 0, UINT64_MAX, t->exe_name,
			       t->elf.go_build_id[0] ? t->elf.go_build_id : t->elf.gnu_build_id);
	pprof_builder__comment(b, "gtrace snapshot");
	for (size_t i = 0; gr && !err && i < ng; i++)
		err = add_sample(b, t, &s->g[gr[i].first], gr[i].n);
	if (!gr || !sc)
		err = -ENOMEM;
	if (!err)
		err = pprof_builder__write(b, f);
	free(gr);
	pprof_builder__free(b);
	symcache__free(sc);
	return err;
}


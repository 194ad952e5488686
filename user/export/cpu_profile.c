// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPU samples into profile rows (see cpu_profile.h).  Rows are found by a
 * hash of their key in a u64map, collisions resolved by probing the next
 * hash, so two keys never share a row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "capture/capture.h"
#include "lib/u64map.h"
#include "export/cpu_profile.h"

#define MAX_LABELS 72

struct cpu_row {
	uint64_t stack, labels, goid;
	uint8_t kind;
	uint64_t samples, ns;
};

struct cpu_stack {
	uint32_t nr;
	bool truncated;
	uint64_t pcs[];
};

struct cpu_profile {
	struct u64map stacks;	 /* id -> struct cpu_stack * */
	struct u64map lsets;	 /* id -> struct gt_labelset * */
	const struct cpu_profile *shared; /* label sets not in lsets (cpu_profile__share_labelsets) */
	struct u64map index;	 /* key hash -> row index + 1 */
	struct cpu_row *rows;
	size_t nrows, cap;
	uint64_t samples, ns;
};

struct cpu_profile *cpu_profile__new(void)
{
	return calloc(1, sizeof(struct cpu_profile));
}

void cpu_profile__share_labelsets(struct cpu_profile *p, const struct cpu_profile *from)
{
	p->shared = from;
}

void cpu_profile__reset(struct cpu_profile *p)
{
	u64map__free(&p->index);
	memset(&p->index, 0, sizeof(p->index));
	p->nrows = 0;
	p->samples = p->ns = 0;
}

void cpu_profile__free(struct cpu_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->stacks.cap; i++)
		if (p->stacks.keys && p->stacks.keys[i])
			free(p->stacks.vals[i]);
	for (size_t i = 0; i < p->lsets.cap; i++)
		if (p->lsets.keys && p->lsets.keys[i])
			capture__labelset_free(p->lsets.vals[i]);
	u64map__free(&p->stacks);
	u64map__free(&p->lsets);
	u64map__free(&p->index);
	free(p->rows);
	free(p);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static int add_sample(struct cpu_profile *p, const struct gt_ev_cpu_sample *c)
{
	uint64_t h = mix(mix(mix(mix(1, c->stack), c->labels), c->h.goid), c->kind);
	struct cpu_row *r;
	uintptr_t at;

	for (;; h++) {
		h += !h; /* key 0 is the map's empty slot */
		at = (uintptr_t)u64map__get(&p->index, h);
		if (!at)
			break;
		r = &p->rows[at - 1];
		if (r->stack == c->stack && r->labels == c->labels && r->goid == c->h.goid &&
		    r->kind == c->kind)
			goto found;
	}
	if (p->nrows == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct cpu_row *n = realloc(p->rows, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->rows = n;
		p->cap = cap;
	}
	r = &p->rows[p->nrows];
	*r = (struct cpu_row){ .stack = c->stack, .labels = c->labels, .goid = c->h.goid,
			       .kind = c->kind };
	if (u64map__put(&p->index, h, (void *)(uintptr_t)(++p->nrows)))
		return -ENOMEM;
found:
	r->samples++;
	r->ns += c->period_ns;
	p->samples++;
	p->ns += c->period_ns;
	return 0;
}

int cpu_profile__record(struct cpu_profile *p, const void *data, size_t len)
{
	const struct gt_event_hdr *h = data;

	if (len < sizeof(*h))
		return 0;
	if (h->type == GT_EV_CPU_SAMPLE && len >= sizeof(struct gt_ev_cpu_sample))
		return add_sample(p, data);
	if (h->type == GT_EV_STACK && len >= offsetof(struct gt_ev_stack, pcs)) {
		const struct gt_ev_stack *e = data;
		uint32_t nr = e->nr;
		struct cpu_stack *s;

		if (nr > GT_STACK_MAX || len < offsetof(struct gt_ev_stack, pcs) + nr * 8ull ||
		    !e->id || u64map__get(&p->stacks, e->id))
			return 0;
		if (!(s = malloc(sizeof(*s) + nr * sizeof(s->pcs[0]))))
			return -ENOMEM;
		s->nr = nr;
		s->truncated = h->flags & GT_F_TRUNCATED;
		memcpy(s->pcs, e->pcs, nr * sizeof(s->pcs[0]));
		if (u64map__put(&p->stacks, e->id, s)) {
			free(s);
			return -ENOMEM;
		}
		return 0;
	}
	if (h->type == GT_EV_LABELSET && len >= offsetof(struct gt_ev_labelset, blob)) {
		const struct gt_ev_labelset *e = data;
		struct gt_labelset *ls;
		int err;

		if (!e->id || u64map__get(&p->lsets, e->id))
			return 0;
		if ((err = capture__labelset_decode(h, &ls)))
			return err == -ENOMEM ? err : 0; /* a malformed set: its samples show none */
		if (u64map__put(&p->lsets, e->id, ls)) {
			capture__labelset_free(ls);
			return -ENOMEM;
		}
	}
	return 0;
}

uint64_t cpu_profile__samples(const struct cpu_profile *p)
{
	return p->samples;
}

uint64_t cpu_profile__cpu_ns(const struct cpu_profile *p)
{
	return p->ns;
}

static const char *kind_name(unsigned kind)
{
	return capture__cpu_kind(kind);
}

int cpu_profile__pprof_rows(const struct cpu_profile *p, struct pprof_builder *b,
			    struct symcache *sc, int ncols, int col, int count_col,
			    const char *az, const char *host)
{
	uint64_t locs[GT_STACK_MAX + 2];
	struct pprof_label lab[MAX_LABELS];
	int64_t v[ncols];

	for (size_t i = 0; i < p->nrows; i++) {
		const struct cpu_row *r = &p->rows[i];
		const struct cpu_stack *st = r->stack ? u64map__get(&p->stacks, r->stack) : NULL;
		const struct gt_labelset *ls = r->labels ? u64map__get(&p->lsets, r->labels) : NULL;
		int n = 0, nl = 0, err;

		if (!ls && r->labels && p->shared)
			ls = u64map__get(&p->shared->lsets, r->labels);

		/* C code: its frames are not symbolized; the Go caller's stack follows */
		if (r->kind == GT_CPU_CGO)
			locs[n++] = pprof_builder__pseudo(b, "[cgo]");
		for (uint32_t k = 0; st && k < st->nr; k++) {
			const struct gt_frame *fr;
			uint64_t id = pprof_builder__find(b, st->pcs[k]);

			if (!id) {
				int m = symcache__frames(sc, st->pcs[k], &fr);

				id = pprof_builder__location(b, st->pcs[k], fr, m);
			}
			locs[n++] = id;
		}
		if (st && st->truncated)
			locs[n++] = pprof_builder__pseudo(b, "[truncated]");
		if (!n)
			locs[n++] = pprof_builder__pseudo(b, "[unknown stack]");
		lab[nl++] = (struct pprof_label){ .key = "code", .value = kind_name(r->kind) };
		for (uint32_t k = 0; ls && k < ls->count && nl < MAX_LABELS - 3; k++)
			lab[nl++] = (struct pprof_label){ .key = ls->keys[k], .value = ls->values[k] };
		if (az && *az)
			lab[nl++] = (struct pprof_label){ .key = "az", .value = az };
		if (host && *host)
			lab[nl++] = (struct pprof_label){ .key = "host", .value = host };
		if (r->goid)
			lab[nl++] = (struct pprof_label){ .key = "goid", .num = r->goid, .unit = "goid" };
		memset(v, 0, sizeof(v));
		v[col] = r->ns;
		if (count_col >= 0)
			v[count_col] = r->samples;
		if ((err = pprof_builder__sample(b, locs, n, v, lab, nl)))
			return err;
	}
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A snapshot as capture records (see snapshot_records.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "lib/u64map.h"
#include "live/greader.h"
#include "live/snapshot_records.h"

/* FNV-1a with its own basis, top bit set: never equal to an id the BPF side makes. */
static uint64_t id_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

#define ID_SEED 0x6774726163652d73ull /* "gtrace-s" */
#define ID_BIT (1ull << 63)

static size_t put_str(uint8_t *blob, size_t at, const char *s)
{
	uint16_t n = strnlen(s, GT_LABEL_STR_MAX);

	if (at + 2 + n > GT_LABELSET_BLOB)
		return 0;
	memcpy(blob + at, &n, 2);
	memcpy(blob + at + 2, s, n);
	return 2 + n;
}

static uint64_t emit_labels(const struct gt_goroutine *g, uint64_t ts, struct u64map *done,
			    gt_record_fn fn, void *ctx, int *err)
{
	struct gt_ev_labelset e;
	uint64_t id = ID_SEED;
	size_t at = 0;

	if (!g->nlabels)
		return 0;
	memset(&e, 0, offsetof(struct gt_ev_labelset, blob));
	for (int i = 0; i < g->nlabels && e.count < GT_LABEL_MAX; i++) {
		size_t k = put_str(e.blob, at, g->labels[i].key), v;

		v = k ? put_str(e.blob, at + k, g->labels[i].value) : 0;
		if (!k || !v) {
			e.h.flags |= GT_F_TRUNCATED;
			break;
		}
		at += k + v;
		e.count++;
	}
	if (e.count < g->nlabels || (g->flags & GT_G_LABELS_TRUNCATED))
		e.h.flags |= GT_F_TRUNCATED;
	e.blob_len = at;
	id = id_hash(id, e.blob, at) | ID_BIT;
	if (u64map__get(done, id))
		return id;
	u64map__put(done, id, (void *)1);
	e.h.type = GT_EV_LABELSET;
	/* Readers step by size: keep records 8-byte multiples, padding zeroed. */
	e.h.size = (offsetof(struct gt_ev_labelset, blob) + at + 7) & ~7ul;
	memset(e.blob + at, 0, e.h.size - offsetof(struct gt_ev_labelset, blob) - at);
	e.h.ts = ts;
	e.id = id;
	*err = fn(ctx, &e, e.h.size);
	return id;
}

static uint64_t emit_stack(const struct gt_goroutine *g, uint64_t ts, struct u64map *done,
			   gt_record_fn fn, void *ctx, int *err)
{
	struct gt_ev_stack e;
	uint32_t nr = g->nframes < GT_STACK_MAX ? g->nframes : GT_STACK_MAX;
	uint64_t id;

	if (!nr)
		return 0;
	id = id_hash(ID_SEED ^ 0x5354, g->pcs, nr * sizeof(*g->pcs)) | ID_BIT;
	if (u64map__get(done, id))
		return id;
	u64map__put(done, id, (void *)1);
	memset(&e, 0, offsetof(struct gt_ev_stack, pcs));
	e.h.type = GT_EV_STACK;
	e.h.size = offsetof(struct gt_ev_stack, pcs) + nr * sizeof(e.pcs[0]);
	e.h.ts = ts;
	if (nr < (uint32_t)g->nframes || (g->flags & GT_G_TRUNCATED))
		e.h.flags |= GT_F_TRUNCATED;
	e.id = id;
	e.nr = nr;
	memcpy(e.pcs, g->pcs, nr * sizeof(e.pcs[0]));
	*err = fn(ctx, &e, e.h.size);
	return id;
}

int snaprec__emit(struct gt_target *t, gt_record_fn fn, void *ctx)
{
	struct gt_greader *r;
	struct gt_snapshot s;
	struct u64map done = { 0 };
	int err = greader__open(&r, t);

	if (err)
		return err;
	err = greader__read_all(r, &s, NULL);
	if (err == -ESRCH)
		err = 0; /* emit what was read */
	for (size_t i = 0; !err && i < s.n; i++) {
		const struct gt_goroutine *g = &s.g[i];
		struct gt_ev_snapshot e = { .h = { .type = GT_EV_SNAPSHOT, .size = sizeof(e) } };

		e.h.ts = s.end_ns;
		e.h.tid = g->tid;
		e.h.goid = g->goid;
		e.labels = emit_labels(g, s.end_ns, &done, fn, ctx, &err);
		if (!err)
			e.stack = emit_stack(g, s.end_ns, &done, fn, ctx, &err);
		if (err)
			break;
		e.parent = g->parent;
		e.gopc = g->gopc;
		e.startpc = g->startpc;
		e.status = g->status;
		e.reason = g->reason;
		if (g->flags & (GT_G_TRUNCATED | GT_G_LABELS_TRUNCATED))
			e.h.flags |= GT_F_TRUNCATED;
		err = fn(ctx, &e, sizeof(e));
	}
	err = err ? err : (int)s.n;
	greader__free_snapshot(&s);
	u64map__free(&done);
	greader__close(r);
	return err;
}

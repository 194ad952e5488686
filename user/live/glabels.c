// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof label sets read from outside (see glabels.h).  Sets are immutable
 * once a goroutine points at them, but a stale pointer can read anything:
 * every length is bounded and an unreadable set is marked, never trusted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "live/glabels.h"
#include "live/remote_mem.h"

#define LABELS_MAX 1024	  /* labels read per set */
#define HMAP_B_MAX 16	  /* larger label maps are garbage, not labels */

struct ctx {
	pid_t pid;
	struct glabels_set *s;
	const struct gt_go_label_layout *L; /* the target's layout (go_offsets.c) */
};

static int read_str(pid_t pid, uint64_t p, uint64_t len, char **out, bool *cut)
{
	char *s;

	if (len > GT_G_LABEL_MAX) {
		len = GT_G_LABEL_MAX;
		*cut = true;
	}
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	if (len && rmem__read(pid, p, s, len)) {
		free(s);
		return -EFAULT;
	}
	s[len] = 0;
	*out = s;
	return 0;
}

/* kv: key {ptr, len}, value {ptr, len}, as both layouts store them. */
static int add_label(struct ctx *c, const uint8_t *kv)
{
	struct glabels_set *s = c->s;
	struct gt_label *l;
	bool cut = false;

	if (s->n == LABELS_MAX) {
		s->flags |= GT_G_LABELS_TRUNCATED;
		return 0;
	}
	if (!(s->n & 7)) {
		l = realloc(s->labels, (s->n + 8) * sizeof(*l));
		if (!l)
			return -ENOMEM;
		s->labels = l;
	}
	l = &s->labels[s->n];
	if (read_str(c->pid, rmem__get64(kv, 0), rmem__get64(kv, 8), &l->key, &cut))
		goto bad;
	if (read_str(c->pid, rmem__get64(kv, 16), rmem__get64(kv, 24), &l->value, &cut)) {
		free(l->key);
		goto bad;
	}
	s->n++;
	if (cut)
		s->flags |= GT_G_LABELS_TRUNCATED;
	return 0;
bad:
	s->flags |= GT_G_LABELS_TRUNCATED;
	return 0;
}

/* 1.24+: labelMap is struct{ list []label }, label = {key, value string}. */
static int labels_slice(struct ctx *c, uint64_t p)
{
	uint32_t stride = c->L->list_stride;
	uint64_t hdr[3], n;
	uint8_t *buf;
	int err = 0;

	if (rmem__read(c->pid, p, hdr, sizeof(hdr)))
		return -EFAULT;
	n = hdr[1];
	if (n > hdr[2] || n > 1 << 20)
		return -EFAULT;
	if (n > LABELS_MAX) {
		n = LABELS_MAX;
		c->s->flags |= GT_G_LABELS_TRUNCATED;
	}
	if (!n)
		return 0;
	if (stride < 32) /* two Go strings: key, value */
		return -EFAULT;
	buf = malloc(n * stride);
	if (!buf)
		return -ENOMEM;
	if (rmem__read(c->pid, hdr[0], buf, n * stride))
		err = -EFAULT;
	for (uint64_t i = 0; !err && i < n; i++)
		err = add_label(c, buf + i * stride);
	free(buf);
	return err;
}

/* One bucket chain of a map[string]string: tophash[8], keys[8], values[8], overflow. */
static int labels_bucket(struct ctx *c, uint64_t b)
{
	const struct gt_go_label_layout *L = c->L;
	uint8_t bk[512], kv[32];

	if (L->bucket_size > sizeof(bk) || L->bucket_overflow + 8 > L->bucket_size ||
	    L->bucket_values + 16 * GT_GO_BUCKET_SLOTS > L->bucket_size)
		return -EFAULT;
	for (int hops = 0; b && hops < 64; hops++) {
		if (rmem__read(c->pid, b, bk, L->bucket_size))
			return -EFAULT;
		for (int i = 0; i < GT_GO_BUCKET_SLOTS; i++) {
			int err;

			if (bk[i] < L->min_tophash) /* emptyRest, emptyOne, evacuated*: no live entry */
				continue;
			memcpy(kv, bk + L->bucket_keys + 16 * i, 16);
			memcpy(kv + 16, bk + L->bucket_values + 16 * i, 16);
			err = add_label(c, kv);
			if (err)
				return err;
		}
		b = rmem__get64(bk, L->bucket_overflow);
	}
	return 0;
}

/* <= 1.23: g.labels -> *labelMap -> hmap (docs/go-runtime.md). */
static int labels_map(struct ctx *c, uint64_t p)
{
	const struct gt_go_label_layout *L = c->L;
	uint8_t h[48];
	uint64_t hm, buckets, old;
	unsigned B;
	int err;

	if (rmem__read64(c->pid, p, &hm))
		return -EFAULT;
	if (!hm)
		return 0;
	if (rmem__read(c->pid, hm, h, sizeof(h)))
		return -EFAULT;
	if (L->hmap_b >= sizeof(h) || L->hmap_buckets + 8 > sizeof(h) ||
	    L->hmap_oldbuckets + 8 > sizeof(h) || L->hmap_count + 8 > sizeof(h))
		return -EFAULT;
	B = h[L->hmap_b];
	buckets = rmem__get64(h, L->hmap_buckets);
	old = rmem__get64(h, L->hmap_oldbuckets);
	if (B > HMAP_B_MAX || !rmem__get64(h, L->hmap_count))
		return B > HMAP_B_MAX ? -EFAULT : 0;
	for (uint64_t i = 0; i < 1ull << B; i++)
		if ((err = labels_bucket(c, buckets + i * L->bucket_size)))
			return err;
	/* Label maps are never written after publication, but be safe: entries not yet evacuated. */
	for (uint64_t i = 0; old && B && i < 1ull << (B - 1); i++)
		if ((err = labels_bucket(c, old + i * L->bucket_size)))
			return err;
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct gt_label *)a)->key, ((const struct gt_label *)b)->key);
}

int glabels__read(pid_t pid, const struct gt_target *t, uint64_t p, struct glabels_set *out)
{
	struct ctx c = { pid, out, &t->rt.off.lbl };
	int err;

	memset(out, 0, sizeof(*out));
	err = t->rt.off.labels_slice ? labels_slice(&c, p) : labels_map(&c, p);
	if (err == -EFAULT) {
		out->flags |= GT_G_LABELS_TRUNCATED;
		err = 0;
	}
	if (err) {
		glabels__clear(out);
		return err;
	}
	if (out->n > 1)
		qsort(out->labels, out->n, sizeof(*out->labels), cmp_label);
	return 0;
}

void glabels__clear(struct glabels_set *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->labels[i].key);
		free(s->labels[i].value);
	}
	free(s->labels);
	s->labels = NULL;
	s->n = 0;
}

int glabels__copy(const struct gt_label *from, int n, struct gt_label **to, int *nto)
{
	*to = NULL;
	*nto = 0;
	if (!n)
		return 0;
	*to = calloc(n, sizeof(**to));
	if (!*to)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		(*to)[i].key = strdup(from[i].key);
		(*to)[i].value = strdup(from[i].value);
		++*nto;
		if (!(*to)[i].key || !(*to)[i].value)
			return -ENOMEM;
	}
	return 0;
}

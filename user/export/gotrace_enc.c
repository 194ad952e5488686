// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go execution trace encoder (gotrace_enc.h).  Each thread's events are
 * kept in its own buffer and written out as a batch when it fills, so the
 * output streams with memory bounded by threads, strings and stacks.  The
 * reader puts a thread's batches together in file order and orders the
 * threads by timestamps and the sequence numbers the mapping supplies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/varint.h"
#include "export/gotrace_enc.h"
#include "lib/u64map.h"

#define HEADER "go 1.26 trace\0\0\0"
#define MAX_BATCH (64 << 10)	/* tracev2.MaxBatchSize */
#define MAX_STRING (1 << 10)	/* tracev2.MaxEventTrailerDataSize */
#define MAX_FRAMES 128		/* tracev2.MaxFramesPerStack */
#define MAX_EVENT (1 + 6 * 10)	/* type byte and at most 6 uvarints */
#define GEN 1

struct mbuf {
	uint64_t m;
	uint64_t base, last; /* batch base time, last event's time */
	size_t len;
	uint8_t data[MAX_BATCH];
};

struct strent {
	uint64_t hash, id;
	char *s;
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct gtv {
	FILE *out;
	int err;
	struct u64map ms; /* m + 1 -> struct mbuf */
	struct strent *strs;
	size_t nstrs, capstrs; /* open addressing, capstrs a power of two */
	uint64_t next_string, next_stack;
	struct buf strings, stacks; /* table entries, split into batches at the end */
	uint64_t min_ts, nevents;
};

static int buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint8_t *p;

		while (cap < b->len + more)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	return 0;
}

int gtv__open(struct gtv **wp, FILE *out)
{
	struct gtv *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->out = out;
	w->next_string = w->next_stack = 1;
	if (fwrite(HEADER, 1, 16, out) != 16)
		w->err = -EIO;
	*wp = w;
	return 0;
}

void gtv__close(struct gtv *w)
{
	if (!w)
		return;
	for (size_t i = 0; w->ms.keys && i < w->ms.cap; i++)
		if (w->ms.keys[i])
			free(w->ms.vals[i]);
	u64map__free(&w->ms);
	for (size_t i = 0; i < w->capstrs; i++)
		free(w->strs[i].s);
	free(w->strs);
	free(w->strings.p);
	free(w->stacks.p);
	free(w);
}

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return h | 1;
}

static int grow_strs(struct gtv *w)
{
	size_t cap = w->capstrs ? w->capstrs * 2 : 1024;
	struct strent *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < w->capstrs; i++) {
		size_t j;

		if (!w->strs[i].s)
			continue;
		for (j = w->strs[i].hash & (cap - 1); n[j].s; j = (j + 1) & (cap - 1))
			;
		n[j] = w->strs[i];
	}
	free(w->strs);
	w->strs = n;
	w->capstrs = cap;
	return 0;
}

uint64_t gtv__string(struct gtv *w, const char *s)
{
	size_t n = strlen(s), j;
	uint64_t h;
	uint8_t hdr[1 + 20];
	size_t hl;

	if (n > MAX_STRING) /* the runtime keeps a name's tail too */
		s += n - MAX_STRING, n = MAX_STRING;
	h = fnv(s, n);
	if ((w->nstrs + 1) * 2 > w->capstrs && grow_strs(w))
		return w->err = -ENOMEM, 1;
	for (j = h & (w->capstrs - 1); w->strs[j].s; j = (j + 1) & (w->capstrs - 1))
		if (w->strs[j].hash == h && !strncmp(w->strs[j].s, s, n) && !w->strs[j].s[n])
			return w->strs[j].id;
	if (!(w->strs[j].s = strndup(s, n)) || buf_reserve(&w->strings, sizeof(hdr) + n))
		return w->err = -ENOMEM, 1;
	w->strs[j].hash = h;
	w->strs[j].id = w->next_string++;
	w->nstrs++;
	hdr[0] = GTV_STRING;
	hl = 1 + varint__put(hdr + 1, w->strs[j].id);
	hl += varint__put(hdr + hl, n);
	memcpy(w->strings.p + w->strings.len, hdr, hl);
	memcpy(w->strings.p + w->strings.len + hl, s, n);
	w->strings.len += hl + n;
	return w->strs[j].id;
}

uint64_t gtv__stack(struct gtv *w, const struct gtv_frame *f, int n)
{
	uint64_t id = w->next_stack, fn, file;
	uint8_t *p;

	if (n > MAX_FRAMES)
		n = MAX_FRAMES;
	if (buf_reserve(&w->stacks, 1 + 20 + (size_t)n * 40)) {
		w->err = -ENOMEM;
		return 0;
	}
	w->next_stack++;
	p = w->stacks.p + w->stacks.len;
	*p++ = GTV_STACK;
	p += varint__put(p, id);
	p += varint__put(p, n);
	w->stacks.len = p - w->stacks.p;
	for (int i = 0; i < n; i++) {
		/* interning may grow the string table, not this buffer */
		fn = gtv__string(w, f[i].func ? f[i].func : "?");
		file = gtv__string(w, f[i].file ? f[i].file : "?");
		p = w->stacks.p + w->stacks.len;
		p += varint__put(p, f[i].pc);
		p += varint__put(p, fn);
		p += varint__put(p, file);
		p += varint__put(p, f[i].line);
		w->stacks.len = p - w->stacks.p;
	}
	return id;
}

/* One batch: header (gen, thread, base time, size) and its bytes. */
static void write_batch(struct gtv *w, uint64_t m, uint64_t ts, const uint8_t *data, size_t len)
{
	uint8_t hdr[1 + 4 * 10];
	size_t hl = 1;

	hdr[0] = GTV_EVENT_BATCH;
	hl += varint__put(hdr + hl, GEN);
	hl += varint__put(hdr + hl, m);
	hl += varint__put(hdr + hl, ts);
	hl += varint__put(hdr + hl, len);
	if (fwrite(hdr, 1, hl, w->out) != hl || fwrite(data, 1, len, w->out) != len)
		w->err = -EIO;
}

static void flush_m(struct gtv *w, struct mbuf *b)
{
	if (!b->len)
		return;
	write_batch(w, b->m, b->base, b->data, b->len);
	b->len = 0;
}

int gtv__event(struct gtv *w, uint64_t m, uint64_t ts, uint8_t type, int nargs,
	       const uint64_t *args)
{
	struct mbuf *b = u64map__get(&w->ms, m + 1);
	uint8_t *p;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || u64map__put(&w->ms, m + 1, b)) {
			free(b);
			return w->err = -ENOMEM;
		}
		b->m = m;
	}
	if (ts < b->last)
		ts = b->last;
	if (b->len + MAX_EVENT > MAX_BATCH)
		flush_m(w, b);
	if (!b->len)
		b->base = b->last = ts;
	p = b->data + b->len;
	*p++ = type;
	p += varint__put(p, ts - b->last);
	for (int i = 0; i < nargs; i++)
		p += varint__put(p, args[i]);
	b->len = p - b->data;
	b->last = ts;
	if (!w->min_ts || ts < w->min_ts)
		w->min_ts = ts;
	w->nevents++;
	return w->err;
}

uint64_t gtv__nevents(const struct gtv *w)
{
	return w->nevents;
}

/* A table (strings or stacks) as batches of whole entries under its section byte. */
static void write_table(struct gtv *w, uint8_t section, const struct buf *t)
{
	static uint8_t tmp[MAX_BATCH];
	size_t off = 0;

	while (off < t->len) {
		size_t len = 1, start = off;

		tmp[0] = section;
		/* entries are self-delimiting only to a parser: split by walking them */
		while (off < t->len) {
			size_t e = off + 1, n;
			uint64_t v;

			/* skip id */
			while (t->p[e] & 0x80)
				e++;
			e++;
			if (section == GTV_STRINGS) {
				v = 0;
				for (int s = 0; ; s += 7) {
					v |= (uint64_t)(t->p[e] & 0x7f) << s;
					if (!(t->p[e++] & 0x80))
						break;
				}
				e += v;
			} else {
				v = 0;
				for (int s = 0; ; s += 7) {
					v |= (uint64_t)(t->p[e] & 0x7f) << s;
					if (!(t->p[e++] & 0x80))
						break;
				}
				for (uint64_t i = 0; i < v * 4; i++) {
					while (t->p[e] & 0x80)
						e++;
					e++;
				}
			}
			n = e - off;
			if (len + n > MAX_BATCH)
				break;
			memcpy(tmp + len, t->p + off, n);
			len += n;
			off = e;
		}
		if (off == start) { /* cannot happen: entries are far below a batch */
			w->err = -EINVAL;
			return;
		}
		write_batch(w, GTV_NO_THREAD, w->min_ts, tmp, len);
	}
}

int gtv__finish(struct gtv *w, uint64_t mono_ns, int64_t wall_ns)
{
	uint8_t sync[3 + 5 * 10], *p = sync;
	uint64_t base = w->min_ts ? w->min_ts : mono_ns;

	for (size_t i = 0; w->ms.keys && i < w->ms.cap; i++)
		if (w->ms.keys[i])
			flush_m(w, w->ms.vals[i]);
	/* the snapshot's trace time is the batch base + 0: mono_ns itself */
	*p++ = GTV_SYNC;
	*p++ = GTV_FREQUENCY;
	p += varint__put(p, 1000000000);
	*p++ = GTV_CLOCK_SNAPSHOT;
	p += varint__put(p, 0);
	p += varint__put(p, mono_ns);
	p += varint__put(p, (uint64_t)(wall_ns / 1000000000));
	p += varint__put(p, (uint64_t)(wall_ns % 1000000000));
	write_batch(w, GTV_NO_THREAD, mono_ns ? mono_ns : base, sync, p - sync);
	write_table(w, GTV_STRINGS, &w->strings);
	write_table(w, GTV_STACKS, &w->stacks);
	if (fputc(GTV_END_OF_GENERATION, w->out) == EOF)
		w->err = -EIO;
	return w->err;
}

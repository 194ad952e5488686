// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one capture reader.  It checks every chunk (magic, size, CRC),
 * keeps the definitions (metadata, symbols, stacks, label sets) and streams
 * event records to a struct gt_tool in file order.  Damage stops the
 * stream with one warning; what came before it has been delivered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "capture/capture.h"
#include "capture/capture_format.h"
#include "capture/event_specs.h"
#include "lib/debug.h"
#include "lib/u64map.h"

struct meta_kv {
	char *key, *val;
};

struct sym {
	int n;
	struct gt_frame *frames;
};

struct gt_capture {
	FILE *f;
	char *path;
	uint32_t version;
	struct meta_kv *meta;
	size_t nmeta, capmeta;
	struct u64map stacks, labelsets, syms;
	uint8_t *raw, *stored;
	size_t raw_cap, stored_cap;
	bool complete;
	bool trailer_loaded; /* read ahead by open: skip it when streaming */
	bool warned_unknown;
	/* the first META chunk is read by open; process starts after it */
	long events_start;
	/* clock mappings from the metadata, in capture order (a new one per step) */
	struct clock_pt {
		uint64_t mono;
		int64_t real;
	} *clocks;
	size_t nclocks;
	const char *waitreason[256];
	char waitreason_unknown[256][16]; /* "waitreason N" for names the capture lacks */
	/* capture__next_event: the EVENTS chunk being walked (in raw) */
	size_t it_pos, it_len;
	bool it_done;
};

const char *capture__cpu_kind(unsigned kind)
{
	static const char *const names[] = {
		[GT_CPU_GO] = "go", [GT_CPU_SYSTEM] = "system", [GT_CPU_CGO] = "cgo",
	};

	return kind < sizeof(names) / sizeof(*names) ? names[kind] : "unknown";
}

const char *capture__event_name(unsigned type)
{
	const struct gt_event_spec *s = event_spec(type);

	return s ? s->name : "unknown";
}

static void add_meta(struct gt_capture *c, const char *k, size_t kl, const char *v, size_t vl)
{
	if (c->nmeta == c->capmeta) {
		size_t ncap = c->capmeta ? c->capmeta * 2 : 64;
		struct meta_kv *nm = realloc(c->meta, ncap * sizeof(*nm));

		if (!nm)
			return;
		c->meta = nm;
		c->capmeta = ncap;
	}
	c->meta[c->nmeta].key = strndup(k, kl);
	c->meta[c->nmeta].val = strndup(v, vl);
	c->nmeta++;
	if (kl > 11 && !strncmp(k, "waitreason.", 11)) {
		long r = strtol(k + 11, NULL, 10);

		if (r >= 0 && r < 256)
			c->waitreason[r] = c->meta[c->nmeta - 1].val;
	}
}

static void add_clock(struct gt_capture *c, uint64_t mono, int64_t real)
{
	struct clock_pt *n;

	if (c->nclocks && c->clocks[c->nclocks - 1].mono == mono)
		return;
	n = realloc(c->clocks, (c->nclocks + 1) * sizeof(*n));
	if (!n)
		return;
	c->clocks = n;
	/* Keep them ordered by mono: the trailer's may be read first. */
	size_t i = c->nclocks++;

	while (i > 0 && c->clocks[i - 1].mono > mono) {
		c->clocks[i] = c->clocks[i - 1];
		i--;
	}
	c->clocks[i] = (struct clock_pt){ mono, real };
}

static void parse_meta(struct gt_capture *c, const uint8_t *p, size_t n)
{
	const char *s = (const char *)p, *end = s + n;

	while (s < end) {
		const char *nl = memchr(s, '\n', end - s);
		const char *tab;

		if (!nl)
			nl = end;
		tab = memchr(s, '\t', nl - s);
		if (tab)
			add_meta(c, s, tab - s, tab + 1, nl - tab - 1);
		s = nl + 1;
	}
	const char *m = capture__meta(c, "clock.mono_ns"), *r = capture__meta(c, "clock.real_ns");

	if (m && r)
		add_clock(c, strtoull(m, NULL, 10), strtoll(r, NULL, 10));
}

static int get_str16(const uint8_t **p, const uint8_t *end, char **out)
{
	uint16_t len;

	if (end - *p < 2)
		return -EBADMSG;
	memcpy(&len, *p, 2);
	*p += 2;
	if (end - *p < len)
		return -EBADMSG;
	*out = strndup((const char *)*p, len);
	*p += len;
	return *out ? 0 : -ENOMEM;
}

static void free_sym(struct sym *s)
{
	for (int i = 0; s && i < s->n; i++) {
		free((char *)s->frames[i].func);
		free((char *)s->frames[i].file);
	}
	if (s)
		free(s->frames);
	free(s);
}

static int parse_syms(struct gt_capture *c, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;

	while (p < end) {
		uint64_t pc;
		uint16_t nf;
		struct sym *s;

		if (end - p < 10)
			return -EBADMSG;
		memcpy(&pc, p, 8);
		memcpy(&nf, p + 8, 2);
		p += 10;
		s = calloc(1, sizeof(*s));
		if (!s || !(s->frames = calloc(nf ? nf : 1, sizeof(*s->frames)))) {
			free(s);
			return -ENOMEM;
		}
		for (; s->n < nf; s->n++) {
			struct gt_frame *f = &s->frames[s->n];
			uint32_t line;

			if (get_str16(&p, end, (char **)&f->func) ||
			    get_str16(&p, end, (char **)&f->file) || end - p < 4) {
				free((char *)f->func); /* not counted in s->n yet */
				free((char *)f->file);
				free_sym(s);
				return -EBADMSG;
			}
			memcpy(&line, p, 4);
			p += 4;
			f->line = line;
		}
		free_sym(u64map__get(&c->syms, pc));
		/* pc 0 names nothing (the map refuses it): a damaged chunk, not a leak */
		if (u64map__put(&c->syms, pc, s)) {
			free_sym(s);
			if (pc)
				return -ENOMEM;
		}
	}
	return 0;
}

/* *buf with at least need bytes; its contents need not survive.  0 or -ENOMEM. */
static int ensure_size(uint8_t **buf, size_t *cap, size_t need)
{
	void *p;

	if (!need)
		need = 1; /* an empty chunk still gets a buffer: callers do pointer arithmetic on it */
	if (need <= *cap && *buf)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* The CRC covers the header (with crc32 zeroed) and the stored bytes. */
static bool crc_ok(const struct gt_chunk_header *ch, const uint8_t *stored)
{
	struct gt_chunk_header h0 = *ch;

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* tests/fuzz: mutated chunks must reach the decoders and the record parser */
	return true;
#endif
	h0.crc32 = 0;
	return crc32(crc32(0, (const Bytef *)&h0, sizeof(h0)), stored, ch->len) == ch->crc32;
}

/* Stored bytes -> raw_len bytes of records, as the chunk's flags say.  0 or -EBADMSG. */
static int unpack(const struct gt_chunk_header *ch, const uint8_t *stored, uint8_t *raw)
{
	if (ch->flags & GT_CHUNK_F_ZSTD) {
		size_t n = ZSTD_decompress(raw, ch->raw_len, stored, ch->len);

		return ZSTD_isError(n) || n != ch->raw_len ? -EBADMSG : 0;
	}
	if (ch->flags & GT_CHUNK_F_ZLIB) {
		uLongf n = ch->raw_len;

		return uncompress(raw, &n, stored, ch->len) != Z_OK || n != ch->raw_len ? -EBADMSG : 0;
	}
	if (ch->len != ch->raw_len)
		return -EBADMSG;
	memcpy(raw, stored, ch->len);
	return 0;
}

/* Reads the next chunk into c->raw.  1 = got one, 0 = clean end, <0 = damage. */
static int next_chunk(struct gt_capture *c, struct gt_chunk_header *ch)
{
	size_t k = fread(ch, 1, sizeof(*ch), c->f);

	if (k == 0 && feof(c->f))
		return 0;
	if (k != sizeof(*ch) || ch->magic != GT_CHUNK_MAGIC || ch->len > GT_CHUNK_MAX ||
	    ch->raw_len > GT_CHUNK_MAX)
		return -EBADMSG;
	if (ensure_size(&c->stored, &c->stored_cap, ch->len))
		return -ENOMEM;
	if (fread(c->stored, 1, ch->len, c->f) != ch->len)
		return -EBADMSG;
	if (!crc_ok(ch, c->stored))
		return -EBADMSG;
	if (ensure_size(&c->raw, &c->raw_cap, ch->raw_len))
		return -ENOMEM;
	return unpack(ch, c->stored, c->raw) ? -EBADMSG : 1;
}

/*
 * Reads the trailer ahead of the events when the file is seekable, so
 * reports can print loss totals first.  The trailer is the last chunk:
 * search the tail for a chunk header that ends exactly at end of file.
 */
static void load_trailer(struct gt_capture *c)
{
	long pos = ftell(c->f), size, tail;
	uint8_t *buf = NULL;

	if (pos < 0 || fseek(c->f, 0, SEEK_END) || (size = ftell(c->f)) < pos)
		goto out;
	tail = size - pos < (4 << 20) ? size - pos : (4 << 20);
	buf = malloc(tail ? tail : 1);
	if (!buf || fseek(c->f, size - tail, SEEK_SET) || fread(buf, 1, tail, c->f) != (size_t)tail)
		goto out;
	for (long at = tail - (long)sizeof(struct gt_chunk_header); at >= 0; at--) {
		struct gt_chunk_header ch;

		memcpy(&ch, buf + at, sizeof(ch));
		if (ch.magic != GT_CHUNK_MAGIC || ch.type != GT_CHUNK_TRAILER ||
		    at + (long)sizeof(ch) + (long)ch.len != tail)
			continue;
		if (fseek(c->f, size - tail + at, SEEK_SET) || next_chunk(c, &ch) <= 0)
			break;
		parse_meta(c, c->raw, ch.raw_len);
		c->complete = c->trailer_loaded = true;
		break;
	}
out:
	free(buf);
	if (pos >= 0)
		fseek(c->f, pos, SEEK_SET);
}

int capture__open(struct gt_capture **out, const char *path)
{
	struct gt_capture *c = calloc(1, sizeof(*c));
	struct gt_file_header fh;
	struct gt_chunk_header ch;
	int err;

	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	c->f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!c->f) {
		err = -errno;
		pr_err("cannot open %s: %s (try 'gtrace record' first)\n", path, strerror(errno));
		goto fail;
	}
	err = -EINVAL;
	if (fread(&fh, 1, sizeof(fh), c->f) != sizeof(fh) ||
	    memcmp(fh.magic, GT_FILE_MAGIC, sizeof(fh.magic))) {
		pr_err("%s is not a gtrace capture\n", path);
		goto fail;
	}
	if (fh.byte_order != GT_BYTE_ORDER_MARK) {
		pr_err("%s was written on a machine of the other byte order; not supported\n", path);
		goto fail;
	}
	if (fh.version > GT_CAPTURE_VERSION || fh.version == 0) {
		pr_err("%s has capture format version %u; this gtrace reads up to %u\n", path,
		       fh.version, GT_CAPTURE_VERSION);
		goto fail;
	}
	c->version = fh.version;
	err = next_chunk(c, &ch);
	if (err <= 0 || ch.type != GT_CHUNK_META) {
		pr_err("%s: capture header is missing or damaged\n", path);
		err = -EBADMSG;
		goto fail;
	}
	parse_meta(c, c->raw, ch.raw_len);
	if (c->f != stdin)
		load_trailer(c);
	*out = c;
	return 0;
fail:
	capture__close(c);
	return err;
}

static int store_stack(struct gt_capture *c, const struct gt_event_hdr *h)
{
	const struct gt_ev_stack *e = (const void *)h;
	uint32_t nr = e->nr;
	struct gt_stack *s;

	/* id 0 means "no stack": a definition of it is damage */
	if (!e->id || nr > GT_STACK_MAX || h->size < offsetof(struct gt_ev_stack, pcs) + nr * 8)
		return -EBADMSG;
	if (u64map__get(&c->stacks, e->id))
		return 0;
	s = calloc(1, sizeof(*s) + nr * 8);
	if (!s)
		return -ENOMEM;
	s->id = e->id;
	s->nr = nr;
	s->truncated = h->flags & GT_F_TRUNCATED;
	s->pcs = (uint64_t *)(s + 1);
	memcpy(s->pcs, e->pcs, nr * 8);
	return u64map__put(&c->stacks, e->id, s);
}

static void free_labelset(struct gt_labelset *l)
{
	for (uint32_t i = 0; l && i < l->count; i++) {
		free((char *)l->keys[i]);
		free((char *)l->values[i]);
	}
	if (l) {
		free(l->keys);
		free(l->values);
	}
	free(l);
}

static int cmp_label(const void *a, const void *b, void *arg)
{
	const struct gt_labelset *l = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	return strcmp(l->keys[i], l->keys[j]);
}

/* Sorts keys (and values with them): the ≤1.23 map layout yields any order. */
static void sort_labels(struct gt_labelset *l)
{
	size_t *idx = calloc(l->count ? l->count : 1, sizeof(*idx));
	const char **k = calloc(l->count ? l->count : 1, sizeof(*k));
	const char **v = calloc(l->count ? l->count : 1, sizeof(*v));

	if (idx && k && v) {
		for (size_t i = 0; i < l->count; i++)
			idx[i] = i;
		qsort_r(idx, l->count, sizeof(*idx), cmp_label, l);
		for (size_t i = 0; i < l->count; i++) {
			k[i] = l->keys[idx[i]];
			v[i] = l->values[idx[i]];
		}
		memcpy(l->keys, k, l->count * sizeof(*k));
		memcpy(l->values, v, l->count * sizeof(*v));
	}
	free(idx);
	free(k);
	free(v);
}

int capture__labelset_decode(const struct gt_event_hdr *h, struct gt_labelset **out)
{
	const struct gt_ev_labelset *e = (const void *)h;
	const uint8_t *p = e->blob, *end;
	struct gt_labelset *l;

	*out = NULL;
	if (h->size < offsetof(struct gt_ev_labelset, blob) || !e->id ||
	    e->blob_len > GT_LABELSET_BLOB ||
	    h->size < offsetof(struct gt_ev_labelset, blob) + e->blob_len || e->count > GT_LABEL_MAX)
		return -EBADMSG;
	end = p + e->blob_len;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->id = e->id;
	l->truncated = h->flags & GT_F_TRUNCATED;
	l->keys = calloc(e->count + 1, sizeof(char *));
	l->values = calloc(e->count + 1, sizeof(char *));
	if (!l->keys || !l->values) {
		free_labelset(l);
		return -ENOMEM;
	}
	for (; l->count < e->count; l->count++) {
		if (get_str16(&p, end, (char **)&l->keys[l->count]))
			break;
		if (get_str16(&p, end, (char **)&l->values[l->count])) {
			free((char *)l->keys[l->count]);
			break;
		}
	}
	if (l->count < e->count)
		l->truncated = true;
	sort_labels(l);
	*out = l;
	return 0;
}

void capture__labelset_free(struct gt_labelset *l)
{
	free_labelset(l);
}

static int store_labelset(struct gt_capture *c, const struct gt_event_hdr *h)
{
	const struct gt_ev_labelset *e = (const void *)h;
	struct gt_labelset *l;
	int err;

	if (e->id && u64map__get(&c->labelsets, e->id))
		return 0;
	err = capture__labelset_decode(h, &l);
	if (err)
		return err;
	err = u64map__put(&c->labelsets, e->id, l);
	if (err)
		free_labelset(l);
	return err;
}

/*
 * Validates the record at p (n bytes left) and stores definitions; its
 * size or -EBADMSG.  *skip: a type this version does not know (warned once).
 */
static int next_record(struct gt_capture *c, const uint8_t *p, size_t n, bool *skip)
{
	const struct gt_event_hdr *h = (const void *)p;
	/* records are padded to 8 in the chunk (docs/capture-format.md), so the next is aligned */
	size_t step = (h->size + 7u) & ~7u;
	int err;

	*skip = true;
	if (h->size < sizeof(*h) || step > n)
		return -EBADMSG;
	if (!event_spec(h->type)) {
		if (!c->warned_unknown)
			pr_warn("%s: skipping events of unknown type %u (newer gtrace?)\n", c->path,
				h->type);
		c->warned_unknown = true;
		return step;
	}
	if (h->size < event_spec(h->type)->min_size)
		return -EBADMSG;
	if (h->type == GT_EV_STACK && (err = store_stack(c, h)))
		return err;
	if (h->type == GT_EV_LABELSET && (err = store_labelset(c, h)))
		return err;
	*skip = false;
	return step;
}

/* Loads chunks until one with events; 1, 0 at the end, or -errno. */
static int next_events_chunk(struct gt_capture *c)
{
	struct gt_chunk_header ch;
	int got, err;

	while ((got = next_chunk(c, &ch)) > 0) {
		switch (ch.type) {
		case GT_CHUNK_META:
			parse_meta(c, c->raw, ch.raw_len);
			break;
		case GT_CHUNK_TRAILER:
			if (!c->trailer_loaded)
				parse_meta(c, c->raw, ch.raw_len);
			c->complete = true;
			break;
		case GT_CHUNK_SYMS:
			err = parse_syms(c, c->raw, ch.raw_len);
			if (err)
				return err;
			break;
		case GT_CHUNK_EVENTS:
			c->it_pos = 0;
			c->it_len = ch.raw_len;
			return 1;
		default:
			break;
		}
	}
	return got;
}

/*
 * The pull-style twin of capture__process: the same checks, definitions
 * stored the same way, the same warnings at the end; one record per call.
 */
int capture__next_event(struct gt_capture *c, const struct gt_event_hdr **ev)
{
	int got;

	while (!c->it_done) {
		while (c->it_len - c->it_pos >= sizeof(struct gt_event_hdr)) {
			const uint8_t *p = c->raw + c->it_pos;
			bool skip;
			int n = next_record(c, p, c->it_len - c->it_pos, &skip);

			if (n < 0) {
				got = n;
				goto done;
			}
			c->it_pos += n;
			if (!skip) {
				*ev = (const void *)p;
				return 1;
			}
		}
		if (c->it_pos != c->it_len) {
			got = -EBADMSG;
			goto done;
		}
		got = next_events_chunk(c);
		if (got <= 0)
			goto done;
	}
	return 0;
done:
	c->it_done = true;
	if (got == -EBADMSG)
		pr_warn("%s is damaged after %ld bytes; reporting what was readable\n", c->path,
			ftell(c->f));
	else if (!got && !c->complete)
		pr_warn("%s has no trailer (recording was killed?); reporting what was written\n",
			c->path);
	return got;
}

/* The push-style reader: every record through the tool, on the one pull path. */
int capture__process(struct gt_capture *c, struct gt_tool *tool)
{
	const struct gt_event_hdr *ev;
	int rc;

	while ((rc = capture__next_event(c, &ev)) > 0) {
		/* non-zero from the tool (either sign) stops here */
		if (tool && tool->event && (rc = tool->event(tool, c, ev)))
			return rc;
	}
	return rc;
}

const char *capture__meta(const struct gt_capture *c, const char *key)
{
	/* Later lines win: the trailer refines the header. */
	for (size_t i = c->nmeta; i-- > 0;)
		if (!strcmp(c->meta[i].key, key))
			return c->meta[i].val;
	return NULL;
}

void capture__meta_foreach(const struct gt_capture *c,
			   void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	for (size_t i = 0; i < c->nmeta; i++)
		fn(c->meta[i].key, c->meta[i].val, arg);
}

bool capture__complete(const struct gt_capture *c)
{
	return c->complete;
}

const struct gt_stack *capture__stack(const struct gt_capture *c, uint64_t id)
{
	return u64map__get(&c->stacks, id);
}

const struct gt_labelset *capture__labelset(const struct gt_capture *c, uint64_t id)
{
	return u64map__get(&c->labelsets, id);
}

int capture__symbolize(const struct gt_capture *c, uint64_t pc, struct gt_frame *out, int max)
{
	const struct sym *s = u64map__get(&c->syms, pc);
	int n;

	if (!s)
		return 0;
	n = s->n < max ? s->n : max;
	memcpy(out, s->frames, n * sizeof(*out));
	return n;
}

const char *capture__outer_func(const struct gt_capture *c, uint64_t pc, int max)
{
	const struct sym *s = u64map__get(&c->syms, pc);
	int n;

	if (!s)
		return NULL;
	n = s->n < max ? s->n : max;
	return n > 0 ? s->frames[n - 1].func : NULL;
}

const char *capture__waitreason(const struct gt_capture *c, unsigned reason)
{
	char *buf;

	reason &= 0xff; /* the runtime's waitReason is a uint8 */
	if (c->waitreason[reason] && c->waitreason[reason][0])
		return c->waitreason[reason];
	/* Kept in the capture so the name outlives the call, like the others. */
	buf = (char *)c->waitreason_unknown[reason];
	if (!buf[0])
		snprintf(buf, sizeof(c->waitreason_unknown[0]), "waitreason %u", reason);
	return buf;
}

int64_t capture__wall_ns(const struct gt_capture *c, uint64_t mono_ns)
{
	size_t lo = 0, hi = c->nclocks;

	if (!c->nclocks)
		return (int64_t)mono_ns;
	/* The last mapping taken at or before mono_ns (the first one before that). */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (c->clocks[mid].mono <= mono_ns)
			lo = mid;
		else
			hi = mid;
	}
	return c->clocks[lo].real + (int64_t)(mono_ns - c->clocks[lo].mono);
}

void capture__close(struct gt_capture *c)
{
	if (!c)
		return;
	if (c->f && c->f != stdin)
		fclose(c->f);
	for (size_t i = 0; i < c->stacks.cap; i++)
		if (c->stacks.keys[i])
			free(c->stacks.vals[i]);
	for (size_t i = 0; i < c->labelsets.cap; i++)
		if (c->labelsets.keys[i])
			free_labelset(c->labelsets.vals[i]);
	for (size_t i = 0; i < c->syms.cap; i++)
		if (c->syms.keys[i])
			free_sym(c->syms.vals[i]);
	u64map__free(&c->stacks);
	u64map__free(&c->labelsets);
	u64map__free(&c->syms);
	for (size_t i = 0; i < c->nmeta; i++) {
		free(c->meta[i].key);
		free(c->meta[i].val);
	}
	free(c->meta);
	free(c->clocks);
	free(c->raw);
	free(c->stored);
	free(c->path);
	free(c);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes capture files (see capture.h for the layout).  Everything is
 * buffered per chunk type and written as whole, CRC-checked chunks, so a
 * capture cut by SIGKILL or a full disk still reads up to its last flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "capture/capture.h"
#include "capture/capture_format.h"
#include "lib/debug.h"
#include "lib/outfile.h"

#define EVENTS_FLUSH_BYTES (1u << 20)

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct gt_capture_writer {
	int fd;
	struct gt_outfile out; /* the file's rules: lib/outfile.h */
	char *path;
	uint64_t bytes;
	struct buf meta, syms, events, zbuf;
	ZSTD_CCtx *zc; /* reused: a fresh context per chunk would cost more than the chunk */
	int err; /* first write error, sticky */
	/*
	 * Where the header's meta ends, while no META chunk is out: the meta
	 * given before the first record.  A capture closed before its first
	 * flush (an agent window a moment long) must still begin with its
	 * header, not carry it all in the trailer, where a reader looks for
	 * the header and finds none.
	 */
	bool meta_out, header_marked;
	size_t header_len;
};

static void mark_header(struct gt_capture_writer *w)
{
	if (!w->meta_out && !w->header_marked) {
		w->header_marked = true;
		w->header_len = w->meta.len;
	}
}

static int buf_reserve(struct buf *b, size_t more)
{
	size_t ncap;
	uint8_t *np;

	if (b->len + more <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int write_all(struct gt_capture_writer *w, const void *p, size_t n)
{
	const uint8_t *c = p;

	if (w->err)
		return w->err;
	while (n) {
		ssize_t k = write(w->fd, c, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->err = k < 0 ? -errno : -EIO;
			pr_err("failed to write %s: %s\n", w->path, strerror(-w->err));
			return w->err;
		}
		c += k;
		n -= k;
		w->bytes += k;
	}
	return 0;
}

int capture_writer__open(struct gt_capture_writer **out, const char *path)
{
	return capture_writer__open_checked(out, path, NULL, 0);
}

int capture_writer__open_checked(struct gt_capture_writer **out, const char *path,
				 const char *const *inputs, size_t n)
{
	struct gt_capture_writer *w = calloc(1, sizeof(*w));
	struct gt_file_header fh = { .version = GT_CAPTURE_VERSION,
				     .byte_order = GT_BYTE_ORDER_MARK };
	int err;

	if (!w)
		return -ENOMEM;
	memcpy(fh.magic, GT_FILE_MAGIC, sizeof(fh.magic));
	/*
	 * Streamed under its final name (not a temporary renamed at the end):
	 * a recording killed by SIGKILL must leave its prefix readable at OUT.
	 */
	err = outfile__open(&w->out, path, GT_OUT_STREAM, 0600, inputs, n);
	if (err) {
		free(w);
		return err;
	}
	w->fd = w->out.fd;
	w->path = strdup(path);
	err = write_all(w, &fh, sizeof(fh));
	if (err) {
		capture_writer__close(w);
		return err;
	}
	*out = w;
	return 0;
}

int capture_writer__meta(struct gt_capture_writer *w, const char *key, const char *fmt, ...)
{
	char val[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	/* Tabs and newlines frame the lines: keep them out of values. */
	for (char *c = val; *c; c++)
		if (*c == '\t' || *c == '\n')
			*c = ' ';
	if (buf_put(&w->meta, key, strlen(key)) || buf_put(&w->meta, "\t", 1) ||
	    buf_put(&w->meta, val, strlen(val)) || buf_put(&w->meta, "\n", 1))
		return -ENOMEM;
	return 0;
}

static int put_str16(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	uint16_t len = n > 65535 ? 65535 : n;

	if (buf_put(b, &len, 2) || buf_put(b, s, len))
		return -ENOMEM;
	return 0;
}

int capture_writer__symbol(struct gt_capture_writer *w, uint64_t pc, const struct gt_frame *f,
			   int n)
{
	uint16_t nf = n;

	mark_header(w);
	if (buf_put(&w->syms, &pc, 8) || buf_put(&w->syms, &nf, 2))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		uint32_t line = f[i].line;

		if (put_str16(&w->syms, f[i].func) || put_str16(&w->syms, f[i].file) ||
		    buf_put(&w->syms, &line, 4))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Writes one chunk, zstd-compressed (level 1) when that is smaller.  zstd,
 * not zlib: at a million events a second compression was most of
 * gtrace's own CPU, and zstd's fastest level costs a fraction of zlib's
 * for a smaller file.
 */
static int write_chunk(struct gt_capture_writer *w, uint16_t type, struct buf *b)
{
	struct gt_chunk_header ch = { .magic = GT_CHUNK_MAGIC, .type = type, .raw_len = b->len };
	const uint8_t *payload = b->p;
	size_t zlen = ZSTD_compressBound(b->len);
	int err;

	if (buf_reserve(&w->zbuf, zlen))
		return -ENOMEM;
	ch.len = b->len;
	if (!w->zc)
		w->zc = ZSTD_createCCtx();
	if (w->zc && b->len) {
		zlen = ZSTD_compressCCtx(w->zc, w->zbuf.p, zlen, b->p, b->len, 1);
		if (!ZSTD_isError(zlen) && zlen < b->len) {
			payload = w->zbuf.p;
			ch.len = zlen;
			ch.flags = GT_CHUNK_F_ZSTD;
		}
	}
	/* The CRC covers the header too, so a damaged type or length is caught. */
	/* (never a NULL payload, even empty: zlib's crc32 of NULL is its initial value) */
	ch.crc32 = crc32(crc32(0, (const Bytef *)&ch, sizeof(ch)), payload ? payload : (const uint8_t *)"",
			 ch.len);
	err = write_all(w, &ch, sizeof(ch));
	if (!err)
		err = write_all(w, payload, ch.len);
	b->len = 0;
	return err;
}

int capture_writer__events(struct gt_capture_writer *w, const void *recs, size_t len)
{
	mark_header(w);
	if (buf_put(&w->events, recs, len))
		return -ENOMEM;
	if (w->events.len >= EVENTS_FLUSH_BYTES)
		return capture_writer__flush(w);
	return w->err;
}

int capture_writer__flush(struct gt_capture_writer *w)
{
	int err = 0;

	/* Order matters: readers need definitions before the events using them. */
	if (w->meta.len) {
		err = write_chunk(w, GT_CHUNK_META, &w->meta);
		w->meta_out = true;
	}
	if (!err && w->syms.len)
		err = write_chunk(w, GT_CHUNK_SYMS, &w->syms);
	if (!err && w->events.len)
		err = write_chunk(w, GT_CHUNK_EVENTS, &w->events);
	return err;
}

uint64_t capture_writer__bytes(const struct gt_capture_writer *w)
{
	return w->bytes + w->events.len;
}

bool capture_writer__failed(const struct gt_capture_writer *w)
{
	return w->err != 0;
}

int capture_writer__close(struct gt_capture_writer *w)
{
	struct buf trailer = { 0 };
	int err = 0;

	if (!w)
		return 0;
	/*
	 * Meta added since the last flush is the trailer (loss totals, end
	 * time), but never the header itself: closed before its first flush,
	 * the capture's header (the meta before its first record, all of it if
	 * it has none) goes out first, as a META chunk.
	 */
	if (w->meta_out) {
		trailer = w->meta;
		w->meta = (struct buf){ 0 };
	} else {
		size_t hl = w->header_marked ? w->header_len : w->meta.len, tl = w->meta.len - hl;

		if (tl && !(trailer.p = malloc(tl))) {
			err = -ENOMEM;
		} else if (tl) {
			memcpy(trailer.p, w->meta.p + hl, tl);
			trailer.len = trailer.cap = tl;
		}
		w->meta.len = hl;
		if (!err && hl)
			err = write_chunk(w, GT_CHUNK_META, &w->meta);
		w->meta.len = 0;
	}
	if (!err)
		err = capture_writer__flush(w);
	if (!err)
		err = write_chunk(w, GT_CHUNK_TRAILER, &trailer);
	if (!err)
		err = outfile__commit(&w->out, NULL); /* fsync: the trailer is on disk */
	else
		outfile__abort(&w->out, NULL);
	free(trailer.p);
	free(w->meta.p);
	free(w->syms.p);
	free(w->events.p);
	free(w->zbuf.p);
	ZSTD_freeCCtx(w->zc);
	free(w->path);
	free(w);
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* gzip in memory (gzip.h), over zlib. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include "lib/gzip.h"

/* windowBits 15 + 16: a gzip wrapper, not zlib's */
#define GZIP_WBITS (15 + 16)

int gzip__compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap;
	uint8_t *b;
	int r;

	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, GZIP_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	/* deflateBound: the whole output fits, so one deflate call finishes */
	cap = deflateBound(&z, len);
	b = malloc(cap);
	if (!b) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	z.next_out = b;
	z.avail_out = cap;
	r = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(b);
		return -EIO;
	}
	*out = b;
	return 0;
}

int gzip__inflate(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len * 4 + 4096;
	uint8_t *b, *nb;
	int r = Z_OK;

	if (cap > max)
		cap = max;
	b = malloc(cap ? cap : 1);
	if (!b || inflateInit2(&z, GZIP_WBITS) != Z_OK) {
		free(b);
		return -ENOMEM;
	}
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	while (r == Z_OK) {
		if (z.total_out == cap) {
			if (cap >= max || !(nb = realloc(b, cap * 2 > max ? max : cap * 2))) {
				r = Z_MEM_ERROR;
				break;
			}
			b = nb;
			cap = cap * 2 > max ? max : cap * 2;
		}
		z.next_out = b + z.total_out;
		z.avail_out = cap - z.total_out;
		r = inflate(&z, Z_NO_FLUSH);
		if (r == Z_BUF_ERROR && z.avail_out)
			break; /* room left but no input: the stream was cut */
		if (r == Z_BUF_ERROR)
			r = Z_OK;
	}
	*out_len = z.total_out;
	inflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(b);
		return r == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
	}
	*out = b;
	return 0;
}

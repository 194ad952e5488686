// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one gzip helper (lib/gzip.h): round trip, a cut stream, the output bound. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/gzip.h"
#include "test.h"

TEST(gzip_roundtrip)
{
	size_t n = 300000, gzlen, rawlen;
	uint8_t *in = malloc(n), *gz = NULL, *raw = NULL;

	T_ASSERT(in, "malloc");
	for (size_t i = 0; i < n; i++)
		in[i] = (i * 7) % 251 ^ (i >> 10); /* compressible, not trivially */
	T_ASSERT(!gzip__compress(in, n, &gz, &gzlen), "compress");
	T_CHECK(gzlen > 18 && gzlen < n && gz[0] == 0x1f && gz[1] == 0x8b,
		"a gzip member, smaller: %zu bytes", gzlen);
	T_CHECK(!gzip__inflate(gz, gzlen, n, &raw, &rawlen) && rawlen == n && !memcmp(raw, in, n),
		"inflates back to the input");
	free(raw);
	raw = NULL;
	T_CHECK(gzip__inflate(gz, gzlen / 2, n, &raw, &rawlen) == -EBADMSG && !raw,
		"a cut stream is -EBADMSG");
	T_CHECK(gzip__inflate(gz, gzlen, n - 1, &raw, &rawlen) == -ENOMEM && !raw,
		"more than max bytes of output is -ENOMEM");
	gz[gzlen - 5] ^= 0xff; /* the trailer's CRC/length */
	T_CHECK(gzip__inflate(gz, gzlen, n, &raw, &rawlen) == -EBADMSG, "a damaged trailer");
	free(gz);
	T_ASSERT(!gzip__compress(in, 0, &gz, &gzlen), "empty input");
	T_CHECK(!gzip__inflate(gz, gzlen, 16, &raw, &rawlen) && rawlen == 0, "empty round trip");
	free(gz);
	free(raw);
	free(in);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Go trace encoder's bytes, read back by a decoder written from
 * internal/trace's batch.go (not from the encoder): header, batch headers,
 * timestamp deltas, batches split at 64 KiB, interned strings, the final
 * end-of-generation byte.  go tool trace itself judges whole exports in
 * tests/e2e/gotrace.sh.
 */
#include <stdlib.h>
#include "test.h"
#include "export/gotrace_enc.h"

static uint64_t uv(const uint8_t **p)
{
	uint64_t v = 0;

	for (int s = 0;; s += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return v;
	}
}

TEST(gotrace_enc_batches)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct gtv *w;
	uint64_t a, b, c, args[2];
	const uint8_t *p, *end;
	int batches_m7 = 0, events_m7 = 0, strings = 0, sync = 0;
	uint64_t last_ts = 0;
	char big[2000];

	T_ASSERT(f && !gtv__open(&w, f), "open");
	a = gtv__string(w, "pprof.labels");
	b = gtv__string(w, "kind=mutex");
	c = gtv__string(w, "pprof.labels");
	T_CHECK(a >= 1 && b != a && c == a, "interning: %llu %llu %llu", (unsigned long long)a,
		(unsigned long long)b, (unsigned long long)c);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	gtv__string(w, big);
	/* 20000 GoStart events: several batches; one event out of time order */
	for (int i = 0; i < 20000; i++) {
		args[0] = i + 1;
		args[1] = 1;
		T_ASSERT(!gtv__event(w, 7, 1000000 + (i == 5 ? 0 : (uint64_t)i * 10), GTV_GO_START, 2,
				     args), "event %d", i);
	}
	T_ASSERT(!gtv__finish(w, 1000000, 1700000000123456789LL), "finish");
	T_CHECK(gtv__nevents(w) == 20000, "nevents %llu", (unsigned long long)gtv__nevents(w));
	gtv__close(w);
	fclose(f);

	T_ASSERT(len > 16 && !memcmp(buf, "go 1.26 trace\0\0\0", 16), "header");
	T_CHECK((uint8_t)buf[len - 1] == GTV_END_OF_GENERATION, "last byte %u", (uint8_t)buf[len - 1]);
	p = (const uint8_t *)buf + 16;
	end = (const uint8_t *)buf + len - 1;
	while (p < end) {
		uint64_t gen, m, ts, size;
		const uint8_t *q, *bend;

		T_ASSERT(*p++ == GTV_EVENT_BATCH, "batch byte at %td", p - (const uint8_t *)buf);
		gen = uv(&p);
		m = uv(&p);
		ts = uv(&p);
		size = uv(&p);
		T_CHECK(gen == 1, "gen %llu", (unsigned long long)gen);
		T_ASSERT(size <= 64 << 10 && p + size <= end, "batch size %llu", (unsigned long long)size);
		q = p;
		bend = p + size;
		if (m == 7) {
			batches_m7++;
			while (q < bend) {
				T_ASSERT(*q++ == GTV_GO_START, "event type");
				ts += uv(&q);
				T_CHECK(ts >= last_ts, "time goes back");
				last_ts = ts;
				uv(&q);
				uv(&q);
				events_m7++;
			}
		} else if (*q == GTV_STRINGS) {
			q++;
			while (q < bend) {
				uint64_t n;

				T_ASSERT(*q++ == GTV_STRING, "string entry");
				uv(&q);
				n = uv(&q);
				T_CHECK(n <= 1024, "string of %llu bytes", (unsigned long long)n);
				q += n;
				strings++;
			}
		} else if (*q == GTV_SYNC) {
			sync++;
		}
		p = bend;
	}
	T_CHECK(batches_m7 > 1, "20000 events in %d batch(es)", batches_m7);
	T_CHECK(events_m7 == 20000, "%d events read back", events_m7);
	T_CHECK(last_ts == 1000000 + 19999 * 10, "last ts %llu", (unsigned long long)last_ts);
	T_CHECK(strings == 3, "%d strings (3 distinct)", strings);
	T_CHECK(sync == 1, "%d sync batches", sync);
	free(buf);
}

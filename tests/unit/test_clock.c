// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Clock mapping: a real sample predicts fresh REALTIME reads within its
 * measured bracket; injected readings with a step make the tracker take a
 * new mapping; describe strings and the metadata round trip.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/timex.h>
#include <unistd.h>
#include "lib/clock.h"
#include "test.h"

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

TEST(clock_sample_within_bracket)
{
	struct gt_clock_map m;

	T_ASSERT(clock__sample(&m) == 0, "clock__sample failed");
	T_ASSERT(m.bracket_ns > 0 && m.bracket_ns < 1000000, "bracket %" PRIu64 " ns", m.bracket_ns);
	T_CHECK(m.error_ns >= m.bracket_ns / 2, "error %" PRIu64 " below half bracket", m.error_ns);
	T_CHECK(m.boot_ns >= m.mono_ns, "boot %" PRIu64 " < mono %" PRIu64, m.boot_ns, m.mono_ns);
	T_CHECK(m.source[0], "no sync source");

	/*
	 * Fresh m1 <= r <= m2: the mapping must put r inside
	 * [pred(m1), pred(m2)] widened by its own half bracket.  Slewing does
	 * not move the offset, so only 1 µs of slack for rounding.
	 */
	for (int i = 0; i < 20; i++) {
		int64_t m1 = now_ns(CLOCK_MONOTONIC);
		int64_t r = now_ns(CLOCK_REALTIME);
		int64_t m2 = now_ns(CLOCK_MONOTONIC);
		int64_t lo = clock__mono_to_real(&m, m1) - (int64_t)m.bracket_ns / 2 - 1000;
		int64_t hi = clock__mono_to_real(&m, m2) + (int64_t)m.bracket_ns / 2 + 1000;

		T_ASSERT(r >= lo && r <= hi,
			 "realtime %" PRId64 " outside predicted [%" PRId64 ", %" PRId64 "]", r, lo, hi);
		usleep(1000);
	}
}

TEST(clock_boottime_offset)
{
	struct gt_clock_map m;

	T_ASSERT(clock__sample(&m) == 0, "clock__sample failed");
	/*
	 * BOOTTIME - MONOTONIC is constant (no suspend in a test run), and
	 * the sample reads it in a bracket as tight as the REALTIME one: the
	 * mapping is off by half that bracket, far below 10 µs.
	 */
	for (int i = 0; i < 20; i++) {
		int64_t m1 = now_ns(CLOCK_MONOTONIC);
		int64_t b = now_ns(CLOCK_BOOTTIME);
		int64_t m2 = now_ns(CLOCK_MONOTONIC);
		int64_t lo = (int64_t)clock__mono_to_boot(&m, m1) - 10000;
		int64_t hi = (int64_t)clock__mono_to_boot(&m, m2) + 10000;

		T_ASSERT(b >= lo && b <= hi,
			 "boottime %" PRId64 " outside [%" PRId64 ", %" PRId64 "]", b, lo, hi);
		usleep(1000);
	}
}

/* A fake host: MONOTONIC ticks 30 ns a read, REALTIME = MONOTONIC + offset. */
struct fake_clock {
	int64_t mono, offset;
	int state;
	long maxerror, esterror;
	int status;
	int reads;
};

static int fake_gettime(void *ctx, clockid_t clk, struct timespec *ts)
{
	struct fake_clock *f = ctx;
	int64_t ns;

	f->mono += 30;
	f->reads++;
	switch (clk) {
	case CLOCK_MONOTONIC:
		ns = f->mono;
		break;
	case CLOCK_REALTIME:
		ns = f->mono + f->offset;
		break;
	case CLOCK_BOOTTIME:
		ns = f->mono + 7000000000LL;
		break;
	default:
		return -EINVAL;
	}
	ts->tv_sec = ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
	return 0;
}

static int fake_adjtimex(void *ctx, struct timex *tx)
{
	struct fake_clock *f = ctx;

	tx->maxerror = f->maxerror;
	tx->esterror = f->esterror;
	tx->status = f->status;
	return f->state;
}

static struct fake_clock fake_synced(void)
{
	return (struct fake_clock){ .mono = 5000000000LL, .offset = 1700000000000000000LL,
				    .state = TIME_OK, .maxerror = 12, .esterror = 3 };
}

TEST(clock_injected_sample)
{
	struct fake_clock f = fake_synced();
	struct gt_clock_src src = { fake_gettime, fake_adjtimex, &f };
	struct gt_clock_map m;

	T_ASSERT(clock__sample_src(&src, 10, &m) == 0, "sample failed");
	T_CHECK(f.reads == 60, "%d reads, want 3 per bracket x 10 x 2 clocks", f.reads);
	T_CHECK(m.bracket_ns == 60, "bracket %" PRIu64, m.bracket_ns);
	T_CHECK(m.real_ns - (int64_t)m.mono_ns == f.offset, "offset %" PRId64,
		m.real_ns - (int64_t)m.mono_ns);
	T_CHECK(m.boot_ns - m.mono_ns == 7000000000ULL, "boot offset %" PRIu64,
		m.boot_ns - m.mono_ns);
	T_CHECK(m.error_ns == 30 + 12000, "error %" PRIu64 " want bracket/2 + maxerror",
		m.error_ns);
	T_CHECK(m.synchronized && m.maxerror_us == 12 && m.esterror_us == 3, "sync state");

	f.status = STA_UNSYNC;
	T_ASSERT(clock__sample_src(&src, 10, &m) == 0, "sample failed");
	T_CHECK(!m.synchronized, "STA_UNSYNC must mean unsynchronized");
	f.status = 0;
	f.state = TIME_ERROR;
	T_ASSERT(clock__sample_src(&src, 10, &m) == 0, "sample failed");
	T_CHECK(!m.synchronized, "TIME_ERROR must mean unsynchronized");
	f.state = -EPERM;
	T_ASSERT(clock__sample_src(&src, 10, &m) == 0, "sample failed");
	T_CHECK(!m.synchronized && m.maxerror_us == -1 && !strcmp(m.source, "none"),
		"adjtimex refused: sync %d maxerror %" PRId64 " source %s", m.synchronized,
		m.maxerror_us, m.source);
}

TEST(clock_step_makes_new_mapping)
{
	struct fake_clock f = fake_synced();
	struct gt_clock_src src = { fake_gettime, fake_adjtimex, &f };
	struct gt_clock_tracker t;
	struct gt_clock_map m;
	int64_t probe;

	T_ASSERT(clock__tracker_init(&t, &src) == 0, "tracker init");
	T_CHECK(t.nr_maps == 1 && t.step_fd == -1, "maps %u fd %d", t.nr_maps, t.step_fd);
	T_CHECK(clock__tracker_poll(&t, &m) == 0, "no step yet, yet a new mapping");
	T_CHECK(clock__tracker_poll(&t, &m) == 0, "no step yet, yet a new mapping");

	/* settimeofday 2.5 s back */
	f.offset -= 2500000000LL;
	T_ASSERT(clock__tracker_poll(&t, &m) == 1, "step not noticed");
	T_CHECK(t.nr_maps == 2, "maps %u", t.nr_maps);
	probe = (int64_t)m.mono_ns + 1000;
	T_CHECK(clock__mono_to_real(&m, probe) == probe + f.offset, "new mapping has old offset");
	T_CHECK(clock__mono_to_real(&t.cur, probe) == probe + f.offset, "tracker kept old mapping");
	T_CHECK(clock__tracker_poll(&t, NULL) == 0, "second poll after step made a mapping");

	/* losing sync is worth a new mapping too: the bound changed */
	f.state = TIME_ERROR;
	T_CHECK(clock__tracker_poll(&t, &m) == 1 && !m.synchronized, "sync loss not noticed");
	clock__tracker_close(&t);
}

TEST(clock_step_fd)
{
	struct pollfd p;
	int fd = clock__step_fd();

	if (fd == -ENOSYS || fd == -EPERM)
		T_SKIP("timerfd unavailable: %s", strerror(-fd));
	T_ASSERT(fd >= 0, "clock__step_fd: %s", strerror(-fd));
	/* nobody set the clock: not readable, nothing to report */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	T_CHECK(poll(&p, 1, 0) == 0, "step fd readable without a step");
	T_CHECK(clock__step_check(fd) == 0, "step reported without a step");
	close(fd);
}

TEST(clock_describe)
{
	struct gt_clock_map m = { .synchronized = true, .error_ns = 11200 };
	char buf[128];

	T_CHECK(!strcmp(clock__describe(&m, buf, sizeof(buf)), "wall time ±12 µs (synchronized)"),
		"got \"%s\"", buf);
	m.error_ns = 480;
	T_CHECK(!strcmp(clock__describe(&m, buf, sizeof(buf)), "wall time ±480 ns (synchronized)"),
		"got \"%s\"", buf);
	m.error_ns = 3500000;
	T_CHECK(!strcmp(clock__describe(&m, buf, sizeof(buf)), "wall time ±4 ms (synchronized)"),
		"got \"%s\"", buf);
	m.synchronized = false;
	T_CHECK(!strcmp(clock__describe(&m, buf, sizeof(buf)),
			"clock not synchronized: wall times are this host's opinion"),
		"got \"%s\"", buf);
}

/* A tiny key/value store standing in for the capture's META chunk. */
struct kv {
	int n;
	char key[16][64];
	char val[16][64];
};

static int kv_emit(void *arg, const char *key, const char *value)
{
	struct kv *kv = arg;

	if (kv->n == 16)
		return -ENOSPC;
	snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%s", key);
	snprintf(kv->val[kv->n], sizeof(kv->val[0]), "%s", value);
	kv->n++;
	return 0;
}

static const char *kv_lookup(const void *arg, const char *key)
{
	const struct kv *kv = arg;

	for (int i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key))
			return kv->val[i];
	return NULL;
}

TEST(clock_meta_roundtrip)
{
	struct gt_clock_map m = { .mono_ns = 123456789, .real_ns = 1700000000123456789LL,
				  .boot_ns = 223456789, .bracket_ns = 48, .error_ns = 16000000024ULL,
				  .synchronized = false, .maxerror_us = 16000000, .esterror_us = 16000000,
				  .source = "adjtimex" };
	struct gt_clock_map back;
	struct kv kv = { 0 };

	T_ASSERT(clock__write_meta(&m, NULL, kv_emit, &kv) == 0, "write_meta");
	T_CHECK(!strcmp(kv_lookup(&kv, "clock.sync") ?: "", "0"), "clock.sync");
	T_CHECK(!strcmp(kv_lookup(&kv, "clock.real_ns") ?: "", "1700000000123456789"),
		"clock.real_ns");
	T_CHECK(kv_lookup(&kv, "clock.mono_ns") && kv_lookup(&kv, "clock.boot_ns") &&
			kv_lookup(&kv, "clock.error_ns") && kv_lookup(&kv, "clock.bracket_ns") &&
			kv_lookup(&kv, "clock.maxerror_us") && kv_lookup(&kv, "clock.esterror_us"),
		"a clock key is missing");
	T_ASSERT(clock__from_meta(&back, NULL, kv_lookup, &kv) == 0, "from_meta");
	T_CHECK(back.mono_ns == m.mono_ns && back.real_ns == m.real_ns && back.boot_ns == m.boot_ns &&
			back.bracket_ns == m.bracket_ns && back.error_ns == m.error_ns &&
			back.synchronized == m.synchronized && back.maxerror_us == m.maxerror_us &&
			back.esterror_us == m.esterror_us && !strcmp(back.source, m.source),
		"round trip changed the mapping");

	T_CHECK(clock__from_meta(&back, "clock.1", kv_lookup, &kv) == -ENOENT, "absent prefix");
	snprintf(kv.val[0], sizeof(kv.val[0]), "12x");
	T_CHECK(clock__from_meta(&back, NULL, kv_lookup, &kv) == -EINVAL, "garbage accepted");
}

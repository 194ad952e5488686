// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * MONOTONIC -> REALTIME mapping with an error bound (see clock.h and
 * docs/clock-and-az.md).  Each sample sandwiches a REALTIME read between
 * two MONOTONIC reads and keeps the tightest of many; the kernel's
 * adjtimex() says whether the wall clock is disciplined at all and how far
 * off it may be.  chronyd/ntpd's own estimates are not asked for: that
 * needs their control sockets, and adjtimex already carries what they
 * told the kernel.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <unistd.h>
#include "lib/clock.h"
#include "lib/debug.h"

#define NSEC_PER_SEC 1000000000LL
/* Offset noise tolerated beyond the two half-brackets before calling it a step. */
#define STEP_SLACK_NS 1000

uint64_t clock__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * (uint64_t)NSEC_PER_SEC + ts.tv_nsec;
}

uint64_t clock__thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * (uint64_t)NSEC_PER_SEC + ts.tv_nsec;
}

static int sys_gettime(void *ctx, clockid_t clk, struct timespec *ts)
{
	return clock_gettime(clk, ts) ? -errno : 0;
}

static int sys_adjtimex(void *ctx, struct timex *tx)
{
	int ret = adjtimex(tx);

	return ret < 0 ? -errno : ret;
}

static const struct gt_clock_src sys_src = { sys_gettime, sys_adjtimex, NULL };

static const struct gt_clock_src *src_or_sys(const struct gt_clock_src *src)
{
	if (!src || !src->gettime || !src->adjtimex)
		return &sys_src;
	return src;
}

static int read_ns(const struct gt_clock_src *s, clockid_t clk, int64_t *ns)
{
	struct timespec ts;
	int err = s->gettime(s->ctx, clk, &ts);

	if (err)
		return err;
	*ns = (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
	return 0;
}

/*
 * Tightest of nr brackets m1 <= x <= m2 of clock clk: *mid is the
 * MONOTONIC midpoint and *val the other clock there.
 */
static int best_bracket(const struct gt_clock_src *s, clockid_t clk, int nr, int64_t *mid,
			int64_t *val, uint64_t *width)
{
	uint64_t best = UINT64_MAX;
	int64_t m1, x, m2;
	int err;

	for (int i = 0; i < nr; i++) {
		if ((err = read_ns(s, CLOCK_MONOTONIC, &m1)) || (err = read_ns(s, clk, &x)) ||
		    (err = read_ns(s, CLOCK_MONOTONIC, &m2)))
			return err;
		/* a fake or broken source going backwards proves nothing */
		if (m2 < m1 || (uint64_t)(m2 - m1) >= best)
			continue;
		best = m2 - m1;
		*mid = m1 + (m2 - m1) / 2;
		*val = x;
	}
	if (best == UINT64_MAX)
		return -EIO;
	*width = best;
	return 0;
}

/* Sync state from the kernel: what the NTP daemon last told it. */
static void fill_sync(const struct gt_clock_src *s, struct gt_clock_map *m)
{
	struct timex tx = { .modes = 0 };
	int state = s->adjtimex(s->ctx, &tx);

	if (state < 0) {
		/* seccomp profiles sometimes refuse adjtimex even read-only */
		pr_debug("adjtimex: %s; clock sync unknown\n", strerror(-state));
		m->synchronized = false;
		m->maxerror_us = m->esterror_us = -1;
		snprintf(m->source, sizeof(m->source), "none");
		return;
	}
	m->synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	m->maxerror_us = tx.maxerror;
	m->esterror_us = tx.esterror;
	snprintf(m->source, sizeof(m->source), "adjtimex");
}

int clock__sample_src(const struct gt_clock_src *src, int nr, struct gt_clock_map *out)
{
	const struct gt_clock_src *s = src_or_sys(src);
	int64_t mid, real, bmid, boot;
	uint64_t width, bwidth;
	int err;

	if (nr <= 0)
		nr = GT_CLOCK_SAMPLES;
	memset(out, 0, sizeof(*out));
	err = best_bracket(s, CLOCK_REALTIME, nr, &mid, &real, &width);
	if (err) {
		pr_err("cannot read the clocks: %s\n", strerror(-err));
		return err;
	}
	out->mono_ns = mid;
	out->real_ns = real;
	out->bracket_ns = width;

	/*
	 * BOOTTIME - MONOTONIC only changes across suspend, so its own
	 * bracket, shifted to mid, is as good as reading it in the first one
	 * (which would widen the REALTIME bracket).
	 */
	if (best_bracket(s, CLOCK_BOOTTIME, nr, &bmid, &boot, &bwidth) == 0) {
		boot += mid - bmid;
		/* BOOTTIME never runs behind MONOTONIC; bracket noise can say so */
		out->boot_ns = boot < mid ? mid : boot;
	}

	fill_sync(s, out);
	out->error_ns = width / 2 + (width & 1);
	if (out->maxerror_us > 0)
		out->error_ns += (uint64_t)out->maxerror_us * 1000;
	return 0;
}

int clock__sample(struct gt_clock_map *out)
{
	return clock__sample_src(NULL, 0, out);
}

int64_t clock__mono_to_real(const struct gt_clock_map *map, uint64_t mono_ns)
{
	return map->real_ns + (int64_t)(mono_ns - map->mono_ns);
}

uint64_t clock__mono_to_boot(const struct gt_clock_map *map, uint64_t mono_ns)
{
	return map->boot_ns + (mono_ns - map->mono_ns);
}

/* Far enough ahead never to fire; only the cancel matters. */
static int arm_step_fd(int fd)
{
	struct itimerspec its = { 0 };
	struct timespec now;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return -errno;
	its.it_value.tv_sec = now.tv_sec + 10 * 365 * 86400L;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL))
		return -errno;
	return 0;
}

int clock__step_fd(void)
{
	int fd, err;

	fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_warn("clock step detection unavailable: timerfd: %s\n", strerror(errno));
		return err;
	}
	err = arm_step_fd(fd);
	if (err) {
		pr_warn("clock step detection unavailable: %s\n", strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int clock__step_check(int fd)
{
	uint64_t ticks;
	ssize_t n = read(fd, &ticks, sizeof(ticks));

	if (n >= 0)
		return 0; /* the ten-year timer fired: nothing to say about steps */
	if (errno == EAGAIN)
		return 0;
	if (errno != ECANCELED)
		return -errno;
	/* the cancel sticks until the timer is set again */
	return arm_step_fd(fd) ?: 1;
}

static int64_t map_offset(const struct gt_clock_map *m)
{
	return m->real_ns - (int64_t)m->mono_ns;
}

int clock__tracker_init(struct gt_clock_tracker *t, const struct gt_clock_src *src)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->src = *src_or_sys(src);
	t->step_fd = -1;
	err = clock__sample_src(&t->src, 0, &t->cur);
	if (err)
		return err;
	t->nr_maps = 1;
	/* injected sources cannot be stepped from outside: no fd for them */
	if (!src || !src->gettime) {
		int fd = clock__step_fd();

		t->step_fd = fd < 0 ? -1 : fd;
	}
	return 0;
}

int clock__tracker_poll(struct gt_clock_tracker *t, struct gt_clock_map *out)
{
	struct gt_clock_map m;
	bool stepped = false;
	int64_t moved;
	uint64_t tol;
	int err;

	if (t->step_fd >= 0) {
		err = clock__step_check(t->step_fd);
		if (err < 0)
			pr_debug("clock step fd: %s\n", strerror(-err));
		stepped = err > 0;
	}
	err = clock__sample_src(&t->src, 0, &m);
	if (err)
		return err;
	moved = map_offset(&m) - map_offset(&t->cur);
	if (moved < 0)
		moved = -moved;
	tol = t->cur.bracket_ns / 2 + m.bracket_ns / 2 + STEP_SLACK_NS;
	if (!stepped && (uint64_t)moved <= tol && m.synchronized == t->cur.synchronized)
		return 0;
	pr_debug("new clock mapping: offset moved %" PRId64 " ns%s\n", moved,
		 stepped ? " (clock was set)" : "");
	t->cur = m;
	t->nr_maps++;
	if (out)
		*out = m;
	return 1;
}

void clock__tracker_close(struct gt_clock_tracker *t)
{
	if (t->step_fd >= 0)
		close(t->step_fd);
	t->step_fd = -1;
}

/* "12 µs": rounded up, since it is a bound. */
static void fmt_bound(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} u[] = { { 1, "ns" }, { 1000, "µs" }, { 1000000, "ms" }, { 1000000000, "s" } };
	size_t i = 0;

	while (i + 1 < sizeof(u) / sizeof(u[0]) && ns >= u[i + 1].div)
		i++;
	snprintf(buf, len, "%" PRIu64 " %s", (ns + u[i].div - 1) / u[i].div, u[i].unit);
}

const char *clock__describe(const struct gt_clock_map *map, char *buf, size_t len)
{
	char bound[32];

	if (!map->synchronized) {
		snprintf(buf, len, "clock not synchronized: wall times are this host's opinion");
		return buf;
	}
	fmt_bound(map->error_ns, bound, sizeof(bound));
	snprintf(buf, len, "wall time ±%s (synchronized)", bound);
	return buf;
}

static int emit_kv(gt_meta_emit_fn emit, void *arg, const char *prefix, const char *name,
		   const char *value)
{
	char key[96];

	snprintf(key, sizeof(key), "%s.%s", prefix, name);
	return emit(arg, key, value);
}

int clock__write_meta(const struct gt_clock_map *map, const char *prefix, gt_meta_emit_fn emit,
		      void *arg)
{
	char v[6][24];
	const char *p = prefix ? prefix : "clock";
	int err;

	snprintf(v[0], sizeof(v[0]), "%" PRIu64, map->mono_ns);
	snprintf(v[1], sizeof(v[1]), "%" PRId64, map->real_ns);
	snprintf(v[2], sizeof(v[2]), "%" PRIu64, map->boot_ns);
	snprintf(v[3], sizeof(v[3]), "%" PRIu64, map->error_ns);
	snprintf(v[4], sizeof(v[4]), "%" PRIu64, map->bracket_ns);
	snprintf(v[5], sizeof(v[5]), "%" PRId64, map->maxerror_us);
	if ((err = emit_kv(emit, arg, p, "mono_ns", v[0])) ||
	    (err = emit_kv(emit, arg, p, "real_ns", v[1])) ||
	    (err = emit_kv(emit, arg, p, "boot_ns", v[2])) ||
	    (err = emit_kv(emit, arg, p, "error_ns", v[3])) ||
	    (err = emit_kv(emit, arg, p, "bracket_ns", v[4])) ||
	    (err = emit_kv(emit, arg, p, "sync", map->synchronized ? "1" : "0")) ||
	    (err = emit_kv(emit, arg, p, "maxerror_us", v[5])))
		return err;
	snprintf(v[5], sizeof(v[5]), "%" PRId64, map->esterror_us);
	if ((err = emit_kv(emit, arg, p, "esterror_us", v[5])) ||
	    (err = emit_kv(emit, arg, p, "source", map->source)))
		return err;
	return 0;
}

/* -ENOENT when absent, -EINVAL when not a whole number in range. */
static int meta_i64(gt_meta_lookup_fn lookup, const void *arg, const char *prefix,
		    const char *name, int64_t *out)
{
	const char *s;
	char key[96], *end;
	long long v;

	snprintf(key, sizeof(key), "%s.%s", prefix, name);
	s = lookup(arg, key);
	if (!s)
		return -ENOENT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end) {
		pr_warn("capture metadata %s=\"%s\" is not a number\n", key, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* For values an older or foreign writer may leave out. */
static int meta_opt(gt_meta_lookup_fn lookup, const void *arg, const char *prefix,
		    const char *name, int64_t *out, int64_t dflt)
{
	int err = meta_i64(lookup, arg, prefix, name, out);

	if (err == -ENOENT) {
		*out = dflt;
		return 0;
	}
	return err;
}

int clock__from_meta(struct gt_clock_map *out, const char *prefix, gt_meta_lookup_fn lookup,
		     const void *arg)
{
	const char *p = prefix ? prefix : "clock";
	int64_t mono, real, boot, err_ns, bracket, sync, maxe, este;
	const char *src;
	char key[96];
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = meta_i64(lookup, arg, p, "mono_ns", &mono)) ||
	    (err = meta_i64(lookup, arg, p, "real_ns", &real)))
		return err;
	if ((err = meta_opt(lookup, arg, p, "boot_ns", &boot, 0)) ||
	    (err = meta_opt(lookup, arg, p, "error_ns", &err_ns, 0)) ||
	    (err = meta_opt(lookup, arg, p, "bracket_ns", &bracket, 0)) ||
	    (err = meta_opt(lookup, arg, p, "sync", &sync, 0)) ||
	    (err = meta_opt(lookup, arg, p, "maxerror_us", &maxe, -1)) ||
	    (err = meta_opt(lookup, arg, p, "esterror_us", &este, -1)))
		return err;
	if (mono < 0 || boot < 0 || err_ns < 0 || bracket < 0) {
		pr_warn("capture metadata %s.*: negative clock value\n", p);
		return -EINVAL;
	}
	out->mono_ns = mono;
	out->real_ns = real;
	out->boot_ns = boot;
	out->error_ns = err_ns;
	out->bracket_ns = bracket;
	out->synchronized = sync != 0;
	out->maxerror_us = maxe;
	out->esterror_us = este;
	snprintf(key, sizeof(key), "%s.source", p);
	src = lookup(arg, key);
	snprintf(out->source, sizeof(out->source), "%s", src ? src : "");
	return 0;
}

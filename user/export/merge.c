// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Merging captures (merge.h): what each capture's clock metadata says about
 * its bound, how two captures' bounds combine, the windows where their
 * order is uncertain, and the merged jsonl, a k-way merge of the captures'
 * event streams by wall time through the reader's pull iterator.  Memory
 * for the merge is one chunk per capture (capture__next_event) plus the
 * reader's definitions, never the events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "lib/json.h"
#include "export/jsonl.h"
#include "export/merge.h"
#include "export/timeline.h"

/* Offsets closer than the brackets plus this are one clock (clock__tracker_poll's slack). */
#define SAME_CLOCK_SLACK_NS 1000

struct scan {
	struct merge_cap *c;
	uint64_t mono;	/* last <prefix>.mono_ns seen: real_ns follows it */
	bool have_mono, have_off;
	int64_t off_min, off_max;
};

static bool is_clock_key(const char *key, const char *field)
{
	size_t kl = strlen(key), fl = strlen(field);

	/* "clock.<field>" or "clock.<N>.<field>" */
	return !strncmp(key, "clock.", 6) && kl > fl && !strcmp(key + kl - fl, field) &&
	       key[kl - fl - 1] == '.';
}

static void scan_meta(const char *key, const char *value, void *arg)
{
	struct scan *s = arg;
	struct merge_cap *c = s->c;

	if (is_clock_key(key, "error_ns")) {
		int64_t e = strtoll(value, NULL, 10);

		if (e > c->error_ns)
			c->error_ns = e;
	} else if (is_clock_key(key, "bracket_ns")) {
		uint64_t b = strtoull(value, NULL, 10);

		if (b > c->bracket_ns)
			c->bracket_ns = b;
	} else if (is_clock_key(key, "mono_ns")) {
		s->mono = strtoull(value, NULL, 10);
		s->have_mono = true;
	} else if (is_clock_key(key, "real_ns") && s->have_mono) {
		int64_t off = strtoll(value, NULL, 10) - (int64_t)s->mono;

		if (!s->have_off)
			c->offset_ns = s->off_min = s->off_max = off;
		s->off_min = off < s->off_min ? off : s->off_min;
		s->off_max = off > s->off_max ? off : s->off_max;
		s->have_off = true;
	}
}

const char *merge__fmt_ns(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} u[] = { { 1, "ns" }, { 1000, "µs" }, { 1000000, "ms" }, { 1000000000, "s" } };
	uint64_t x, step = 1, v;
	size_t i = 0;

	if (ns == MERGE_BOUND_UNKNOWN) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	while (i + 1 < sizeof(u) / sizeof(u[0]) && ns >= u[i + 1].div)
		i++;
	/*
	 * Three significant digits, rounded up (it is a bound), but excess
	 * below 1 ppm ignored: 16000000020 ns is "16 s", not "16.1 s".
	 */
	x = ns - ns / 1000000;
	while (x / step >= 1000)
		step *= 10;
	v = (x + step - 1) / step * step; /* in ns, 3 significant digits */
	if (u[i].div == 1 || v % u[i].div == 0)
		snprintf(buf, len, "%" PRIu64 " %s", v / u[i].div, u[i].unit);
	else if ((v * 10) % u[i].div == 0)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", v / u[i].div,
			 v % u[i].div * 10 / u[i].div, u[i].unit);
	else
		snprintf(buf, len, "%" PRIu64 ".%02" PRIu64 " %s", v / u[i].div,
			 (v % u[i].div * 100 + u[i].div - 1) / u[i].div, u[i].unit);
	return buf;
}

void merge__describe(struct merge_cap *c, struct gt_capture *cap, unsigned idx, const char *path)
{
	struct scan s = { .c = c };
	const char *az = capture__meta(cap, "az"), *pid = capture__meta(cap, "target.pid");
	const char *exe = capture__meta(cap, "target.exe");
	const char *start = capture__meta(cap, "record.start_mono_ns");
	char bound[32];

	*c = (struct merge_cap){ .cap = cap, .path = path, .idx = idx, .error_ns = -1,
				 .first = 1, .last = 0 };
	capture__meta_foreach(cap, scan_meta, &s);
	/* a step inside the capture: its offsets differ, so no shared-clock shortcut */
	if (s.have_off && s.off_max - s.off_min > (int64_t)c->bracket_ns + SAME_CLOCK_SLACK_NS)
		c->bracket_ns = MERGE_BOUND_UNKNOWN;
	if (!s.have_off)
		c->error_ns = -1;
	c->host = capture__meta(cap, "host.name");
	c->real_pid = c->pid = pid ? strtoull(pid, NULL, 10) : 0;
	if (start && s.have_off)
		c->start = capture__wall_ns(cap, strtoull(start, NULL, 10));
	merge__fmt_ns(c->error_ns < 0 ? MERGE_BOUND_UNKNOWN : (uint64_t)c->error_ns, bound,
		      sizeof(bound));
	snprintf(c->name, sizeof(c->name), "%s%s%s pid %" PRIu64 " (±%s)",
		 c->host ? c->host : "?", az ? " " : "", az ? az : "", c->real_pid, bound);
	snprintf(c->desc, sizeof(c->desc), "capture %u: %s; %s; %s; zone source %s", idx, path,
		 exe ? exe : "?",
		 capture__meta(cap, "clock.describe") ? capture__meta(cap, "clock.describe") :
		 "no clock mapping",
		 capture__meta(cap, "az.source") ? capture__meta(cap, "az.source") : "none");
}

void merge__unique_pids(struct merge_cap *c, int n)
{
	for (int i = 1; i < n; i++) {
		for (int j = 0; j < i; j++) {
			if (c[j].pid != c[i].pid)
				continue;
			/* above PID_MAX_LIMIT (2^22): never a real pid */
			c[i].pid += (uint64_t)(i + 1) << 22;
			j = -1; /* check the new one against all again */
		}
	}
}

uint64_t merge__pair_bound(const struct merge_cap *a, const struct merge_cap *b, bool *same_clock)
{
	int64_t d = a->offset_ns - b->offset_ns;

	*same_clock = false;
	if (a->error_ns < 0 || b->error_ns < 0)
		return MERGE_BOUND_UNKNOWN;
	if (a->host && b->host && !strcmp(a->host, b->host) &&
	    a->bracket_ns != MERGE_BOUND_UNKNOWN && b->bracket_ns != MERGE_BOUND_UNKNOWN &&
	    (uint64_t)(d < 0 ? -d : d) <= (a->bracket_ns + b->bracket_ns) / 2 + SAME_CLOCK_SLACK_NS) {
		/* one kernel clock: what is off from UTC is off equally for both */
		*same_clock = true;
		return (a->bracket_ns + 1) / 2 + (b->bracket_ns + 1) / 2;
	}
	return (uint64_t)a->error_ns + (uint64_t)b->error_ns;
}

/* x + d, saturating (a bound may be huge or unknown). */
static int64_t add_sat(int64_t x, uint64_t d, int sign)
{
	if (d > INT64_MAX)
		return sign > 0 ? INT64_MAX : INT64_MIN;
	if (sign > 0)
		return x > INT64_MAX - (int64_t)d ? INT64_MAX : x + (int64_t)d;
	return x < INT64_MIN + (int64_t)d ? INT64_MIN : x - (int64_t)d;
}

int merge__window(const struct merge_cap *a, const struct merge_cap *b, struct tl_window *w,
		  char *buf, size_t len)
{
	bool same;
	uint64_t bound = merge__pair_bound(a, b, &same);
	int64_t lo = a->first > b->first ? a->first : b->first;
	int64_t hi = a->last < b->last ? a->last : b->last;
	int64_t umin = a->first < b->first ? a->first : b->first;
	int64_t umax = a->last > b->last ? a->last : b->last;
	char bs[32];

	if (a->first > a->last || b->first > b->last)
		return 0; /* one has no events */
	/* some pair of events closer than the bound exists iff the gap is within it */
	if (lo > hi && (uint64_t)(lo - hi) > bound)
		return 0;
	w->a = a->idx;
	w->b = b->idx;
	w->bound_ns = bound;
	w->start = add_sat(lo, bound, -1);
	w->end = add_sat(hi, bound, 1);
	w->start = w->start < umin ? umin : w->start;
	w->end = w->end > umax ? umax : w->end;
	snprintf(buf, len, "order uncertain ±%s: %u / %u%s", merge__fmt_ns(bound, bs, sizeof(bs)),
		 a->idx, b->idx, same ? " (one host clock)" : "");
	w->name = buf;
	return 1;
}

/* ---- merged jsonl ---- */

struct stream {
	const struct gt_event_hdr *ev; /* head: next event to write, NULL when done */
	int64_t wall;
	int64_t last; /* wall of the last event written */
	bool any;     /* an event was written */
};

/* Moves s to capture c's next printable event. */
static int advance(struct merge_cap *c, struct stream *s)
{
	const struct gt_event_hdr *ev;
	int got;

	while ((got = capture__next_event(c->cap, &ev)) > 0) {
		if (ev->type == GT_EV_STACK || ev->type == GT_EV_LABELSET)
			continue; /* definitions: the reader keeps them for the events */
		s->ev = ev;
		s->wall = capture__wall_ns(c->cap, ev->ts);
		return 0;
	}
	s->ev = NULL;
	/* a damaged capture: what was readable was written, the reader warned */
	return got == -EBADMSG ? 0 : got;
}

static bool within(int64_t x, int64_t y, uint64_t bound)
{
	int64_t d = x - y;

	return (uint64_t)(d < 0 ? -(uint64_t)d : (uint64_t)d) <= bound;
}

/* Is there an event of another capture, written or next, within the pair bound? */
static bool uncertain(const struct stream *s, const uint64_t *bound, int n, int i)
{
	for (int j = 0; j < n; j++) {
		if (j == i)
			continue;
		if (s[j].any && within(s[i].wall, s[j].last, bound[i * n + j]))
			return true;
		if (s[j].ev && within(s[i].wall, s[j].wall, bound[i * n + j]))
			return true;
	}
	return false;
}

static void header_line(struct merge_cap *c, int n, const uint64_t *bound, FILE *out)
{
	fputs("{\"ev\":\"merge\",\"captures\":[", out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s{\"capture\":%d,\"name\":", i ? "," : "", i);
		json_str(out, c[i].name);
		fputs(",\"path\":", out);
		json_str(out, c[i].path);
		fputs(",\"host\":", out);
		json_str(out, c[i].host);
		fprintf(out, ",\"pid\":%" PRIu64 ",\"error_ns\":", c[i].real_pid);
		if (c[i].error_ns < 0)
			fputs("null}", out);
		else
			fprintf(out, "%" PRId64 "}", c[i].error_ns);
	}
	fputs("],\"pair_bounds\":[", out);
	for (int i = 0, k = 0; i < n; i++) {
		for (int j = i + 1; j < n; j++, k++) {
			bool same;

			merge__pair_bound(&c[i], &c[j], &same);
			fprintf(out, "%s{\"a\":%d,\"b\":%d,\"bound_ns\":", k ? "," : "", i, j);
			if (bound[i * n + j] == MERGE_BOUND_UNKNOWN)
				fputs("null", out);
			else
				fprintf(out, "%" PRIu64, bound[i * n + j]);
			fprintf(out, ",\"same_clock\":%s}", same ? "true" : "false");
		}
	}
	fputs("]}\n", out);
}

static int merge_streams(struct merge_cap *c, int n, struct stream *s, const uint64_t *bound,
			 FILE *out)
{
	char prefix[64];
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = advance(&c[i], &s[i]);
	while (!err) {
		int best = -1;

		/* k is small (captures named on a command line): a scan beats a heap */
		for (int i = 0; i < n; i++)
			if (s[i].ev && (best < 0 || s[i].wall < s[best].wall))
				best = i;
		if (best < 0)
			break;
		snprintf(prefix, sizeof(prefix), "\"capture\":%d,%s", best,
			 uncertain(s, bound, n, best) ? "\"order_uncertain\":true," : "");
		err = jsonl__event(c[best].cap, s[best].ev, prefix, out);
		if (c[best].first > c[best].last)
			c[best].first = s[best].wall;
		c[best].last = s[best].wall;
		s[best].last = s[best].wall;
		s[best].any = true;
		if (!err)
			err = advance(&c[best], &s[best]);
	}
	return err;
}

int merge__jsonl(struct merge_cap *c, int n, FILE *out)
{
	struct stream *s = calloc(n, sizeof(*s));
	uint64_t *bound = calloc((size_t)n * n, sizeof(*bound));
	char prefix[32];
	int err = -ENOMEM;

	if (!s || !bound)
		goto out;
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < n; j++) {
			bool same;

			bound[i * n + j] = i == j ? 0 : merge__pair_bound(&c[i], &c[j], &same);
		}
	}
	header_line(c, n, bound, out);
	for (int i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "\"capture\":%d,", i);
		jsonl__capture_line(c[i].cap, prefix, out);
	}
	err = merge_streams(c, n, s, bound, out);
out:
	if (err == -ENOMEM)
		pr_err("merge: out of memory\n");
	else if (err == -EIO || ferror(out))
		err = -EIO; /* the caller says where */
	else if (err)
		pr_err("merge: reading a capture failed: %s\n", strerror(-err));
	free(s);
	free(bound);
	return err;
}

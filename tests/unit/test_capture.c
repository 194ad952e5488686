// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Capture writer/reader round trip, truncation and corruption handling. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/types.h>
#include "test.h"
#include "capture/capture.h"
#include "lib/u64map.h"

struct counter {
	struct gt_tool tool;
	int n[GT_EV_MAX];
	uint64_t last_goid;
};

static int count_event(struct gt_tool *tool, struct gt_capture *cap, const struct gt_event_hdr *h)
{
	struct counter *c = (struct counter *)tool;

	c->n[h->type]++;
	c->last_goid = h->goid;
	return 0;
}

/* Writes n_chunks chunks of 100 START events each, plus a stack and a label set. */
static int write_sample(const char *path, int n_chunks)
{
	struct gt_capture_writer *w;
	struct gt_frame fr[2] = { { "main.inner", "/src/a.go", 10 }, { "main.outer", "/src/a.go", 20 } };
	struct gt_ev_stack st = { .h = { .type = GT_EV_STACK, .size = offsetof(struct gt_ev_stack, pcs) + 16 },
				  .id = 77, .nr = 2, .pcs = { 0x1001, 0x2001 } };
	struct gt_ev_labelset ls = { .h = { .type = GT_EV_LABELSET }, .id = 99, .count = 2 };
	uint8_t *b = ls.blob;
	const char *kv[] = { "zkey", "v1", "akey", "v2" };

	for (int i = 0; i < 4; i++) {
		uint16_t l = strlen(kv[i]);

		memcpy(b, &l, 2);
		memcpy(b + 2, kv[i], l);
		b += 2 + l;
	}
	ls.blob_len = b - ls.blob;
	ls.h.size = (offsetof(struct gt_ev_labelset, blob) + ls.blob_len + 7) & ~7;
	if (capture_writer__open(&w, path))
		return -1;
	capture_writer__meta(w, "target.pid", "%d", 42);
	capture_writer__meta(w, "clock.mono_ns", "%d", 1000);
	capture_writer__meta(w, "clock.real_ns", "%lld", 5000000000000LL);
	capture_writer__meta(w, "waitreason.14", "chan receive");
	capture_writer__symbol(w, 0x1000, fr, 2);
	capture_writer__events(w, &st, st.h.size);
	capture_writer__events(w, &ls, ls.h.size);
	for (int c = 0; c < n_chunks; c++) {
		for (int i = 0; i < 100; i++) {
			struct gt_ev_start e = { .h = { .type = GT_EV_START, .size = sizeof(e),
							.goid = c * 100 + i + 1 } };

			capture_writer__events(w, &e, sizeof(e));
		}
		capture_writer__flush(w);
	}
	capture_writer__meta(w, "loss.total", "0");
	return capture_writer__close(w);
}

TEST(capture_roundtrip)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture *cap;
	struct counter c = { .tool.event = count_event };
	struct gt_frame fr[4];
	const struct gt_labelset *l;
	struct stat st;
	int fd = mkstemp(path);

	close(fd);
	T_ASSERT(write_sample(path, 3) == 0, "write failed");
	T_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode not 0600");
	T_ASSERT(capture__open(&cap, path) == 0, "open failed");
	T_CHECK(!strcmp(capture__meta(cap, "target.pid"), "42"), "meta");
	T_CHECK(capture__process(cap, &c.tool) == 0, "process");
	T_CHECK(c.n[GT_EV_START] == 300, "starts %d", c.n[GT_EV_START]);
	T_CHECK(c.last_goid == 300, "order");
	T_CHECK(capture__complete(cap), "trailer not seen");
	T_CHECK(capture__meta(cap, "loss.total") != NULL, "trailer meta");
	T_CHECK(capture__stack(cap, 77) && capture__stack(cap, 77)->pcs[1] == 0x2001, "stack");
	l = capture__labelset(cap, 99);
	T_CHECK(l && l->count == 2 && !strcmp(l->keys[0], "akey") && !strcmp(l->values[0], "v2"),
		"labelset sorted");
	T_CHECK(capture__symbolize(cap, 0x1000, fr, 4) == 2 && fr[1].line == 20, "symbols");
	T_CHECK(!strcmp(capture__waitreason(cap, 14), "chan receive"), "waitreason");
	T_CHECK(!strcmp(capture__waitreason(cap, 200), "waitreason 200"), "unknown waitreason");
	T_CHECK(capture__wall_ns(cap, 2000) == 5000000001000LL, "wall");
	capture__close(cap);
	unlink(path);
}

/*
 * Closed before its first flush (an agent window a moment long): the header
 * must still come first, the trailer's meta stay in the trailer, the
 * records between them be read.  It once all went out as the trailer, and
 * the reader found no header.
 */
TEST(capture_closed_before_first_flush)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture *cap;
	struct gt_capture_writer *w;
	struct counter c = { .tool.event = count_event };
	int fd = mkstemp(path);

	close(fd);
	T_ASSERT(write_sample(path, 0) == 0, "write failed");
	T_ASSERT(capture__open(&cap, path) == 0, "open failed: no header");
	T_CHECK(capture__meta(cap, "target.pid") && !strcmp(capture__meta(cap, "target.pid"), "42"),
		"header meta");
	T_CHECK(capture__complete(cap) && capture__meta(cap, "loss.total"), "trailer");
	T_CHECK(capture__process(cap, &c.tool) == 0, "process");
	T_CHECK(capture__stack(cap, 77) && capture__labelset(cap, 99), "the records");
	capture__close(cap);
	/* no record at all: all of the meta is the header */
	T_ASSERT(capture_writer__open(&w, path) == 0, "open writer");
	capture_writer__meta(w, "target.pid", "%d", 7);
	T_ASSERT(capture_writer__close(w) == 0, "close writer");
	T_ASSERT(capture__open(&cap, path) == 0, "open failed: header-only capture");
	T_CHECK(capture__meta(cap, "target.pid") && !strcmp(capture__meta(cap, "target.pid"), "7"),
		"header-only meta");
	T_CHECK(capture__complete(cap), "header-only trailer");
	capture__close(cap);
	unlink(path);
}

TEST(capture_truncated_keeps_complete_chunks)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture *cap;
	struct stat st;
	int fd = mkstemp(path), max_seen = -1;

	close(fd);
	T_ASSERT(write_sample(path, 5) == 0, "write failed");
	T_ASSERT(stat(path, &st) == 0, "stat");
	/* Cut at every 37th byte: open either fails cleanly or delivers a prefix. */
	for (off_t cut = 0; cut < st.st_size; cut += 37) {
		struct counter c = { .tool.event = count_event };

		T_ASSERT(write_sample(path, 5) == 0, "rewrite");
		T_ASSERT(truncate(path, cut) == 0, "truncate");
		if (capture__open(&cap, path))
			continue;
		capture__process(cap, &c.tool);
		T_CHECK(c.n[GT_EV_START] % 100 == 0, "partial chunk delivered at cut %ld", (long)cut);
		T_CHECK(!capture__complete(cap), "complete despite cut");
		if (c.n[GT_EV_START] > max_seen)
			max_seen = c.n[GT_EV_START];
		capture__close(cap);
	}
	T_CHECK(max_seen == 500, "last full chunk not read before trailer cut: %d", max_seen);
	unlink(path);
}

TEST(capture_corrupt_byte_detected)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture *cap;
	struct stat st;
	int fd = mkstemp(path), flips = 0, opened = 0;

	close(fd);
	T_ASSERT(write_sample(path, 2) == 0, "write failed");
	T_ASSERT(stat(path, &st) == 0, "stat");
	for (off_t at = 16; at < st.st_size; at += 11) {
		struct counter c = { .tool.event = count_event };
		FILE *f;
		int ch;

		T_ASSERT(write_sample(path, 2) == 0, "rewrite");
		f = fopen(path, "r+b");
		T_ASSERT(f, "reopen %s", path);
		flips++;
		fseek(f, at, SEEK_SET);
		ch = fgetc(f);
		fseek(f, at, SEEK_SET);
		fputc(ch ^ 0x5a, f);
		fclose(f);
		if (capture__open(&cap, path))
			continue;
		opened++;
		int rc = capture__process(cap, &c.tool);
		T_CHECK(rc == -EBADMSG, "flip at %ld not detected", (long)at);
		capture__close(cap);
	}
	unlink(path);
	/*
	 * Most flips land in event chunks, which open() does not read: if
	 * open() refused them all, capture__process's checksums went untested.
	 */
	T_CHECK(opened > flips / 2, "only %d of %d flipped captures opened", opened, flips);
}

TEST(u64map_insert_delete)
{
	struct u64map m = { 0 };

	for (uint64_t k = 1; k <= 5000; k++)
		T_ASSERT(u64map__put(&m, k * 7919, (void *)(uintptr_t)k) == 0, "put");
	for (uint64_t k = 1; k <= 5000; k += 2)
		T_ASSERT(u64map__del(&m, k * 7919) == (void *)(uintptr_t)k, "del %lu", k);
	for (uint64_t k = 1; k <= 5000; k++) {
		void *v = u64map__get(&m, k * 7919);

		T_ASSERT(k % 2 ? v == NULL : v == (void *)(uintptr_t)k, "get %lu", k);
	}
	T_CHECK(m.len == 2500, "len %zu", m.len);
	u64map__free(&m);
}

struct labels_seen {
	struct gt_tool tool;
	uint64_t stacks[2];
	int n;
};

static int note_labels(struct gt_tool *tool, struct gt_capture *cap, const struct gt_event_hdr *h)
{
	struct labels_seen *s = (struct labels_seen *)tool;

	if (h->type == GT_EV_LABELS && s->n < 2)
		s->stacks[s->n++] = capture__labels_stack((const struct gt_ev_labels *)h);
	return 0;
}

/*
 * Version 2 added the stack to LABELS records: a version 1 record (which
 * ends before it) still reads, with no stack, and the record after it is
 * not mistaken for one.
 */
TEST(capture_labels_v1_record_reads)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture_writer *w;
	struct gt_capture *cap;
	struct labels_seen s = { .tool.event = note_labels };
	struct gt_ev_labels v2 = { .h = { .type = GT_EV_LABELS, .size = sizeof(v2), .goid = 2 },
				   .labels = 0, .stack = 0x77 };
	uint8_t buf[64] = { 0 };
	struct gt_ev_labels *v1 = (struct gt_ev_labels *)buf;
	int fd = mkstemp(path);

	close(fd);
	v1->h = (struct gt_event_hdr){ .type = GT_EV_LABELS, .goid = 1,
				       .size = offsetof(struct gt_ev_labels, stack) };
	T_ASSERT(capture_writer__open(&w, path) == 0, "open writer");
	capture_writer__meta(w, "target.pid", "%d", 42);
	capture_writer__flush(w); /* header meta; what is added at close is the trailer */
	capture_writer__events(w, v1, v1->h.size);
	capture_writer__events(w, &v2, sizeof(v2));
	T_ASSERT(capture_writer__close(w) == 0, "close writer");
	T_ASSERT(capture__open(&cap, path) == 0, "open");
	T_CHECK(capture__process(cap, &s.tool) == 0, "process");
	T_CHECK(s.n == 2, "labels records %d", s.n);
	T_CHECK(s.stacks[0] == 0 && s.stacks[1] == 0x77, "stacks %#lx %#lx",
		(unsigned long)s.stacks[0], (unsigned long)s.stacks[1]);
	capture__close(cap);
	unlink(path);
}

/* Version 4 added CPU samples; a version-1 file (no type 17) must read as before. */
TEST(capture_reads_version1)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture *cap;
	struct counter c = { .tool.event = count_event };
	uint32_t v1 = 1;
	int fd = mkstemp(path);

	T_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	T_ASSERT(write_sample(path, 2) == 0, "write failed");
	fd = open(path, O_WRONLY);
	/* the file header's version field: after the 8-byte magic, outside every CRC */
	T_ASSERT(fd >= 0 && pwrite(fd, &v1, 4, 8) == 4, "patch version");
	close(fd);
	T_ASSERT(capture__open(&cap, path) == 0, "version-1 file refused");
	T_CHECK(capture__process(cap, &c.tool) == 0, "process");
	T_CHECK(c.n[GT_EV_START] == 200, "starts %d", c.n[GT_EV_START]);
	capture__close(cap);
	unlink(path);
}

TEST(capture_cpu_sample_roundtrip)
{
	char path[] = "/tmp/gt-cap-XXXXXX";
	struct gt_capture_writer *w;
	struct gt_capture *cap;
	struct counter c = { .tool.event = count_event };
	struct gt_ev_cpu_sample e = { .h = { .type = GT_EV_CPU_SAMPLE, .size = sizeof(e), .goid = 7 },
				      .stack = 77, .period_ns = 10101010, .tgid = 42,
				      .kind = GT_CPU_CGO };
	int fd = mkstemp(path);

	T_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	T_ASSERT(capture_writer__open(&w, path) == 0, "open writer");
	capture_writer__meta(w, "record.cpu_hz", "99");
	capture_writer__events(w, &e, sizeof(e));
	capture_writer__flush(w); /* meta still pending at close would be the trailer */
	T_ASSERT(capture_writer__close(w) == 0, "close writer");
	T_ASSERT(capture__open(&cap, path) == 0, "open");
	T_CHECK(capture__process(cap, &c.tool) == 0, "process");
	T_CHECK(c.n[GT_EV_CPU_SAMPLE] == 1 && c.last_goid == 7, "samples %d", c.n[GT_EV_CPU_SAMPLE]);
	T_CHECK(!strcmp(capture__event_name(GT_EV_CPU_SAMPLE), "cpu_sample"), "name");
	T_CHECK(!strcmp(capture__cpu_kind(GT_CPU_CGO), "cgo") &&
			!strcmp(capture__cpu_kind(GT_CPU_SYSTEM), "system") &&
			!strcmp(capture__cpu_kind(99), "unknown"),
		"kind names");
	capture__close(cap);
	unlink(path);
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Several captures on one wall-clock axis (gtrace merge).  Each capture is
 * placed by its own clock mapping (capture__wall_ns) and named by host,
 * zone and pid with its error bound.  Two captures' events closer than
 * their pair bound have no known order: on one host (same name, same
 * MONOTONIC->REALTIME offset within the brackets) both read one kernel
 * clock and the bound is the two half-brackets; otherwise it is the sum
 * of the two error bounds.  See docs/clock-and-az.md.
 */
#ifndef GTRACE_MERGE_H
#define GTRACE_MERGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "capture/capture.h"

#define MERGE_BOUND_UNKNOWN UINT64_MAX

struct tl_window;

struct merge_cap {
	struct gt_capture *cap;
	const char *path;
	unsigned idx;
	char name[320];	     /* "vm-a us-east-1a pid 4242 (±16 s)" */
	char desc[512];	     /* path, executable, clock */
	uint64_t pid;	     /* target pid, made unique among the captures */
	uint64_t real_pid;   /* target.pid as recorded */
	int64_t error_ns;    /* largest clock.*error_ns, -1 = no mapping */
	uint64_t bracket_ns; /* largest bracket */
	int64_t offset_ns;   /* REALTIME - MONOTONIC of its first mapping */
	const char *host;    /* host.name or NULL */
	int64_t first, last; /* wall span of its events; first > last = none */
	int64_t start;	     /* wall time recording began (0 unknown) */
};

/* Fills c from cap's metadata (header and trailer).  Never fails. */
void merge__describe(struct merge_cap *c, struct gt_capture *cap, unsigned idx, const char *path);
/* Gives captures that share a pid (other hosts) distinct ones: pid + idx * 2^22. */
void merge__unique_pids(struct merge_cap *c, int n);
/* The pair bound in ns, or MERGE_BOUND_UNKNOWN; *same_clock when one host's clock. */
uint64_t merge__pair_bound(const struct merge_cap *a, const struct merge_cap *b, bool *same_clock);
/*
 * The window of a and b: where an event of one can lie within the pair
 * bound of an event of the other.  1 and *w (name in buf) when there is
 * one, 0 when their spans are farther apart than the bound.
 */
int merge__window(const struct merge_cap *a, const struct merge_cap *b, struct tl_window *w,
		  char *buf, size_t len);
/* "16 s", "47 ns", "unknown": a bound rounded up for people. */
const char *merge__fmt_ns(uint64_t ns, char *buf, size_t len);

/*
 * Merged jsonl: a "merge" line, one "capture" line per capture, then the
 * events of all captures by wall time (k-way merge of the streams).  0 or
 * -errno (printed).
 */
int merge__jsonl(struct merge_cap *c, int n, FILE *out);

#endif

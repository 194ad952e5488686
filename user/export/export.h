/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exporters: each turns a capture into one output format, reading it only
 * through the capture reader (user/capture/capture.h) as a struct gt_tool.  None
 * touches BPF or the target, so they work on a capture copied anywhere.
 */
#ifndef GTRACE_EXPORT_H
#define GTRACE_EXPORT_H

#include <stdio.h>
#include "capture/capture.h"

enum gt_profile_kind {
	GT_PROFILE_OFFCPU,
	GT_PROFILE_SCHEDLAT,
	GT_PROFILE_GOROUTINE,
	GT_PROFILE_LIFETIME,
	GT_PROFILE_LABELS, /* unlabelled time by site: export_labels_pprof */
	GT_PROFILE_CPU,	 /* on-CPU samples (record --cpu) */
	GT_PROFILE_WALL, /* on-CPU + off-CPU + runnable, per stack, goroutine and labels */
};

struct gt_export_opts {
	enum gt_profile_kind profile; /* pprof only */
	int64_t at_ns;		      /* goroutine profile: mono time, 0 = end of capture */
	uint64_t min_duration_ns;     /* perfetto/chrome: drop shorter slices */
	const char *goroutines;	      /* perfetto/chrome: filter expression, NULL = all */
	/*
	 * pprof offcpu/schedlat of a sliced window (the agent): the profile
	 * covers [span_lo, span_hi) (CLOCK_MONOTONIC ns) and is scaled to it;
	 * its time says the agent's window; 0: all from the capture's events.
	 */
	uint64_t span_lo, span_hi;
	int64_t time_ns, dur_ns;      /* wall-clock start and length (0: the span's) */
};

/* Each returns 0, or -errno after printing what went wrong. */
int export_jsonl(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
int export_text(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
int export_pprof(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
int export_perfetto(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
int export_chrome(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
/* Go execution trace (go tool trace, golang.org/x/exp/trace): docs/formats/gotrace.md */
int export_gotrace(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
/* `report --labels` (labels_out.c): where labels get lost, as text, jsonl or a pprof profile. */
int export_labels_text(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
int export_labels_jsonl(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
int export_labels_pprof(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);

#endif

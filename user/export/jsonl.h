/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The jsonl line writers of export_jsonl.c (docs/formats/jsonl.md), shared
 * with the merged jsonl of merge.c so one capture and many read the same.
 */
#ifndef GTRACE_JSONL_H
#define GTRACE_JSONL_H

#include <stdio.h>
#include "capture/capture.h"

/* The "capture" line; prefix (JSON members and a comma) goes first. */
void jsonl__capture_line(struct gt_capture *cap, const char *prefix, FILE *out);
/* One event line, prefix first.  0, or -errno. */
int jsonl__event(struct gt_capture *cap, const struct gt_event_hdr *h, const char *prefix,
		 FILE *out);

#endif

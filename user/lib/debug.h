/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One logging path for all of gtrace, as perf's debug.h: errors always,
 * warnings unless -q, debug only with -v.  Library code returns 0 or -errno
 * and says why here; commands decide the exit code.
 */
#ifndef GTRACE_DEBUG_H
#define GTRACE_DEBUG_H

#include <stdio.h>

extern int gt_verbose; /* -v count */
extern int gt_quiet;   /* -q */

#define pr_err(fmt, ...) fprintf(stderr, "gtrace: " fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)                                                    \
	do {                                                                 \
		if (!gt_quiet)                                               \
			fprintf(stderr, "gtrace: warning: " fmt, ##__VA_ARGS__); \
	} while (0)
#define pr_info(fmt, ...)                                                    \
	do {                                                                 \
		if (!gt_quiet)                                               \
			fprintf(stderr, fmt, ##__VA_ARGS__);                 \
	} while (0)
#define pr_debug(fmt, ...)                                                   \
	do {                                                                 \
		if (gt_verbose)                                              \
			fprintf(stderr, "gtrace: debug: " fmt, ##__VA_ARGS__); \
	} while (0)

#endif

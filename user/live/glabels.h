/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoding a goroutine's pprof label set (g.labels) from the target's
 * memory: a map[string]string up to Go 1.23, a sorted slice of
 * {key, value} from 1.24 (go_offsets: labels_slice).
 */
#ifndef GTRACE_GLABELS_H
#define GTRACE_GLABELS_H

#include <stdint.h>
#include <sys/types.h>
#include "binary/target.h"
#include "live/goroutine.h"

/* One decoded label set; immutable in the target once published. */
struct glabels_set {
	int n;		     /* sorted by key */
	uint32_t flags;	     /* GT_G_LABELS_TRUNCATED when cut or unreadable */
	struct gt_label *labels;
};

/*
 * Reads the label set at runtime address p (the value of g.labels) into
 * *out.  An unreadable set is returned empty with GT_G_LABELS_TRUNCATED.
 * 0 or -ENOMEM.
 */
int glabels__read(pid_t pid, const struct gt_target *t, uint64_t p, struct glabels_set *out);

/* Frees the strings and the array of a set (not the set itself). */
void glabels__clear(struct glabels_set *s);
/* Own copies of n labels into *to.  0 or -ENOMEM (what was copied stays, to free). */
int glabels__copy(const struct gt_label *from, int n, struct gt_label **to, int *nto);

#endif

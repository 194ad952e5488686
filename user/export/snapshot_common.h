/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the three snapshot renderers share (internal to user/export):
 * ordering and grouping goroutines, their wait time, and a line built in
 * memory and written with one fwrite (100,000 goroutines, a few fields
 * each: stdio per field costs more than the read).
 */
#ifndef GTRACE_SNAPSHOT_COMMON_H
#define GTRACE_SNAPSHOT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binary/target.h"
#include "export/symcache.h"
#include "live/goroutine.h"

/* Frames shown: the root runtime.goexit is bookkeeping, Go's dumps hide it too. */
int snapexp__shown_frames(struct symcache *sc, const struct gt_goroutine *g);
/* "1.5s", "3m07s", "2h05m". */
void snapexp__fmt_dur(char *buf, size_t len, uint64_t ns);
/* Wait time from the runtime's waitsince: set lazily by the GC, so a lower bound. */
bool snapexp__wait_ns(const struct gt_snapshot *s, const struct gt_goroutine *g, uint64_t *ns);

/* Orders by stack (shared pointers compare equal at once), by label set. */
int snapexp__cmp_stack(const struct gt_goroutine *a, const struct gt_goroutine *b);
int snapexp__cmp_labels(const struct gt_goroutine *a, const struct gt_goroutine *b);

struct snapexp_group {
	size_t first, n;
};

/* Runs of s->g (already sorted) that same() joins, largest first.  NULL on ENOMEM. */
struct snapexp_group *snapexp__groups(const struct gt_target *t, struct gt_snapshot *s, size_t *ng,
				      int (*same)(const struct gt_goroutine *,
						  const struct gt_goroutine *,
						  const struct gt_target *));

struct snapexp_line {
	char *b;
	size_t len, cap;
	bool oom;
};

void snapexp__put(struct snapexp_line *l, const char *s, size_t n);
void snapexp__puts(struct snapexp_line *l, const char *s);
void snapexp__putu(struct snapexp_line *l, uint64_t v);

#endif

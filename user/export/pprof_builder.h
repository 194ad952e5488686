/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small builder for gzipped pprof profiles (user/proto/profile.proto):
 * owns the string table and de-duplicates functions (by name and file) and
 * locations (by address, or by name for pseudo frames), so a producer only
 * adds samples of location ids, values and labels, then writes once.
 * Frames come already symbolized (struct gt_frame, innermost first), as
 * pclntab or the capture reader give them.  Used by `gtrace snapshot -f
 * pprof` and `gtrace report -f pprof`.
 */
#ifndef GTRACE_PPROF_BUILDER_H
#define GTRACE_PPROF_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include "binary/pclntab.h"

struct pprof_builder;

/*
 * A sample label: a string value, or, when unit is set, the number num in
 * that unit (pprof keeps a numeric label with a unit even when num is 0).
 */
struct pprof_label {
	const char *key, *value;
	int64_t num;
	const char *unit;
};

/* An empty profile. NULL on ENOMEM. */
struct pprof_builder *pprof_builder__new(void);
void pprof_builder__free(struct pprof_builder *b);

/* Index of s in the string table (added if new); 0 ("") on ENOMEM. */
int64_t pprof_builder__str(struct pprof_builder *b, const char *s);

/* Appends a sample type (e.g. "goroutine", "count"); samples carry one value per type. */
int pprof_builder__sample_type(struct pprof_builder *b, const char *type, const char *unit);
/* The sample type pprof shows first when there are several. */
void pprof_builder__default_type(struct pprof_builder *b, const char *type);
void pprof_builder__period(struct pprof_builder *b, const char *type, const char *unit,
			   int64_t period);
void pprof_builder__time(struct pprof_builder *b, int64_t time_nanos, int64_t duration_nanos);
/*
 * The one mapping every real location belongs to: the target executable.
 * Call it before adding locations.  limit 0: the mapping spans exactly the
 * locations' addresses, known only when writing.
 */
void pprof_builder__mapping(struct pprof_builder *b, uint64_t start, uint64_t limit,
			    const char *file, const char *build_id);
void pprof_builder__comment(struct pprof_builder *b, const char *text);

/* Location id already given to addr, or 0: lets a producer symbolize only new addresses. */
uint64_t pprof_builder__find(struct pprof_builder *b, uint64_t addr);
/*
 * Location id for addr with frames f[0..n) (innermost first, one Line each;
 * n <= 0: an unknown "?" frame); the same addr gives the same id without
 * looking at f again.  0 on ENOMEM.
 */
uint64_t pprof_builder__location(struct pprof_builder *b, uint64_t addr,
				 const struct gt_frame *f, int n);
/* Location id of a synthetic frame such as "[running]" (no address, no mapping). */
uint64_t pprof_builder__pseudo(struct pprof_builder *b, const char *name);

/* Adds a sample: locations leaf first, one value per sample type, labels. 0 or -ENOMEM. */
int pprof_builder__sample(struct pprof_builder *b, const uint64_t *locs, int nlocs,
			  const int64_t *values, const struct pprof_label *labels, int nlabels);

/* Serializes, gzips and writes the profile. 0 or -errno (printed). */
int pprof_builder__write(struct pprof_builder *b, FILE *out);

#endif

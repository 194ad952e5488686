/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The CPU samples of one live process (live/cpu_sampler.h on its own ring
 * buffer) aggregated into profile rows: (user stack, label set, goid, what
 * the thread ran) -> samples and CPU nanoseconds.  Used by `gtrace profile
 * --cpu` (the profile's cpu sample type) and the agent's cpu profile.  The
 * definitions (STACK, LABELSET records) are kept across resets: the BPF side
 * sends each id once per process.
 *
 *	struct cpu_profile *p = cpu_profile__new();
 *	cpu_profile__record(p, data, len);       // every record of this tgid
 *	cpu_profile__pprof_rows(p, b, sc, ...);  // into a pprof being built
 *	cpu_profile__reset(p);                   // next window
 */
#ifndef GTRACE_CPU_PROFILE_H
#define GTRACE_CPU_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include "export/pprof_builder.h"
#include "export/symcache.h"

struct cpu_profile;

struct cpu_profile *cpu_profile__new(void);
void cpu_profile__free(struct cpu_profile *p);
/* One record of the sampler (STACK, LABELSET or CPU_SAMPLE; others ignored).  0 or -ENOMEM. */
int cpu_profile__record(struct cpu_profile *p, const void *data, size_t len);
/*
 * Label sets are content-hashed and the BPF side sends each once for all
 * targets, so a consumer of several processes keeps them in one profile
 * (from) that receives every LABELSET record; p then resolves the label
 * sets it lacks there.  from must outlive p.
 */
void cpu_profile__share_labelsets(struct cpu_profile *p, const struct cpu_profile *from);
/* Forgets the aggregated samples, keeps the definitions. */
void cpu_profile__reset(struct cpu_profile *p);
/* Samples and CPU ns aggregated since new or the last reset. */
uint64_t cpu_profile__samples(const struct cpu_profile *p);
uint64_t cpu_profile__cpu_ns(const struct cpu_profile *p);

/*
 * Adds one pprof sample per row to b: ncols values, 0 except col (CPU ns)
 * and, when count_col >= 0, count_col (samples).  Labels: code, goid, the
 * goroutine's pprof labels, az and host (when set).  0 or -ENOMEM.
 */
int cpu_profile__pprof_rows(const struct cpu_profile *p, struct pprof_builder *b,
			    struct symcache *sc, int ncols, int col, int count_col,
			    const char *az, const char *host);

#endif

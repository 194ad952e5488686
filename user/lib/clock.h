/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Clock alignment: BPF stamps events with bpf_ktime_get_ns (CLOCK_MONOTONIC)
 * and people want wall time.  A mapping is one (MONOTONIC, REALTIME,
 * BOOTTIME) triple read as close together as this host allows, with an
 * honest bound on how wrong the wall time can be: half the tightest
 * bracket plus the kernel's own maxerror.  NTP slewing does not move the
 * MONOTONIC->REALTIME offset (both come from the same slewed clock); only
 * steps do, so a tracker watches for steps (timerfd CANCEL_ON_SET) and
 * takes a new mapping when one happens.  Readings can be injected
 * (struct gt_clock_src) so tests can fake a step.
 */
#ifndef GTRACE_CLOCK_H
#define GTRACE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct timex;

/* Bracketed reads per sample; the tightest bracket wins (linuxptp sysoff). */
#define GT_CLOCK_SAMPLES 50

struct gt_clock_map {
	uint64_t mono_ns;    /* CLOCK_MONOTONIC at the sample: bracket midpoint */
	int64_t real_ns;     /* CLOCK_REALTIME at that instant */
	uint64_t boot_ns;    /* CLOCK_BOOTTIME at that instant (Perfetto snapshots) */
	uint64_t bracket_ns; /* width of the tightest MONO,REAL,MONO bracket */
	uint64_t error_ns;   /* bound on |wall time - UTC|: bracket/2 + maxerror */
	bool synchronized;   /* kernel says an NTP daemon disciplines the clock */
	int64_t maxerror_us; /* adjtimex maxerror, -1 when unknown */
	int64_t esterror_us; /* adjtimex esterror, -1 when unknown */
	char source[32];     /* where sync status came from: "adjtimex", "none" */
};

/*
 * Where readings come from.  Both members NULL (or a NULL src) mean the
 * real clock_gettime()/adjtimex().  gettime returns 0 or -errno; adjtimex
 * returns the clock state (TIME_OK.. TIME_ERROR) or -errno, like the call.
 */
struct gt_clock_src {
	int (*gettime)(void *ctx, clockid_t clk, struct timespec *ts);
	int (*adjtimex)(void *ctx, struct timex *tx);
	void *ctx;
};

/* CLOCK_MONOTONIC now, ns: the clock of every record's ts (bpf_ktime_get_ns). */
uint64_t clock__mono_ns(void);
/* CPU time of the calling thread, ns: what one of our own loops costs. */
uint64_t clock__thread_cpu_ns(void);

/* Takes a mapping from the system clocks.  0 or -errno. */
int clock__sample(struct gt_clock_map *out);
/* Same with injected readings and nr bracketed reads (0 = GT_CLOCK_SAMPLES). */
int clock__sample_src(const struct gt_clock_src *src, int nr, struct gt_clock_map *out);

/* CLOCK_MONOTONIC ns -> CLOCK_REALTIME / CLOCK_BOOTTIME ns through map. */
int64_t clock__mono_to_real(const struct gt_clock_map *map, uint64_t mono_ns);
uint64_t clock__mono_to_boot(const struct gt_clock_map *map, uint64_t mono_ns);

/*
 * A CLOCK_REALTIME timerfd armed with TFD_TIMER_CANCEL_ON_SET: it becomes
 * readable when someone sets the wall clock.  Returns the fd or -errno.
 */
int clock__step_fd(void);
/* 1 when the clock was set since the last call (and re-arms), 0 if not, -errno. */
int clock__step_check(int fd);

/*
 * Piecewise mapping for a long recording: keeps the current mapping and
 * makes a new one when the wall clock steps.  Call clock__tracker_poll
 * when the step fd is readable and every few seconds anyway.
 */
struct gt_clock_tracker {
	struct gt_clock_src src;
	int step_fd;		/* -1 when timerfd is unavailable */
	struct gt_clock_map cur;
	unsigned nr_maps;	/* mappings made, 1 after init */
};

/* Takes the first mapping.  src NULL = system clocks.  0 or -errno. */
int clock__tracker_init(struct gt_clock_tracker *t, const struct gt_clock_src *src);
/*
 * Re-samples.  Returns 1 and fills *out (if non-NULL) when a new mapping
 * was made: the step fd fired, the offset moved beyond both brackets, or
 * the sync state changed; 0 when the current mapping still holds; -errno.
 */
int clock__tracker_poll(struct gt_clock_tracker *t, struct gt_clock_map *out);
void clock__tracker_close(struct gt_clock_tracker *t);

/*
 * One line for people: "wall time ±12 µs (synchronized)" or "clock not
 * synchronized: wall times are this host's opinion".  Returns buf.
 */
const char *clock__describe(const struct gt_clock_map *map, char *buf, size_t len);

/* Receives one metadata line; non-zero stops and is returned. */
typedef int (*gt_meta_emit_fn)(void *arg, const char *key, const char *value);
/* Returns the value for key, or NULL.  capture__meta has this shape. */
typedef const char *(*gt_meta_lookup_fn)(const void *arg, const char *key);

/*
 * Emits <prefix>.mono_ns, .real_ns, .boot_ns, .error_ns, .bracket_ns,
 * .sync (0/1), .maxerror_us, .esterror_us, .source.  prefix NULL = "clock"
 * (a tracker's later mappings can use "clock.1", "clock.2", ...).
 */
int clock__write_meta(const struct gt_clock_map *map, const char *prefix, gt_meta_emit_fn emit,
		      void *arg);
/* Reads what clock__write_meta wrote.  0, -ENOENT (no mapping), -EINVAL (bad value). */
int clock__from_meta(struct gt_clock_map *out, const char *prefix, gt_meta_lookup_fn lookup,
		     const void *arg);

#endif

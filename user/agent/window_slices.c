// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exact profiles from capture slices (see window_slices.h).  One tracer
 * and one slicer per process for its whole life; one capture file per
 * window, written as `record` writes one (symbols for every PC, loss and
 * gap records) and read back once the window ends:
 *
 *  - each capture begins with a snapshot of the goroutines (read from
 *    outside, no probe), so a goroutine parked for the whole window is in
 *    it, as the sampler sees it;
 *  - the BPF side sends a stack or label set definition once per run, but
 *    every window is its own capture: definitions are kept here and
 *    written again into a window that uses them;
 *  - the window's time with the probes off is GAP records clipped to the
 *    window, so export_pprof counts a wait only for the time the probes
 *    watched it and scales by the window's duty cycle.
 *
 * Never harming the target: the tracer is the one `record` uses (uprobes
 * by file offset, this pid only, never a uretprobe); a process that exits
 * or execs takes its breakpoints with its address space, and the links are
 * closed at once after (wslice__close); a SIGKILLed agent's links close
 * with its fds.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "lib/u64map.h"
#include "capture/capture.h"
#include "capture/event_specs.h"
#include "live/capture_session.h"
#include "live/slicer.h"
#include "live/snapshot_records.h"
#include "live/tracer.h"
#include "export/export.h"
#include "agent/window_slices.h"

/*
 * While the probes are on, the ring buffer is drained when the programs ask
 * (an eighth full: wslice__fd polls readable) and at least this often, for
 * the records below that mark.  A 10 ms timer alone was two thirds of an
 * idle agent's CPU: 20 quiet processes, each woken 100 times a second for
 * a buffer that held nothing.
 */
#define DRAIN_NS 250000000ull
#define DRAIN_BUSY_NS 10000000ull /* the last drain stopped at DRAIN_MAX: soon again */
/*
 * 512 KB: a ring buffer is resident whole, twice (the kernel maps its data
 * pages twice), so 4 MB would cost 8 MB of RSS per process; drained every
 * 10 ms it holds ~1M records a second, more than a slice at the budget
 * lets a target make.
 */
#define BUFFER_BYTES (512 << 10)
#define MAX_DEFS 65536	     /* definitions kept for later windows */
/*
 * Records taken per drain: a busy target fills the ring buffer as fast as
 * one thread empties it, and a drain that ran until empty would keep the
 * probes on past their slice (the detach waits for the loop).
 */
#define DRAIN_MAX 20000

struct wslice {
	struct gt_target *t;
	struct wslice_opts o;
	struct gt_tracer *tr;
	struct gt_slicer *sl;
	struct gt_capture_writer *w;
	char path[4200];
	unsigned seq;
	struct u64map syms;		   /* PCs symbolized in this window's capture */
	struct u64map stacks, labelsets;   /* id -> a copy of the definition, for later windows */
	struct u64map def_st, def_ls;	   /* ids defined in this window's capture */
	struct capture_loss loss;
	uint64_t lo;			   /* CLOCK_MONOTONIC start of the window's capture */
	uint64_t off_since;		   /* probes off since (0: on) */
	uint64_t gap_ns;		   /* written in this window */
	uint64_t written[GT_EV_MAX], nrec;
	uint64_t next_drain;
	/* counters at the window's start */
	uint64_t produced0, lost0, slices0, hits0;
	int64_t cpu0;
	uint64_t cost_ns;
	double cut_rate;		   /* the last cut's CPU per ns of its window */
	uint64_t last_tick;		   /* CLOCK_MONOTONIC of the last wslice__tick */
	int err;
	int drain_left;			   /* records this drain may still take */
	bool dead;			   /* probes could not go back on: no more slices */
	bool first;			   /* the first window: it may begin before the probes */
	bool started;			   /* the first slice began (in the loop, not at open) */
};

/* ---- writing one window's capture ---- */

static int write_rec(struct wslice *w, const struct gt_event_hdr *h)
{
	if (!w->w || w->err)
		return w->err;
	capture_session__symbols(w->w, w->t, &w->syms, h);
	w->written[h->type]++;
	w->nrec++;
	/* Pad to 8 so records stay aligned in the chunk. */
	w->err = capture_writer__events(w->w, h, (h->size + 7) & ~7u);
	return w->err;
}

/* A definition this window's capture has not had yet: write the kept copy first. */
static void define(struct wslice *w, uint64_t id, bool stack)
{
	struct u64map *kept = stack ? &w->stacks : &w->labelsets;
	struct u64map *done = stack ? &w->def_st : &w->def_ls;
	const struct gt_event_hdr *d;

	if (!id || u64map__get(done, id) || !(d = u64map__get(kept, id)))
		return;
	u64map__put(done, id, (void *)1);
	write_rec(w, d);
}

static void keep(struct wslice *w, const struct gt_event_hdr *h, uint64_t id, bool stack)
{
	struct u64map *kept = stack ? &w->stacks : &w->labelsets;
	void *copy;

	u64map__put(stack ? &w->def_st : &w->def_ls, id, (void *)1);
	if (u64map__get(kept, id) || kept->len >= MAX_DEFS || !(copy = malloc(h->size)))
		return;
	memcpy(copy, h, h->size);
	if (u64map__put(kept, id, copy))
		free(copy);
}

static int on_record(void *ctx, const void *rec, size_t len)
{
	struct wslice *w = ctx;
	const struct gt_event_hdr *h = rec;

	if (len < sizeof(*h) || h->size > len || !event_spec(h->type) ||
	    h->size < event_spec(h->type)->min_size)
		return 0;
	switch (h->type) {
	case GT_EV_STACK:
		keep(w, h, ((const struct gt_ev_stack *)rec)->id, true);
		break;
	case GT_EV_LABELSET:
		keep(w, h, ((const struct gt_ev_labelset *)rec)->id, false);
		break;
	case GT_EV_PARK:
		define(w, ((const struct gt_ev_park *)rec)->stack, true);
		break;
	case GT_EV_CREATE:
		define(w, ((const struct gt_ev_create *)rec)->labels, false);
		break;
	case GT_EV_LABELS:
		define(w, ((const struct gt_ev_labels *)rec)->labels, false);
		if (h->size >= sizeof(struct gt_ev_labels))
			define(w, ((const struct gt_ev_labels *)rec)->stack, true);
		break;
	case GT_EV_SNAPSHOT:
		define(w, ((const struct gt_ev_snapshot *)rec)->labels, false);
		define(w, ((const struct gt_ev_snapshot *)rec)->stack, true);
		break;
	default:
		break;
	}
	return write_rec(w, h);
}

/* From the ring buffer: written, then the drain stops when it took its share. */
static int from_probes(void *ctx, const void *rec, size_t len)
{
	struct wslice *w = ctx;
	int err = on_record(w, rec, len);

	if (err)
		return err;
	return --w->drain_left > 0 ? 0 : -EAGAIN;
}

/* Takes what the ring buffer holds, up to DRAIN_MAX records.  0 or -errno. */
static int drain(struct wslice *w)
{
	int n;

	w->drain_left = DRAIN_MAX;
	n = tracer__poll(w->tr, 0);
	return n == -EAGAIN || n >= 0 ? 0 : n;
}

static void gap(struct wslice *w, uint64_t start, uint64_t end)
{
	struct gt_ev_gap g = { .h = { .type = GT_EV_GAP, .size = sizeof(g) } };

	if (start < w->lo)
		start = w->lo;
	if (end <= start)
		return;
	g.h.ts = start;
	g.end = end;
	w->gap_ns += end - start;
	on_record(w, &g, sizeof(g));
}

static void note_loss(struct wslice *w)
{
	struct gt_ev_loss e;

	if (capture_session__loss(w->tr, &w->loss, &e))
		on_record(w, &e, sizeof(e));
}

/* A new capture for the window starting at lo (mono): header, then the goroutines now. */
static int begin(struct wslice *w, uint64_t lo)
{
	int n, err;

	snprintf(w->path, sizeof(w->path), "%s/%d-%u.gtr", w->o.tmpdir, w->t->pid, w->seq++);
	unlink(w->path);
	err = capture_writer__open(&w->w, w->path);
	if (err) {
		w->w = NULL;
		return err;
	}
	w->lo = lo;
	w->gap_ns = 0;
	w->err = 0;
	w->nrec = 0;
	memset(w->written, 0, sizeof(w->written));
	u64map__free(&w->syms);
	u64map__free(&w->def_st);
	u64map__free(&w->def_ls);
	capture_session__write_header(w->w, w->t, ~0u, true, w->o.buffer, NULL, NULL);
	capture_writer__meta(w->w, "record.budget_pct", "%g", w->o.budget * 100);
	n = snaprec__emit(w->t, on_record, w);
	if (n == -ESRCH)
		return -ESRCH;
	w->produced0 = tracer__produced_total(w->tr);
	w->lost0 = w->loss.seen;
	w->cpu0 = slicer__process_cpu_ns(w->t->pid);
	return w->err;
}

/* ---- the source ---- */

static uint32_t all_events(void)
{
	uint32_t mask = GT_DEFINITION_EVENTS;

	for (unsigned t = 0; t < GT_EV_MAX; t++)
		if (gt_event_specs[t].cli_class)
			mask |= 1u << t;
	return mask;
}

int wslice__open(struct wslice **out, struct gt_target *t, const struct wslice_opts *o)
{
	struct gt_tracer_opts to = { .events_mask = all_events(), .stacks = true,
				     .buffer_bytes = o->buffer ? o->buffer : BUFFER_BYTES,
				     /* one loop serves every process: no detach may stall it */
				     .async_detach = true };
	struct gt_slicer_opts so = { .budget_pct = o->budget * 100, .trap_ns = o->trap_ns,
				     .min_duty = o->min_duty, .max_skip = o->max_skip,
				     .idle_skip = o->idle_skip };
	struct wslice *w = calloc(1, sizeof(*w));
	uint64_t c0 = clock__thread_cpu_ns(), now;
	int err;

	if (!w)
		return -ENOMEM;
	w->t = t;
	w->o = *o;
	w->o.buffer = to.buffer_bytes;
	err = tracer__open(&w->tr, t, &to, from_probes, w);
	if (!err)
		tracer__prompt(w->tr, true);
	/*
	 * Off until the agent's loop takes the source over (wslice__tick): this
	 * may run on a loading thread the loop does not wait for, and a slice
	 * begun here would last until the loop next woke.
	 */
	if (!err)
		tracer__detach(w->tr);
	if (!err)
		err = slicer__open(&w->sl, w->tr, t->pid, &so);
	now = clock__mono_ns();
	w->loss.last_poll_ns = now;
	if (!err)
		err = begin(w, now);
	w->first = true;
	w->off_since = now;
	if (err) {
		wslice__close(w);
		return err;
	}
	w->slices0 = 0;
	w->cost_ns = clock__thread_cpu_ns() - c0;
	*out = w;
	return 0;
}

uint64_t wslice__tick(struct wslice *w, uint64_t now, int *err)
{
	uint64_t c0 = clock__thread_cpu_ns(), next;
	struct gt_ev_gap g;
	bool was_on;
	int rc;

	*err = 0;
	if (w->dead)
		return now + 1000000000ull;
	if (!w->started) {
		/* the first slice; the time since the capture began is its lead-in gap */
		w->started = true;
		if ((*err = slicer__attach(w->sl, now))) {
			w->dead = true;
			return now + 1000000000ull;
		}
		gap(w, w->off_since, clock__mono_ns());
		w->off_since = 0;
	}
	was_on = slicer__on(w->sl);
	/* switch first: a slice due to end must not wait for the drain */
	rc = slicer__tick(w->sl, now, &g);
	if (rc == 1) {
		/* a slice began: the gap it ends, clipped to this window */
		gap(w, w->off_since ? w->off_since : g.h.ts, g.end);
		w->off_since = 0;
		/* and the goroutines now: what the gap changed (gstate.c on_snapshot) */
		if (w->w && snaprec__emit(w->t, on_record, w) == -ESRCH)
			*err = -ESRCH;
	} else if (rc < 0) {
		/* the probes would not go back on (the process is going away?): stop slicing */
		*err = kill(w->t->pid, 0) && errno == ESRCH ? -ESRCH : rc;
		w->dead = true;
		if (!w->off_since)
			w->off_since = clock__mono_ns();
	}
	if (was_on && !slicer__on(w->sl))
		w->off_since = clock__mono_ns(); /* after the detach: nothing of the slice is newer */
	if (drain(w) || w->err)
		*err = w->err ? w->err : -EIO;
	note_loss(w);
	if (w->w && capture_writer__flush(w->w) && !*err)
		*err = -EIO;
	next = slicer__next_switch(w->sl);
	/* while on, or while the buffer still holds records of the last slice */
	if (w->drain_left <= 0 && next > now + DRAIN_BUSY_NS)
		next = now + DRAIN_BUSY_NS;
	else if (slicer__on(w->sl) && next > now + DRAIN_NS)
		next = now + DRAIN_NS;
	c0 = clock__thread_cpu_ns() - c0;
	w->cost_ns += c0;
	if (w->last_tick && now > w->last_tick)
		c0 += (uint64_t)(w->cut_rate * (double)(now - w->last_tick));
	w->last_tick = now;
	slicer__charge(w->sl, c0, true);
	return next > now ? next : now + 1000000;
}

/*
 * CLOCK_REALTIME - CLOCK_MONOTONIC now: the tightest of three bracketed
 * reads, as a preemption between two reads on a loaded host is worth ms.
 */
static int64_t real_minus_mono(void)
{
	int64_t best = 0, width = INT64_MAX;

	for (int i = 0; i < 3; i++) {
		struct timespec r;
		uint64_t a = clock__mono_ns(), b;

		clock_gettime(CLOCK_REALTIME, &r);
		b = clock__mono_ns();
		if ((int64_t)(b - a) < width) {
			width = b - a;
			best = r.tv_sec * 1000000000ll + r.tv_nsec - (int64_t)(a + (b - a) / 2);
		}
	}
	return best;
}

/* Reads the finished capture back into one profile.  0 or -errno. */
static int profile(struct wslice *w, enum gt_profile_kind kind, const char *name,
		   const struct gt_export_opts *base, int64_t start_ns, int64_t end_ns,
		   double duty, struct agent_profile *p)
{
	struct gt_export_opts eo = *base;
	struct gt_capture *cap;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int err;

	eo.profile = kind;
	err = capture__open(&cap, w->path);
	if (err)
		return err;
	m = open_memstream(&buf, &len);
	if (!m) {
		capture__close(cap);
		return -ENOMEM;
	}
	err = export_pprof(cap, &eo, m);
	if (fclose(m) && !err)
		err = -EIO;
	capture__close(cap);
	if (err) {
		free(buf);
		return err;
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->type, sizeof(p->type), "%s", name);
	p->pprof = (uint8_t *)buf;
	p->len = len;
	p->start_ns = start_ns;
	p->end_ns = end_ns;
	p->duty = duty;
	p->samples = w->nrec;
	return 0;
}

int wslice__cut(struct wslice *w, int64_t start_ns, int64_t end_ns, int final,
		struct agent_window *out, struct wslice_stats *st)
{
	uint64_t c0 = clock__thread_cpu_ns(), now = clock__mono_ns();
	struct gt_export_opts eo = { 0 };
	int64_t off;
	struct gt_slicer_stats ss;
	struct agent_profile *np;
	uint64_t lo, hi, span, produced, hits;
	int64_t cpu;
	double duty;
	int err = 0;

	/* the window in CLOCK_MONOTONIC, from the UTC bounds the sampled profiles carry */
	off = real_minus_mono();
	lo = (uint64_t)(start_ns - off);
	hi = (uint64_t)(end_ns - off);
	if (hi <= lo)
		hi = lo + 1;
	if (!w->first || w->lo <= lo || w->lo >= hi) {
		/*
		 * The capture began with the window (the last one's end): that is
		 * the span's start.  Not recomputed from UTC: the two clocks drift
		 * apart (by 5 ms a second on this VM), which would open a gap or
		 * an overlap between windows.
		 */
		lo = w->lo < hi ? w->lo : lo;
	} else {
		/*
		 * The probes came later than the window's start (they load on a
		 * thread): that part is a gap, before the capture's first record.
		 */
		struct gt_ev_gap g = { .h = { .type = GT_EV_GAP, .size = sizeof(g), .ts = lo },
				       .end = w->lo };

		w->gap_ns += w->lo - lo;
		on_record(w, &g, sizeof(g));
	}
	if (final && !w->dead) {
		struct gt_ev_gap g;

		/* quiet first: the process is gone or going, nothing more to see */
		if (slicer__finish(w->sl, now, &g) == 1)
			gap(w, w->off_since ? w->off_since : g.h.ts, hi);
		/* else on to the end: the window ends at the exit, the detach after it is no gap */
		w->off_since = 0;
		w->dead = true;
	}
	drain(w);
	note_loss(w);
	if (w->off_since)
		gap(w, w->off_since, hi);
	span = hi - lo;
	w->first = false;
	duty = w->gap_ns >= span ? 0 : 1 - (double)w->gap_ns / span;
	slicer__stats(w->sl, &ss);
	produced = tracer__produced_total(w->tr);
	hits = ss.hits;
	cpu = slicer__process_cpu_ns(w->t->pid);
	memset(st, 0, sizeof(*st));
	st->slices = ss.slices - w->slices0;
	st->events = produced - w->produced0;
	st->lost = w->loss.seen - w->lost0;
	st->duty = duty;
	st->added_ns = (hits - w->hits0) * ss.cost_per_hit_ns;
	st->target_ns = cpu >= 0 && w->cpu0 >= 0 && cpu > w->cpu0 ? cpu - w->cpu0 : 0;
	st->spent = st->target_ns ? st->added_ns / st->target_ns : 0;
	w->slices0 = ss.slices;
	w->hits0 = hits;
	if (w->w) {
		capture_writer__meta(w->w, "record.slice.duty", "%.6f", duty);
		capture_writer__meta(w->w, "loss.total", "%" PRIu64, st->lost);
		capture_writer__meta(w->w, "record.events", "%" PRIu64, w->nrec);
		capture_writer__meta(w->w, "record.stop", "%s", final ? "target exited" : "window");
		err = capture_writer__close(w->w);
		w->w = NULL;
		if (!err)
			err = w->err;
	} else {
		err = -EIO;
	}
	/* a window with no slice in it (found just before its end) says nothing */
	eo.span_lo = lo;
	eo.span_hi = hi;
	eo.time_ns = start_ns;
	eo.dur_ns = end_ns - start_ns; /* to the ns, as the sampled profiles of the window */
	np = !err && duty > 0 ? realloc(out->p, (out->n + 2) * sizeof(*out->p)) : NULL;
	if (np) {
		out->p = np;
		if (!profile(w, GT_PROFILE_OFFCPU, "offcpu_exact", &eo, start_ns, end_ns, duty,
			     &out->p[out->n]))
			out->n++;
		if (!profile(w, GT_PROFILE_SCHEDLAT, "schedlat", &eo, start_ns, end_ns, duty,
			     &out->p[out->n]))
			out->n++;
	} else if (!err && duty > 0) {
		err = -ENOMEM;
	}
	unlink(w->path);
	/* the next window's capture, beginning where this one ends */
	if (!final) {
		int berr = begin(w, hi);

		if (berr && !err)
			err = berr;
		if (w->off_since && w->off_since < hi)
			w->off_since = hi;
	}
	c0 = clock__thread_cpu_ns() - c0;
	w->cost_ns += c0;
	/* charged over the next window, a tick at a time: one period must not pay it all */
	w->cut_rate = end_ns > start_ns ? (double)c0 / (double)(end_ns - start_ns) : 0;
	st->cost_ns = w->cost_ns;
	w->cost_ns = 0;
	return err;
}

double wslice__on_cost(const struct wslice *w)
{
	return w->dead ? 0 : slicer__on_cost(w->sl);
}

double wslice__duty(const struct wslice *w)
{
	return w->dead ? 0 : slicer__duty(w->sl);
}

void wslice__set_max_duty(struct wslice *w, double max_duty)
{
	slicer__set_max_duty(w->sl, max_duty);
}

void wslice__charge_fixed(struct wslice *w, uint64_t ns)
{
	if (!w->dead)
		slicer__charge(w->sl, ns, false);
}

int wslice__fd(const struct wslice *w)
{
	return w->dead ? -1 : tracer__wake_fd(w->tr);
}

int wslice__attached(const struct wslice *w)
{
	return w->tr && tracer__attached(w->tr);
}

static void free_defs(struct u64map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys && m->keys[i])
			free(m->vals[i]);
	u64map__free(m);
}

void wslice__close(struct wslice *w)
{
	if (!w)
		return;
	/* the probes go first: nothing may fire into a half-freed source */
	slicer__close(w->sl);
	tracer__close(w->tr);
	if (w->w) {
		capture_writer__close(w->w);
		unlink(w->path);
	}
	u64map__free(&w->syms);
	u64map__free(&w->def_st);
	u64map__free(&w->def_ls);
	free_defs(&w->stacks);
	free_defs(&w->labelsets);
	free(w);
}

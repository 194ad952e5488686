// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The goroutine state machine on the synthetic capture (synth.h): every
 * interval of every goroutine, with its state, bounds, reason, stack,
 * labels, waker and flags, then the helpers (aggregation, filters).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "binary/go_funcs.h"
#include "capture/gstate.h"
#include "synth.h"
#include "test.h"

#define MAX_IV 128

struct rec {
	struct gs_interval iv[MAX_IV];
	int n;
	int births, deaths, deaths_alive, labels, unparks;
	uint64_t system_goids[8];
	int nsystem;
};

static int rec_interval(struct gstate *gs, const struct gs_interval *iv)
{
	struct rec *r = gs->arg;

	if (r->n < MAX_IV)
		r->iv[r->n++] = *iv;
	return 0;
}

static int rec_birth(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	struct rec *r = gs->arg;

	r->births++;
	if (g->system && r->nsystem < 8)
		r->system_goids[r->nsystem++] = g->goid;
	return 0;
}

static int rec_death(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	struct rec *r = gs->arg;

	r->deaths++;
	r->deaths_alive += !ev;
	return 0;
}

static int rec_labels(struct gstate *gs, struct gs_g *g, uint64_t old, uint64_t ts)
{
	((struct rec *)gs->arg)->labels++;
	return 0;
}

static int rec_unpark(struct gstate *gs, struct gs_g *g, uint64_t by, uint64_t ts)
{
	((struct rec *)gs->arg)->unparks++;
	return 0;
}

/* The k-th interval of goid (0-based), or NULL. */
static const struct gs_interval *nth(const struct rec *r, uint64_t goid, int k)
{
	for (int i = 0; i < r->n; i++)
		if (r->iv[i].goid == goid && k-- == 0)
			return &r->iv[i];
	return NULL;
}

static int count(const struct rec *r, uint64_t goid)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->iv[i].goid == goid;
	return n;
}

static struct rec *run(struct gstate *gs, struct gt_capture **cap, char *path, size_t len)
{
	static const struct gs_ops ops = {
		.interval = rec_interval, .birth = rec_birth, .death = rec_death,
		.labels = rec_labels, .unpark = rec_unpark,
	};
	struct rec *r = calloc(1, sizeof(*r));

	synth_tmp(".gtrace", path, len);
	if (!r || synth_write(path) || capture__open(cap, path)) {
		free(r);
		return NULL;
	}
	gstate__init(gs, *cap, &ops, r);
	if (gstate__process(gs)) {
		free(r);
		return NULL;
	}
	return r;
}

#define IV(g, k, st, s, e)                                                                      \
	do {                                                                                    \
		iv = nth(r, g, k);                                                              \
		T_CHECK(iv && iv->state == (st) && iv->start == SY_T(s) && iv->end == SY_T(e),  \
			"G%d interval %d: want %s [%d,%d], got %s [%lld,%lld]", g, k,           \
			gs_state_name(st), s, e, iv ? gs_state_name(iv->state) : "none",         \
			iv ? (long long)(iv->start - SY_T0) : -1,                               \
			iv ? (long long)(iv->end - SY_T0) : -1);                                \
	} while (0)

TEST(gstate_intervals)
{
	struct gstate gs;
	struct gt_capture *cap = NULL;
	const struct gs_interval *iv;
	char path[256];
	struct rec *r = run(&gs, &cap, path, sizeof(path));

	T_ASSERT(r, "synthetic capture could not be written or read");
	/* G10: created, runs, parks on a channel, woken by G1, runs, exits */
	T_CHECK(count(r, 10) == 5, "G10 has %d intervals, want 5", count(r, 10));
	IV(10, 0, GS_RUNNABLE, 1000, 2000);
	IV(10, 1, GS_RUNNING, 2000, 3000);
	T_CHECK(iv && iv->first_run && iv->tid == 110, "G10 first run flag/tid");
	IV(10, 2, GS_WAITING, 3000, 13000);
	T_CHECK(iv && iv->reason == SY_WR_CHAN && iv->stack == SY_S_CHAN && iv->waker == 1 &&
			iv->labels == SY_L_CHAN && !iv->uncertain && !iv->pseudo,
		"G10 wait: reason/stack/waker/labels");
	T_CHECK(iv && iv->start_ev == GT_EV_PARK && iv->end_ev == GT_EV_UNPARK, "G10 wait events");
	IV(10, 3, GS_RUNNABLE, 13000, 14000);
	T_CHECK(iv && iv->stack == SY_S_CHAN, "runnable after unpark keeps the park stack");
	IV(10, 4, GS_RUNNING, 14000, 15000);
	T_CHECK(iv && iv->woken_by == 1 && iv->woken_ts == SY_T(13000) && !iv->first_run,
		"G10 second run: woken by G1 at 13000");

	/* G11: labels change, syscall, preempt, pseudo-wait, yield */
	IV(11, 1, GS_RUNNING, 2100, 2500);
	IV(11, 2, GS_WAITING, 2500, 12500);
	T_CHECK(iv && iv->waker == 10 && iv->labels == SY_L_MUTEX0, "G11 wait: waker G10, labels");
	T_CHECK(iv && iv->uncertain, "G11 wait crosses the loss window 2450-2500");
	IV(11, 5, GS_SYSCALL, 12700, 13700);
	IV(11, 6, GS_RUNNING, 13700, 14000);
	IV(11, 7, GS_RUNNABLE, 14000, 14500);
	T_CHECK(iv && iv->start_ev == GT_EV_PREEMPT && !iv->stack, "G11 preempted: no stack");
	IV(11, 9, GS_WAITING, 14600, 14800);
	T_CHECK(iv && iv->pseudo && iv->reason == SY_WR_GC && !iv->uncertain,
		"G11 GC pseudo-wait is flagged and certain");
	IV(11, 10, GS_RUNNING, 14800, 15000);
	IV(11, 11, GS_RUNNABLE, 15000, 15200);
	T_CHECK(iv && iv->start_ev == GT_EV_YIELD, "G11 yield");
	IV(11, 12, GS_RUNNING, 15200, 16000);
	T_CHECK(count(r, 11) == 13, "G11 has %d intervals, want 13", count(r, 11));

	/* G12: a wait across the loss window, then open at the end */
	IV(12, 2, GS_WAITING, 2400, 8400);
	T_CHECK(iv && iv->uncertain && iv->waker == 0, "G12 wait uncertain, woken by runtime");
	IV(12, 5, GS_WAITING, 9000, 16000);
	T_CHECK(iv && iv->open && !iv->end_ev, "G12 last wait open at capture end");

	/* G13: born parked */
	IV(13, 0, GS_WAITING, 1300, 2000);
	T_CHECK(iv && iv->waker == 12, "G13 woken by G12");

	/* G99: existed before the capture: inferred waiting since the first event */
	IV(99, 0, GS_WAITING, 0, 5000);
	T_CHECK(iv && iv->clipped && iv->waker == 1, "G99 first wait is clipped");
	IV(99, 1, GS_RUNNABLE, 5000, 6000);
	IV(99, 2, GS_RUNNING, 6000, 7000);
	T_CHECK(iv && !iv->first_run, "G99 was not created in the capture: no first-run flow");

	/* snapshots: G1 running to the end, G2 a waiting system goroutine */
	IV(1, 0, GS_RUNNING, 0, 16000);
	T_CHECK(iv && iv->open && iv->clipped, "G1 open and clipped");
	IV(2, 0, GS_WAITING, 0, 16000);
	T_CHECK(iv && iv->reason == SY_WR_SWEEP, "G2 reason from snapshot");
	T_CHECK(r->nsystem == 1 && r->system_goids[0] == 2, "only G2 is a system goroutine (%d)",
		r->nsystem);

	T_CHECK(r->births == 7, "births %d, want 7", r->births);
	T_CHECK(r->deaths == 7 && r->deaths_alive == 3, "deaths %d (alive at end %d), want 7 (3)",
		r->deaths, r->deaths_alive);
	T_CHECK(r->labels == 1, "label changes %d, want 1", r->labels);
	T_CHECK(r->unparks == 5, "unparks %d, want 5", r->unparks);
	T_CHECK(gs.nr_created == 4 && gs.nr_snapshot == 2 && gs.nr_guessed == 1 &&
			gs.nr_exited == 4 && gs.lost == 5,
		"counters created %llu snapshot %llu guessed %llu exited %llu lost %llu",
		(unsigned long long)gs.nr_created, (unsigned long long)gs.nr_snapshot,
		(unsigned long long)gs.nr_guessed, (unsigned long long)gs.nr_exited,
		(unsigned long long)gs.lost);
	T_CHECK(gs.nr_bad == 0, "%llu unexpected transitions in a consistent story",
		(unsigned long long)gs.nr_bad);
	T_CHECK(gs.gs.len == 0, "%zu goroutines left after finish", gs.gs.len);
	gstate__exit(&gs);
	capture__close(cap);
	unlink(path);
	free(r);
}

/* Events a real capture can throw at us: a start with no unpark, an exit
 * of an unknown goroutine, a second create of the same goid. */
TEST(gstate_tolerant)
{
	static const struct gs_ops ops = { .interval = rec_interval };
	struct rec *r = calloc(1, sizeof(*r));
	struct gt_ev_park park = { .h = { .type = GT_EV_PARK, .size = sizeof(park), .ts = 100,
					  .goid = 5 }, .reason = 1, .stack = 9 };
	struct gt_ev_start st = { .h = { .type = GT_EV_START, .size = sizeof(st), .ts = 200,
					 .goid = 5 } };
	struct gt_event_hdr ex = { .type = GT_EV_EXIT, .size = sizeof(ex), .ts = 150, .goid = 6 };
	struct gt_ev_create cr = { .h = { .type = GT_EV_CREATE, .size = sizeof(cr), .ts = 300,
					  .goid = 5 } };
	struct gstate gs;

	T_ASSERT(r, "oom");
	gstate__init(&gs, NULL, &ops, r);
	T_CHECK(!gstate__event(&gs, &park.h), "park of an unknown goroutine");
	T_CHECK(!gstate__event(&gs, &ex), "exit of an unknown goroutine");
	T_CHECK(!gstate__event(&gs, &st.h), "start without unpark");
	T_CHECK(r->n == 3, "%d intervals, want 3", r->n);
	/* G5 running (inferred) 100..100, G6 running 100..150, G5 waiting 100..200 */
	T_CHECK(r->iv[2].goid == 5 && r->iv[2].state == GS_WAITING && r->iv[2].uncertain &&
			r->iv[2].stack == 9,
		"a start with no unpark ends the wait as uncertain");
	T_CHECK(gs.nr_bad == 1, "one unexpected transition, got %llu",
		(unsigned long long)gs.nr_bad);
	cr.startpc = 0;
	T_CHECK(!gstate__event(&gs, &cr.h), "second create of G5");
	T_CHECK(gs.gs.len == 1, "one live goroutine, got %zu", gs.gs.len);
	T_CHECK(!gstate__finish(&gs, 400), "finish");
	T_CHECK(r->iv[r->n - 1].goid == 5 && r->iv[r->n - 1].state == GS_RUNNABLE &&
			r->iv[r->n - 1].open,
		"recreated G5 runnable until the end");
	gstate__exit(&gs);
	free(r);
}

/*
 * A sliced capture's snapshot at a slice's start: where it contradicts what
 * the events last said across a gap, the interval ends there (uncertain) and
 * the snapshot's state, reason and stack begin; without a gap in between, or
 * where it agrees, it changes nothing; a goroutine it shows first was born
 * in the gap and starts at the snapshot.
 */
TEST(gstate_resync_after_gap)
{
	static const struct gs_ops ops = { .interval = rec_interval };
	struct rec *r = calloc(1, sizeof(*r));
	struct gt_ev_snapshot s0 = { .h = { .type = GT_EV_SNAPSHOT, .size = sizeof(s0), .ts = 100,
					    .goid = 5 },
				     .status = GT_G_WAITING, .reason = 1, .stack = 9 };
	struct gt_ev_unpark un = { .h = { .type = GT_EV_UNPARK, .size = sizeof(un), .ts = 200,
					  .goid = 5 }, .by = 0 };
	struct gt_ev_start st = { .h = { .type = GT_EV_START, .size = sizeof(st), .ts = 210,
					 .goid = 5 } };
	struct gt_ev_gap gap = { .h = { .type = GT_EV_GAP, .size = sizeof(gap), .ts = 300 },
				 .end = 1000 };
	struct gt_ev_snapshot s1 = s0, s2 = s0, s3 = s0, s4 = s0;
	struct gt_ev_unpark un2 = un;
	struct gstate gs;
	const struct gs_interval *iv;

	T_ASSERT(r, "oom");
	gstate__init(&gs, NULL, &ops, r);
	T_CHECK(!gstate__event(&gs, &s0.h), "attach snapshot");
	T_CHECK(!gstate__event(&gs, &un.h) && !gstate__event(&gs, &st.h), "unpark, start");
	/* newer, disagreeing, but no gap in between: the events are believed */
	s1.h.ts = 250;
	T_CHECK(!gstate__event(&gs, &s1.h), "snapshot before any gap");
	T_CHECK(gs.nr_resynced == 0 && count(r, 5) == 2, "no correction without a gap (%llu, %d)",
		(unsigned long long)gs.nr_resynced, count(r, 5));
	T_CHECK(!gstate__event(&gs, &gap.h), "gap 300..1000");
	/* the slice's snapshot (read once the probes are live: after the gap) */
	s2.h.ts = 1005;
	s2.reason = 2;
	s2.stack = 7;
	T_CHECK(!gstate__event(&gs, &s2.h), "slice-start snapshot of G5");
	iv = nth(r, 5, 2);
	T_CHECK(iv && iv->state == GS_RUNNING && iv->start == 210 && iv->end == 1005 && iv->uncertain,
		"G5's run ends at the snapshot, uncertain (got %s %llu..%llu%s)",
		iv ? gs_state_name(iv->state) : "none", iv ? (unsigned long long)iv->start : 0,
		iv ? (unsigned long long)iv->end : 0, iv && iv->uncertain ? " uncertain" : "");
	/* the same picture again: nothing to correct */
	s3 = s2;
	s3.h.ts = 1006;
	T_CHECK(!gstate__event(&gs, &s3.h) && count(r, 5) == 3, "an agreeing snapshot changes nothing");
	/* G6, never seen: born in the gap */
	s4.h.goid = 6;
	s4.h.ts = 1005;
	T_CHECK(!gstate__event(&gs, &s4.h), "snapshot of G6");
	T_CHECK(gs.nr_snapshot == 1 && gs.nr_resynced == 2,
		"one found at attach, two by the slice's snapshot (%llu, %llu)",
		(unsigned long long)gs.nr_snapshot, (unsigned long long)gs.nr_resynced);
	un2.h.ts = 1100;
	T_CHECK(!gstate__event(&gs, &un2.h), "unpark of G5 in the slice");
	iv = nth(r, 5, 3);
	T_CHECK(iv && iv->state == GS_WAITING && iv->start == 1005 && iv->end == 1100 &&
			iv->stack == 7 && iv->reason == 2 && !iv->uncertain,
		"the wait the snapshot saw, with its stack and reason, ends at the unpark");
	T_CHECK(gs.nr_bad == 0, "no unexpected transition (%llu)", (unsigned long long)gs.nr_bad);
	gstate__exit(&gs);
	free(r);
}

TEST(gstate_helpers)
{
	struct gs_agg a = { 0 };
	struct gs_strtab t = { 0 };
	struct gs_filter f;
	struct gs_g g = { .goid = 7 };
	uint64_t k[GS_AGG_WORDS] = { 1, 2, 3 };

	for (int i = 0; i < 5000; i++) {
		k[3] = i % 1000;
		T_ASSERT(gs_agg__add(&a, k, i), "agg add");
	}
	T_CHECK(a.len == 1000 && a.ents[0].count == 5 && a.ents[0].sum == 0 + 1000 + 2000 +
			3000 + 4000 && a.ents[0].max == 4000,
		"agg: %zu entries, first count %llu sum %llu", a.len,
		(unsigned long long)a.ents[0].count, (unsigned long long)a.ents[0].sum);
	gs_agg__sort_by_sum(&a);
	T_CHECK(a.ents[0].k[3] == 999, "sorted by sum");
	gs_agg__free(&a);

	T_CHECK(gs_strtab__intern(&t, "") == 0 && gs_strtab__intern(&t, "a") == 1 &&
			gs_strtab__intern(&t, "") == 0 && gs_strtab__intern(&t, "a") == 1,
		"strtab dedup");
	gs_strtab__free(&t);

	T_CHECK(!gs_filter__parse(&f, "3,7,11") && gs_filter__match(&f, NULL, &g), "goid list");
	gs_filter__free(&f);
	T_CHECK(!gs_filter__parse(&f, "3,8") && !gs_filter__match(&f, NULL, &g), "goid list miss");
	gs_filter__free(&f);
	T_CHECK(gs_filter__parse(&f, "3,x") == -EINVAL, "bad goid list");
	T_CHECK(gs_filter__parse(&f, "label:=x") == -EINVAL, "bad label filter");
	T_CHECK(go_funcs__is_system("runtime.bgsweep") && !go_funcs__is_system("runtime.main") &&
			!go_funcs__is_system("main.main"),
		"system goroutines");
}

/*
 * preempt{gc_suspend} (preemptPark for suspendG): as on Debian's etcd, the
 * next event of that goroutine is resumeG's unpark.  The model has it
 * waiting, reason "preempted", a GC pause (pseudo), and the stream is a
 * consistent story (no unexpected transition).
 */
TEST(gstate_gc_suspend)
{
	static const struct gs_ops ops = { .interval = rec_interval };
	struct gt_capture_writer *w;
	struct gt_capture *cap = NULL;
	struct gt_event_hdr h;
	struct gt_ev_start st = { 0 };
	struct gt_ev_create c = { 0 };
	struct gt_ev_unpark u = { 0 };
	const struct gs_interval *iv;
	struct gstate gs;
	struct rec *r = calloc(1, sizeof(*r));
	char path[256];
	int err;

	T_ASSERT(r, "calloc");
	synth_tmp(".gtrace", path, sizeof(path));
	T_ASSERT(!capture_writer__open(&w, path), "open %s", path);
	capture_writer__meta(w, "clock.mono_ns", "%llu", SY_T0);
	capture_writer__meta(w, "clock.real_ns", "%lld", SY_REAL0);
	capture_writer__meta(w, "waitreason.30", "preempted");
	capture_writer__flush(w); /* the header chunk comes first */
	c.h = (struct gt_event_hdr){ .type = GT_EV_CREATE, .size = sizeof(c), .ts = SY_T(100), .goid = 5 };
	c.parent = 1;
	capture_writer__events(w, &c, sizeof(c));
	st.h = (struct gt_event_hdr){ .type = GT_EV_START, .size = sizeof(st), .ts = SY_T(200), .goid = 5 };
	capture_writer__events(w, &st, sizeof(st));
	h = (struct gt_event_hdr){ .type = GT_EV_PREEMPT, .size = sizeof(h), .ts = SY_T(300), .goid = 5,
				   .flags = GT_F_GC_SUSPEND };
	capture_writer__events(w, &h, sizeof(h));
	u.h = (struct gt_event_hdr){ .type = GT_EV_UNPARK, .size = sizeof(u), .ts = SY_T(400), .goid = 5 };
	u.by = 18;
	capture_writer__events(w, &u, sizeof(u));
	st.h = (struct gt_event_hdr){ .type = GT_EV_START, .size = sizeof(st), .ts = SY_T(500), .goid = 5 };
	capture_writer__events(w, &st, sizeof(st));
	h = (struct gt_event_hdr){ .type = GT_EV_EXIT, .size = sizeof(h), .ts = SY_T(600), .goid = 5 };
	capture_writer__events(w, &h, sizeof(h));
	T_ASSERT(!capture_writer__close(w), "write %s", path);
	T_ASSERT(!capture__open(&cap, path), "read %s", path);
	gstate__init(&gs, cap, &ops, r);
	err = gstate__process(&gs);
	T_CHECK(!err && gs.nr_events == 6, "process: %d, %llu events", err,
		(unsigned long long)gs.nr_events);
	IV(5, 1, GS_RUNNING, 200, 300);
	IV(5, 2, GS_WAITING, 300, 400);
	T_CHECK(iv && iv->pseudo && iv->reason == 30 && iv->waker == 18 &&
			iv->start_ev == GT_EV_PREEMPT && iv->end_ev == GT_EV_UNPARK,
		"GC suspension: pseudo %d reason %d waker %llu", iv ? iv->pseudo : -1,
		iv ? iv->reason : -1, iv ? (unsigned long long)iv->waker : 0ULL);
	IV(5, 3, GS_RUNNABLE, 400, 500);
	IV(5, 4, GS_RUNNING, 500, 600);
	T_CHECK(gs.nr_bad == 0, "%llu unexpected transitions", (unsigned long long)gs.nr_bad);
	gstate__exit(&gs);
	capture__close(cap);
	unlink(path);
	free(r);
}

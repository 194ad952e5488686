// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The live side of the goroutine state machine, as the flight recorder
 * uses it: records fed one at a time with the target's names, goroutines
 * written back as SNAPSHOT records that read back to the same state, the
 * label-set decoder behind label: triggers, and the triggers' edges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "capture/capture.h"
#include "capture/gstate.h"
#include "live/flight_ring.h"
#include "live/flight_trigger.h"
#include "test.h"

#define PC_SWEEP 0x1000 /* runtime.bgsweep: a system goroutine */
#define PC_WORK 0x2000

static const char *names_func(void *arg, uint64_t pc)
{
	return pc == PC_SWEEP ? "runtime.bgsweep" : pc == PC_WORK ? "main.work" : NULL;
}

static const char *names_reason(void *arg, unsigned r)
{
	return r == 30 ? "preempted" : r == 7 ? "chan receive" : NULL;
}

static const struct gs_names names = { names_func, names_reason, NULL };

static void feed_hdr(struct gstate *gs, uint8_t type, uint64_t ts, uint64_t goid, uint8_t flags)
{
	struct gt_event_hdr h = { .type = type, .size = sizeof(h), .ts = ts, .goid = goid,
				  .flags = flags };

	gstate__event(gs, &h);
}

static void feed_create(struct gstate *gs, uint64_t ts, uint64_t goid, uint64_t startpc,
			uint64_t labels)
{
	struct gt_ev_create c = { .h = { .type = GT_EV_CREATE, .size = sizeof(c), .ts = ts,
					 .goid = goid },
				  .parent = 1, .gopc = 0x3000, .startpc = startpc, .labels = labels };

	gstate__event(gs, &c.h);
}

static int copy_g(struct gstate *gs, struct gs_g *g, void *arg)
{
	struct gt_ev_snapshot e;

	gstate__snapshot_record(g, 5000, &e);
	return gstate__event(arg, &e.h);
}

TEST(gstate_live_roundtrip)
{
	struct gt_ev_park p = { .h = { .type = GT_EV_PARK, .size = sizeof(p), .ts = 300, .goid = 11 },
				.reason = 7, .stack = 99 };
	struct gstate a, b;
	struct gs_g *g, *h;

	gstate__init_live(&a, &names, NULL, NULL);
	gstate__init_live(&b, &names, NULL, NULL);
	T_CHECK(a.reason_preempted == 30, "preempted found by name: %u", a.reason_preempted);
	feed_create(&a, 100, 10, PC_SWEEP, 0);
	feed_create(&a, 110, 11, PC_WORK, 42);
	feed_create(&a, 120, 12, PC_WORK, 0);
	feed_create(&a, 130, 13, PC_WORK, 0);
	feed_hdr(&a, GT_EV_START, 200, 11, 0);
	gstate__event(&a, &p.h);		      /* 11 waits on a channel, stack 99 */
	feed_hdr(&a, GT_EV_START, 210, 12, 0);
	feed_hdr(&a, GT_EV_SYSCALL_ENTER, 220, 12, 0); /* 12 in a syscall */
	feed_hdr(&a, GT_EV_START, 230, 13, 0);
	feed_hdr(&a, GT_EV_PREEMPT, 240, 13, GT_F_GC_SUSPEND); /* 13 stopped for the GC */
	feed_hdr(&a, GT_EV_START, 250, 14, 0);	 /* 14 first seen running */
	feed_hdr(&a, GT_EV_EXIT, 260, 14, 0);	 /* ... and gone */

	T_CHECK(a.gs.len == 4, "%zu live goroutines, want 4", a.gs.len);
	g = gstate__get(&a, 10);
	T_CHECK(g && g->system && g->state == GS_RUNNABLE, "G10 system, runnable");
	g = gstate__get(&a, 11);
	T_CHECK(g && !g->system && g->state == GS_WAITING && g->reason == 7 && g->stack == 99 &&
			g->labels == 42 && g->since == 300,
		"G11 waiting chan receive since 300 on stack 99 with labels 42");
	g = gstate__get(&a, 13);
	T_CHECK(g && g->state == GS_WAITING && g->pseudo && g->reason == 30, "G13 GC pseudo-wait");

	T_CHECK(!gstate__foreach(&a, copy_g, &b), "snapshot records read back");
	T_CHECK(b.gs.len == 4 && b.nr_snapshot == 4, "%zu from %llu snapshots", b.gs.len,
		(unsigned long long)b.nr_snapshot);
	for (uint64_t goid = 10; goid <= 12; goid++) {
		g = gstate__get(&a, goid);
		h = gstate__get(&b, goid);
		T_CHECK(g && h && g->state == h->state && g->system == h->system &&
				g->labels == h->labels && g->parent == h->parent &&
				g->startpc == h->startpc &&
				(g->state != GS_WAITING || (g->reason == h->reason && g->stack == h->stack)),
			"G%llu reads back as %s, was %s", (unsigned long long)goid,
			h ? gs_state_name(h->state) : "none", g ? gs_state_name(g->state) : "none");
	}
	/* a GC suspension is _Gpreempted, which an attach snapshot also reads as runnable */
	h = gstate__get(&b, 13);
	T_CHECK(h && h->state == GS_RUNNABLE && !h->stack, "G13 comes back runnable");
	gstate__exit(&a);
	gstate__exit(&b);
}

/* A LABELSET record holding the pairs given (key, value, key, value, ...). */
static size_t labelset(struct gt_ev_labelset *e, uint64_t id, const char *const *kv, int n)
{
	size_t at = 0;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < n; i++) {
		uint16_t len = strlen(kv[i]);

		memcpy(e->blob + at, &len, 2);
		memcpy(e->blob + at + 2, kv[i], len);
		at += 2 + len;
	}
	e->id = id;
	e->count = n / 2;
	e->blob_len = at;
	e->h = (struct gt_event_hdr){ .type = GT_EV_LABELSET, .ts = 1,
				      .size = offsetof(struct gt_ev_labelset, blob) + at };
	return e->h.size;
}

TEST(flight_label_trigger)
{
	static const char *const kv[] = { "tenant", "acme", "phase", "burst1" };
	struct flight_trigger t[2];
	struct gt_ev_labelset *e = calloc(1, sizeof(*e));
	struct gt_labelset *ls;

	T_ASSERT(e, "calloc");
	T_ASSERT(!flight_trigger__parse("label:tenant=acme", &t[0]) &&
			 !flight_trigger__parse("label:phase=burst2", &t[1]),
		 "parse");
	T_CHECK(!strcmp(t[0].name, "label_tenant_acme"), "file name %s", t[0].name);
	labelset(e, 5, kv, 4);
	T_ASSERT(!capture__labelset_decode(&e->h, &ls), "decode");
	T_CHECK(ls->count == 2 && !strcmp(ls->keys[0], "phase") && !strcmp(ls->values[1], "acme"),
		"decoded and sorted by key");
	capture__labelset_free(ls);
	flight_trigger__labelset(t, 2, &e->h);
	T_CHECK(t[0].pending && !t[1].pending, "tenant=acme pending, phase=burst2 not");
	/* a blob cut inside a value: what is whole is kept, flagged truncated */
	e->blob_len -= 3;
	e->h.size -= 3;
	T_ASSERT(!capture__labelset_decode(&e->h, &ls), "decode cut");
	T_CHECK(ls->count == 1 && ls->truncated, "cut: %u pairs, truncated %d", ls->count,
		ls->truncated);
	capture__labelset_free(ls);
	e->blob_len = GT_LABELSET_BLOB + 1;
	T_CHECK(capture__labelset_decode(&e->h, &ls) == -EBADMSG, "blob longer than the record");
	T_CHECK(flight_trigger__parse("label:=x", &t[1]) && flight_trigger__parse("label:x", &t[1]),
		"bad label triggers");
	free(e);
}

static int nfired;
static void fired(void *arg, struct flight_trigger *tr)
{
	nfired++;
}

TEST(flight_count_triggers)
{
	struct gt_ev_park p = { .h = { .type = GT_EV_PARK, .size = sizeof(p), .goid = 20 },
				.reason = 7 };
	uint64_t s = 1000000000ull;
	struct flight_trigger t[2];
	struct flight_counts c;
	struct gstate gs;

	T_ASSERT(!flight_trigger__parse("blocked>1500ms", &t[0]) &&
			 !flight_trigger__parse("goroutines>2", &t[1]),
		 "parse");
	T_CHECK(t[0].n == 1500000000ull, "1500ms = %llu ns", (unsigned long long)t[0].n);
	T_CHECK(flight_trigger__parse("blocked>5parsecs", &t[0]) &&
			flight_trigger__parse("cpu>5", &t[0]),
		"bad triggers");
	flight_trigger__parse("blocked>1500ms", &t[0]);
	gstate__init_live(&gs, &names, NULL, NULL);
	feed_create(&gs, 1 * s, 20, PC_WORK, 0);
	feed_create(&gs, 1 * s, 21, PC_WORK, 0);
	feed_create(&gs, 1 * s, 22, PC_SWEEP, 0); /* does not count */
	feed_hdr(&gs, GT_EV_START, 1 * s, 20, 0);
	p.h.ts = 2 * s;
	gstate__event(&gs, &p.h);
	flight_trigger__count(&gs, 3 * s, &c);
	T_CHECK(c.alive == 2 && c.waiting[7] == 1 && c.oldest_park == s,
		"alive %llu waiting %llu oldest %llu", (unsigned long long)c.alive,
		(unsigned long long)c.waiting[7], (unsigned long long)c.oldest_park);
	nfired = 0;
	flight_trigger__check(t, 2, &c, 3 * s, fired, NULL);
	T_CHECK(nfired == 0, "nothing yet, %d fired", nfired);
	flight_trigger__count(&gs, 4 * s, &c);
	flight_trigger__check(t, 2, &c, 4 * s, fired, NULL);
	flight_trigger__check(t, 2, &c, 20 * s, fired, NULL);
	T_CHECK(nfired == 1 && t[0].fired == 1, "blocked fires once while it stays true: %d", nfired);
	feed_create(&gs, 4 * s, 23, PC_WORK, 0);
	flight_trigger__count(&gs, 21 * s, &c);
	flight_trigger__check(t, 2, &c, 21 * s, fired, NULL);
	T_CHECK(nfired == 2 && t[1].fired == 1, "goroutines>2 fires at 3");
	gstate__exit(&gs);
}

static void count_rec(void *arg, const struct gt_event_hdr *h)
{
	(*(uint64_t *)arg)++;
}

TEST(flight_ring_window)
{
	struct gt_event_hdr h = { .type = GT_EV_START, .size = sizeof(h), .goid = 1 };
	uint64_t s = 1000000000ull, n = 0, gone = 0;
	struct flight_ring r;
	const struct gt_event_hdr *e;

	flight_ring__init(&r, 2, 8 << 20);
	for (int i = 0; i < 40; i++) { /* 10 per second for 4 s */
		h.ts = s + i * s / 10;
		T_ASSERT(!flight_ring__append(&r, &h, sizeof(h)), "append");
	}
	flight_ring__evict(&r, 5 * s, count_rec, &gone);
	for (struct flight_batch *b = r.head; b; b = b->next)
		flight_batch__for_each(b, e)
			n++;
	T_CHECK(r.evicted > 0 && gone > 0 && n + gone == 40 && r.head &&
			r.head->last_ts + 2 * s >= 5 * s,
		"window keeps the last 2 s: %llu records kept, %llu handed on, %llu batches dropped",
		(unsigned long long)n, (unsigned long long)gone, (unsigned long long)r.evicted);
	/* a batch spans at most 1/8 of the window: the oldest may start that much earlier */
	T_CHECK(flight_ring__span(&r) <= 2 * s + 2 * s / 8, "span %llu", (unsigned long long)flight_ring__span(&r));
	flight_ring__free(&r);
}

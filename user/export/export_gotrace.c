// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go execution trace exporter (docs/formats/gotrace.md): the capture's
 * goroutine transitions as the scheduler events `go tool trace` and
 * golang.org/x/exp/trace read, pprof labels as user log events.
 *
 * Go's reader replays the scheduler and rejects a trace whose goroutines,
 * threads (Ms) and Ps do not agree, so this file keeps that model itself:
 *  - Ms are the capture's OS threads (every record carries its tid; the
 *    runtime's trace names threads the same way);
 *  - Ps are not in the capture: each thread that runs goroutines is given
 *    one, kept until a syscall returns without it (then it idles and the
 *    next thread that needs one takes it);
 *  - sequence numbers are handed out in file order, which is the order the
 *    events happened in, so the reader can always advance;
 *  - thread 0 (no real thread has it) carries what has no thread: the
 *    attach snapshot's waiting and runnable goroutines, and loss windows,
 *    which run a marker goroutine (LOSS_GOID) holding a region.
 * When the capture contradicts itself (records lost, a snapshot older than
 * the first event) the missing transition is written so the trace stays
 * readable, and counted: "repairs" in the summary line.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "export/export.h"
#include "export/gotrace_enc.h"
#include "capture/gstate.h"

#define LOSS_GOID (1ULL << 40) /* far above real goids */
#define NO_M 0		       /* the thread of thread-less events */

enum tg_st { TG_NONE, TG_RUNNABLE, TG_RUNNING, TG_SYSCALL, TG_WAITING };

struct tp { /* a synthesized P */
	uint64_t id, seq;
	uint8_t st; /* GTV_P_* */
	struct tp *next_idle;
};

struct tm { /* a thread */
	uint64_t id;
	uint64_t g;	/* goroutine running (or in a syscall) on it, 0 none */
	struct tp *p;	/* its P, NULL none */
};

struct tg { /* a goroutine as the trace sees it */
	uint64_t goid, m, seq;
	enum tg_st st;
	bool pseudo;	  /* in a GC/STW pseudo-wait: still running for the trace */
	bool sys_p;	  /* its syscall began here, so its P is in ProcSyscall */
	bool logged;	  /* its labels were logged */
	uint8_t pseudo_reason;
	uint64_t pseudo_stack, labels;
};

struct gt_gotrace {
	struct gt_capture *cap;
	struct gtv *w;
	struct gstate gs;
	struct u64map ms, gs_, stacks, pcstacks; /* tid+1 -> tm, goid -> tg, capture stack / pc -> trace stack */
	struct tp *idle;
	uint64_t nps;
	uint64_t s_labels_cat, s_loss_cat, s_loss_region, s_repair, s_preempted, s_gosched;
	uint64_t s_loss_end;
	uint64_t repairs, nlogs, nloss, ngoroutines, pulled;
	struct look *look; /* the reordering window (below) */
	struct gt_ev_snapshot *snaps; /* attach snapshot, held until the stream passes it */
	size_t nsnaps, capsnaps;
	struct u64map seen; /* goids that had events while snapshot entries wait */
	struct u64map snapidx; /* goid -> index + 1 in snaps */
	int err;
};

/* ---- strings, stacks ---- */

/* The trace's block reason for a runtime wait reason, as each gopark call site passes it. */
static const char *block_reason(const char *wr)
{
	static const struct { const char *prefix, *reason; } map[] = {
		{ "chan receive (nil chan)", "forever" }, { "chan send (nil chan)", "forever" },
		{ "select (no cases)", "forever" },	  { "panicwait", "forever" },
		{ "chan receive", "chan receive" },	  { "chan send", "chan send" },
		{ "select", "select" },			  { "IO wait", "network" },
		{ "sleep", "sleep" },			  { "sync.Cond.Wait", "sync.(*Cond).Wait" },
		{ "semacquire", "sync" },		  { "sync.", "sync" },
		{ "GC assist wait", "GC mark assist wait for work" },
		{ "GC sweep wait", "GC background sweeper wait" },
		{ "wait for GC cycle", "wait until GC ends" },
		{ "GC weak to strong wait", "GC weak to strong wait" },
		{ "synctest", "synctest" },		  { "debug call", "wait for debug call" },
		{ "preempted", "preempted" },		  { "GC scavenge wait", "system goroutine wait" },
		{ "GC worker (idle)", "system goroutine wait" },
		{ "finalizer wait", "system goroutine wait" },
		{ "cleanup wait", "system goroutine wait" },
		{ "force gc (idle)", "system goroutine wait" },
		{ "GOMAXPROCS updater (idle)", "system goroutine wait" },
		{ "trace reader (blocked)", "system goroutine wait" },
		{ "timer goroutine (idle)", "system goroutine wait" },
	};

	for (size_t i = 0; wr && i < sizeof(map) / sizeof(*map); i++)
		if (!strncmp(wr, map[i].prefix, strlen(map[i].prefix)))
			return map[i].reason;
	return "unspecified";
}

/* Distinct keys for the outer frames inlined at one PC (the table is keyed by PC). */
#define INLINE_PC(pc, j) ((pc) | ((uint64_t)(j) << 56))

static int add_frames(struct gt_gotrace *x, uint64_t pc, struct gtv_frame *out, int n, int max)
{
	struct gt_frame f[16];
	int k = capture__symbolize(x->cap, pc, f, 16);

	if (k <= 0 && n < max)
		out[n++] = (struct gtv_frame){ pc, "?", "?", 0 };
	for (int j = 0; j < k && n < max; j++)
		out[n++] = (struct gtv_frame){ INLINE_PC(pc, j), f[j].func, f[j].file, f[j].line };
	return n;
}

/* The trace stack for a capture stack id (return addresses), 0 for none. */
static uint64_t trace_stack(struct gt_gotrace *x, uint64_t id)
{
	const struct gt_stack *st = id ? capture__stack(x->cap, id) : NULL;
	struct gtv_frame f[128];
	uint64_t t;
	int n = 0;

	if (!st)
		return 0;
	if ((t = (uintptr_t)u64map__get(&x->stacks, id)))
		return t;
	for (uint32_t i = 0; i < st->nr && n < 128; i++)
		n = add_frames(x, st->pcs[i] - 1, f, n, 128);
	t = gtv__stack(x->w, f, n);
	if (t && u64map__put(&x->stacks, id, (void *)(uintptr_t)t))
		x->err = -ENOMEM;
	return t;
}

/* A one-site stack (the go statement, a start function), cached by pc. */
static uint64_t pc_stack(struct gt_gotrace *x, uint64_t pc)
{
	struct gtv_frame f[16];
	uint64_t t;
	int n;

	if (!pc)
		return 0;
	if ((t = (uintptr_t)u64map__get(&x->pcstacks, pc)))
		return t;
	n = add_frames(x, pc, f, 0, 16);
	t = gtv__stack(x->w, f, n);
	if (t && u64map__put(&x->pcstacks, pc, (void *)(uintptr_t)t))
		x->err = -ENOMEM;
	return t;
}

/* ---- the scheduler model ---- */

static int ev_a(struct gt_gotrace *x, uint64_t m, uint64_t ts, uint8_t type, const uint64_t *a,
		int n)
{
	if (!x->err)
		x->err = gtv__event(x->w, m, ts, type, n, a);
	return x->err;
}

/* Every argument converted to u64 (varargs would pass int literals as int). */
#define EV(x, m, ts, type, ...)                                                        \
	ev_a(x, m, ts, type, (const uint64_t[]){ __VA_ARGS__ },                        \
	     sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
#define EV0(x, m, ts, type) ev_a(x, m, ts, type, NULL, 0)

static struct tm *get_m(struct gt_gotrace *x, uint64_t tid)
{
	struct tm *m = u64map__get(&x->ms, tid + 1);

	if (m)
		return m;
	m = calloc(1, sizeof(*m));
	if (!m || u64map__put(&x->ms, tid + 1, m)) {
		free(m);
		x->err = -ENOMEM;
		return NULL;
	}
	m->id = tid;
	return m;
}

static struct tg *get_g(struct gt_gotrace *x, uint64_t goid)
{
	struct tg *g = u64map__get(&x->gs_, goid);

	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g || u64map__put(&x->gs_, goid, g)) {
		free(g);
		x->err = -ENOMEM;
		return NULL;
	}
	g->goid = goid;
	x->ngoroutines++;
	if (x->nsnaps) {
		uintptr_t i = (uintptr_t)u64map__get(&x->snapidx, goid);

		/* its events came first, but its labels are known since attach */
		if (i)
			g->labels = x->snaps[i - 1].labels;
		if (u64map__put(&x->seen, goid, (void *)1))
			x->err = -ENOMEM;
	}
	return g;
}

/* Gives m a running P: an idle one, or a new one. */
static void acquire_p(struct gt_gotrace *x, struct tm *m, uint64_t ts)
{
	struct tp *p;

	if (m->p)
		return;
	if ((p = x->idle)) {
		x->idle = p->next_idle;
		p->st = GTV_P_RUNNING;
		EV(x, m->id, ts, GTV_PROC_START, p->id, ++p->seq);
	} else {
		if (!(p = calloc(1, sizeof(*p)))) {
			x->err = -ENOMEM;
			return;
		}
		p->id = x->nps++;
		p->st = GTV_P_RUNNING;
		/* a P's first mention in the first generation: its status, bound here */
		EV(x, m->id, ts, GTV_PROC_STATUS, p->id, GTV_P_RUNNING);
	}
	m->p = p;
}

static void release_p(struct gt_gotrace *x, struct tm *m, uint64_t ts)
{
	struct tp *p = m->p;

	if (!p)
		return;
	EV0(x, m->id, ts, GTV_PROC_STOP);
	p->st = GTV_P_IDLE;
	p->next_idle = x->idle;
	x->idle = p;
	m->p = NULL;
}

/* The syscall of g (on m) returns; to_runnable: without a P, queued. */
static void syscall_end(struct gt_gotrace *x, struct tg *g, struct tm *m, uint64_t ts,
			bool to_runnable)
{
	if (g->sys_p && m->p && m->p->st == GTV_P_SYSCALL && !to_runnable) {
		EV0(x, m->id, ts, GTV_GO_SYSCALL_END);
		m->p->st = GTV_P_RUNNING;
		g->st = TG_RUNNING;
		return;
	}
	/* the P is gone (or was never known here): the runtime's EndBlocked */
	if (m->p && m->p->st == GTV_P_SYSCALL)
		release_p(x, m, ts);
	EV0(x, m->id, ts, GTV_GO_SYSCALL_END_BLOCKED);
	g->st = TG_RUNNABLE;
	g->sys_p = false;
	m->g = 0;
}

static void go_start(struct gt_gotrace *x, struct tg *g, struct tm *m, uint64_t ts);

/* Nothing runs on m any more (a repair: the capture missed how it stopped). */
static void free_m(struct gt_gotrace *x, struct tm *m, uint64_t ts)
{
	struct tg *o = m->g ? u64map__get(&x->gs_, m->g) : NULL;

	if (!o) {
		m->g = 0;
		return;
	}
	x->repairs++;
	if (o->st == TG_SYSCALL) {
		syscall_end(x, o, m, ts, true);
		return;
	}
	EV(x, m->id, ts, GTV_GO_STOP, x->s_repair, 0);
	o->st = TG_RUNNABLE;
	o->pseudo = false;
	m->g = 0;
}

/* The goroutine's labels as one log line, "k=v,k=v" ("" once cleared), while it runs on m. */
static void log_labels(struct gt_gotrace *x, struct tg *g, struct tm *m, uint64_t ts)
{
	const struct gt_labelset *ls = g->labels ? capture__labelset(x->cap, g->labels) : NULL;
	char msg[1024];
	size_t off = 0;

	g->logged = true;
	msg[0] = 0;
	for (uint32_t i = 0; ls && i < ls->count && off < sizeof(msg); i++)
		off += snprintf(msg + off, sizeof(msg) - off, "%s%s=%s", i ? "," : "", ls->keys[i],
				ls->values[i]);
	x->nlogs++;
	EV(x, m->id, ts, GTV_USER_LOG, 0, x->s_labels_cat, gtv__string(x->w, msg), 0);
}

/* Runnable g starts on m. */
static void go_start(struct gt_gotrace *x, struct tg *g, struct tm *m, uint64_t ts)
{
	if (m->g && m->g != g->goid)
		free_m(x, m, ts);
	acquire_p(x, m, ts);
	EV(x, m->id, ts, GTV_GO_START, g->goid, ++g->seq);
	g->st = TG_RUNNING;
	g->m = m->id;
	m->g = g->goid;
	if (!g->logged && g->labels) /* its first run: the labels it was born with */
		log_labels(x, g, m, ts);
	g->logged = true;
}

/* Makes g the running goroutine of m, whatever it was (first sight: it was running). */
static void to_running(struct gt_gotrace *x, struct tg *g, struct tm *m, uint64_t ts)
{
	for (int guard = 0; guard < 4 && !x->err; guard++) {
		switch (g->st) {
		case TG_NONE:
			if (m->g)
				free_m(x, m, ts);
			acquire_p(x, m, ts);
			EV(x, m->id, ts, GTV_GO_STATUS, g->goid, m->id, GTV_G_RUNNING);
			g->st = TG_RUNNING;
			g->m = m->id;
			m->g = g->goid;
			g->seq = 0;
			if (g->labels && !g->logged)
				log_labels(x, g, m, ts);
			g->logged = true;
			return;
		case TG_RUNNING:
			if (g->m == m->id)
				return;
			x->repairs++;
			EV(x, g->m, ts, GTV_GO_STOP, x->s_repair, 0);
			get_m(x, g->m)->g = 0;
			g->st = TG_RUNNABLE;
			break;
		case TG_SYSCALL: {
			struct tm *o = get_m(x, g->m);

			if (!o)
				return;
			if (o == m) {
				syscall_end(x, g, m, ts, false);
				if (g->st == TG_RUNNABLE)
					go_start(x, g, m, ts);
				return;
			}
			x->repairs++;
			syscall_end(x, g, o, ts, true);
			break;
		}
		case TG_WAITING:
			x->repairs++;
			EV(x, m->id, ts, GTV_GO_UNBLOCK, g->goid, ++g->seq, 0);
			g->st = TG_RUNNABLE;
			break;
		case TG_RUNNABLE:
			go_start(x, g, m, ts);
			return;
		}
	}
}

/* ---- capture events ---- */

static void on_create(struct gt_gotrace *x, const struct gt_ev_create *c, struct tm *m)
{
	struct tg *cur = m->g ? u64map__get(&x->gs_, m->g) : NULL;
	struct tg *g = u64map__get(&x->gs_, c->h.goid);
	uint64_t ts = c->h.ts;

	if (g) { /* goids are not reused: a stale record of ours */
		x->repairs++;
		return;
	}
	if (cur && cur->st != TG_RUNNING)
		free_m(x, m, ts); /* a goroutine is created by a running one, or none */
	acquire_p(x, m, ts);
	if (!(g = get_g(x, c->h.goid)))
		return;
	g->labels = c->labels;
	EV(x, m->id, ts, c->h.flags & GT_F_PARKED_CREATE ? GTV_GO_CREATE_BLOCKED : GTV_GO_CREATE,
	   g->goid, pc_stack(x, c->startpc), pc_stack(x, c->gopc - 1));
	g->st = c->h.flags & GT_F_PARKED_CREATE ? TG_WAITING : TG_RUNNABLE;
}

static void on_snapshot(struct gt_gotrace *x, const struct gt_ev_snapshot *s)
{
	struct tg *g = u64map__get(&x->gs_, s->h.goid);
	struct tm *m = s->h.tid ? get_m(x, s->h.tid) : NULL;
	uint64_t ts = s->h.ts;

	if (g || u64map__get(&x->seen, s->h.goid) || !(s->status == GT_G_RUNNABLE || s->status == GT_G_PREEMPTED ||
		   s->status == GT_G_RUNNING || s->status == GT_G_COPYSTACK ||
		   s->status == GT_G_SYSCALL || s->status == GT_G_WAITING))
		return; /* events came first, or not a live goroutine */
	if (!(g = get_g(x, s->h.goid)))
		return;
	g->labels = s->labels;
	switch (s->status) {
	case GT_G_WAITING:
		EV(x, NO_M, ts, GTV_GO_STATUS_STACK, g->goid, GTV_NO_THREAD,
		   GTV_G_WAITING, trace_stack(x, s->stack));
		g->st = TG_WAITING;
		return;
	case GT_G_SYSCALL:
		if (m && !m->g) {
			EV(x, m->id, ts, GTV_GO_STATUS, g->goid, m->id, GTV_G_SYSCALL);
			g->st = TG_SYSCALL;
			g->m = m->id;
			m->g = g->goid;
			return;
		}
		break;
	case GT_G_RUNNING:
	case GT_G_COPYSTACK:
		if (m && !m->g) {
			to_running(x, g, m, ts);
			return;
		}
		break;
	}
	/* runnable, or on a thread we cannot place it on: runnable until its next event */
	EV(x, NO_M, ts, GTV_GO_STATUS, g->goid, GTV_NO_THREAD, GTV_G_RUNNABLE);
	g->st = TG_RUNNABLE;
}

/*
 * A loss window, or a gap between slices (record --budget): the marker
 * goroutine runs through it inside a region, its log line says which.
 */
static void on_window(struct gt_gotrace *x, const struct gt_ev_loss *l, const char *msg);

static void on_loss(struct gt_gotrace *x, const struct gt_ev_loss *l)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%" PRIu64 " records lost in %.6f s", (uint64_t)l->lost,
		 (l->end > l->h.ts ? l->end - l->h.ts : 0) / 1e9);
	on_window(x, l, msg);
}

static void on_gap(struct gt_gotrace *x, const struct gt_ev_gap *gp)
{
	struct gt_ev_loss l = { .h = gp->h, .end = gp->end };
	char msg[160];

	snprintf(msg, sizeof(msg),
		 "probes off (record --budget gap) for %.6f s: ~%" PRIu64 " events not recorded",
		 (gp->end > gp->h.ts ? gp->end - gp->h.ts : 0) / 1e9, (uint64_t)gp->est_events);
	on_window(x, &l, msg);
}

static void on_window(struct gt_gotrace *x, const struct gt_ev_loss *l, const char *msg)
{
	struct tm *m = get_m(x, NO_M);
	struct tg *g = get_g(x, LOSS_GOID);

	if (!m || !g)
		return;
	x->ngoroutines -= !g->seq && g->st == TG_NONE; /* not a goroutine of the target */
	if (g->st == TG_NONE) {
		EV(x, NO_M, l->h.ts, GTV_GO_STATUS, g->goid, GTV_NO_THREAD,
		   GTV_G_RUNNABLE);
		g->st = TG_RUNNABLE;
		g->logged = true;
	}
	go_start(x, g, m, l->h.ts);
	EV(x, NO_M, l->h.ts, GTV_USER_LOG, 0, x->s_loss_cat, gtv__string(x->w, msg),
	   0);
	EV(x, NO_M, l->h.ts, GTV_USER_REGION_BEGIN, 0, x->s_loss_region, 0);
	EV(x, NO_M, l->end, GTV_USER_REGION_END, 0, x->s_loss_region, 0);
	EV(x, NO_M, l->end, GTV_GO_STOP, x->s_loss_end, 0);
	g->st = TG_RUNNABLE;
	m->g = 0;
	x->nloss++;
}

static void on_transition(struct gt_gotrace *x, const struct gt_event_hdr *h, struct tm *m)
{
	struct tg *g = get_g(x, h->goid);
	uint64_t ts = h->ts;

	if (!g)
		return;
	switch (h->type) {
	case GT_EV_START:
		if (g->st == TG_NONE) { /* first sight: it was runnable */
			EV(x, NO_M, ts, GTV_GO_STATUS, g->goid, GTV_NO_THREAD,
			   GTV_G_RUNNABLE);
			g->st = TG_RUNNABLE;
		}
		if (g->st == TG_RUNNING && g->pseudo) /* a pseudo-wait ended by the scheduler */
			g->pseudo = false;
		to_running(x, g, m, ts);
		break;
	case GT_EV_PARK: {
		const struct gt_ev_park *p = (const void *)h;

		to_running(x, g, m, ts);
		if (h->flags & GT_F_PSEUDO_WAIT) { /* not a block: the runtime does not trace it */
			g->pseudo = true;
			g->pseudo_reason = p->reason;
			g->pseudo_stack = p->stack;
			break;
		}
		EV(x, m->id, ts, GTV_GO_BLOCK,
		   gtv__string(x->w, block_reason(capture__waitreason(x->cap, p->reason))),
		   trace_stack(x, p->stack));
		g->st = TG_WAITING;
		m->g = 0;
		break;
	}
	case GT_EV_WAIT_END: /* a pseudo-wait ends: it never stopped running for the trace */
		g->pseudo = false;
		to_running(x, g, m, ts);
		break;
	case GT_EV_UNPARK:
		if (g->st == TG_NONE) { /* first sight: it was waiting */
			EV(x, NO_M, ts, GTV_GO_STATUS, g->goid, GTV_NO_THREAD,
			   GTV_G_WAITING);
			g->st = TG_WAITING;
		}
		if (g->st == TG_RUNNING) { /* a pseudo-wait that really blocked, or a lost park */
			x->repairs += !g->pseudo;
			EV(x, g->m, ts, GTV_GO_BLOCK,
			   gtv__string(x->w, block_reason(capture__waitreason(x->cap,
									     g->pseudo_reason))),
			   trace_stack(x, g->pseudo ? g->pseudo_stack : 0));
			get_m(x, g->m)->g = 0;
			g->st = TG_WAITING;
			g->pseudo = false;
		}
		if (g->st != TG_WAITING) { /* already runnable, or in a syscall */
			x->repairs++;
			break;
		}
		EV(x, m->id, ts, GTV_GO_UNBLOCK, g->goid, ++g->seq, 0);
		g->st = TG_RUNNABLE;
		break;
	case GT_EV_PREEMPT:
	case GT_EV_YIELD:
		to_running(x, g, m, ts);
		if (h->flags & GT_F_GC_SUSPEND) {
			/* preemptPark: the runtime traces it as a block; resumeG's ready unblocks it */
			EV(x, m->id, ts, GTV_GO_BLOCK, x->s_preempted, 0);
			g->st = TG_WAITING;
			g->pseudo = false;
			m->g = 0;
			break;
		}
		EV(x, m->id, ts, GTV_GO_STOP,
		   h->type == GT_EV_YIELD ? x->s_gosched : x->s_preempted, 0);
		g->st = TG_RUNNABLE;
		g->pseudo = false;
		m->g = 0;
		break;
	case GT_EV_SYSCALL_ENTER:
		to_running(x, g, m, ts);
		if (!m->p)
			acquire_p(x, m, ts);
		EV(x, m->id, ts, GTV_GO_SYSCALL_BEGIN, ++m->p->seq, 0);
		m->p->st = GTV_P_SYSCALL;
		g->st = TG_SYSCALL;
		g->sys_p = true;
		break;
	case GT_EV_SYSCALL_EXIT: {
		bool to_runnable = h->flags & GT_F_TO_RUNNABLE;

		if (g->st == TG_NONE) { /* first sight: in a syscall since before the capture */
			if (m->g)
				free_m(x, m, ts);
			EV(x, m->id, ts, GTV_GO_STATUS, g->goid, m->id, GTV_G_SYSCALL);
			g->st = TG_SYSCALL;
			g->m = m->id;
			m->g = g->goid;
		}
		if (g->st == TG_SYSCALL && g->m == m->id) {
			syscall_end(x, g, m, ts, to_runnable);
			if (!to_runnable && g->st == TG_RUNNABLE)
				go_start(x, g, m, ts);
		} else if (!to_runnable) {
			x->repairs++;
			to_running(x, g, m, ts);
		} else {
			x->repairs++;
		}
		break;
	}
	case GT_EV_EXIT:
		to_running(x, g, m, ts);
		EV0(x, m->id, ts, GTV_GO_DESTROY);
		m->g = 0;
		u64map__del(&x->gs_, g->goid);
		free(g);
		break;
	case GT_EV_LABELS: /* one log per change, on the goroutine that made it */
		g->labels = ((const struct gt_ev_labels *)h)->labels;
		g->logged = true; /* a first sight must not log them twice */
		to_running(x, g, m, ts);
		log_labels(x, g, m, ts);
		break;
	}
}

static void handle(struct gt_gotrace *x, const struct gt_event_hdr *h);

/*
 * The capture's file order is the ring buffer's, per CPU nearly time order
 * but not across CPUs: a goroutine can be started on one CPU before its
 * creator's CREATE (written at newproc1's return) or its waker's UNPARK is
 * in the buffer.  So records pass through a short window, and an event
 * that needs a goroutine's creation or wake-up first pulls that record
 * forward from the window.
 */
#define LOOK 512
#define REC_MAX 128 /* every record type handled here is smaller */

struct look {
	uint8_t rec[LOOK][REC_MAX];
	bool done[LOOK];
	size_t head, n;
};

static void pull_forward(struct gt_gotrace *x, uint64_t goid, uint16_t type)
{
	struct look *l = x->look;

	for (size_t i = 0; i < l->n; i++) {
		size_t k = (l->head + i) % LOOK;
		const struct gt_event_hdr *h = (const void *)l->rec[k];

		if (l->done[k] || h->goid != goid)
			continue;
		if (h->type == GT_EV_PARK && type == GT_EV_UNPARK)
			return; /* a later wait's wake-up: this one's was lost */
		if (h->type != type)
			continue;
		l->done[k] = true;
		x->pulled++;
		handle(x, h);
		return;
	}
}

/*
 * The attach snapshot is read after the probes are on, so the file can
 * hold events from before its time after it.  Its entries wait until the
 * stream is SNAP_WAIT past them; a goroutine that had an event by then is
 * described by its events, not by the snapshot.
 */
#define SNAP_WAIT 50000000ULL /* ns */

static void flush_snaps(struct gt_gotrace *x, uint64_t now, bool all)
{
	size_t keep = 0;

	for (size_t i = 0; i < x->nsnaps; i++) {
		if (all || x->snaps[i].h.ts + SNAP_WAIT < now)
			on_snapshot(x, &x->snaps[i]); /* ignored when events came first */
		else
			x->snaps[keep++] = x->snaps[i];
	}
	if (keep != x->nsnaps) {
		u64map__free(&x->snapidx);
		memset(&x->snapidx, 0, sizeof(x->snapidx));
		for (size_t i = 0; i < keep; i++)
			if (u64map__put(&x->snapidx, x->snaps[i].h.goid, (void *)(uintptr_t)(i + 1)))
				x->err = -ENOMEM;
	}
	x->nsnaps = keep;
}

static void hold_snap(struct gt_gotrace *x, const struct gt_ev_snapshot *sn)
{
	if (x->nsnaps == x->capsnaps) {
		size_t n = x->capsnaps ? x->capsnaps * 2 : 64;
		struct gt_ev_snapshot *p = realloc(x->snaps, n * sizeof(*p));

		if (!p) {
			x->err = -ENOMEM;
			return;
		}
		x->snaps = p;
		x->capsnaps = n;
	}
	x->snaps[x->nsnaps++] = *sn;
	if (u64map__put(&x->snapidx, sn->h.goid, (void *)(uintptr_t)x->nsnaps))
		x->err = -ENOMEM;
}

static void handle(struct gt_gotrace *x, const struct gt_event_hdr *h)
{
	struct tm *m;
	struct tg *g;

	if (x->nsnaps && h->type != GT_EV_SNAPSHOT)
		flush_snaps(x, h->ts, false);
	switch (h->type) {
	case GT_EV_CREATE:
	case GT_EV_START ... GT_EV_LABELS:
	case GT_EV_WAIT_END:
		if (!h->goid || !(m = get_m(x, h->tid)))
			break;
		if (h->type == GT_EV_CREATE) {
			on_create(x, (const void *)h, m);
			break;
		}
		g = u64map__get(&x->gs_, h->goid);
		if (!g)
			pull_forward(x, h->goid, GT_EV_CREATE);
		else if (g && g->st == TG_WAITING && h->type == GT_EV_START)
			pull_forward(x, h->goid, GT_EV_UNPARK);
		on_transition(x, h, m);
		break;
	case GT_EV_SNAPSHOT:
		if (h->goid)
			hold_snap(x, (const void *)h);
		break;
	case GT_EV_LOSS:
		on_loss(x, (const void *)h);
		break;
	case GT_EV_GAP:
		on_gap(x, (const void *)h);
		break;
	}
}

/* The oldest record of the window leaves it (unless it was pulled forward). */
static void pop(struct gt_gotrace *x)
{
	struct look *l = x->look;
	size_t k = l->head;

	l->head = (l->head + 1) % LOOK;
	l->n--;
	if (!l->done[k])
		handle(x, (const void *)l->rec[k]);
}

static int on_event(struct gstate *gs, const struct gt_event_hdr *h)
{
	struct gt_gotrace *x = gs->arg;
	struct look *l = x->look;
	size_t k;

	switch (h->type) {
	case GT_EV_CREATE:
	case GT_EV_START ... GT_EV_LABELS:
	case GT_EV_WAIT_END:
	case GT_EV_SNAPSHOT:
	case GT_EV_LOSS:
	case GT_EV_GAP:
		break;
	default: /* definitions: the reader keeps them */
		return x->err;
	}
	if (h->size > REC_MAX) {
		x->err = -EBADMSG;
		return x->err;
	}
	if (l->n == LOOK)
		pop(x);
	k = (l->head + l->n++) % LOOK;
	memcpy(l->rec[k], h, h->size);
	l->done[k] = false;
	return x->err;
}

static void free_all(struct gt_gotrace *x)
{
	struct tp *p;

	for (size_t i = 0; x->ms.keys && i < x->ms.cap; i++)
		if (x->ms.keys[i]) {
			struct tm *m = x->ms.vals[i];

			if (m->p && m->p->st != GTV_P_IDLE)
				free(m->p);
			free(m);
		}
	for (size_t i = 0; x->gs_.keys && i < x->gs_.cap; i++)
		if (x->gs_.keys[i])
			free(x->gs_.vals[i]);
	while ((p = x->idle)) {
		x->idle = p->next_idle;
		free(p);
	}
	u64map__free(&x->ms);
	u64map__free(&x->gs_);
	u64map__free(&x->stacks);
	u64map__free(&x->pcstacks);
	u64map__free(&x->seen);
	u64map__free(&x->snapidx);
}

int export_gotrace(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	static const struct gs_ops ops = { .event = on_event };
	struct gt_gotrace x = { .cap = cap };
	uint64_t t0;
	int err;

	(void)o;
	err = gtv__open(&x.w, out);
	if (err)
		return err;
	x.s_labels_cat = gtv__string(x.w, "pprof.labels");
	x.s_loss_cat = gtv__string(x.w, "gtrace.loss");
	x.s_loss_region = gtv__string(x.w, "gtrace: records lost");
	x.s_loss_end = gtv__string(x.w, "gtrace: loss window ended");
	x.s_repair = gtv__string(x.w, "gtrace: transition not in the capture");
	x.s_preempted = gtv__string(x.w, "preempted");
	x.s_gosched = gtv__string(x.w, "runtime.Gosched");
	if (!(x.look = calloc(1, sizeof(*x.look)))) {
		gtv__close(x.w);
		return -ENOMEM;
	}
	gstate__init(&x.gs, cap, &ops, &x);
	err = gstate__process(&x.gs);
	while (!err && !x.err && x.look->n)
		pop(&x);
	if (!err && !x.err)
		flush_snaps(&x, 0, true);
	if (!err)
		err = x.err;
	t0 = x.gs.first_ts;
	if (!err) {
		if (!t0) { /* an empty capture: a valid trace with nothing in it */
			const char *m = capture__meta(cap, "clock.mono_ns");

			t0 = m ? strtoull(m, NULL, 10) : 1;
		}
		err = gtv__finish(x.w, t0, capture__wall_ns(cap, t0));
	}
	if (!err)
		pr_info("gotrace: %" PRIu64 " events, %" PRIu64 " goroutines, %" PRIu64
			" threads, %" PRIu64 " Ps (synthesized), %" PRIu64 " label logs, %" PRIu64
			" loss windows, %" PRIu64 " repairs\n",
			gtv__nevents(x.w), x.ngoroutines, x.ms.len, x.nps, x.nlogs,
			x.nloss, x.repairs);
	else if (err != -EIO)
		pr_err("gotrace: export failed: %s\n", strerror(-err));
	gstate__exit(&x.gs);
	free_all(&x);
	free(x.look);
	free(x.snaps);
	gtv__close(x.w);
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The goroutine state machine (gstate.h).  Each event names the state the
 * goroutine enters; the interval it leaves ends there whatever it was, so
 * a lost or reordered record costs one uncertain interval, never a stuck
 * goroutine.  A goroutine first seen mid-life gets the state its first
 * event implies (an unpark means it was waiting), clipped to the capture.
 * Also the goroutine filter the timeline exporters share (--goroutines).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "binary/go_funcs.h"
#include "capture/gstate.h"

static const char *const state_names[GS_NR_STATES] = {
	[GS_UNKNOWN] = "unknown", [GS_RUNNING] = "running", [GS_RUNNABLE] = "runnable",
	[GS_WAITING] = "waiting", [GS_SYSCALL] = "syscall", [GS_DEAD] = "dead",
};

const char *gs_state_name(enum gs_state s)
{
	return s < GS_NR_STATES ? state_names[s] : "?";
}

const char *gs_reason_name(struct gt_capture *cap, unsigned reason)
{
	const char *n = capture__waitreason(cap, reason);

	if (!reason && (!n || !*n || !strncmp(n, "waitreason ", 11)))
		return "(no reason)";
	return n;
}

const char *gs_func_name(struct gt_capture *cap, uint64_t pc)
{
	const char *f = pc ? capture__outer_func(cap, pc, 16) : NULL;

	return f ? f : "?";
}

static const struct gs_ops no_ops;

/* A wait reason's name from the capture, or from the live names. */
static const char *reason_name(const struct gstate *gs, unsigned r)
{
	if (gs->cap)
		return capture__waitreason(gs->cap, r);
	return gs->names.reason ? gs->names.reason(gs->names.arg, r) : NULL;
}

static int init(struct gstate *gs, struct gt_capture *cap, const struct gs_names *names,
		const struct gs_ops *ops, void *arg)
{
	memset(gs, 0, sizeof(*gs));
	gs->cap = cap;
	if (names)
		gs->names = *names;
	gs->ops = ops ? ops : &no_ops;
	gs->arg = arg;
	/* the value of waitReasonPreempted moves between versions: find it by name */
	for (unsigned r = 1; (cap || names) && r < 256; r++) {
		const char *n = reason_name(gs, r);

		if (n && !strcmp(n, "preempted")) {
			gs->reason_preempted = r;
			break;
		}
	}
	return 0;
}

int gstate__init(struct gstate *gs, struct gt_capture *cap, const struct gs_ops *ops, void *arg)
{
	return init(gs, cap, NULL, ops, arg);
}

int gstate__init_live(struct gstate *gs, const struct gs_names *names, const struct gs_ops *ops,
		      void *arg)
{
	return init(gs, NULL, names, ops, arg);
}

static void free_list(struct gs_g *g)
{
	while (g) {
		struct gs_g *n = g->next_free;

		free(g);
		g = n;
	}
}

void gstate__exit(struct gstate *gs)
{
	for (size_t i = 0; gs->gs.keys && i < gs->gs.cap; i++)
		if (gs->gs.keys[i])
			free(gs->gs.vals[i]);
	u64map__free(&gs->gs);
	free_list(gs->free);
	free(gs->loss);
	memset(gs, 0, sizeof(*gs));
}

struct gs_g *gstate__get(const struct gstate *gs, uint64_t goid)
{
	return goid ? u64map__get(&gs->gs, goid) : NULL;
}

/* A zeroed record for goid, recycled when possible; NULL on ENOMEM. */
static struct gs_g *new_g(struct gstate *gs, uint64_t goid)
{
	size_t sz = sizeof(struct gs_g) + gs->ops->priv_size;
	struct gs_g *g = gs->free;

	if (g)
		gs->free = g->next_free;
	else
		g = malloc(sz);
	if (!g)
		return NULL;
	memset(g, 0, sz);
	g->goid = goid;
	g->start_func = "?";
	if (u64map__put(&gs->gs, goid, g)) {
		free(g);
		return NULL;
	}
	return g;
}

static void drop_g(struct gstate *gs, struct gs_g *g)
{
	u64map__del(&gs->gs, g->goid);
	g->next_free = gs->free;
	gs->free = g;
}

static void set_start(struct gstate *gs, struct gs_g *g, uint64_t startpc)
{
	const char *n = NULL;

	g->startpc = startpc;
	if (gs->cap)
		n = gs_func_name(gs->cap, startpc);
	else if (startpc && gs->names.func)
		n = gs->names.func(gs->names.arg, startpc);
	g->start_func = n && *n ? n : "?";
	g->system = go_funcs__is_system(g->start_func);
}

/* Did [start, end] overlap a loss window, or did one arrive meanwhile? */
static bool crosses_loss(const struct gstate *gs, const struct gs_g *g, uint64_t end)
{
	size_t lim = gs->nloss > 64 ? gs->nloss - 64 : 0;

	if (gs->nloss > g->loss_seen)
		return true;
	/* windows come in time order: only the recent ones can overlap */
	for (size_t i = gs->nloss; i-- > lim;)
		if (gs->loss[i].start <= end && gs->loss[i].end >= g->since)
			return true;
	return false;
}

/* Ends g's current interval at ts (by event type end_ev) and reports it. */
static int close_iv(struct gstate *gs, struct gs_g *g, uint64_t ts, uint8_t end_ev,
		    uint64_t waker, bool mismatch)
{
	struct gs_interval iv = {
		.g = g,
		.goid = g->goid,
		.state = g->state,
		.reason = g->reason,
		.pseudo = g->pseudo,
		.clipped = g->clipped,
		.open = !end_ev,
		.start_ev = g->start_ev,
		.end_ev = end_ev,
		.start = g->since,
		.end = ts > g->since ? ts : g->since,
		.stack = g->stack,
		.labels = g->labels,
		.waker = waker,
		.tid = g->tid,
	};

	iv.uncertain = mismatch || crosses_loss(gs, g, iv.end);
	if (g->state == GS_RUNNING) {
		iv.woken_by = g->woken_by;
		iv.woken_ts = g->woken_ts;
		iv.first_run = !g->ran && g->created;
		g->ran = true;
		g->woken_by = g->woken_ts = 0;
	}
	if (g->state == GS_UNKNOWN || !gs->ops->interval)
		return 0;
	return gs->ops->interval(gs, &iv);
}

/* Begins the next interval. */
static void enter(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev,
		  enum gs_state s)
{
	g->state = s;
	g->since = ev->ts > g->since ? ev->ts : g->since;
	g->start_ev = ev->type;
	g->tid = ev->tid;
	g->clipped = false;
	g->loss_seen = gs->nloss;
	if (s != GS_WAITING)
		g->pseudo = false;
}

/*
 * The goroutine an event is about.  One never seen before existed before
 * the capture: it is given the state the event implies it was in (prior)
 * since the capture's first timestamp, flagged clipped.
 */
static struct gs_g *lookup(struct gstate *gs, const struct gt_event_hdr *ev, enum gs_state prior,
			   int *err)
{
	struct gs_g *g = u64map__get(&gs->gs, ev->goid);

	*err = 0;
	if (g)
		return g;
	g = new_g(gs, ev->goid);
	if (!g) {
		*err = -ENOMEM;
		return NULL;
	}
	g->state = prior;
	g->pseudo = ev->type == GT_EV_WAIT_END; /* it was in a GC pseudo-wait */
	g->since = gs->first_ts;
	g->created_ts = gs->first_ts;
	g->clipped = true;
	g->tid = ev->tid;
	gs->nr_guessed++;
	if (gs->ops->birth)
		*err = gs->ops->birth(gs, g, ev);
	return g;
}

static int on_create(struct gstate *gs, const struct gt_event_hdr *ev)
{
	const struct gt_ev_create *c = (const void *)ev;
	struct gs_g *g = u64map__get(&gs->gs, ev->goid);

	if (g) /* a stale record (goids are never reused): start afresh */
		drop_g(gs, g);
	g = new_g(gs, ev->goid);
	if (!g)
		return -ENOMEM;
	g->parent = c->parent;
	g->gopc = c->gopc;
	g->labels = c->labels;
	g->created = true;
	g->created_ts = ev->ts;
	g->since = ev->ts;
	set_start(gs, g, c->startpc);
	enter(gs, g, ev, ev->flags & GT_F_PARKED_CREATE ? GS_WAITING : GS_RUNNABLE);
	gs->nr_created++;
	return gs->ops->birth ? gs->ops->birth(gs, g, ev) : 0;
}

/* runtime _G* status -> state; -1 for goroutines that are not alive. */
static int status_state(uint32_t st)
{
	switch (st) {
	case GT_G_RUNNABLE:
	case GT_G_PREEMPTED:
		return GS_RUNNABLE;
	case GT_G_RUNNING:
	case GT_G_COPYSTACK:
		return GS_RUNNING;
	case GT_G_SYSCALL:
		return GS_SYSCALL;
	case GT_G_WAITING:
	case GT_G_LEAKED: /* 1.26+ leak detection: still blocked, now known forever */
		return GS_WAITING;
	default: /* idle, dead, dead on an extra M: not a live goroutine */
		return -1;
	}
}

static int on_snapshot(struct gstate *gs, const struct gt_event_hdr *ev)
{
	const struct gt_ev_snapshot *s = (const void *)ev;
	int st = status_state(s->status);
	struct gs_g *g;

	if (st < 0)
		return 0;
	g = u64map__get(&gs->gs, ev->goid);
	if (g) { /* events came first: only fill in what they could not say */
		if (!g->startpc)
			set_start(gs, g, s->startpc);
		g->parent = g->parent ? g->parent : s->parent;
		g->gopc = g->gopc ? g->gopc : s->gopc;
		/*
		 * A snapshot newer than what the events last said, across a gap
		 * or a loss (a --budget capture takes one as each slice starts),
		 * that disagrees with it: g changed while nothing was recorded.
		 * Its interval ends here, uncertain, and the snapshot's begins.
		 */
		if (g->state != GS_DEAD && ev->ts > g->since && crosses_loss(gs, g, ev->ts) &&
		    (st != (int)g->state ||
		     (st == GS_WAITING && (s->stack != g->stack || s->reason != g->reason)))) {
			int err = close_iv(gs, g, ev->ts, GT_EV_SNAPSHOT, 0, true);

			enter(gs, g, ev, st);
			g->labels = s->labels;
			g->reason = st == GS_WAITING ? s->reason : 0;
			g->stack = st == GS_WAITING ? s->stack : 0;
			gs->nr_resynced++;
			return err;
		}
		return 0;
	}
	g = new_g(gs, ev->goid);
	if (!g)
		return -ENOMEM;
	g->parent = s->parent;
	g->gopc = s->gopc;
	g->labels = s->labels;
	g->created_ts = ev->ts;
	set_start(gs, g, s->startpc);
	enter(gs, g, ev, st);
	g->clipped = true;
	if (st == GS_WAITING) {
		g->reason = s->reason;
		g->stack = s->stack;
	}
	/* after a gap: a goroutine born while no probe was attached */
	if (gs->ngaps)
		gs->nr_resynced++;
	else
		gs->nr_snapshot++;
	return gs->ops->birth ? gs->ops->birth(gs, g, ev) : 0;
}

static int on_loss(struct gstate *gs, const struct gt_event_hdr *ev)
{
	const struct gt_ev_loss *l = (const void *)ev;

	if (gs->nloss == gs->caploss) {
		size_t n = gs->caploss ? gs->caploss * 2 : 16;
		struct gs_loss *p = realloc(gs->loss, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		gs->loss = p;
		gs->caploss = n;
	}
	if (ev->type == GT_EV_GAP) {
		const struct gt_ev_gap *g = (const void *)ev;

		/* An interval across a gap is as unsure as one across a loss. */
		gs->loss[gs->nloss++] = (struct gs_loss){ ev->ts, g->end, 0 };
		gs->ngaps++;
		gs->gap_ns += g->end > ev->ts ? g->end - ev->ts : 0;
		gs->gap_est_events += g->est_events;
		return 0;
	}
	gs->loss[gs->nloss++] = (struct gs_loss){ ev->ts, l->end, l->lost };
	gs->lost += l->lost;
	return 0;
}

/* The state each transition expects the goroutine to be in. */
static const int8_t expect[GT_EV_MAX] = {
	[GT_EV_START] = GS_RUNNABLE,	 [GT_EV_PARK] = GS_RUNNING,
	[GT_EV_UNPARK] = GS_WAITING,	 [GT_EV_PREEMPT] = GS_RUNNING,
	[GT_EV_YIELD] = GS_RUNNING,	 [GT_EV_SYSCALL_ENTER] = GS_RUNNING,
	[GT_EV_SYSCALL_EXIT] = GS_SYSCALL, [GT_EV_EXIT] = GS_RUNNING,
	[GT_EV_WAIT_END] = GS_WAITING,	 [GT_EV_LABELS] = GS_RUNNING,
};

static int on_labels(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	uint64_t old = g->labels;

	g->labels = ((const struct gt_ev_labels *)ev)->labels;
	if (old == g->labels || !gs->ops->labels)
		return 0;
	return gs->ops->labels(gs, g, old, ev->ts);
}

static int on_goexit(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev, bool bad)
{
	int err = close_iv(gs, g, ev->ts, ev->type, 0, bad);

	g->state = GS_DEAD;
	gs->nr_exited++;
	if (!err && gs->ops->death)
		err = gs->ops->death(gs, g, ev);
	drop_g(gs, g);
	return err;
}

/* A state transition of an existing (or inferred) goroutine. */
static int on_transition(struct gstate *gs, const struct gt_event_hdr *ev)
{
	enum gs_state want = expect[ev->type], next;
	uint64_t waker = 0;
	struct gs_g *g;
	bool bad;
	int err;

	g = lookup(gs, ev, want, &err);
	if (!g)
		return err;
	if (err)
		return err;
	if (ev->type == GT_EV_LABELS)
		return on_labels(gs, g, ev);
	/* a start right after a wait is an unseen unpark (lost, or pre-1.x paths) */
	bad = g->state != want;
	if (ev->type == GT_EV_WAIT_END)
		bad = bad || !g->pseudo;
	gs->nr_bad += bad;
	if (ev->type == GT_EV_EXIT)
		return on_goexit(gs, g, ev, bad);

	switch (ev->type) {
	case GT_EV_START:
	case GT_EV_WAIT_END:
		next = GS_RUNNING;
		break;
	case GT_EV_PARK:
		next = GS_WAITING;
		break;
	case GT_EV_UNPARK:
		next = GS_RUNNABLE;
		waker = ((const struct gt_ev_unpark *)ev)->by;
		break;
	case GT_EV_SYSCALL_ENTER:
		next = GS_SYSCALL;
		break;
	case GT_EV_SYSCALL_EXIT:
		next = ev->flags & GT_F_TO_RUNNABLE ? GS_RUNNABLE : GS_RUNNING;
		break;
	case GT_EV_PREEMPT:
		/*
		 * preemptPark for the GC (suspendG): the goroutine is _Gpreempted,
		 * suspendG moves it to _Gwaiting (waitReasonPreempted) outside
		 * casgstatus, and resumeG's ready() is the unpark that ends it.
		 */
		next = ev->flags & GT_F_GC_SUSPEND ? GS_WAITING : GS_RUNNABLE;
		break;
	default: /* YIELD */
		next = GS_RUNNABLE;
		break;
	}
	err = close_iv(gs, g, ev->ts, ev->type, waker, bad);
	if (err)
		return err;
	enter(gs, g, ev, next);
	switch (ev->type) {
	case GT_EV_PARK: {
		const struct gt_ev_park *p = (const void *)ev;

		g->reason = p->reason;
		g->stack = p->stack;
		g->pseudo = ev->flags & GT_F_PSEUDO_WAIT;
		break;
	}
	case GT_EV_PREEMPT:
		g->stack = 0;
		if (next == GS_WAITING) { /* a GC pause, not the goroutine blocking */
			g->reason = gs->reason_preempted;
			g->pseudo = true;
		}
		break;
	case GT_EV_UNPARK:
		/* the park stack is where it resumes: keep it for the runnable wait */
		g->woken_by = waker;
		g->woken_ts = ev->ts;
		if (gs->ops->unpark)
			return gs->ops->unpark(gs, g, waker, ev->ts);
		break;
	default:
		g->stack = 0;
		break;
	}
	return 0;
}

int gstate__event(struct gstate *gs, const struct gt_event_hdr *ev)
{
	int err;

	gs->nr_events++;
	if (ev->ts) {
		if (!gs->first_ts || ev->ts < gs->first_ts)
			gs->first_ts = ev->ts;
		if (ev->ts > gs->last_ts)
			gs->last_ts = ev->ts;
	}
	if (gs->ops->event && (err = gs->ops->event(gs, ev)))
		return err;
	switch (ev->type) {
	case GT_EV_CREATE:
		return ev->goid ? on_create(gs, ev) : 0;
	case GT_EV_SNAPSHOT:
		return ev->goid ? on_snapshot(gs, ev) : 0;
	case GT_EV_LOSS:
		if (((const struct gt_ev_loss *)ev)->end > gs->last_ts)
			gs->last_ts = ((const struct gt_ev_loss *)ev)->end;
		return on_loss(gs, ev);
	case GT_EV_GAP:
		if (((const struct gt_ev_gap *)ev)->end > gs->last_ts)
			gs->last_ts = ((const struct gt_ev_gap *)ev)->end;
		return on_loss(gs, ev);
	case GT_EV_START ... GT_EV_LABELS:
	case GT_EV_WAIT_END:
		return ev->goid ? on_transition(gs, ev) : 0;
	default: /* definitions: the reader stored them */
		return 0;
	}
}

static int cmp_goid(const void *a, const void *b)
{
	uint64_t x = (*(struct gs_g *const *)a)->goid, y = (*(struct gs_g *const *)b)->goid;

	return x < y ? -1 : x > y;
}

int gstate__finish(struct gstate *gs, uint64_t ts)
{
	struct gs_g **all;
	size_t n = 0;
	int err = 0;

	if (!gs->gs.len)
		return 0;
	/* goid order, so every exporter's output is reproducible */
	all = malloc(gs->gs.len * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < gs->gs.cap; i++)
		if (gs->gs.keys[i])
			all[n++] = gs->gs.vals[i];
	qsort(all, n, sizeof(*all), cmp_goid);
	for (size_t i = 0; i < n && !err; i++) {
		err = close_iv(gs, all[i], ts, 0, 0, false);
		if (!err && gs->ops->death)
			err = gs->ops->death(gs, all[i], NULL);
	}
	for (size_t i = 0; i < n; i++)
		drop_g(gs, all[i]);
	free(all);
	return err;
}

struct gs_tool {
	struct gt_tool tool;
	struct gstate *gs;
};

static int tool_event(struct gt_tool *tool, struct gt_capture *cap, const struct gt_event_hdr *ev)
{
	return gstate__event(((struct gs_tool *)tool)->gs, ev);
}

int gstate__process(struct gstate *gs)
{
	struct gs_tool t = { .tool.event = tool_event, .gs = gs };
	int err = capture__process(gs->cap, &t.tool);

	if (err == -ECANCELED)
		return 0; /* the exporter had what it wanted */
	if (err && err != -EBADMSG)
		return err;
	/* a damaged file: report what was readable (the reader warned) */
	return gstate__finish(gs, gs->last_ts);
}

int gstate__foreach(struct gstate *gs, int (*fn)(struct gstate *gs, struct gs_g *g, void *arg),
		    void *arg)
{
	int err;

	for (size_t i = 0; gs->gs.keys && i < gs->gs.cap; i++)
		if (gs->gs.keys[i] && (err = fn(gs, gs->gs.vals[i], arg)))
			return err;
	return 0;
}

void gstate__snapshot_record(const struct gs_g *g, uint64_t ts, struct gt_ev_snapshot *out)
{
	static const uint32_t status[GS_NR_STATES] = {
		[GS_RUNNING] = GT_G_RUNNING,   [GS_RUNNABLE] = GT_G_RUNNABLE,
		[GS_WAITING] = GT_G_WAITING,   [GS_SYSCALL] = GT_G_SYSCALL,
		[GS_UNKNOWN] = GT_G_RUNNABLE, /* never left lookup's prior: not reached */
		[GS_DEAD] = GT_G_DEAD,
	};
	bool suspended = g->state == GS_WAITING && g->start_ev == GT_EV_PREEMPT;

	*out = (struct gt_ev_snapshot){
		.h = { .type = GT_EV_SNAPSHOT, .size = sizeof(*out), .ts = ts, .goid = g->goid },
		.parent = g->parent,
		.gopc = g->gopc,
		.startpc = g->startpc,
		.labels = g->labels,
		/* what the runtime itself says of a goroutine suspendG stopped for the GC */
		.status = suspended ? GT_G_PREEMPTED : g->state < GS_NR_STATES ? status[g->state] : 0,
		.stack = g->state == GS_WAITING && !suspended ? g->stack : 0,
		.reason = g->state == GS_WAITING && !suspended ? g->reason : 0,
	};
}

/* ---- goroutine filter ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_goids(struct gs_filter *f, const char *spec)
{
	size_t n = 1;
	const char *p;
	char *end;

	for (p = spec; *p; p++)
		n += *p == ',';
	f->goids = calloc(n, sizeof(*f->goids));
	if (!f->goids)
		return -ENOMEM;
	for (p = spec; *p;) {
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p || (*end && *end != ',') || !v) {
			pr_err("bad goroutine filter '%s': want label:KEY=VALUE or GOIDS\n", spec);
			return -EINVAL;
		}
		f->goids[f->ngoids++] = v;
		p = *end ? end + 1 : end;
	}
	qsort(f->goids, f->ngoids, sizeof(*f->goids), cmp_u64);
	return 0;
}

int gs_filter__parse(struct gs_filter *f, const char *spec)
{
	const char *eq;
	int err;

	memset(f, 0, sizeof(*f));
	if (!spec || !*spec) {
		f->any = true;
		return 0;
	}
	if (strncmp(spec, "label:", 6)) {
		err = parse_goids(f, spec);
		if (err)
			gs_filter__free(f);
		return err;
	}
	eq = strchr(spec + 6, '=');
	if (!eq || eq == spec + 6) {
		pr_err("bad goroutine filter '%s': want label:KEY=VALUE\n", spec);
		return -EINVAL;
	}
	f->key = spec + 6;
	f->klen = eq - f->key;
	f->val = eq + 1;
	return 0;
}

void gs_filter__free(struct gs_filter *f)
{
	free(f->goids);
	memset(f, 0, sizeof(*f));
}

bool gs_filter__match(const struct gs_filter *f, struct gt_capture *cap, const struct gs_g *g)
{
	if (f->any)
		return true;
	if (f->goids)
		return bsearch(&g->goid, f->goids, f->ngoids, sizeof(uint64_t), cmp_u64);
	return gs_filter__match_labels(f, g->labels ? capture__labelset(cap, g->labels) : NULL);
}

bool gs_filter__match_labels(const struct gs_filter *f, const struct gt_labelset *ls)
{
	if (!f->key)
		return false;
	for (uint32_t i = 0; ls && i < ls->count; i++)
		if (strlen(ls->keys[i]) == f->klen && !strncmp(ls->keys[i], f->key, f->klen) &&
		    !strcmp(ls->values[i], f->val))
			return true;
	return false;
}

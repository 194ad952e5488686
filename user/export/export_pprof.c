// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof exporter: gzipped perftools.profiles.Profile (user/proto/
 * profile.proto) for `go tool pprof`, Pyroscope and Parca.  Four profiles
 * from the goroutine state machine: offcpu (time waiting or in syscalls
 * per park stack), schedlat (time runnable), goroutine (who is alive at a
 * time) and lifetime (goroutine lifetimes by creation site); two more with
 * the CPU samples of `record --cpu`: cpu (like Go's own CPU profile, plus
 * goid and labels) and wall (cpu + off-CPU + runnable, so a goroutine's or
 * a label's time adds up to where it went).  Samples are
 * aggregated while streaming, so memory follows distinct (stack, labels,
 * state, goroutine) keys, never the event count; the profile is built (by
 * pprof_builder) and written once at the end, as every pprof writer must.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "lib/clock.h"
#include "export/export.h"
#include "capture/gstate.h"
#include "export/pprof_builder.h"

/* Aggregation key words. */
enum { K_STACK, K_LABELS, K_STATE, K_GOID, K_GOPC, K_STARTPC };
/* CPU samples: K_GOPC holds the kernel stack, STATE_WORD's reason the gt_cpu_kind. */
#define K_KSTACK K_GOPC

#define STATE_WORD(state, reason, cause) \
	((uint64_t)(state) | (uint64_t)(reason) << 8 | (uint64_t)(cause) << 16)
#define MAX_FRAMES 32
/* a goroutine's own labels and at most 8 of gtrace's (see fill_labels) */
#define MAX_LABELS (8 + GT_LABEL_MAX)

struct pp {
	struct gt_capture *cap;
	const struct gt_export_opts *o;
	struct gstate gs;
	struct gs_agg agg;
	uint64_t at_ts; /* goroutine profile: the time it describes */
	bool at_taken;
	struct pprof_builder *b; /* the profile, while emitting */
	/* labels every sample carries */
	const char *az, *host;
	double scale; /* record --budget: span / time the probes were on (1: not sliced) */
	uint64_t cpu_samples;
	/*
	 * wall: CPU sampled per goid, not yet set against its running time
	 * (by goid alone: label set ids of the attach snapshot and of the
	 * probes need not be equal for equal sets).
	 */
	struct gs_agg sampled;
	/* GAP windows (probes off), in time order: their time is cut out of delays */
	struct { uint64_t start, end; } *gaps;
	size_t ngaps, capgaps;
};

/* wall: a running interval (reason byte), the part of it the samples did not cover. */
#define RUN_INTERVAL 0xff

/* ---- collecting ---- */

static int add(struct pp *p, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3, uint64_t k4,
	       uint64_t k5, uint64_t v)
{
	uint64_t k[GS_AGG_WORDS] = { k0, k1, k2, k3, k4, k5 };

	return gs_agg__add(&p->agg, k, v) ? 0 : -ENOMEM;
}

/*
 * The part of [start, end) that fell in gaps.  A sliced capture saw only
 * the slices: a wait that spans a gap is counted for the time the probes
 * watched it, and the whole profile is scaled up by the duty cycle after,
 * so a goroutine parked across many gaps is not counted once in full and
 * then scaled again.
 */
static uint64_t gap_overlap(const struct pp *p, uint64_t start, uint64_t end)
{
	uint64_t n = 0;

	/* gaps come in time order: walk back from the newest until they end before start */
	for (size_t i = p->ngaps; i-- > 0 && p->gaps[i].end > start;) {
		uint64_t lo = p->gaps[i].start > start ? p->gaps[i].start : start;
		uint64_t hi = p->gaps[i].end < end ? p->gaps[i].end : end;

		if (hi > lo)
			n += hi - lo;
	}
	return n;
}

static int note_gap(struct pp *p, const struct gt_event_hdr *ev)
{
	const struct gt_ev_gap *g = (const void *)ev;

	if (ev->size < sizeof(*g) || g->end <= ev->ts)
		return 0;
	if (p->ngaps == p->capgaps) {
		size_t n = p->capgaps ? p->capgaps * 2 : 16;
		void *q = realloc(p->gaps, n * sizeof(*p->gaps));

		if (!q)
			return -ENOMEM;
		p->gaps = q;
		p->capgaps = n;
	}
	/* kept in time order (a writer may add an earlier one last: the agent's lead-in gap) */
	size_t i = p->ngaps++;

	for (; i > 0 && p->gaps[i - 1].start > ev->ts; i--)
		p->gaps[i] = p->gaps[i - 1];
	p->gaps[i].start = ev->ts;
	p->gaps[i].end = g->end;
	return 0;
}

static int on_interval(struct gstate *gs, const struct gs_interval *iv)
{
	struct pp *p = gs->arg;
	uint64_t d = iv->end - iv->start;

	if (p->ngaps && (p->o->profile == GT_PROFILE_OFFCPU || p->o->profile == GT_PROFILE_SCHEDLAT)) {
		uint64_t off = gap_overlap(p, iv->start, iv->end);

		if (off >= d)
			return 0; /* never seen while the probes were on */
		d -= off;
	}

	switch (p->o->profile) {
	case GT_PROFILE_OFFCPU:
		/* pseudo-waits are the GC stopping a running goroutine: not blocking */
		if ((iv->state == GS_WAITING && !iv->pseudo) || iv->state == GS_SYSCALL)
			return add(p, iv->stack, iv->labels, STATE_WORD(iv->state, iv->reason, 0),
				   iv->goid, 0, 0, d);
		return 0;
	case GT_PROFILE_WALL:
		/*
		 * Running time comes from the CPU samples, with their stacks; what
		 * the transitions say was running beyond that (the thread off CPU,
		 * or sampling error) is added per goroutine when writing.
		 */
		if (iv->state == GS_RUNNING)
			return add(p, 0, iv->labels, STATE_WORD(GS_RUNNING, RUN_INTERVAL, 0),
				   iv->goid, 0, 0, d);
		if ((iv->state == GS_WAITING && !iv->pseudo) || iv->state == GS_SYSCALL)
			return add(p, iv->stack, iv->labels, STATE_WORD(iv->state, iv->reason, 0),
				   iv->goid, 0, 0, d);
		/* fall through */
	case GT_PROFILE_SCHEDLAT:
		if (iv->state == GS_RUNNABLE)
			return add(p, iv->start_ev == GT_EV_UNPARK ? iv->stack : 0, iv->labels,
				   STATE_WORD(iv->state, 0, iv->start_ev), iv->goid, 0, 0, d);
		return 0;
	default:
		return 0;
	}
}

/* One goroutine alive at the profile's time. */
static int take_alive(struct gstate *gs, struct gs_g *g, void *arg)
{
	struct pp *p = arg;
	bool waiting = g->state == GS_WAITING;

	if (g->state == GS_DEAD || g->state == GS_UNKNOWN)
		return 0;
	return add(p, waiting ? g->stack : 0, g->labels,
		   STATE_WORD(g->state, waiting ? g->reason : 0, 0), 0, g->gopc, g->startpc, 1);
}

/* One CPU sample: running, in its stacks, with what the thread ran as the reason byte. */
static int take_sample(struct pp *p, const struct gt_event_hdr *ev)
{
	const struct gt_ev_cpu_sample *c = (const void *)ev;

	if (ev->size < sizeof(*c))
		return 0;
	p->cpu_samples++;
	if (p->o->profile == GT_PROFILE_WALL) {
		uint64_t k[GS_AGG_WORDS] = { ev->goid };

		if (!gs_agg__add(&p->sampled, k, c->period_ns))
			return -ENOMEM;
	}
	return add(p, c->stack, c->labels, STATE_WORD(GS_RUNNING, c->kind, 0), ev->goid,
		   c->kstack, 0, c->period_ns);
}

static int on_event(struct gstate *gs, const struct gt_event_hdr *ev)
{
	struct pp *p = gs->arg;
	int err;

	if (ev->type == GT_EV_GAP)
		return note_gap(p, ev);
	if (ev->type == GT_EV_CPU_SAMPLE &&
	    (p->o->profile == GT_PROFILE_CPU || p->o->profile == GT_PROFILE_WALL))
		return take_sample(p, ev);
	if (p->o->profile != GT_PROFILE_GOROUTINE || !p->o->at_ns || p->at_taken ||
	    ev->ts <= (uint64_t)p->o->at_ns || !ev->goid)
		return 0;
	p->at_taken = true;
	p->at_ts = p->o->at_ns;
	err = gstate__foreach(gs, take_alive, p);
	return err ? err : -ECANCELED;
}

static int on_birth(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	g->priv[0] = g->labels; /* lifetime: labels at creation */
	return 0;
}

static int on_death(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	struct pp *p = gs->arg;
	uint64_t end = ev ? ev->ts : gs->last_ts;

	if (p->o->profile == GT_PROFILE_GOROUTINE && !ev && !p->at_taken)
		return take_alive(gs, g, p);
	if (p->o->profile != GT_PROFILE_LIFETIME || !g->created)
		return 0; /* a lifetime needs its start */
	return add(p, 0, g->priv[0], STATE_WORD(ev ? GS_DEAD : g->state, 0, 0), 0, g->gopc,
		   g->startpc, end > g->created_ts ? end - g->created_ts : 0);
}

/* ---- locations ---- */

/*
 * Location of a return address: symbolized at pc-1 (inside the call), each
 * inlined frame its own Line.  A park stack's first PC is g.sched.pc,
 * itself a return address: same rule.  Symbolizing is the costly part, so
 * only addresses new to the profile are symbolized.
 */
static uint64_t pc_loc(struct pp *p, uint64_t ret)
{
	uint64_t pc = ret ? ret - 1 : 0, id = pprof_builder__find(p->b, pc);
	struct gt_frame f[MAX_FRAMES];

	if (id)
		return id;
	return pprof_builder__location(p->b, pc, f, capture__symbolize(p->cap, pc, f, MAX_FRAMES));
}

/* The function at an exact PC (a start PC): no return-address adjustment. */
static uint64_t func_loc(struct pp *p, uint64_t pc)
{
	return pc ? pc_loc(p, pc + 1) : pprof_builder__pseudo(p->b, "[unknown function]");
}

static int stack_locs(struct pp *p, uint64_t stack, uint64_t *ids, int max)
{
	const struct gt_stack *st = stack ? capture__stack(p->cap, stack) : NULL;
	int n = 0;

	for (uint32_t i = 0; st && i < st->nr && n < max; i++)
		if ((ids[n] = pc_loc(p, st->pcs[i])))
			n++;
	if (st && st->truncated && n < max)
		ids[n++] = pprof_builder__pseudo(p->b, "[truncated]");
	return n;
}

/* A CPU sample's locations: kernel frames, "[cgo]" for C code, then the Go stack. */
static int sample_stack(struct pp *p, const struct gs_agg_ent *e, uint64_t *ids)
{
	unsigned kind = e->k[K_STATE] >> 8 & 0xff;
	int n = stack_locs(p, e->k[K_KSTACK], ids, GT_STACK_MAX / 2);

	if (kind == GT_CPU_CGO)
		ids[n++] = pprof_builder__pseudo(p->b, "[cgo]");
	n += stack_locs(p, e->k[K_STACK], ids + n, GT_STACK_MAX);
	if (!n)
		ids[n++] = pprof_builder__pseudo(p->b, "[unknown stack]");
	return n;
}

/* The locations of one sample, leaf first. */
static int sample_locs(struct pp *p, const struct gs_agg_ent *e, uint64_t *ids)
{
	unsigned state = e->k[K_STATE] & 0xff, cause = e->k[K_STATE] >> 16 & 0xff;
	char name[64];
	int n;

	if (p->o->profile == GT_PROFILE_LIFETIME) {
		ids[0] = func_loc(p, e->k[K_STARTPC]);
		ids[1] = e->k[K_GOPC] ? pc_loc(p, e->k[K_GOPC]) :
					pprof_builder__pseudo(p->b, "[runtime]");
		return 2;
	}
	if (p->o->profile == GT_PROFILE_WALL && state == GS_RUNNING &&
	    (e->k[K_STATE] >> 8 & 0xff) == RUN_INTERVAL) {
		ids[0] = pprof_builder__pseudo(p->b, "[running, not on CPU]");
		return 1;
	}
	if ((p->o->profile == GT_PROFILE_CPU || p->o->profile == GT_PROFILE_WALL) &&
	    state == GS_RUNNING)
		return sample_stack(p, e, ids);
	n = stack_locs(p, e->k[K_STACK], ids, GT_STACK_MAX);
	if (n)
		return n;
	/* no park stack (syscall, running, preempted): say what we know */
	if (p->o->profile == GT_PROFILE_SCHEDLAT)
		snprintf(name, sizeof(name), "[runnable after %s]", capture__event_name(cause));
	else
		snprintf(name, sizeof(name), "[%s]", gs_state_name(state));
	ids[n++] = pprof_builder__pseudo(p->b, name);
	if (p->o->profile == GT_PROFILE_GOROUTINE)
		ids[n++] = func_loc(p, e->k[K_STARTPC]);
	return n;
}

/* ---- labels ---- */

struct labels {
	struct pprof_label l[MAX_LABELS];
	int n;
};

static void lab_str(struct labels *L, const char *k, const char *v)
{
	/* pprof drops empty strings anyway */
	if (v && *v && L->n < MAX_LABELS)
		L->l[L->n++] = (struct pprof_label){ .key = k, .value = v };
}

static void lab_num(struct labels *L, const char *k, int64_t v, const char *unit)
{
	/* with a unit pprof keeps even num 0 */
	if (L->n < MAX_LABELS)
		L->l[L->n++] = (struct pprof_label){ .key = k, .num = v, .unit = unit };
}

static void creation_site(struct pp *p, uint64_t gopc, char *buf, size_t len)
{
	struct gt_frame f[MAX_FRAMES];
	int n = gopc ? capture__symbolize(p->cap, gopc - 1, f, MAX_FRAMES) : 0;

	if (n > 0)
		snprintf(buf, len, "%s %s:%d", f[0].func, f[0].file, f[0].line);
	else
		snprintf(buf, len, gopc ? "0x%" PRIx64 : "runtime", gopc);
}

/* The sample's labels; their strings (site among them) must outlive the sample's adding. */
static void fill_labels(struct pp *p, const struct gs_agg_ent *e, struct labels *L, char *site,
			size_t sitelen)
{
	uint64_t lid = e->k[K_LABELS];
	const struct gt_labelset *ls = lid ? capture__labelset(p->cap, lid) : NULL;
	unsigned state = e->k[K_STATE] & 0xff, reason = e->k[K_STATE] >> 8 & 0xff;
	unsigned cause = e->k[K_STATE] >> 16 & 0xff;

	if (p->o->profile != GT_PROFILE_LIFETIME && p->o->profile != GT_PROFILE_CPU)
		lab_str(L, "state", gs_state_name(state));
	if (p->o->profile >= GT_PROFILE_CPU && state == GS_RUNNING && reason != RUN_INTERVAL)
		lab_str(L, "code", capture__cpu_kind(reason));
	if (state == GS_WAITING)
		lab_str(L, "wait_reason", gs_reason_name(p->cap, reason));
	if (p->o->profile == GT_PROFILE_SCHEDLAT)
		lab_str(L, "cause", capture__event_name(cause));
	if (p->o->profile == GT_PROFILE_LIFETIME)
		lab_str(L, "exited", state == GS_DEAD ? "true" : "false");
	if (p->o->profile < GT_PROFILE_CPU &&
	    (e->k[K_GOPC] || p->o->profile >= GT_PROFILE_GOROUTINE)) {
		creation_site(p, e->k[K_GOPC], site, sitelen);
		lab_str(L, "created_by", site);
	}
	for (uint32_t i = 0; ls && i < ls->count; i++)
		lab_str(L, ls->keys[i], ls->values[i]);
	lab_str(L, "az", p->az);
	lab_str(L, "host", p->host);
	if (e->k[K_GOID])
		lab_num(L, "goid", e->k[K_GOID], "goid");
}

static int add_sample(struct pp *p, const struct gs_agg_ent *e)
{
	uint64_t ids[GT_STACK_MAX * 2 + 2];
	unsigned state = e->k[K_STATE] & 0xff;
	/*
	 * The goroutine profile has count only; a sliced capture's delays are
	 * scaled up.  CPU samples are never sliced (wall does not scale either).
	 */
	double sc = p->o->profile >= GT_PROFILE_CPU ? 1 : p->scale;
	int64_t values[4] = { (int64_t)(e->count * sc + 0.5), (int64_t)(e->sum * sc + 0.5) };
	struct labels L = { .n = 0 };
	char site[512];
	int n = sample_locs(p, e, ids);

	if (p->o->profile == GT_PROFILE_WALL && state == GS_RUNNING &&
	    (e->k[K_STATE] >> 8 & 0xff) == RUN_INTERVAL) {
		uint64_t k[GS_AGG_WORDS] = { e->k[K_GOID] };
		struct gs_agg_ent *s = gs_agg__add(&p->sampled, k, 0);
		uint64_t seen = s ? s->sum : 0;

		/* the samples cover this much of the goroutine's running time */
		if (s)
			s->sum = seen > e->sum ? seen - e->sum : 0;
		if (e->sum <= seen)
			return 0;
		values[0] = e->sum - seen;
		values[1] = values[2] = values[3] = 0;
		fill_labels(p, e, &L, site, sizeof(site));
		return pprof_builder__sample(p->b, ids, n, values, L.l, L.n);
	}
	if (p->o->profile == GT_PROFILE_WALL) {
		/* wall = cpu + offcpu + runnable: one column per part, the row in one */
		values[0] = e->sum;
		values[1] = state == GS_RUNNING ? e->sum : 0;
		values[2] = state == GS_WAITING || state == GS_SYSCALL ? e->sum : 0;
		values[3] = state == GS_RUNNABLE ? e->sum : 0;
	}
	fill_labels(p, e, &L, site, sizeof(site));
	return pprof_builder__sample(p->b, ids, n, values, L.l, L.n);
}

/* ---- profile header ---- */

static const struct kind {
	const char *name;
	const char *types[4]; /* sample types, their units in units[] */
	const char *units[4];
	const char *period; /* period type, in counts */
	const char *dflt;   /* default sample type, NULL: the only one */
} kinds[] = {
	[GT_PROFILE_OFFCPU] = { "offcpu", { "events", "delay" }, { "count", "nanoseconds" },
				"trace", "delay" },
	[GT_PROFILE_SCHEDLAT] = { "schedlat", { "events", "delay" }, { "count", "nanoseconds" },
				  "trace", "delay" },
	[GT_PROFILE_GOROUTINE] = { "goroutine", { "goroutine" }, { "count" }, "goroutine", NULL },
	[GT_PROFILE_LIFETIME] = { "lifetime", { "goroutines", "lifetime" },
				  { "count", "nanoseconds" }, "goroutines", "lifetime" },
	/* as Go's own CPU profile: samples/count, cpu/nanoseconds, period cpu/ns */
	[GT_PROFILE_CPU] = { "cpu", { "samples", "cpu" }, { "count", "nanoseconds" }, "cpu",
			     "cpu" },
	[GT_PROFILE_WALL] = { "wall", { "wall", "cpu", "offcpu", "runnable" },
			      { "nanoseconds", "nanoseconds", "nanoseconds", "nanoseconds" },
			      "wall", "wall" },
};

static int set_types(struct pp *p)
{
	const struct kind *k = &kinds[p->o->profile];
	int err = 0;

	const char *period = capture__meta(p->cap, "record.cpu_period_ns");

	for (int i = 0; i < 4 && k->types[i] && !err; i++)
		err = pprof_builder__sample_type(p->b, k->types[i], k->units[i]);
	if (p->o->profile == GT_PROFILE_CPU)
		pprof_builder__period(p->b, "cpu", "nanoseconds", period ? atoll(period) : 0);
	else if (p->o->profile == GT_PROFILE_WALL)
		pprof_builder__period(p->b, "wall", "nanoseconds", 1);
	else
		pprof_builder__period(p->b, k->period, "count", 1);
	if (k->dflt)
		pprof_builder__default_type(p->b, k->dflt);
	return err;
}

static void add_comment(struct pp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_comment(struct pp *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pprof_builder__comment(p->b, buf);
}

static void loss_comment(const char *k, const char *v, void *arg)
{
	if (!strncmp(k, "loss.", 5) && strcmp(k, "loss.total") && strcmp(v, "0"))
		add_comment(arg, "%s=%s", k, v);
}

static const char *meta_lookup(const void *cap, const char *key)
{
	return capture__meta(cap, key);
}

static void header_comments(struct pp *p)
{
	struct gt_clock_map cm;
	char line[128];
	const char *err = capture__meta(p->cap, "clock.error_ns");
	const char *sync = capture__meta(p->cap, "clock.sync");
	const char *loss = capture__meta(p->cap, "loss.total");

	add_comment(p, "gtrace %s profile", kinds[p->o->profile].name);
	if (p->o->profile >= GT_PROFILE_CPU)
		add_comment(p, "cpu samples=%" PRIu64 " at %s Hz per CPU", p->cpu_samples,
			    capture__meta(p->cap, "record.cpu_hz") ?: "?");
	add_comment(p, "clock.error_ns=%s clock.sync=%s", err ? err : "unknown",
		    sync ? sync : "unknown");
	if (!clock__from_meta(&cm, "clock", meta_lookup, p->cap))
		add_comment(p, "%s", clock__describe(&cm, line, sizeof(line)));
	if (p->az)
		add_comment(p, "az=%s", p->az);
	if (p->host)
		add_comment(p, "host=%s", p->host);
	add_comment(p, "loss.total=%s", loss ? loss : "0");
	capture__meta_foreach(p->cap, loss_comment, p);
	if (p->gs.lost)
		add_comment(p, "loss windows in events: %" PRIu64 " records", p->gs.lost);
	if (!capture__complete(p->cap))
		add_comment(p, "capture incomplete (no trailer): totals cover what was written");
	if (p->gs.ngaps) {
		uint64_t span = p->o->span_hi ? p->o->span_hi - p->o->span_lo :
						p->gs.last_ts - p->gs.first_ts;

		add_comment(p, "sliced capture (record --budget, agent --budget): probes off in %"
			       PRIu64 " gaps, %.3f s of %.3f s; values scaled x%.2f to the whole "
			       "span (delays count the time seen while the probes were on)",
			    p->gs.ngaps, p->gs.gap_ns / 1e9, span / 1e9, p->scale);
	}
	/* a window the agent cut says its duty cycle even when the probes never went off */
	if (p->gs.ngaps || p->o->span_hi)
		add_comment(p, "duty cycle %.4g", p->scale > 0 ? 1 / p->scale : 1);
}

/* ---- writing ---- */

static int build(struct pp *p)
{
	uint64_t t0 = p->o->span_hi ? p->o->span_lo : p->gs.first_ts;
	uint64_t t1 = p->o->span_hi ? p->o->span_hi : p->gs.last_ts;
	int err = set_types(p);

	p->scale = 1;
	/* Only the profiles of delays over time are scaled; a goroutine profile is an instant. */
	if (p->gs.ngaps && t1 > t0 + p->gs.gap_ns &&
	    (p->o->profile == GT_PROFILE_OFFCPU || p->o->profile == GT_PROFILE_SCHEDLAT))
		p->scale = (double)(t1 - t0) / (t1 - t0 - p->gs.gap_ns);

	header_comments(p);
	/* the target binary, spanning the PCs seen; frames come symbolized */
	pprof_builder__mapping(p->b, 0, 0,
			       capture__meta(p->cap, "target.exe") ?:
				       capture__meta(p->cap, "target.comm"),
			       capture__meta(p->cap, "target.build_id"));
	for (size_t i = 0; i < p->agg.len && !err; i++)
		err = add_sample(p, &p->agg.ents[i]);
	if (p->o->profile == GT_PROFILE_GOROUTINE && p->at_taken)
		t0 = t1 = p->at_ts;
	if (p->o->span_hi)
		pprof_builder__time(p->b, p->o->time_ns, p->o->dur_ns ? p->o->dur_ns : (int64_t)(t1 - t0));
	else
		pprof_builder__time(p->b, t0 ? capture__wall_ns(p->cap, t0) : 0, t1 - t0);
	return err;
}

static int emit(struct pp *p, FILE *out)
{
	int err;

	p->b = pprof_builder__new();
	if (!p->b)
		return -ENOMEM;
	err = build(p);
	if (!err)
		err = pprof_builder__write(p->b, out);
	pprof_builder__free(p->b);
	p->b = NULL;
	return err;
}

int export_pprof(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	static const struct gs_ops ops = {
		.priv_size = sizeof(uint64_t),
		.event = on_event,
		.birth = on_birth,
		.interval = on_interval,
		.death = on_death,
	};
	struct pp p = { .cap = cap, .o = o };
	int err;

	if ((o->profile == GT_PROFILE_CPU || o->profile == GT_PROFILE_WALL) &&
	    !capture__meta(cap, "record.cpu_hz")) {
		pr_err("this capture has no CPU samples: record it with 'gtrace record --cpu'\n");
		return -EINVAL;
	}
	p.az = capture__meta(cap, "az");
	p.host = capture__meta(cap, "host.name");
	gstate__init(&p.gs, cap, &ops, &p);
	err = gstate__process(&p.gs);
	if (!err)
		err = emit(&p, out);
	else
		pr_err("pprof: reading the capture failed: %s\n", strerror(-err));
	gstate__exit(&p.gs);
	gs_agg__free(&p.agg);
	gs_agg__free(&p.sampled);
	free(p.gaps);
	return err;
}

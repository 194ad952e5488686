// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timeline driver (timeline.h).  Per goroutine it keeps three bits: track
 * declared, matched the filter (sticky: once a goroutine's labels match,
 * it stays in), and dropped-counted.  A flow is drawn only when its target
 * slice is being written and its source goroutine is alive and kept, so
 * every flow written has both ends.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "export/timeline.h"

enum { P_FLAGS, P_BACKEND = TL_PRIV_BACKEND, P_N };
#define F_TRACK 0x1
#define F_MATCH 0x2

static bool kept(struct tl *t, struct gs_g *g)
{
	if (g->priv[P_FLAGS] & F_MATCH)
		return true;
	if (gs_filter__match(&t->filter, t->cap, g))
		g->priv[P_FLAGS] |= F_MATCH;
	return g->priv[P_FLAGS] & F_MATCH;
}

/* "G<goid> <start func>", by hand: a spawn storm names a track every few events */
void tl_track_name(const struct gs_g *g, char *name, size_t size)
{
	char d[24];
	size_t n = 0, k = 0, f;
	uint64_t v = g->goid;

	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10));
	name[n++] = 'G';
	while (k)
		name[n++] = d[--k];
	if (tl_start_known(g)) { /* else first seen mid-life: no start PC */
		f = strlen(g->start_func);
		if (f > size - n - 2)
			f = size - n - 2;
		name[n++] = ' ';
		memcpy(name + n, g->start_func, f);
		n += f;
	}
	name[n] = 0;
}

static int ensure_track(struct tl *t, struct gs_g *g)
{
	if (g->priv[P_FLAGS] & F_TRACK)
		return 0;
	g->priv[P_FLAGS] |= F_TRACK;
	t->ntracks++;
	return t->ops->track(t, g);
}

/* The goroutine's labels as arguments; returns how many were added. */
static int label_args(struct tl *t, uint64_t labels, struct tl_arg *a, int max)
{
	const struct gt_labelset *ls = labels ? capture__labelset(t->cap, labels) : NULL;
	int n = 0;

	for (uint32_t i = 0; ls && i < ls->count && n < max; i++)
		a[n++] = (struct tl_arg){ ls->keys[i], ls->values[i], 0 };
	return n;
}

const char *tl_process_name(struct tl *t)
{
	const char *n;

	if (t->proc_name)
		return t->proc_name;
	n = capture__meta(t->cap, "target.exe");
	if (!n)
		n = capture__meta(t->cap, "target.comm");
	if (n && strrchr(n, '/'))
		n = strrchr(n, '/') + 1; /* the UI has room for a name, not a path */
	return n && *n ? n : "go";
}

static const char *stack_text(struct tl *t, uint64_t stack, char *buf, size_t len)
{
	const struct gt_stack *st = stack ? capture__stack(t->cap, stack) : NULL;
	struct gt_frame f[16];
	size_t off = 0;

	buf[0] = 0;
	for (uint32_t i = 0; st && i < st->nr && off + 1 < len; i++) {
		int n = capture__symbolize(t->cap, st->pcs[i] - 1, f, 16);

		if (n <= 0)
			off += snprintf(buf + off, len - off, "0x%" PRIx64 "\n", st->pcs[i]);
		for (int j = 0; j < n && off + 1 < len; j++)
			off += snprintf(buf + off, len - off, "%s %s:%d\n", f[j].func, f[j].file,
					f[j].line);
	}
	if (off && off < len)
		buf[off - 1] = 0; /* no trailing newline */
	return buf;
}

const char *tl_stack_text(struct tl *t, uint64_t stack)
{
	char buf[4096], *s = u64map__get(&t->stacks, stack);

	if (s)
		return s;
	s = strdup(stack_text(t, stack, buf, sizeof(buf)));
	if (!s || u64map__put(&t->stacks, stack, s)) {
		free(s);
		return "";
	}
	return s;
}

/*
 * A slice's name: the state, or the wait with its reason.  Waits are named
 * once per reason and kept (names[]), since every exporter asks per slice.
 */
static const char *slice_name(struct tl *t, const struct gs_interval *iv)
{
	char buf[128], **slot;

	if (iv->state != GS_WAITING)
		return gs_state_name(iv->state);
	slot = &t->names[iv->pseudo][iv->reason];
	if (!*slot) {
		snprintf(buf, sizeof(buf), "%s: %s", iv->pseudo ? "GC pause" : "waiting",
			 gs_reason_name(t->cap, iv->reason));
		*slot = strdup(buf);
		if (!*slot)
			return "waiting";
	}
	return *slot;
}

/* The source end of a flow into g's run: an instant on the creator's or waker's track. */
static int flow_source(struct tl *t, uint64_t from, uint64_t to, uint64_t ts, bool create,
		       uint64_t *flow)
{
	struct gs_g *src = gstate__get(&t->gs, from);
	struct tl_arg a = { "goid", NULL, to };
	int err;

	*flow = 0;
	if (!src || !kept(t, src)) {
		t->dropped_flows += !!src;
		return 0;
	}
	err = ensure_track(t, src);
	if (err)
		return err;
	*flow = ++t->next_flow;
	t->ninstants++;
	t->nflows++;
	/* one name per kind (formats intern it); the goid argument says whom */
	return t->ops->instant(t, from, src->tid, ts, create ? "create" : "wake", &a, 1, *flow);
}

static int on_interval(struct gstate *gs, const struct gs_interval *iv)
{
	struct tl *t = gs->arg;
	struct gs_g *g = (struct gs_g *)iv->g;
	struct tl_arg args[TL_MAX_ARGS];
	uint64_t flow = 0;
	int n, err;

	if (!kept(t, g))
		return 0;
	if (iv->end - iv->start < t->o->min_duration_ns) {
		t->dropped_short++;
		return 0;
	}
	err = ensure_track(t, g);
	if (!err && iv->state == GS_RUNNING && iv->first_run && g->parent)
		err = flow_source(t, g->parent, g->goid, g->created_ts, true, &flow);
	else if (!err && iv->state == GS_RUNNING && iv->woken_by)
		err = flow_source(t, iv->woken_by, g->goid, iv->woken_ts, false, &flow);
	if (err)
		return err;
	n = label_args(t, iv->labels, args, GT_LABEL_MAX);
	if (iv->state == GS_WAITING && iv->stack)
		args[n++] = (struct tl_arg){ "stack", tl_stack_text(t, iv->stack), 0 };
	if (iv->waker)
		args[n++] = (struct tl_arg){ "woken_by", NULL, iv->waker };
	if (iv->uncertain)
		args[n++] = (struct tl_arg){ "uncertain", "records were lost in this window", 0 };
	if (iv->clipped)
		args[n++] = (struct tl_arg){ "clipped", "began before the capture", 0 };
	/* the thread it ran on; a wait or a queue has none of its own */
	if (iv->state == GS_RUNNING || iv->state == GS_SYSCALL)
		args[n++] = (struct tl_arg){ "thread", NULL, iv->tid };
	t->nslices++;
	return t->ops->slice(t, iv, slice_name(t, iv), args, n, flow);
}

static int on_labels(struct gstate *gs, struct gs_g *g, uint64_t old, uint64_t ts)
{
	struct tl *t = gs->arg;
	struct tl_arg args[TL_MAX_ARGS];
	int n, err;

	if (!kept(t, g))
		return 0;
	err = ensure_track(t, g);
	if (err)
		return err;
	n = label_args(t, g->labels, args, GT_LABEL_MAX);
	t->ninstants++;
	return t->ops->instant(t, g->goid, g->tid, ts, "labels", args, n, 0);
}

/* The output's header (once), then this capture's process. */
static int start_capture(struct tl *t)
{
	int err = 0;

	if (!t->begun) {
		t->begun = true;
		err = t->ops->begin(t);
	}
	if (!err && t->ops->process)
		err = t->ops->process(t);
	return err;
}

/*
 * A CPU sample (record --cpu): an instant on the goroutine's track named
 * after the function it was in, with its stack; samples of threads serving
 * no goroutine have no track to go on and are left to the profiles.
 */
static int on_cpu_sample(struct tl *t, const struct gt_event_hdr *ev)
{
	const struct gt_ev_cpu_sample *c = (const void *)ev;
	struct gs_g *g = ev->goid ? gstate__get(&t->gs, ev->goid) : NULL;
	const struct gt_stack *st = capture__stack(t->cap, c->stack);
	struct tl_arg args[3];
	struct gt_frame f[8];
	const char *name;
	int n = 0, err;

	if (ev->size < sizeof(*c) || !g || !kept(t, g))
		return 0;
	err = ensure_track(t, g);
	if (err)
		return err;
	if (c->kind == GT_CPU_CGO) {
		name = "cpu: [cgo]";
	} else if (st && st->nr && (n = capture__symbolize(t->cap, st->pcs[0] - 1, f, 8)) > 0) {
		/* one name per function, kept: backends may hold on to it (tl_ops.instant) */
		name = u64map__get(&t->cpu_names, (uintptr_t)f[0].func);
		if (!name) {
			size_t len = strlen(f[0].func) + 6;
			char *s = malloc(len);

			if (!s)
				return -ENOMEM;
			snprintf(s, len, "cpu: %s", f[0].func);
			if (u64map__put(&t->cpu_names, (uintptr_t)f[0].func, s)) {
				free(s);
				return -ENOMEM;
			}
			name = s;
		}
	} else {
		name = "cpu";
	}
	n = 0;
	args[n++] = (struct tl_arg){ "code", capture__cpu_kind(c->kind), 0 };
	args[n++] = (struct tl_arg){ "period_ns", NULL, c->period_ns };
	if (c->stack)
		args[n++] = (struct tl_arg){ "stack", tl_stack_text(t, c->stack), 0 };
	t->ninstants++;
	return t->ops->instant(t, g->goid, ev->tid, ev->ts, name, args, n, 0);
}

static int on_event(struct gstate *gs, const struct gt_event_hdr *ev)
{
	struct tl *t = gs->arg;
	int err;

	/* the backend's header needs the first timestamp (Chrome's ts origin) */
	if (!t->t0 && ev->ts) {
		t->t0 = ev->ts;
		err = start_capture(t);
		if (err)
			return err;
	}
	if (ev->type == GT_EV_CPU_SAMPLE)
		return on_cpu_sample(t, ev);
	return 0;
}

static int on_death(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	struct tl *t = gs->arg;

	t->dropped_goroutines += !(g->priv[P_FLAGS] & F_MATCH);
	if (t->ops->forget && (g->priv[P_FLAGS] & F_TRACK))
		t->ops->forget(t, g);
	return 0;
}

static void report(struct tl *t)
{
	pr_info("%s: %" PRIu64 " goroutine tracks, %" PRIu64 " slices, %" PRIu64
		" instants, %" PRIu64 " flows\n",
		t->format, t->ntracks, t->nslices, t->ninstants, t->nflows);
	if (t->dropped_goroutines)
		pr_info("%s: dropped %" PRIu64 " goroutines not matching '%s'\n", t->format,
			t->dropped_goroutines, t->o->goroutines);
	if (t->dropped_short)
		pr_info("%s: dropped %" PRIu64 " slices shorter than %" PRIu64 " ns\n", t->format,
			t->dropped_short, t->o->min_duration_ns);
	if (t->dropped_flows)
		pr_info("%s: dropped %" PRIu64 " flows whose source goroutine was left out\n",
			t->format, t->dropped_flows);
}

static void free_stacks(struct tl *t)
{
	for (int p = 0; p < 2; p++)
		for (int r = 0; r < 256; r++) {
			free(t->names[p][r]);
			t->names[p][r] = NULL;
		}
	for (size_t i = 0; t->stacks.keys && i < t->stacks.cap; i++)
		if (t->stacks.keys[i])
			free(t->stacks.vals[i]);
	u64map__free(&t->stacks);
	memset(&t->stacks, 0, sizeof(t->stacks));
	for (size_t i = 0; t->cpu_names.keys && i < t->cpu_names.cap; i++)
		if (t->cpu_names.keys[i])
			free(t->cpu_names.vals[i]);
	u64map__free(&t->cpu_names);
	memset(&t->cpu_names, 0, sizeof(t->cpu_names));
}

int timeline__add(struct tl *t, struct gt_capture *cap)
{
	static const struct gs_ops ops = {
		.priv_size = P_N * sizeof(uint64_t),
		.event = on_event,
		.interval = on_interval,
		.labels = on_labels,
		.death = on_death,
	};
	const char *pid = capture__meta(cap, "target.pid");
	int err;

	t->cap = cap;
	t->t0 = t->first_ts = t->last_ts = 0;
	memset(&t->filter, 0, sizeof(t->filter));
	err = gs_filter__parse(&t->filter, t->o->goroutines);
	if (err)
		return err;
	if (!t->pid)
		t->pid = pid ? strtoull(pid, NULL, 10) : 1;
	gstate__init(&t->gs, cap, &ops, t);
	err = gstate__process(&t->gs);
	if (!err && !t->t0)
		err = start_capture(t); /* an empty capture still makes a valid file */
	t->first_ts = t->gs.first_ts;
	t->last_ts = t->gs.last_ts;
	if (err && err != -EIO)
		pr_err("%s: export failed: %s\n", t->format, strerror(-err));
	gstate__exit(&t->gs);
	gs_filter__free(&t->filter);
	free_stacks(t);
	return err;
}

int timeline__window(struct tl *t, const struct tl_window *w)
{
	int err = t->ops->window ? t->ops->window(t, w) : 0;

	if (err)
		pr_err("%s: export failed: %s\n", t->format, strerror(-err));
	return err;
}

int timeline__finish(struct tl *t)
{
	int err = 0;

	if (!t->begun) {
		t->begun = true;
		err = t->ops->begin(t);
	}
	if (!err)
		err = t->ops->end(t);
	if (!err && (fflush(t->out) || ferror(t->out))) {
		pr_err("%s: writing the output failed: %s\n", t->format, strerror(errno));
		err = -EIO;
	}
	if (err && err != -EIO)
		pr_err("%s: export failed: %s\n", t->format, strerror(-err));
	if (!err)
		report(t);
	return err;
}

void timeline__close(struct tl *t)
{
	t->ops->close(t);
}

int timeline__export(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out,
		     tl_open_fn open)
{
	struct tl t;
	int err = open(&t, o, out);

	if (err)
		return err;
	err = timeline__add(&t, cap);
	if (!err)
		err = timeline__finish(&t);
	timeline__close(&t);
	return err;
}

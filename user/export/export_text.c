// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The default `gtrace report` output: a summary for people.  What was
 * recorded and how trustworthy it is (clock bound, loss), goroutine counts,
 * then where the time went off-CPU: by wait reason, by blocking stack
 * (symbolized), by label set, and the longest single waits.  GC/STW
 * pseudo-waits are left out of off-CPU time: the goroutine was not blocked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/debug.h"
#include "export/export.h"
#include "capture/gstate.h"
#include "export/labels.h"

#define TOP 10
#define R_SYSCALL 0x100 /* reason word for syscall time */

struct longest {
	uint64_t goid, start, dur, stack, labels;
	unsigned reason;
};

struct tx {
	struct gt_capture *cap;
	FILE *out;
	struct gstate gs;
	struct gs_agg by_reason, by_stack, by_labels;
	struct longest top[TOP];
	int ntop;
	uint64_t offcpu, nwaits, uncertain, nsystem, alive_end, pseudo_ns;
	struct gt_labels labels; /* the labels section, from the same pass */
};

static const char *dur(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 10000000000ULL)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else if (ns >= 1000000000)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, len, "%.2fµs", ns / 1e3);
	else
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	return buf;
}

/* A duration right-aligned in width columns ("µs" is two bytes, one column). */
static const char *pdur(uint64_t ns, int width, char *buf, size_t len)
{
	char d[32];
	int cols;

	dur(ns, d, sizeof(d));
	cols = strlen(d) - (strstr(d, "µ") ? 1 : 0);
	snprintf(buf, len, "%*s%s", width > cols ? width - cols : 0, "", d);
	return buf;
}

static const char *reason_name(struct tx *x, uint64_t r)
{
	return r == R_SYSCALL ? "(in syscall)" : gs_reason_name(x->cap, r);
}

static void keep_longest(struct tx *x, const struct gs_interval *iv, uint64_t reason)
{
	struct longest l = { iv->goid, iv->start, iv->end - iv->start, iv->stack, iv->labels,
			     reason };
	int i = x->ntop < TOP ? x->ntop++ : TOP - 1;

	if (i == TOP - 1 && x->ntop == TOP && x->top[i].dur >= l.dur)
		return;
	/* insertion into a short sorted array */
	for (; i > 0 && x->top[i - 1].dur < l.dur; i--)
		x->top[i] = x->top[i - 1];
	x->top[i] = l;
}

static int on_interval(struct gstate *gs, const struct gs_interval *iv)
{
	struct tx *x = gs->arg;
	uint64_t d = iv->end - iv->start, reason, k[GS_AGG_WORDS] = { 0 };
	int err = labels__interval(&x->labels, gs, iv);

	if (err)
		return err;

	if (iv->state == GS_WAITING && iv->pseudo) {
		x->pseudo_ns += d;
		return 0;
	}
	if (iv->state != GS_WAITING && iv->state != GS_SYSCALL)
		return 0;
	reason = iv->state == GS_SYSCALL ? R_SYSCALL : iv->reason;
	x->offcpu += d;
	x->nwaits++;
	x->uncertain += iv->uncertain;
	k[0] = reason;
	if (!gs_agg__add(&x->by_reason, k, d))
		return -ENOMEM;
	k[1] = iv->stack;
	if (iv->stack && !gs_agg__add(&x->by_stack, k, d))
		return -ENOMEM;
	k[0] = iv->labels;
	k[1] = 0;
	if (!gs_agg__add(&x->by_labels, k, d))
		return -ENOMEM;
	keep_longest(x, iv, reason);
	return 0;
}

static int on_birth(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	((struct tx *)gs->arg)->nsystem += g->system;
	return labels__birth(&((struct tx *)gs->arg)->labels, gs, g, ev);
}

static int on_event(struct gstate *gs, const struct gt_event_hdr *ev)
{
	return labels__event(&((struct tx *)gs->arg)->labels, gs, ev);
}

static int on_labels(struct gstate *gs, struct gs_g *g, uint64_t old, uint64_t ts)
{
	return labels__labels(&((struct tx *)gs->arg)->labels, gs, g, old, ts);
}

static int on_unpark(struct gstate *gs, struct gs_g *g, uint64_t by, uint64_t ts)
{
	return labels__unpark(&((struct tx *)gs->arg)->labels, gs, g, by, ts);
}

static int on_death(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	((struct tx *)gs->arg)->alive_end += !ev;
	return 0;
}

static void labels_str(struct tx *x, uint64_t id, char *buf, size_t len)
{
	const struct gt_labelset *ls = id ? capture__labelset(x->cap, id) : NULL;
	size_t off;

	if (!ls || !ls->count) {
		snprintf(buf, len, "(no labels)");
		return;
	}
	off = snprintf(buf, len, "{");

	for (uint32_t i = 0; ls && i < ls->count && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s=%s", i ? ", " : "", ls->keys[i],
				ls->values[i]);
	if (off < len)
		snprintf(buf + off, len - off, "}");
}

/* Frames of the runtime and the standard library's blocking primitives. */
static bool lib_frame(const char *f)
{
	return !strncmp(f, "runtime.", 8) || !strncmp(f, "sync.", 5) ||
	       !strncmp(f, "internal/", 9) || !strncmp(f, "syscall.", 8);
}

/* The first frame of the program itself: what it was doing. */
static const char *user_frame(struct tx *x, uint64_t stack, char *buf, size_t len)
{
	const struct gt_stack *st = stack ? capture__stack(x->cap, stack) : NULL;
	struct gt_frame f[16];

	for (uint32_t i = 0; st && i < st->nr; i++) {
		int n = capture__symbolize(x->cap, st->pcs[i] - 1, f, 16);

		for (int j = 0; j < n; j++)
			if (!lib_frame(f[j].func)) {
				snprintf(buf, len, "%s %s:%d", f[j].func, f[j].file, f[j].line);
				return buf;
			}
	}
	snprintf(buf, len, "%s", st ? "(runtime)" : "(no stack)");
	return buf;
}

static void print_stack(struct tx *x, uint64_t stack)
{
	const struct gt_stack *st = capture__stack(x->cap, stack);
	struct gt_frame f[16];

	for (uint32_t i = 0; st && i < st->nr; i++) {
		int n = capture__symbolize(x->cap, st->pcs[i] - 1, f, 16);

		if (n <= 0)
			fprintf(x->out, "        0x%" PRIx64 "\n", st->pcs[i]);
		for (int j = 0; j < n; j++)
			fprintf(x->out, "        %s\n            %s:%d%s\n", f[j].func, f[j].file,
				f[j].line, j + 1 < n ? " (inlined)" : "");
	}
	if (st && st->truncated)
		fprintf(x->out, "        ... (truncated)\n");
}

static void meta_line(const char *k, const char *v, void *arg)
{
	/* shown elsewhere, or only for machines (per-type counters: see -f jsonl) */
	static const char *const skip[] = { "waitreason.", "clock.", "loss.", "produced.",
					     "written.", "process.", "record.start", "record.end" };

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strncmp(k, skip[i], strlen(skip[i])))
			return;
	fprintf(arg, "  %-24s %s\n", k, v);
}

static void loss_line(const char *k, const char *v, void *arg)
{
	if (!strncmp(k, "loss.", 5) && strcmp(k, "loss.total") && strcmp(v, "0"))
		fprintf(arg, " %s=%s", k + 5, v);
}

static void print_header(struct tx *x)
{
	const char *err = capture__meta(x->cap, "clock.error_ns");
	const char *sync = capture__meta(x->cap, "clock.sync");
	const char *loss = capture__meta(x->cap, "loss.total");
	int64_t wall = capture__wall_ns(x->cap, x->gs.first_ts);
	time_t sec = wall / 1000000000;
	struct tm tm;
	char when[64] = "?", b[32], b2[32];

	if (gmtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(x->out, "capture\n");
	capture__meta_foreach(x->cap, meta_line, x->out);
	fprintf(x->out, "  %-24s %s.%06" PRId64 " UTC for %s\n", "recorded", when,
		(wall % 1000000000) / 1000, dur(x->gs.last_ts - x->gs.first_ts, b, sizeof(b)));
	if (err)
		fprintf(x->out, "  %-24s ±%s (%s)\n", "wall clock error",
			dur(strtoull(err, NULL, 10), b, sizeof(b)),
			sync && !strcmp(sync, "1") ? "synchronized"
						   : "not synchronized: this host's opinion");
	else
		fprintf(x->out, "  %-24s unknown (no clock mapping in the capture)\n",
			"wall clock error");
	fprintf(x->out, "  %-24s %" PRIu64 "%s\n", "events", x->gs.nr_events,
		capture__complete(x->cap) ? "" : " (capture incomplete: no trailer)");
	fprintf(x->out, "  %-24s %s records", "lost", loss ? loss : "0");
	capture__meta_foreach(x->cap, loss_line, x->out);
	if (x->uncertain)
		fprintf(x->out, " (%" PRIu64 " waits overlap a loss or gap window)", x->uncertain);
	fputc('\n', x->out);
	if (x->gs.ngaps) {
		const char *budget = capture__meta(x->cap, "record.budget_pct");
		uint64_t span = x->gs.last_ts - x->gs.first_ts;

		fprintf(x->out, "  %-24s %s%s%sprobes on %.1f%% of %s; %" PRIu64 " gaps of %s in all "
			"(not recorded: ~%" PRIu64 " events, estimated)\n", "sliced",
			budget ? "budget " : "", budget ? budget : "", budget ? "%: " : "",
			span ? 100.0 * (span - x->gs.gap_ns) / span : 0, dur(span, b, sizeof(b)),
			x->gs.ngaps, dur(x->gs.gap_ns, b2, sizeof(b2)), x->gs.gap_est_events);
	}
}

static void print_goroutines(struct tx *x)
{
	struct gstate *gs = &x->gs;

	fprintf(x->out, "\ngoroutines\n  %" PRIu64 " created, %" PRIu64 " exited, %" PRIu64
			" alive at end; %" PRIu64 " found at attach, %" PRIu64
			" first seen mid-life; %" PRIu64 " runtime goroutines\n",
		gs->nr_created, gs->nr_exited, x->alive_end, gs->nr_snapshot, gs->nr_guessed,
		x->nsystem);
	if (gs->nr_resynced)
		fprintf(x->out, "  %" PRIu64 " corrected or first seen by the snapshots taken as "
				"slices began\n", gs->nr_resynced);
}

static void print_reasons(struct tx *x)
{
	char b1[48], b2[48];

	gs_agg__sort_by_sum(&x->by_reason);
	fprintf(x->out, "\noff-CPU time by wait reason (%s in %" PRIu64 " waits",
		dur(x->offcpu, b1, sizeof(b1)), x->nwaits);
	if (x->pseudo_ns)
		fprintf(x->out, "; GC pauses of running goroutines, %s, not counted",
			dur(x->pseudo_ns, b2, sizeof(b2)));
	fprintf(x->out, ")\n  %10s %8s %10s  %s\n", "total", "waits", "longest", "reason");
	for (size_t i = 0; i < x->by_reason.len && i < TOP; i++) {
		const struct gs_agg_ent *e = &x->by_reason.ents[i];

		fprintf(x->out, "  %s %8" PRIu64 " %s  %s\n", pdur(e->sum, 10, b1, sizeof(b1)),
			e->count, pdur(e->max, 10, b2, sizeof(b2)), reason_name(x, e->k[0]));
	}
}

static void print_stacks(struct tx *x)
{
	char b[32];

	gs_agg__sort_by_sum(&x->by_stack);
	fprintf(x->out, "\ntop blocking stacks\n");
	for (size_t i = 0; i < x->by_stack.len && i < TOP; i++) {
		const struct gs_agg_ent *e = &x->by_stack.ents[i];

		fprintf(x->out, "  #%zu %s in %" PRIu64 " waits, %s\n", i + 1,
			dur(e->sum, b, sizeof(b)), e->count, reason_name(x, e->k[0]));
		print_stack(x, e->k[1]);
	}
	if (!x->by_stack.len)
		fprintf(x->out, "  (no stacks recorded)\n");
}

static void print_labels(struct tx *x)
{
	char b[48], l[1024];

	gs_agg__sort_by_sum(&x->by_labels);
	fprintf(x->out, "\noff-CPU time by label set\n  %10s %8s  %s\n", "total", "waits",
		"labels");
	for (size_t i = 0; i < x->by_labels.len && i < TOP; i++) {
		const struct gs_agg_ent *e = &x->by_labels.ents[i];

		labels_str(x, e->k[0], l, sizeof(l));
		fprintf(x->out, "  %s %8" PRIu64 "  %s\n", pdur(e->sum, 10, b, sizeof(b)),
			e->count, l);
	}
}

static void print_longest(struct tx *x)
{
	char b[48], at[48], l[1024], f[512];

	fprintf(x->out, "\nlongest single waits\n  %10s %10s %8s  %-20s %s\n", "duration", "at",
		"goroutine", "reason", "where");
	for (int i = 0; i < x->ntop; i++) {
		const struct longest *w = &x->top[i];

		labels_str(x, w->labels, l, sizeof(l));
		fprintf(x->out, "  %s %s %8" PRIu64 "  %-20s %s %s\n",
			pdur(w->dur, 10, b, sizeof(b)),
			pdur(w->start - x->gs.first_ts, 10, at, sizeof(at)), w->goid,
			reason_name(x, w->reason), user_frame(x, w->stack, f, sizeof(f)), l);
	}
}

int export_text(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	static const struct gs_ops ops = {
		.priv_size = LABELS_PRIV_WORDS * sizeof(uint64_t),
		.interval = on_interval, .birth = on_birth, .death = on_death,
		.event = on_event, .labels = on_labels, .unpark = on_unpark,
	};
	struct tx *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	x->cap = cap;
	x->out = out;
	labels__init(&x->labels, cap, 0);
	gstate__init(&x->gs, cap, &ops, x);
	err = gstate__process(&x->gs);
	if (!err)
		err = labels__end(&x->labels, &x->gs);
	if (err) {
		pr_err("text: reading the capture failed: %s\n", strerror(-err));
		goto out;
	}
	print_header(x);
	print_goroutines(x);
	print_reasons(x);
	print_stacks(x);
	print_labels(x);
	print_longest(x);
	labels__print_text(&x->labels, out);
	if (fflush(out) || ferror(out)) {
		pr_err("text: writing the report failed: %s\n", strerror(errno));
		err = -EIO;
	}
out:
	gstate__exit(&x->gs);
	labels__exit(&x->labels);
	gs_agg__free(&x->by_reason);
	gs_agg__free(&x->by_stack);
	gs_agg__free(&x->by_labels);
	free(x);
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Chrome Trace Event Format exporter (JSON), for chrome://tracing,
 * Perfetto's JSON importer and the many tools that only read JSON.  Each
 * goroutine is a "thread" (tid = goid, pid = the target's pid) named by an
 * M thread_name record; states are B/E pairs, which nest trivially because
 * a goroutine is in one state at a time; creation and wake-ups are s/f
 * flow pairs.  ts is µs relative to the capture's first event (absolute
 * epoch µs would lose precision as doubles); the wall-clock start and its
 * error bound are in otherData.  Merged outputs (gtrace merge) hold one
 * process per capture, ts relative to one wall-clock origin through each
 * capture's own mapping, the windows of uncertain order as X events of a
 * "clock uncertainty" process, and otherData (written last, when all is
 * known) lists the captures and the windows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "export/export.h"
#include "export/timeline.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc_unlocked(c, f);
	}
	fputc('"', f);
}

/* merged: the "process" holding the windows; far above any real pid */
#define WINDOWS_PID 2000000000u

struct ch_capture {
	unsigned idx;
	uint64_t pid;
	char *name;
	int64_t wall_start, error_ns;
};

struct ch {
	bool any; /* an event was written: the next needs a comma */
	/* merged: what otherData lists at the end */
	struct ch_capture *caps;
	size_t ncaps;
	struct tl_window *windows;
	size_t nwindows;
};

/* Starts one event object with the fields every event has; ts is output time. */
static void ev_open_at(struct tl *t, const char *ph, uint64_t pid, uint64_t goid, int64_t d)
{
	struct ch *ch = t->priv;
	uint64_t a = d < 0 ? -d : d;

	/* integer µs.ns: exact, and printf's float path costs more than the rest */
	fprintf(t->out, "%s\n{\"ph\":\"%s\",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
			",\"ts\":%s%" PRIu64 ".%03u",
		ch->any ? "," : "", ph, pid, goid, d < 0 ? "-" : "", a / 1000,
		(unsigned)(a % 1000));
	ch->any = true;
}

/* ns since the output's origin: the capture's first event, or (merged) wall_t0 */
static int64_t rel(struct tl *t, uint64_t ts)
{
	return t->wall ? tl_ts(t, ts) - t->wall_t0 : (int64_t)(ts - t->t0);
}

static void ev_open(struct tl *t, const char *ph, uint64_t goid, uint64_t ts)
{
	ev_open_at(t, ph, t->pid, goid, rel(t, ts));
}

static void args_out(struct tl *t, const struct tl_arg *a, int n)
{
	fputs(",\"args\":{", t->out);
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(',', t->out);
		json_str(t->out, a[i].key);
		fputc(':', t->out);
		if (a[i].str)
			json_str(t->out, a[i].str);
		else
			fprintf(t->out, "%" PRIu64, a[i].num);
	}
	fputc('}', t->out);
}

static int ch_begin(struct tl *t)
{
	const char *err = capture__meta(t->cap, "clock.error_ns");
	const char *sync = capture__meta(t->cap, "clock.sync");

	if (t->wall) {
		if (!t->wall_t0)
			t->wall_t0 = tl_ts(t, t->t0);
		fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", t->out);
		return 0;
	}
	fprintf(t->out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"gtrace\","
			"\"wall_start_ns\":%" PRId64 ",\"mono_start_ns\":%" PRIu64,
		capture__wall_ns(t->cap, t->t0), t->t0);
	fputs(",\"clock_error_ns\":", t->out);
	json_str(t->out, err ? err : "unknown");
	fputs(",\"clock_sync\":", t->out);
	json_str(t->out, sync ? sync : "unknown");
	fputs("},\"traceEvents\":[", t->out);
	return 0;
}

static void process_name(struct tl *t, uint64_t pid, const char *name, int64_t ts)
{
	struct tl_arg a = { "name", name, 0 };

	ev_open_at(t, "M", pid, 0, ts);
	fputs(",\"name\":\"process_name\"", t->out);
	args_out(t, &a, 1);
	fputc('}', t->out);
}

static int ch_process(struct tl *t)
{
	struct ch *ch = t->priv;
	struct ch_capture *c;

	process_name(t, t->pid, tl_process_name(t), rel(t, t->t0));
	if (!t->wall)
		return 0;
	c = realloc(ch->caps, (ch->ncaps + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	ch->caps = c;
	c += ch->ncaps++;
	*c = (struct ch_capture){ t->idx, t->pid, strdup(tl_process_name(t)), tl_ts(t, t->t0),
				  t->error_ns };
	return c->name ? 0 : -ENOMEM;
}

static int ch_track(struct tl *t, const struct gs_g *g)
{
	char name[256];
	struct tl_arg a = { "name", name, 0 }, s = { "sort_index", NULL, g->goid };

	tl_track_name(g, name, sizeof(name));

	ev_open(t, "M", g->goid, t->t0);
	fputs(",\"name\":\"thread_name\"", t->out);
	args_out(t, &a, 1);
	fputc('}', t->out);
	ev_open(t, "M", g->goid, t->t0);
	fputs(",\"name\":\"thread_sort_index\"", t->out);
	args_out(t, &s, 1);
	fputc('}', t->out);
	return 0;
}

static void flow(struct tl *t, const char *ph, uint64_t goid, uint64_t ts, uint64_t id)
{
	ev_open(t, ph, goid, ts);
	/* "e": bind to the enclosing slice (the run it starts, or the waker's run) */
	fprintf(t->out, ",\"cat\":\"flow\",\"name\":\"goroutine\",\"id\":%" PRIu64 ",\"bp\":\"e\"}",
		id);
}

static int ch_slice(struct tl *t, const struct gs_interval *iv, const char *name,
		    const struct tl_arg *args, int nargs, uint64_t flow_in)
{
	ev_open(t, "B", iv->goid, iv->start);
	fputs(",\"cat\":\"goroutine\",\"name\":", t->out);
	json_str(t->out, name);
	args_out(t, args, nargs);
	fputc('}', t->out);
	if (flow_in)
		flow(t, "f", iv->goid, iv->start, flow_in);
	/* merged: a wall-clock step back inside the slice must not end it first */
	ev_open_at(t, "E", t->pid, iv->goid,
		   rel(t, iv->end) < rel(t, iv->start) ? rel(t, iv->start) : rel(t, iv->end));
	fputc('}', t->out);
	return ferror(t->out) ? -EIO : 0;
}

static int ch_instant(struct tl *t, uint64_t goid, uint32_t tid, uint64_t ts, const char *name,
		      const struct tl_arg *args, int nargs, uint64_t flow_out)
{
	ev_open(t, "i", goid, ts);
	fputs(",\"s\":\"t\",\"cat\":\"goroutine\",\"name\":", t->out);
	json_str(t->out, name);
	args_out(t, args, nargs);
	fputc('}', t->out);
	if (flow_out)
		flow(t, "s", goid, ts, flow_out);
	return 0;
}

/* Merged: each window is an X event on a track of its own. */
static int ch_window(struct tl *t, const struct tl_window *w)
{
	struct ch *ch = t->priv;
	struct tl_window *n = realloc(ch->windows, (ch->nwindows + 1) * sizeof(*n));
	struct tl_arg a[3] = {
		{ "capture_a", NULL, w->a }, { "capture_b", NULL, w->b },
		{ "bound_ns", NULL, w->bound_ns },
	};
	struct tl_arg tn = { "name", w->name, 0 };
	uint64_t d = w->end - w->start;

	if (!n)
		return -ENOMEM;
	ch->windows = n;
	n[ch->nwindows] = *w;
	n[ch->nwindows].name = NULL; /* not kept: the caller's buffer */
	if (!ch->nwindows++)
		process_name(t, WINDOWS_PID, "clock uncertainty", w->start - t->wall_t0);
	ev_open_at(t, "M", WINDOWS_PID, ch->nwindows, w->start - t->wall_t0);
	fputs(",\"name\":\"thread_name\"", t->out);
	args_out(t, &tn, 1);
	fputc('}', t->out);
	ev_open_at(t, "X", WINDOWS_PID, ch->nwindows, w->start - t->wall_t0);
	fprintf(t->out, ",\"dur\":%" PRIu64 ".%03u,\"cat\":\"clock\",\"name\":", d / 1000,
		(unsigned)(d % 1000));
	json_str(t->out, w->name);
	args_out(t, a, 3);
	fputc('}', t->out);
	return 0;
}

/* Merged: the captures and windows, known only now. */
static void other_data(struct tl *t)
{
	struct ch *ch = t->priv;

	fprintf(t->out, ",\"otherData\":{\"generator\":\"gtrace merge\",\"wall_origin_ns\":%" PRId64
			",\"captures\":[", t->wall_t0);
	for (size_t i = 0; i < ch->ncaps; i++) {
		const struct ch_capture *c = &ch->caps[i];

		fprintf(t->out, "%s{\"capture\":%u,\"pid\":%" PRIu64 ",\"name\":", i ? "," : "",
			c->idx, c->pid);
		json_str(t->out, c->name);
		fprintf(t->out, ",\"wall_start_ns\":%" PRId64 ",\"clock_error_ns\":%" PRId64 "}",
			c->wall_start, c->error_ns);
	}
	fputs("],\"order_uncertain\":[", t->out);
	for (size_t i = 0; i < ch->nwindows; i++) {
		const struct tl_window *w = &ch->windows[i];

		fprintf(t->out, "%s{\"a\":%u,\"b\":%u,\"bound_ns\":%" PRIu64
				",\"start_ns\":%" PRId64 ",\"end_ns\":%" PRId64 "}",
			i ? "," : "", w->a, w->b, w->bound_ns, w->start, w->end);
	}
	fputs("]}", t->out);
}

static int ch_end(struct tl *t)
{
	if (!t->wall) {
		fputs("\n]}\n", t->out);
		return 0;
	}
	fputs("\n]", t->out);
	other_data(t);
	fputs("}\n", t->out);
	return 0;
}

static const struct tl_ops ch_ops = {
	.begin = ch_begin, .process = ch_process, .track = ch_track, .slice = ch_slice,
	.instant = ch_instant, .end = ch_end, .window = ch_window, .close = chrome__close,
};

int chrome__open(struct tl *t, const struct gt_export_opts *o, FILE *out)
{
	struct ch *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return -ENOMEM;
	*t = (struct tl){ .o = o, .out = out, .format = "chrome", .ops = &ch_ops, .priv = ch };
	return 0;
}

void chrome__close(struct tl *t)
{
	struct ch *ch = t->priv;

	for (size_t i = 0; ch && i < ch->ncaps; i++)
		free(ch->caps[i].name);
	if (ch) {
		free(ch->caps);
		free(ch->windows);
	}
	free(ch);
	t->priv = NULL;
}

int export_chrome(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return timeline__export(cap, o, out, chrome__open);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Chrome Trace Event Format exporter (JSON), for chrome://tracing,
 * Perfetto's JSON importer and the many tools that only read JSON.  Each
 * goroutine is a "thread" (tid = goid, pid = the target's pid) named by an
 * M thread_name record; states are B/E pairs, which nest trivially because
 * a goroutine is in one state at a time; creation and wake-ups are s/f
 * flow pairs.  ts is µs relative to the capture's first event (absolute
 * epoch µs would lose precision as doubles); the wall-clock start and its
 * error bound are in otherData.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "debug.h"
#include "export.h"
#include "timeline.h"

struct ch {
	bool any; /* an event was written: the next needs a comma */
};

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

/* Starts one event object with the fields every event has. */
static void ev_open(struct tl *t, const char *ph, uint64_t goid, uint64_t ts)
{
	struct ch *ch = t->priv;
	int64_t d = ts - t->t0;
	uint64_t a = d < 0 ? -d : d;

	/* integer µs.ns: exact, and printf's float path costs more than the rest */
	fprintf(t->out, "%s\n{\"ph\":\"%s\",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
			",\"ts\":%s%" PRIu64 ".%03u",
		ch->any ? "," : "", ph, t->pid, goid, d < 0 ? "-" : "", a / 1000,
		(unsigned)(a % 1000));
	ch->any = true;
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
	const char *comm = tl_process_name(t);
	const char *err = capture__meta(t->cap, "clock.error_ns");
	const char *sync = capture__meta(t->cap, "clock.sync");
	struct tl_arg a = { "name", comm, 0 };

	fprintf(t->out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"gtrace\","
			"\"wall_start_ns\":%" PRId64 ",\"mono_start_ns\":%" PRIu64,
		capture__wall_ns(t->cap, t->t0), t->t0);
	fputs(",\"clock_error_ns\":", t->out);
	json_str(t->out, err ? err : "unknown");
	fputs(",\"clock_sync\":", t->out);
	json_str(t->out, sync ? sync : "unknown");
	fputs("},\"traceEvents\":[", t->out);
	ev_open(t, "M", 0, t->t0);
	fputs(",\"name\":\"process_name\"", t->out);
	args_out(t, &a, 1);
	fputc('}', t->out);
	return 0;
}

static int ch_track(struct tl *t, const struct gs_g *g, const char *name)
{
	struct tl_arg a = { "name", name, 0 }, s = { "sort_index", NULL, g->goid };

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
	ev_open(t, "E", iv->goid, iv->end);
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

static int ch_end(struct tl *t)
{
	fputs("\n]}\n", t->out);
	return 0;
}

int export_chrome(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	static const struct tl_ops ops = {
		.begin = ch_begin, .track = ch_track, .slice = ch_slice,
		.instant = ch_instant, .end = ch_end,
	};
	struct ch ch = { 0 };
	struct tl t = { .cap = cap, .o = o, .out = out, .format = "chrome", .ops = &ops,
			.priv = &ch };

	return timeline__run(&t);
}

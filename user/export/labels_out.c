// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The label-loss analysis (labels.c) for people (a section of the text
 * report), for machines (jsonl: one object per line, "section" saying
 * which table), and for pprof tools (a `labels` profile: unlabelled time
 * by start function and creation site, so `go tool pprof -top` ranks the
 * sites and two captures can be diffed).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "export/export.h"
#include "export/labels.h"
#include "export/pprof_builder.h"
#include "lib/json.h"

#define TOP 10

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0;
}

static const char *dur(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 1000000000)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fus", ns / 1e3);
	return buf;
}

static const char *reason_str(const struct gt_labels *L, unsigned r)
{
	return r == LB_SYSCALL ? "(in syscall)" : gs_reason_name(L->cap, r);
}

static const char *start_func(const struct gt_labels *L, uint64_t startpc)
{
	return startpc ? gs_func_name(L->cap, startpc) : "?";
}

/* ---- text ---- */

static void text_keys(const struct gt_labels *L, FILE *out)
{
	char b1[32], b2[32];

	fprintf(out, "\nlabels (user goroutines: off-CPU %s, running %s, %" PRIu64 " created)\n",
		dur(L->offcpu, b1, sizeof(b1)), dur(L->running, b2, sizeof(b2)), L->creations);
	fprintf(out, "  %-24s %8s %8s %10s", "key", "off-CPU", "running", "creations");
	if (L->cpu_samples)
		fprintf(out, " %8s", "CPU");
	fputc('\n', out);
	for (size_t i = 0; i <= L->nkeys; i++) {
		bool none = i == L->nkeys;

		fprintf(out, "  %-24s %7.1f%% %7.1f%% %9.1f%%", none ? "(no labels)" : L->keys[i].key,
			pct(none ? L->offcpu - L->labelled_offcpu : L->keys[i].offcpu, L->offcpu),
			pct(none ? L->running - L->labelled_running : L->keys[i].running, L->running),
			pct(none ? L->creations - L->labelled_creations : L->keys[i].creations,
			    L->creations));
		if (L->cpu_samples)
			fprintf(out, " %7.1f%%",
				pct(none ? L->cpu - L->labelled_cpu : L->keys[i].cpu, L->cpu));
		fputc('\n', out);
	}
	if (!L->cpu_samples)
		fprintf(out, "  (no CPU samples in this capture: 'running' is the scheduler's running "
			     "time)\n");
}

static void text_sites(const struct gt_labels *L, FILE *out)
{
	char b1[32], b2[32], where[1024], set[1024];

	fprintf(out, "\nunlabelled time by creation site and start function, heaviest first\n");
	if (!L->nsites)
		fprintf(out, "  (none: every user goroutine carried labels)\n");
	for (size_t i = 0; i < L->nsites && i < TOP; i++) {
		const struct lb_site *s = &L->sites[i];

		labels__site_str(L->cap, s->gopc, where, sizeof(where));
		fprintf(out, "  #%zu off-CPU %s (%.1f%%), running %s (%.1f%%), %" PRIu64
			     " goroutine%s\n",
			i + 1, dur(s->offcpu, b1, sizeof(b1)), pct(s->offcpu, L->offcpu),
			dur(s->running, b2, sizeof(b2)), pct(s->running, L->running),
			s->goroutines, s->goroutines == 1 ? "" : "s");
		fprintf(out, "     created at %s\n     start      %s\n", where,
			start_func(L, s->startpc));
		if (s->nreasons) {
			fprintf(out, "     off-CPU in");
			for (size_t j = 0; j < s->nreasons && j < 3; j++)
				fprintf(out, "%s %s %.0f%%", j ? "," : "",
					reason_str(L, s->reasons[j].reason),
					pct(s->reasons[j].ns, s->offcpu));
			fputc('\n', out);
		}
		if (!s->wakeups)
			continue;
		fprintf(out, "     woken %" PRIu64 " times", s->wakeups);
		if (s->by_runtime)
			fprintf(out, " (%" PRIu64 " by the runtime: timers, network)", s->by_runtime);
		fputc('\n', out);
		for (size_t j = 0; j < s->nwakers && j < 3; j++) {
			labels__set_str(L->cap, s->wakers[j].labels, set, sizeof(set));
			if (s->wakers[j].labels)
				fprintf(out, "       by goroutines labelled %s in %.1f%% of its wake-ups\n",
					set, pct(s->wakers[j].n, s->wakeups));
			else
				fprintf(out, "       by unlabelled goroutines in %.1f%% of its wake-ups\n",
					pct(s->wakers[j].n, s->wakeups));
		}
	}
}

static void text_changes(const struct gt_labels *L, FILE *out)
{
	char where[1024];

	fprintf(out, "\nlabel changes that drop or replace keys (%" PRIu64 " changes in all)\n",
		L->changes);
	if (!L->nchanges) {
		fprintf(out, "  (none)\n");
		return;
	}
	fprintf(out, "  %8s %8s  %-20s %-20s %s\n", "dropped", "replaced", "by", "keys", "site");
	for (size_t i = 0; i < L->nchanges && i < TOP; i++) {
		const struct lb_change *c = &L->changes_v[i];
		char keys[256] = "";
		size_t off = 0;

		for (int k = 0; k < c->nkeys && off < sizeof(keys); k++)
			off += snprintf(keys + off, sizeof(keys) - off, "%s%s", k ? "," : "",
					c->keys[k]);
		labels__change_site(L->cap, c->stack, where, sizeof(where));
		fprintf(out, "  %8" PRIu64 " %8" PRIu64 "  %-20s %-20s %s\n", c->drops, c->replaces,
			c->via_do ? "pprof.Do" : "SetGoroutineLabels", keys, where);
	}
}

void labels__print_text(const struct gt_labels *L, FILE *out)
{
	text_keys(L, out);
	text_sites(L, out);
	text_changes(L, out);
}

/* ---- jsonl ---- */

static void json_set(const struct gt_labels *L, uint64_t id, FILE *out)
{
	const struct gt_labelset *ls = id ? capture__labelset(L->cap, id) : NULL;

	fputc('{', out);
	for (uint32_t i = 0; ls && i < ls->count; i++) {
		if (i)
			fputc(',', out);
		json_str(out, ls->keys[i]);
		fputc(':', out);
		json_str(out, ls->values[i]);
	}
	fputc('}', out);
}

static void json_stack(const struct gt_labels *L, uint64_t id, FILE *out)
{
	const struct gt_stack *st = id ? capture__stack(L->cap, id) : NULL;
	struct gt_frame f[16];
	char buf[1024];
	bool first = true;

	fputs(",\"stack\":[", out);
	for (uint32_t i = 0; st && i < st->nr; i++) {
		int n = capture__symbolize(L->cap, st->pcs[i] - 1, f, 16);

		for (int j = 0; j < n; j++) {
			snprintf(buf, sizeof(buf), "%s %s:%d", f[j].func, f[j].file, f[j].line);
			if (!first)
				fputc(',', out);
			first = false;
			json_str(out, buf);
		}
	}
	fputc(']', out);
}

int labels__print_jsonl(const struct gt_labels *L, FILE *out)
{
	char where[1024];

	fprintf(out,
		"{\"section\":\"window\",\"start\":%" PRId64 ",\"end\":%" PRId64
		",\"duration_ns\":%" PRIu64 ",\"offcpu_ns\":%" PRIu64 ",\"running_ns\":%" PRIu64
		",\"creations\":%" PRIu64 ",\"label_changes\":%" PRIu64 ",\"cpu_samples\":%s"
		",\"cpu_ns\":%" PRIu64 "}\n",
		L->first_ts ? capture__wall_ns(L->cap, L->first_ts) : 0,
		L->last_ts ? capture__wall_ns(L->cap, L->last_ts) : 0, L->last_ts - L->first_ts,
		L->offcpu, L->running, L->creations, L->changes, L->cpu_samples ? "true" : "false",
		L->cpu);
	for (size_t i = 0; i <= L->nkeys; i++) {
		bool none = i == L->nkeys;
		struct lb_key k = none ? (struct lb_key){
			.offcpu = L->offcpu - L->labelled_offcpu,
			.running = L->running - L->labelled_running,
			.creations = L->creations - L->labelled_creations,
			.cpu = L->cpu - L->labelled_cpu,
		} : L->keys[i];

		fputs("{\"section\":\"key\",\"key\":", out);
		json_str(out, none ? NULL : k.key);
		fprintf(out,
			",\"offcpu_ns\":%" PRIu64 ",\"offcpu_share\":%.4f,\"running_ns\":%" PRIu64
			",\"running_share\":%.4f,\"creations\":%" PRIu64 ",\"creations_share\":%.4f"
			",\"cpu_ns\":%" PRIu64 ",\"cpu_share\":%.4f}\n",
			k.offcpu, pct(k.offcpu, L->offcpu) / 100, k.running,
			pct(k.running, L->running) / 100, k.creations,
			pct(k.creations, L->creations) / 100, k.cpu, pct(k.cpu, L->cpu) / 100);
	}
	for (size_t i = 0; i < L->nsites; i++) {
		const struct lb_site *s = &L->sites[i];

		labels__site_str(L->cap, s->gopc, where, sizeof(where));
		fputs("{\"section\":\"unlabelled\",\"created_by\":", out);
		json_str(out, where);
		fputs(",\"start_func\":", out);
		json_str(out, start_func(L, s->startpc));
		fprintf(out,
			",\"goroutines\":%" PRIu64 ",\"offcpu_ns\":%" PRIu64 ",\"offcpu_share\":%.4f"
			",\"running_ns\":%" PRIu64 ",\"running_share\":%.4f,\"wakeups\":%" PRIu64
			",\"by_runtime\":%" PRIu64 ",\"wait_reasons\":[",
			s->goroutines, s->offcpu, pct(s->offcpu, L->offcpu) / 100, s->running,
			pct(s->running, L->running) / 100, s->wakeups, s->by_runtime);
		for (size_t j = 0; j < s->nreasons; j++) {
			fputs(j ? ",{\"wait_reason\":" : "{\"wait_reason\":", out);
			json_str(out, reason_str(L, s->reasons[j].reason));
			fprintf(out, ",\"ns\":%" PRIu64 "}", s->reasons[j].ns);
		}
		fputs("],\"woken_by\":[", out);
		for (size_t j = 0; j < s->nwakers; j++) {
			fputs(j ? ",{\"labels\":" : "{\"labels\":", out);
			json_set(L, s->wakers[j].labels, out);
			fprintf(out, ",\"wakeups\":%" PRIu64 ",\"share\":%.4f}", s->wakers[j].n,
				pct(s->wakers[j].n, s->wakeups) / 100);
		}
		fputs("]}\n", out);
	}
	for (size_t i = 0; i < L->nchanges; i++) {
		const struct lb_change *c = &L->changes_v[i];

		labels__change_site(L->cap, c->stack, where, sizeof(where));
		fputs("{\"section\":\"change\",\"site\":", out);
		json_str(out, where);
		fprintf(out, ",\"by\":\"%s\",\"dropped\":%" PRIu64 ",\"replaced\":%" PRIu64 ",\"keys\":[",
			c->via_do ? "pprof.Do" : "SetGoroutineLabels", c->drops, c->replaces);
		for (int k = 0; k < c->nkeys; k++) {
			if (k)
				fputc(',', out);
			json_str(out, c->keys[k]);
		}
		fputc(']', out);
		json_stack(L, c->stack, out);
		fputs("}\n", out);
	}
	return 0;
}

/* ---- pprof ---- */

static uint64_t loc(struct pprof_builder *b, struct gt_capture *cap, uint64_t pc, bool exact)
{
	struct gt_frame f[32];
	uint64_t addr = exact ? pc : pc - 1, id;

	if (!pc)
		return pprof_builder__pseudo(b, exact ? "[unknown function]" : "[runtime]");
	if ((id = pprof_builder__find(b, addr)))
		return id;
	return pprof_builder__location(b, addr, f, capture__symbolize(cap, addr, f, 32));
}

int labels__write_pprof(const struct gt_labels *L, FILE *out)
{
	struct pprof_builder *b = pprof_builder__new();
	char where[1024], set[1024], share[32];
	int err = 0;

	if (!b)
		return -ENOMEM;
	pprof_builder__sample_type(b, "offcpu", "nanoseconds");
	pprof_builder__sample_type(b, "running", "nanoseconds");
	pprof_builder__sample_type(b, "wakeups", "count");
	pprof_builder__default_type(b, "offcpu");
	pprof_builder__period(b, "trace", "count", 1);
	pprof_builder__comment(b, "gtrace labels profile: time of user goroutines without labels, "
				  "by start function and creation site");
	pprof_builder__mapping(b, 0, 0,
			       capture__meta(L->cap, "target.exe") ?: capture__meta(L->cap, "target.comm"),
			       capture__meta(L->cap, "target.build_id"));
	for (size_t i = 0; i < L->nsites && !err; i++) {
		const struct lb_site *s = &L->sites[i];
		uint64_t locs[2] = { loc(b, L->cap, s->startpc, true), loc(b, L->cap, s->gopc, false) };
		int64_t v[3] = { s->offcpu, s->running, s->wakeups };
		struct pprof_label lab[4];
		int n = 0;

		labels__site_str(L->cap, s->gopc, where, sizeof(where));
		lab[n++] = (struct pprof_label){ .key = "created_by", .value = where };
		lab[n++] = (struct pprof_label){ .key = "goroutines", .num = s->goroutines,
						 .unit = "count" };
		if (s->nwakers) {
			labels__set_str(L->cap, s->wakers[0].labels, set, sizeof(set));
			snprintf(share, sizeof(share), "%.1f%%", pct(s->wakers[0].n, s->wakeups));
			lab[n++] = (struct pprof_label){ .key = "woken_by", .value = set };
			lab[n++] = (struct pprof_label){ .key = "woken_by_share", .value = share };
		}
		err = pprof_builder__sample(b, locs, 2, v, lab, n);
	}
	pprof_builder__time(b, L->first_ts ? capture__wall_ns(L->cap, L->first_ts) : 0,
			    L->last_ts - L->first_ts);
	if (!err)
		err = pprof_builder__write(b, out);
	pprof_builder__free(b);
	return err;
}

/* ---- `gtrace report --labels` ---- */

static int run_and(struct gt_capture *cap, FILE *out, int which)
{
	struct gt_labels L;
	int err = labels__run(&L, cap);

	if (!err) {
		if (which == 0)
			labels__print_text(&L, out);
		else if (which == 1)
			err = labels__print_jsonl(&L, out);
		else
			err = labels__write_pprof(&L, out);
	}
	labels__exit(&L);
	return err;
}

int export_labels_text(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return run_and(cap, out, 0);
}

int export_labels_jsonl(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return run_and(cap, out, 1);
}

int export_labels_pprof(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return run_and(cap, out, 2);
}

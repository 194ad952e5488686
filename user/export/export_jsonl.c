// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The raw view of a capture: one JSON object per line.  The first line
 * ({"ev":"capture"}) carries the metadata and loss totals; then one line
 * per event with ev, t (wall ns), mono (ktime ns), goid, tid, cpu and the
 * fields of its type.  Definitions (stacks, label sets) are expanded into
 * the events that use them rather than printed on their own.  The line
 * writers are shared with the merged jsonl of gtrace merge (merge.h),
 * which puts a "capture" field in front of each line.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "lib/debug.h"
#include "export/export.h"
#include "binary/go_funcs.h"
#include "capture/gstate.h"
#include "lib/json.h"
#include "export/jsonl.h"

struct jsonl {
	struct gt_tool tool;
	FILE *out;
};

static void meta_field(const char *key, const char *value, void *arg)
{
	FILE *out = arg;

	fputc(',', out);
	json_str(out, key);
	fputc(':', out);
	json_str(out, value);
}

void jsonl__capture_line(struct gt_capture *cap, const char *prefix, FILE *out)
{
	fprintf(out, "{%s\"ev\":\"capture\"", prefix ? prefix : "");
	capture__meta_foreach(cap, meta_field, out);
	fputs("}\n", out);
}

static void print_labels(struct gt_capture *cap, uint64_t id, FILE *out)
{
	const struct gt_labelset *l = capture__labelset(cap, id);

	fputs(",\"labels\":{", out);
	for (uint32_t i = 0; l && i < l->count; i++) {
		if (i)
			fputc(',', out);
		json_str(out, l->keys[i]);
		fputc(':', out);
		json_str(out, l->values[i]);
	}
	fputc('}', out);
	if (id && !l)
		fputs(",\"labels_missing\":true", out);
	else if (l && l->truncated)
		fputs(",\"labels_truncated\":true", out);
}

/* Runtime goroutines (GC workers, timers...) are told apart as Go's tools do. */
static void print_system(struct gt_capture *cap, uint64_t startpc, FILE *out)
{
	struct gt_frame fr[16];
	int n = capture__symbolize(cap, startpc, fr, 16);

	if (n > 0 && go_funcs__is_system(fr[n - 1].func))
		fputs(",\"system\":true", out);
}

/* "func file:line" of the outermost frame at pc (the user-visible one). */
static void print_site(struct gt_capture *cap, const char *key, uint64_t pc, FILE *out)
{
	struct gt_frame fr[16];
	int n = capture__symbolize(cap, pc, fr, 16);
	char buf[1024];

	if (n <= 0) {
		snprintf(buf, sizeof(buf), "%#" PRIx64, pc);
	} else {
		snprintf(buf, sizeof(buf), "%s %s:%d", fr[0].func, fr[0].file, fr[0].line);
	}
	fprintf(out, ",\"%s\":", key);
	json_str(out, buf);
}

static void print_stack(struct gt_capture *cap, uint64_t id, const char *key, FILE *out)
{
	const struct gt_stack *s = capture__stack(cap, id);
	struct gt_frame fr[16];
	char buf[1024];
	bool first = true;

	if (!id)
		return;
	if (!s) {
		fprintf(out, ",\"%s_missing\":true", key);
		return;
	}
	fprintf(out, ",\"%s\":[", key);
	for (uint32_t i = 0; i < s->nr; i++) {
		int n = capture__symbolize(cap, s->pcs[i] - 1, fr, 16);

		if (n <= 0) {
			snprintf(buf, sizeof(buf), "%#" PRIx64, s->pcs[i]);
			n = 0;
		}
		for (int k = 0; k < (n ? n : 1); k++) {
			if (n)
				snprintf(buf, sizeof(buf), "%s %s:%d", fr[k].func, fr[k].file,
					 fr[k].line);
			if (!first)
				fputc(',', out);
			json_str(out, buf);
			first = false;
		}
	}
	fputc(']', out);
	if (s->truncated)
		fprintf(out, ",\"%s_truncated\":true", key);
}

static void print_fields(struct gt_capture *cap, const struct gt_event_hdr *h, FILE *out)
{
	switch (h->type) {
	case GT_EV_CREATE: {
		const struct gt_ev_create *e = (const void *)h;

		fprintf(out, ",\"parent\":%llu", (unsigned long long)e->parent);
		print_site(cap, "func", e->startpc, out);
		print_site(cap, "site", e->gopc - 1, out);
		print_labels(cap, e->labels, out);
		print_system(cap, e->startpc, out);
		if (h->flags & GT_F_PARKED_CREATE)
			fputs(",\"parked\":true", out);
		break;
	}
	case GT_EV_SNAPSHOT: {
		const struct gt_ev_snapshot *e = (const void *)h;
		static const char *const names[] = { "idle", "runnable", "running", "syscall",
						     "waiting", "moribund", "dead", "enqueue",
						     "copystack", "preempted", "leaked", "deadextra" };

		fputs(",\"status\":", out);
		json_str(out, e->status < 12 ? names[e->status] : "unknown");
		if (e->status == 4) {
			fputs(",\"reason\":", out);
			json_str(out, capture__waitreason(cap, e->reason));
		}
		fprintf(out, ",\"parent\":%llu", (unsigned long long)e->parent);
		print_site(cap, "func", e->startpc, out);
		print_site(cap, "site", e->gopc - 1, out);
		print_labels(cap, e->labels, out);
		print_system(cap, e->startpc, out);
		print_stack(cap, e->stack, "stack", out);
		break;
	}
	case GT_EV_START:
		fprintf(out, ",\"m\":%llu", (unsigned long long)((const struct gt_ev_start *)h)->mid);
		break;
	case GT_EV_PARK: {
		const struct gt_ev_park *e = (const void *)h;

		fputs(",\"reason\":", out);
		json_str(out, capture__waitreason(cap, e->reason));
		if (h->flags & GT_F_PSEUDO_WAIT)
			fputs(",\"pseudo\":true", out);
		print_stack(cap, e->stack, "stack", out);
		break;
	}
	case GT_EV_UNPARK: {
		const struct gt_ev_unpark *e = (const void *)h;

		if (h->flags & GT_F_BY_RUNTIME)
			fputs(",\"by\":null,\"by_runtime\":true", out);
		else
			fprintf(out, ",\"by\":%llu", (unsigned long long)e->by);
		break;
	}
	case GT_EV_LABELS: {
		const struct gt_ev_labels *e = (const void *)h;

		print_labels(cap, e->labels, out);
		print_stack(cap, capture__labels_stack(e), "stack", out);
		break;
	}
	case GT_EV_PREEMPT:
		if (h->flags & GT_F_GC_SUSPEND)
			fputs(",\"gc_suspend\":true", out);
		if (h->flags & GT_F_NO_P)
			fputs(",\"no_p\":true", out);
		break;
	case GT_EV_SYSCALL_EXIT:
		if (h->flags & GT_F_TO_RUNNABLE)
			fputs(",\"to_runnable\":true", out);
		break;
	case GT_EV_CPU_SAMPLE: {
		const struct gt_ev_cpu_sample *e = (const void *)h;

		fprintf(out, ",\"tgid\":%u,\"code\":\"%s\",\"period_ns\":%llu", e->tgid,
			capture__cpu_kind(e->kind), (unsigned long long)e->period_ns);
		print_labels(cap, e->labels, out);
		print_stack(cap, e->stack, "stack", out);
		print_stack(cap, e->kstack, "kernel_stack", out);
		break;
	}
	case GT_EV_LOSS: {
		const struct gt_ev_loss *e = (const void *)h;

		fprintf(out, ",\"end\":%" PRId64 ",\"lost\":%llu", capture__wall_ns(cap, e->end),
			(unsigned long long)e->lost);
		break;
	}
	case GT_EV_GAP: {
		const struct gt_ev_gap *e = (const void *)h;

		fprintf(out, ",\"end\":%" PRId64 ",\"est_events\":%llu,\"duty\":%.6f",
			capture__wall_ns(cap, e->end), (unsigned long long)e->est_events,
			e->duty_ppm / 1e6);
		break;
	}
	default:
		break;
	}
}

int jsonl__event(struct gt_capture *cap, const struct gt_event_hdr *h, const char *prefix,
		 FILE *out)
{
	if (h->type == GT_EV_STACK || h->type == GT_EV_LABELSET)
		return 0;
	fprintf(out, "{%s\"ev\":\"%s\",\"t\":%" PRId64 ",\"mono\":%" PRIu64 ",\"goid\":%" PRIu64,
		prefix ? prefix : "", capture__event_name(h->type), capture__wall_ns(cap, h->ts),
		(uint64_t)h->ts, (uint64_t)h->goid);
	if (h->type != GT_EV_LOSS && h->type != GT_EV_GAP)
		fprintf(out, ",\"tid\":%u,\"cpu\":%u", h->tid, h->cpu);
	print_fields(cap, h, out);
	fputs("}\n", out);
	return ferror(out) ? -EIO : 0;
}

static int on_event(struct gt_tool *tool, struct gt_capture *cap, const struct gt_event_hdr *h)
{
	return jsonl__event(cap, h, NULL, ((struct jsonl *)tool)->out);
}

int export_jsonl(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	struct jsonl j = { .tool.event = on_event, .out = out };
	int err;

	jsonl__capture_line(cap, NULL, out);
	err = capture__process(cap, &j.tool);
	return err == -EBADMSG ? 0 : err;
}

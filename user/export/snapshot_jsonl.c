// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gtrace snapshot -f jsonl`: one JSON object per goroutine, the field
 * names of `gtrace report -f jsonl` where they mean the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/snapshot_common.h"
#include "export/snapshot_export.h"
#include "lib/json.h"
#include "lib/u64map.h"

static struct symcache *sc; /* of the render in progress */

/*
 * A line is mostly parts many goroutines share: the state, creation site,
 * start function, label set and stack.  Each distinct part is rendered once
 * (stacks and label sets are shared by pointer in a snapshot); a line is
 * those parts and a few numbers, written with one fwrite.
 */
struct part {
	size_t len;
	char s[];
};

enum { P_STATE, P_CREATED, P_START, P_LABELS, P_STACK, P_N };

static struct u64map parts[P_N];

static void parts_free(void)
{
	for (int k = 0; k < P_N; k++) {
		for (size_t i = 0; i < parts[k].cap; i++)
			if (parts[k].keys && parts[k].keys[i])
				free(parts[k].vals[i]);
		u64map__free(&parts[k]);
	}
}

static void json_frame(FILE *f, const struct gt_frame *fr, uint64_t pc)
{
	fprintf(f, "{\"func\":");
	json_str(f, fr->func);
	fprintf(f, ",\"file\":");
	json_str(f, fr->file);
	fprintf(f, ",\"line\":%d,\"pc\":%" PRIu64 "}", fr->line, pc);
}

static void json_site(FILE *f, const struct gt_target *t, const char *key, uint64_t pc,
		      bool exact)
{
	const struct symcache_entry *s = symcache__at(sc, pc, exact);
	const struct gt_frame *fr = s->fr;
	int n = exact ? s->n : symcache__frames(sc, pc, &fr);

	fprintf(f, ",\"%s\":", key);
	if (!pc || n <= 0) {
		fprintf(f, "null");
		return;
	}
	/* the outermost frame is the function the PC is in */
	json_frame(f, &fr[n - 1], pc);
}

static void json_labels(FILE *f, const struct gt_goroutine *g)
{
	fprintf(f, ",\"labels\":{");
	for (int i = 0; i < g->nlabels; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_str(f, g->labels[i].key);
		fprintf(f, ":");
		json_str(f, g->labels[i].value);
	}
	fprintf(f, "}");
}

static void json_stack(FILE *f, const struct gt_target *t, const struct gt_goroutine *g)
{
	bool first = true;

	fprintf(f, ",\"stack\":[");
	for (int i = 0; i < g->nframes; i++) {
		const struct gt_frame *fr;
		int n = symcache__frames(sc, g->pcs[i], &fr);

		for (int j = 0; j < n; j++) {
			fprintf(f, "%s", first ? "" : ",");
			json_frame(f, &fr[j], g->pcs[i]);
			first = false;
		}
	}
	fprintf(f, "]}\n");
}

/* The part of kind k for g, rendered on first use.  NULL when out of memory. */
static const struct part *part_of(const struct gt_target *t, const struct gt_goroutine *g, int k)
{
	uint64_t key;
	struct part *p;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	switch (k) {
	case P_STATE: key = ((uint64_t)g->status << 8 | g->reason) + 1; break;
	case P_CREATED: key = g->gopc ? g->gopc : ~0ull; break; /* 0: "null" */
	case P_START: key = g->startpc ? g->startpc : ~0ull; break;
	case P_LABELS: key = g->nlabels ? (uintptr_t)g->labels : 1; break;
	default: key = g->nframes ? (uintptr_t)g->pcs : 1; break;
	}
	p = u64map__get(&parts[k], key);
	if (p)
		return p;
	m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	switch (k) {
	case P_STATE:
		fprintf(m, ",\"status\":");
		json_str(m, goroutine__status_name(g->status));
		fprintf(m, ",\"state\":");
		json_str(m, goroutine__state(t, g));
		fprintf(m, ",\"wait_reason\":%u", g->reason);
		break;
	case P_CREATED: json_site(m, t, "created_by", g->gopc, false); break;
	case P_START: json_site(m, t, "start", g->startpc, true); break;
	case P_LABELS: json_labels(m, g); break;
	default: json_stack(m, t, g); break;
	}
	if (fclose(m) || !(p = malloc(sizeof(*p) + len))) {
		free(buf);
		return NULL;
	}
	p->len = len;
	memcpy(p->s, buf, len);
	free(buf);
	if (u64map__put(&parts[k], key, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static void put_part(struct snapexp_line *l, const struct gt_target *t, const struct gt_goroutine *g,
		     int k)
{
	const struct part *p = part_of(t, g, k);

	if (p)
		snapexp__put(l, p->s, p->len);
	else
		l->oom = true;
}

static void json_goroutine(struct snapexp_line *l, const struct gt_target *t,
			   const struct gt_snapshot *s, const struct gt_goroutine *g)
{
	uint64_t ns;

	l->len = 0;
	snapexp__puts(l, "{\"goid\":");
	snapexp__putu(l, g->goid);
	put_part(l, t, g, P_STATE);
	if (snapexp__wait_ns(s, g, &ns)) {
		snapexp__puts(l, ",\"wait_ns\":");
		snapexp__putu(l, ns);
		snapexp__puts(l, ",\"wait_source\":\"runtime.waitsince\"");
	} else {
		snapexp__puts(l, ",\"wait_ns\":null,\"wait_source\":\"unknown\"");
	}
	snapexp__puts(l, ",\"parent\":");
	snapexp__putu(l, g->parent);
	snapexp__puts(l, (g->flags & GT_G_SYSTEM) ? ",\"system\":true,\"thread\":" :
					    ",\"system\":false,\"thread\":");
	if (g->tid < 0)
		snapexp__puts(l, "-");
	snapexp__putu(l, g->tid < 0 ? -(int64_t)g->tid : g->tid);
	put_part(l, t, g, P_CREATED);
	put_part(l, t, g, P_START);
	put_part(l, t, g, P_LABELS);
	snapexp__puts(l, (g->flags & GT_G_LABELS_TRUNCATED) ? ",\"labels_truncated\":true" :
						      ",\"labels_truncated\":false");
	snapexp__puts(l, (g->flags & GT_G_NO_STACK) ? ",\"stack_available\":false" :
					      ",\"stack_available\":true");
	snapexp__puts(l, (g->flags & GT_G_TRUNCATED) ? ",\"stack_truncated\":true" :
					       ",\"stack_truncated\":false");
	snapexp__puts(l, (g->flags & GT_G_STACK_PARTIAL) ? ",\"stack_partial\":true" :
						   ",\"stack_partial\":false");
	snapexp__puts(l, (g->flags & GT_G_INCONSISTENT) ? ",\"inconsistent\":true" :
						  ",\"inconsistent\":false");
	snapexp__puts(l, ",\"retries\":");
	snapexp__putu(l, g->retries);
	put_part(l, t, g, P_STACK);
}

int snapexp__jsonl(FILE *f, const struct gt_target *t, struct gt_snapshot *s)
{
	struct snapexp_line l = { 0 };
	int err = 0;

	sc = symcache__new(t);
	if (!sc)
		return -ENOMEM;
	for (size_t i = 0; !err && i < s->n; i++) {
		json_goroutine(&l, t, s, &s->g[i]);
		if (l.oom)
			err = -ENOMEM;
		else
			fwrite(l.b, 1, l.len, f);
	}
	free(l.b);
	parts_free();
	symcache__free(sc);
	return err;
}


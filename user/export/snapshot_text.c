// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gtrace snapshot` as text: goroutines grouped by identical stack, state
 * and creation site, largest group first, in the shape of Go's own
 * goroutine dumps, with labels, parents and wait times added.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "export/snapshot_common.h"
#include "export/snapshot_export.h"

static const struct gt_target *sort_t;
static struct symcache *sc; /* of the render in progress */

/* Text groups: same stack, same state, same creation site. */
static int cmp_group(const void *pa, const void *pb)
{
	const struct gt_goroutine *a = pa, *b = pb;
	const char *sa, *sb;
	int c = snapexp__cmp_stack(a, b);

	if (c)
		return c;
	sa = goroutine__state(sort_t, a);
	sb = goroutine__state(sort_t, b);
	c = sa == sb ? 0 : strcmp(sa, sb);
	if (c)
		return c;
	if (a->gopc != b->gopc)
		return a->gopc < b->gopc ? -1 : 1;
	return a->goid < b->goid ? -1 : a->goid > b->goid;
}

static int same_text_group(const struct gt_goroutine *a, const struct gt_goroutine *b,
			   const struct gt_target *t)
{
	return !snapexp__cmp_stack(a, b) && a->gopc == b->gopc &&
	       !strcmp(goroutine__state(t, a), goroutine__state(t, b));
}

/* ---- text ---- */

static void text_labels(struct snapexp_line *l, const struct gt_goroutine *g)
{
	snapexp__puts(l, " labels {");
	for (int i = 0; i < g->nlabels; i++) {
		if (i)
			snapexp__puts(l, ", ");
		snapexp__puts(l, g->labels[i].key);
		snapexp__puts(l, "=\"");
		snapexp__puts(l, g->labels[i].value);
		snapexp__puts(l, "\"");
	}
	snapexp__puts(l, (g->flags & GT_G_LABELS_TRUNCATED) ? "} (cut)" : "}");
}

static void text_goroutine(struct snapexp_line *l, const struct gt_target *t,
			   const struct gt_snapshot *s, const struct gt_goroutine *g)
{
	char d[64];
	uint64_t ns;

	snapexp__puts(l, "  goroutine ");
	snapexp__putu(l, g->goid);
	snapexp__puts(l, " [");
	snapexp__puts(l, goroutine__state(t, g));
	if (g->status == GT_G_WAITING) {
		snapexp__puts(l, ", ");
		snapexp__puts(l, snapexp__wait_ns(s, g, &ns) ? (snapexp__fmt_dur(d, sizeof(d), ns), d) : "wait unknown");
	}
	snapexp__puts(l, "]");
	if (g->parent) {
		snapexp__puts(l, " parent ");
		snapexp__putu(l, g->parent);
	}
	if (g->tid) {
		snprintf(d, sizeof(d), " thread %d", g->tid);
		snapexp__puts(l, d);
	}
	if (g->nlabels || (g->flags & GT_G_LABELS_TRUNCATED))
		text_labels(l, g);
	if (g->flags & GT_G_SYSTEM)
		snapexp__puts(l, " (runtime)");
	if (g->flags & GT_G_INCONSISTENT) {
		snprintf(d, sizeof(d), " (inconsistent: changed while read %d times)", g->retries + 1);
		snapexp__puts(l, d);
	}
	snapexp__puts(l, "\n");
}

static void text_frame(FILE *f, const struct gt_target *t, uint64_t ret, bool exact)
{
	const struct symcache_entry *s = symcache__at(sc, ret, exact);
	const struct gt_func *fn = s->fn;
	const struct gt_frame *fr;
	int n;

	n = exact ? s->n : symcache__frames(sc, ret, &fr);
	if (exact)
		fr = s->fr;
	if (n <= 0) {
		fprintf(f, "?()\n\t? pc=%#" PRIx64 "\n", ret);
		return;
	}
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s(%s)\n\t%s:%d", fr[i].func, i < n - 1 ? "..." : "", fr[i].file,
			fr[i].line);
		if (i == n - 1 && fn)
			fprintf(f, " +%#" PRIx64, ret - fn->entry);
		fprintf(f, "\n");
	}
}

/* "\tfile:line +off" of the outermost frame at a return address (Go's "created by" line). */
static void text_site(FILE *f, const struct gt_target *t, uint64_t ret)
{
	const struct gt_func *fn = symcache__at(sc, ret, false)->fn;
	const struct gt_frame *fr;
	int n = symcache__frames(sc, ret, &fr);

	fprintf(f, "\t%s:%d", fr[n - 1].file, fr[n - 1].line);
	if (fn)
		fprintf(f, " +%#" PRIx64, ret - fn->entry);
	fprintf(f, "\n");
}

static void text_stack(FILE *f, const struct gt_target *t, const struct gt_goroutine *g)
{
	int n = snapexp__shown_frames(sc, g);

	if (g->flags & GT_G_NO_STACK) {
		fprintf(f, "(%s, stack unavailable from outside the process)\n",
			goroutine__status_name(g->status));
	}
	for (int i = 0, run; i < n; i += run) {
		/* Deep recursion: one frame, then how many times it repeats. */
		for (run = 1; i + run < n && g->pcs[i + run] == g->pcs[i]; run++)
			;
		text_frame(f, t, g->pcs[i], false);
		if (run > 2) {
			text_frame(f, t, g->pcs[i], false);
			fprintf(f, "...%d more calls of the same frame\n", run - 2);
		} else if (run == 2) {
			text_frame(f, t, g->pcs[i], false);
		}
	}
	if (g->flags & GT_G_TRUNCATED)
		fprintf(f, "...cut at %d frames\n", GT_G_MAX_FRAMES);
	if (g->flags & GT_G_STACK_PARTIAL)
		fprintf(f, "...stack walk stopped early (frame chain not readable%s)\n",
			g->status == GT_G_SYSCALL && !t->rt.off.g_syscallbp ?
				": no syscall frame pointer before Go 1.23" : "");
	if (g->gopc) {
		fprintf(f, "created by %s", symcache__func_name(sc, g->gopc));
		if (g->parent)
			fprintf(f, " in goroutine %" PRIu64, g->parent);
		fprintf(f, "\n");
		text_site(f, t, g->gopc);
	}
}

static void text_header(FILE *f, const struct gt_target *t, const struct gt_snapshot *s,
			const char *stopped)
{
	time_t now = time(NULL);
	char when[64];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	fprintf(f, "gtrace snapshot of pid %d (%s, %s) at %s\n", t->pid, t->exe_name, t->ver.str,
		when);
	fprintf(f, "%zu goroutines (%zu runtime), allglen %zu, read in %.1f ms %s%s\n", s->n,
		s->nsystem, s->allglen, (s->end_ns - s->start_ns) / 1e6, stopped,
		s->target_exited ? "; THE PROCESS EXITED DURING THE READ: partial" : "");
	if (s->ninconsistent)
		fprintf(f, "%zu goroutines changed while read and are marked inconsistent\n",
			s->ninconsistent);
	fprintf(f, "wait times: the runtime's g.waitsince (set by the GC, a lower bound), "
		   "\"wait unknown\" when unset\n");
}

int snapexp__text(FILE *f, const struct gt_target *t, struct gt_snapshot *s,
		    const char *stopped)
{
	struct snapexp_line l = { 0 };
	struct snapexp_group *gr;
	size_t ng;
	int err = 0;

	sort_t = t;
	sc = symcache__new(t);
	if (!sc)
		return -ENOMEM;
	qsort(s->g, s->n, sizeof(*s->g), cmp_group);
	gr = snapexp__groups(t, s, &ng, same_text_group);
	if (!gr) {
		symcache__free(sc);
		return -ENOMEM;
	}
	text_header(f, t, s, stopped);
	for (size_t i = 0; i < ng; i++) {
		const struct gt_goroutine *g0 = &s->g[gr[i].first];

		fprintf(f, "\n%zu goroutine%s [%s]:\n", gr[i].n, gr[i].n == 1 ? "" : "s",
			goroutine__state(t, g0));
		/* the lines of a group, written together */
		l.len = 0;
		for (size_t j = 0; j < gr[i].n; j++) {
			text_goroutine(&l, t, s, &s->g[gr[i].first + j]);
			if (l.len > 1 << 16) {
				fwrite(l.b, 1, l.len, f);
				l.len = 0;
			}
		}
		if (l.len)
			fwrite(l.b, 1, l.len, f);
		if (l.oom) {
			err = -ENOMEM;
			break;
		}
		text_stack(f, t, g0);
	}
	free(l.b);
	free(gr);
	symcache__free(sc);
	return err;
}


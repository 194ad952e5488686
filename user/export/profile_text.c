// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A sampled profile as text (shares of wall time by state and wait reason,
 * by label set, the heaviest stacks) and as JSON lines, one per sample,
 * with the field names of `gtrace report -f jsonl` (see profile_export.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "export/profile_export.h"
#include "lib/json.h"

static const struct sampler_profile *sort_p;

static int by_wall(const void *a, const void *b)
{
	const struct sampler_sample *x = &sort_p->samples[*(const uint32_t *)a];
	const struct sampler_sample *y = &sort_p->samples[*(const uint32_t *)b];

	if (x->wall_ns != y->wall_ns)
		return x->wall_ns < y->wall_ns ? 1 : -1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Sample indices, heaviest wall first.  NULL on ENOMEM. */
static uint32_t *sorted(const struct sampler_profile *p)
{
	uint32_t *ix = malloc((p->nsamples ? p->nsamples : 1) * sizeof(*ix));

	if (!ix)
		return NULL;
	for (size_t i = 0; i < p->nsamples; i++)
		ix[i] = i;
	sort_p = p;
	qsort(ix, p->nsamples, sizeof(*ix), by_wall);
	return ix;
}

struct bucket {
	uint64_t key, wall;
};

static int by_bucket_wall(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;

	return x->wall != y->wall ? (x->wall < y->wall ? 1 : -1) : (x->key < y->key ? -1 : 1);
}

/* Wall time summed by key(sample), heaviest first; *n buckets. */
static struct bucket *sum_by(const struct sampler_profile *p, uint64_t (*key)(const struct sampler_sample *),
			     size_t *n)
{
	struct bucket *b = calloc(p->nsamples ? p->nsamples : 1, sizeof(*b));

	*n = 0;
	if (!b)
		return NULL;
	for (size_t i = 0; i < p->nsamples; i++) {
		uint64_t k = key(&p->samples[i]);
		size_t j;

		for (j = 0; j < *n && b[j].key != k; j++)
			;
		if (j == *n)
			b[(*n)++].key = k;
		b[j].wall += p->samples[i].wall_ns;
	}
	qsort(b, *n, sizeof(*b), by_bucket_wall);
	return b;
}

static uint64_t state_key(const struct sampler_sample *e)
{
	return (uint64_t)e->state << 8 | e->reason;
}

static uint64_t lset_key(const struct sampler_sample *e)
{
	return e->lset;
}

static void state_str(const struct sampler *s, enum gs_state st, uint8_t reason, char *buf, size_t len)
{
	if (st == GS_WAITING)
		snprintf(buf, len, "waiting: %s", sampler__reason_name(s, reason));
	else
		snprintf(buf, len, "%s", gs_state_name(st));
}

static void lset_str(const struct sampler_lset *ls, char *buf, size_t len)
{
	size_t at = 0;

	at += snprintf(buf + at, len - at, "{");
	for (int i = 0; i < ls->n && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%s=\"%s\"", i ? ", " : "", ls->labels[i].key,
			       ls->labels[i].value);
	if (at < len)
		snprintf(buf + at, len - at, "}");
}

static uint64_t total_wall(const struct sampler_profile *p)
{
	uint64_t t = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		t += p->samples[i].wall_ns;
	return t;
}

static void frames_text(FILE *f, struct symcache *sc, const struct sampler_profile *p,
			const struct sampler_sample *e, int max)
{
	const struct sampler_stack *k = &p->stacks[e->stack];

	if (k->flags & SAMPLER_START_ONLY)
		fprintf(f, "        %s\n", e->state == GS_RUNNING ? "[running: stack not readable]" :
								 "[no stack]");
	for (int i = 0, shown = 0; i < k->n && shown < max; i++) {
		const struct gt_frame *fr;
		int m = symcache__frames(sc, k->pcs[i], &fr);

		for (int j = 0; j < m && shown < max; j++, shown++)
			fprintf(f, "        %s %s:%d\n", fr[j].func, fr[j].file, fr[j].line);
	}
}

int profexp__text(FILE *f, const struct sampler *s, const struct profexp_opts *o)
{
	const struct sampler_profile *p = sampler__profile(s);
	const struct gt_target *t = sampler__target(s);
	struct symcache *sc = symcache__new(t);
	uint64_t tot = total_wall(p);
	struct bucket *bs, *bl;
	size_t ns, nl;
	uint32_t *ix = sorted(p);
	char buf[1024], site[512];
	int top = o->top > 0 ? o->top : 10;

	bs = sum_by(p, state_key, &ns);
	bl = sum_by(p, lset_key, &nl);
	if (!sc || !ix || !bs || !bl) {
		symcache__free(sc);
		free(ix);
		free(bs);
		free(bl);
		return -ENOMEM;
	}
	fprintf(f, "gtrace profile of pid %d (%s, %s): %" PRIu64 " passes at %.2f Hz over %.1f s, "
		   "%zu goroutines at the last pass\n", t->pid, t->exe_name, t->ver.str, p->passes,
		o->hz, (p->end_mono - p->start_mono) / 1e9, p->last_goroutines);
	fprintf(f, "reader: %.2f ms per pass, %.1f us CPU per 1000 goroutines per pass, "
		   "%.0f%% of stacks reused\n", p->passes ? p->read_ns / 1e6 / p->passes : 0,
		p->goroutines_read ? p->cpu_ns / 1e3 / (p->goroutines_read / 1000.0) : 0,
		p->goroutines_read ? 100.0 * p->cached / p->goroutines_read : 0);
	fprintf(f, "\nwall time by state (%.2f goroutine-seconds sampled):\n", tot / 1e9);
	for (size_t i = 0; i < ns; i++) {
		state_str(s, bs[i].key >> 8, bs[i].key & 0xff, buf, sizeof(buf));
		fprintf(f, "  %5.1f%%  %9.2fs  %s\n", tot ? 100.0 * bs[i].wall / tot : 0,
			bs[i].wall / 1e9, buf);
	}
	fprintf(f, "\nwall time by label set:\n");
	for (size_t i = 0; i < nl; i++) {
		lset_str(&p->lsets[bl[i].key], buf, sizeof(buf));
		fprintf(f, "  %5.1f%%  %9.2fs  %s\n", tot ? 100.0 * bl[i].wall / tot : 0,
			bl[i].wall / 1e9, buf);
	}
	fprintf(f, "\nheaviest stacks by wall time:\n");
	for (size_t i = 0; i < p->nsamples && (int)i < top; i++) {
		const struct sampler_sample *e = &p->samples[ix[i]];

		state_str(s, e->state, e->reason, buf, sizeof(buf));
		fprintf(f, "  %5.1f%%  %9.2fs  [%s]", tot ? 100.0 * e->wall_ns / tot : 0,
			e->wall_ns / 1e9, buf);
		if (e->lset) {
			lset_str(&p->lsets[e->lset], buf, sizeof(buf));
			fprintf(f, " labels %s", buf);
		}
		if (e->goid)
			fprintf(f, " goid %" PRIu64, e->goid);
		profexp__site(sc, e->gopc, site, sizeof(site));
		fprintf(f, " created by %s\n", site);
		frames_text(f, sc, p, e, 24);
	}
	symcache__free(sc);
	free(ix);
	free(bs);
	free(bl);
	return 0;
}

int profexp__jsonl(FILE *f, const struct sampler *s, const struct profexp_opts *o)
{
	const struct sampler_profile *p = sampler__profile(s);
	struct symcache *sc = symcache__new(sampler__target(s));
	uint32_t *ix = sorted(p);
	char site[512];

	if (!sc || !ix) {
		symcache__free(sc);
		free(ix);
		return -ENOMEM;
	}
	for (size_t n = 0; n < p->nsamples; n++) {
		const struct sampler_sample *e = &p->samples[ix[n]];
		const struct sampler_stack *k = &p->stacks[e->stack];
		const struct sampler_lset *ls = &p->lsets[e->lset];
		bool first = true;

		fprintf(f, "{\"state\":");
		json_str(f, gs_state_name(e->state));
		fprintf(f, ",\"wait_reason\":");
		if (e->state == GS_WAITING)
			json_str(f, sampler__reason_name(s, e->reason));
		else
			fprintf(f, "null");
		fprintf(f, ",\"wall_ns\":%" PRIu64 ",\"offcpu_ns\":%" PRIu64 ",\"runnable_ns\":%" PRIu64
			   ",\"goroutines\":%" PRIu64 ",\"samples\":%" PRIu64, e->wall_ns, e->offcpu_ns,
			e->runnable_ns, e->last_pass == p->passes ? e->last_count : 0, e->seen);
		if (e->goid)
			fprintf(f, ",\"goid\":%" PRIu64, e->goid);
		profexp__site(sc, e->gopc, site, sizeof(site));
		fprintf(f, ",\"created_by\":");
		json_str(f, site);
		fprintf(f, ",\"labels\":{");
		for (int i = 0; i < ls->n; i++) {
			fprintf(f, "%s", i ? "," : "");
			json_str(f, ls->labels[i].key);
			fprintf(f, ":");
			json_str(f, ls->labels[i].value);
		}
		fprintf(f, "},\"stack_available\":%s,\"stack\":[",
			(k->flags & SAMPLER_START_ONLY) ? "false" : "true");
		for (int i = 0; i < k->n; i++) {
			const struct gt_frame *fr;
			int m = symcache__frames(sc, k->pcs[i], &fr);

			for (int j = 0; j < m; j++, first = false) {
				fprintf(f, "%s{\"func\":", first ? "" : ",");
				json_str(f, fr[j].func);
				fprintf(f, ",\"file\":");
				json_str(f, fr[j].file);
				fprintf(f, ",\"line\":%d}", fr[j].line);
			}
		}
		fprintf(f, "]}\n");
	}
	(void)o;
	symcache__free(sc);
	free(ix);
	return 0;
}

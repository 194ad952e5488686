// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A sampled profile as pprof (see profile_export.h), through the one pprof
 * builder.  Values are nanoseconds of sampled time: a goroutine seen at a
 * pass adds the pass's weight (the period), so `go tool pprof` shows
 * seconds of goroutine time per stack, as fgprof's wall profile does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "export/pprof_builder.h"
#include "export/profile_export.h"

#define MAX_LABELS 72

void profexp__site(struct symcache *sc, uint64_t gopc, char *buf, size_t len)
{
	const struct gt_frame *fr;

	if (!gopc) {
		snprintf(buf, len, "runtime");
		return;
	}
	symcache__frames(sc, gopc, &fr);
	snprintf(buf, len, "%s %s:%d", fr[0].func, fr[0].file, fr[0].line);
}

static int add(struct pprof_builder *b, struct symcache *sc, const struct sampler *s,
	       const struct sampler_sample *e, const struct profexp_opts *o)
{
	const struct sampler_profile *p = sampler__profile(s);
	const struct sampler_stack *k = &p->stacks[e->stack];
	const struct sampler_lset *ls = &p->lsets[e->lset];
	uint64_t locs[GT_G_MAX_FRAMES * 4 + 2];
	struct pprof_label lab[MAX_LABELS];
	int64_t v[5] = { e->wall_ns, e->offcpu_ns, e->runnable_ns,
			 e->last_pass == p->passes ? (int64_t)e->last_count : 0, 0 };
	char site[512];
	int n = 0, nl = 0;

	if (k->flags & SAMPLER_START_ONLY)
		locs[n++] = pprof_builder__pseudo(b, e->state == GS_RUNNING ?
							     "[running: stack not readable]" :
							     "[no stack]");
	for (int i = 0; i < k->n; i++) {
		const struct gt_frame *fr;
		int m = symcache__frames(sc, k->pcs[i], &fr);
		uint64_t id = pprof_builder__find(b, k->pcs[i]);

		locs[n++] = id ? id : pprof_builder__location(b, k->pcs[i], fr, m);
	}
	lab[nl++] = (struct pprof_label){ .key = "state", .value = gs_state_name(e->state) };
	if (e->state == GS_WAITING)
		lab[nl++] = (struct pprof_label){ .key = "wait_reason",
						  .value = sampler__reason_name(s, e->reason) };
	profexp__site(sc, e->gopc, site, sizeof(site));
	lab[nl++] = (struct pprof_label){ .key = "created_by", .value = site };
	for (int i = 0; i < ls->n && nl < MAX_LABELS - 3; i++)
		if (*ls->labels[i].value)
			lab[nl++] = (struct pprof_label){ .key = ls->labels[i].key,
							  .value = ls->labels[i].value };
	if (o->az && *o->az)
		lab[nl++] = (struct pprof_label){ .key = "az", .value = o->az };
	if (o->host && *o->host)
		lab[nl++] = (struct pprof_label){ .key = "host", .value = o->host };
	if (e->goid)
		lab[nl++] = (struct pprof_label){ .key = "goid", .num = e->goid, .unit = "goid" };
	return pprof_builder__sample(b, locs, n, v, lab, nl);
}

static void comment(struct pprof_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void comment(struct pprof_builder *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pprof_builder__comment(b, buf);
}

int profexp__pprof(FILE *f, const struct sampler *s, const struct profexp_opts *o)
{
	const struct sampler_profile *p = sampler__profile(s);
	const struct gt_target *t = sampler__target(s);
	struct pprof_builder *b = pprof_builder__new();
	struct symcache *sc = symcache__new(t);
	int err = 0;

	if (!b || !sc) {
		pprof_builder__free(b);
		symcache__free(sc);
		return -ENOMEM;
	}
	pprof_builder__sample_type(b, "wall", "nanoseconds");
	pprof_builder__sample_type(b, "offcpu", "nanoseconds");
	pprof_builder__sample_type(b, "runnable", "nanoseconds");
	pprof_builder__sample_type(b, "goroutines", "count");
	if (o->cpu)
		pprof_builder__sample_type(b, "cpu", "nanoseconds");
	pprof_builder__default_type(b, "wall");
	pprof_builder__period(b, "wall", "nanoseconds", o->hz > 0 ? (int64_t)(1e9 / o->hz) : 0);
	pprof_builder__time(b, p->start_real, p->end_mono - p->start_mono);
	pprof_builder__mapping(b, 0, 0, t->exe_name,
			       t->elf.go_build_id[0] ? t->elf.go_build_id : t->elf.gnu_build_id);
	comment(b, "gtrace sampled profile (no probes): %" PRIu64 " passes at %.2f Hz over %.3f s",
		p->passes, o->hz, (p->end_mono - p->start_mono) / 1e9);
	comment(b, "sample: each goroutine seen at a pass adds the period to (stack, state, "
		   "wait_reason, labels); running goroutines: start function only");
	comment(b, "goroutines: count at the last pass (%zu)", p->last_goroutines);
	comment(b, "reader: %.1f ms wall, %.1f ms CPU in all; %.1f us CPU per 1000 goroutines "
		   "per pass", p->read_ns / 1e6, p->cpu_ns / 1e6,
		p->goroutines_read ? p->cpu_ns / 1e3 / (p->goroutines_read / 1000.0) : 0);
	if (o->cpu)
		comment(b, "cpu: %" PRIu64 " samples at %u Hz per CPU (%" PRIu64 " ns each), "
			   "%" PRIu64 " lost; rows of their own, 0 in the other types",
			cpu_profile__samples(o->cpu), o->cpu_hz, o->cpu_period_ns, o->cpu_lost);
	if (o->clock)
		comment(b, "%s", o->clock);
	if (o->az && *o->az)
		comment(b, "az=%s", o->az);
	if (o->host && *o->host)
		comment(b, "host=%s", o->host);
	for (size_t i = 0; i < p->nsamples && !err; i++)
		err = add(b, sc, s, &p->samples[i], o); /* v[4]: cpu, 0 here */
	if (!err && o->cpu)
		err = cpu_profile__pprof_rows(o->cpu, b, sc, 5, 4, -1, o->az, o->host);
	if (!err)
		err = pprof_builder__write(b, f);
	pprof_builder__free(b);
	symcache__free(sc);
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cpu_profile (export/cpu_profile.h) on hand-made sampler records: samples
 * with one key add up in one row, different goids, label sets or kinds
 * stay apart, a reset forgets the rows but keeps the label set definitions
 * (the BPF side sends each once), and the pprof rows carry the CPU in
 * their column only, with code, goid and the pprof labels; label sets
 * kept in another profile (the agent's shared store) resolve there.
 */
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "export/cpu_profile.h"
#include "profile.pb-c.h"
#include "helpers.h"
#include "test.h"

typedef Perftools__Profiles__Profile Profile;

static struct gt_ev_cpu_sample sample(uint64_t goid, uint64_t labels, uint8_t kind)
{
	return (struct gt_ev_cpu_sample){
		.h = { .type = GT_EV_CPU_SAMPLE, .size = sizeof(struct gt_ev_cpu_sample),
		       .goid = goid },
		.labels = labels, .period_ns = 1000, .kind = kind, .tgid = 7 };
}

static void labelset(struct gt_ev_labelset *e, uint64_t id, const char *k, const char *v)
{
	uint16_t kl = strlen(k), vl = strlen(v);
	uint8_t *p = e->blob;

	memset(e, 0, sizeof(*e));
	memcpy(p, &kl, 2), memcpy(p + 2, k, kl), p += 2 + kl;
	memcpy(p, &vl, 2), memcpy(p + 2, v, vl), p += 2 + vl;
	e->h.type = GT_EV_LABELSET;
	e->h.pad2 = 7;
	e->id = id;
	e->count = 1;
	e->blob_len = p - e->blob;
	e->h.size = offsetof(struct gt_ev_labelset, blob) + e->blob_len;
}


static const char *label(const Profile *p, const Perftools__Profiles__Sample *s, const char *key,
			 int64_t *num)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(p->string_table[s->label[i]->key], key)) {
			if (num)
				*num = s->label[i]->num;
			return p->string_table[s->label[i]->str];
		}
	return NULL;
}

TEST(cpu_profile_rows)
{
	struct cpu_profile *cp = cpu_profile__new();
	struct gt_ev_labelset ls;
	struct gt_ev_cpu_sample s;
	struct pprof_builder *b;
	Profile *p;
	int a_rows = 0;

	T_ASSERT(cp, "new");
	labelset(&ls, 42, "tenant", "a");
	T_ASSERT(!cpu_profile__record(cp, &ls, ls.h.size), "labelset");
	for (int i = 0; i < 3; i++) {
		s = sample(18, 42, GT_CPU_GO);
		T_ASSERT(!cpu_profile__record(cp, &s, sizeof(s)), "sample");
	}
	s = sample(19, 42, GT_CPU_GO);
	cpu_profile__record(cp, &s, sizeof(s));
	s = sample(18, 42, GT_CPU_SYSTEM);
	cpu_profile__record(cp, &s, sizeof(s));
	T_CHECK(cpu_profile__samples(cp) == 5 && cpu_profile__cpu_ns(cp) == 5000,
		"5 samples, 5000 ns: %llu, %llu", (unsigned long long)cpu_profile__samples(cp),
		(unsigned long long)cpu_profile__cpu_ns(cp));

	/* the window's end: rows go, the label set stays known */
	cpu_profile__reset(cp);
	T_CHECK(cpu_profile__samples(cp) == 0, "reset empties");
	for (int i = 0; i < 2; i++) {
		s = sample(18, 42, GT_CPU_GO);
		cpu_profile__record(cp, &s, sizeof(s));
	}
	s = sample(0, 0, GT_CPU_CGO);
	cpu_profile__record(cp, &s, sizeof(s));

	b = pprof_builder__new();
	pprof_builder__sample_type(b, "wall", "nanoseconds");
	pprof_builder__sample_type(b, "cpu", "nanoseconds");
	T_ASSERT(!cpu_profile__pprof_rows(cp, b, NULL, 2, 1, -1, "az1", "h"), "rows");
	p = t_pprof_decode(b);
	pprof_builder__free(b);
	T_ASSERT(p, "decodes");
	T_CHECK(p->n_sample == 2, "2 rows: %zu", p->n_sample);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *r = p->sample[i];
		const char *code = label(p, r, "code", NULL), *t = label(p, r, "tenant", NULL);
		int64_t goid = 0;

		label(p, r, "goid", &goid);
		T_CHECK(r->n_value == 2 && r->value[0] == 0, "cpu in its column only");
		T_CHECK(code && label(p, r, "az", NULL) && label(p, r, "host", NULL), "code, az, host");
		if (t && !strcmp(t, "a")) {
			a_rows++;
			T_CHECK(goid == 18 && r->value[1] == 2000 && !strcmp(code, "go"),
				"tenant=a row: goid %lld, %lld ns, %s", (long long)goid,
				(long long)r->value[1], code);
		} else {
			T_CHECK(!t && goid == 0 && !strcmp(code, "cgo") && r->value[1] == 1000,
				"cgo row: no labels, no goid");
		}
	}
	T_CHECK(a_rows == 1, "one tenant=a row after the reset: %d", a_rows);
	perftools__profiles__profile__free_unpacked(p, NULL);
	cpu_profile__free(cp);
}

/*
 * The agent's case: one label set store for every process (the BPF side
 * sends a content-hashed set once, whichever target used it first), and a
 * process's rows resolving their sets there.
 */
TEST(cpu_profile_shared_labelsets)
{
	struct cpu_profile *defs = cpu_profile__new(), *a = cpu_profile__new(),
			   *b2 = cpu_profile__new();
	struct gt_ev_labelset ls;
	struct gt_ev_cpu_sample s = sample(5, 99, GT_CPU_GO);
	struct pprof_builder *b;
	Profile *p;
	const char *t;

	T_ASSERT(defs && a && b2, "new");
	labelset(&ls, 99, "tenant", "shared");
	T_ASSERT(!cpu_profile__record(defs, &ls, ls.h.size), "labelset into the shared store");
	cpu_profile__record(a, &s, sizeof(s));
	cpu_profile__record(b2, &s, sizeof(s));
	cpu_profile__share_labelsets(a, defs);
	for (int k = 0; k < 2; k++) {
		b = pprof_builder__new();
		pprof_builder__sample_type(b, "samples", "count");
		pprof_builder__sample_type(b, "cpu", "nanoseconds");
		T_ASSERT(!cpu_profile__pprof_rows(k ? b2 : a, b, NULL, 2, 1, 0, NULL, NULL), "rows");
		p = t_pprof_decode(b);
		pprof_builder__free(b);
		T_ASSERT(p && p->n_sample == 1, "one row");
		t = label(p, p->sample[0], "tenant", NULL);
		if (!k)
			T_CHECK(t && !strcmp(t, "shared") && p->sample[0]->value[0] == 1 &&
					p->sample[0]->value[1] == 1000,
				"sharing: the set resolved, 1 sample, 1000 ns (%s)", t ? t : "none");
		else
			T_CHECK(!t, "not sharing: the set is unknown to it (%s)", t ? t : "none");
		perftools__profiles__profile__free_unpacked(p, NULL);
	}
	cpu_profile__free(a);
	cpu_profile__free(b2);
	cpu_profile__free(defs);
}

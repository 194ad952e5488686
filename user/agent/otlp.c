// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OTLP profiles (v1development, user/proto/otlp_*.proto) from the window's
 * pprof profiles.  The request has one dictionary shared by every profile
 * (strings, functions, locations, stacks and attributes each stored once;
 * index 0 of every table is the zero value, as the spec requires), one
 * ResourceProfiles per process with its identity as resource attributes
 * (service.name, process.pid, ...), and one Profile per pprof sample type,
 * since an OTLP profile has a single one.  Sample labels become sample
 * attributes; the profile type, duty cycle and pprof comments become
 * profile attributes.  Everything is allocated from one arena, freed at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/gzip.h"
#include "lib/u64map.h"
#include "lib/version.h"
#include "agent/batch.h"
#include "profile.pb-c.h"
#include "otlp_profiles_service.pb-c.h"

typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary Dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles ResProf;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles ScopeProf;
typedef Opentelemetry__Proto__Profiles__V1development__Profile Prof;
typedef Opentelemetry__Proto__Profiles__V1development__Sample Samp;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping Map;
typedef Opentelemetry__Proto__Profiles__V1development__Location Loc;
typedef Opentelemetry__Proto__Profiles__V1development__Line Line;
typedef Opentelemetry__Proto__Profiles__V1development__Function Func;
typedef Opentelemetry__Proto__Profiles__V1development__Stack Stack;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit Attr;
typedef Opentelemetry__Proto__Profiles__V1development__Link Link;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType VT;
typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyV;

struct arena {
	void **p;
	size_t n, cap;
	bool oom;
};

static void *alloc(struct arena *a, size_t sz)
{
	void *x;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		void **p = realloc(a->p, cap * sizeof(*p));

		if (!p) {
			a->oom = true;
			return NULL;
		}
		a->p = p;
		a->cap = cap;
	}
	x = calloc(1, sz ? sz : 1);
	if (!x) {
		a->oom = true;
		return NULL;
	}
	return a->p[a->n++] = x;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
}

/* A growable array of message pointers. */
struct vec {
	void **v;
	size_t n, cap;
};

static int vpush(struct vec *v, void *x)
{
	if (!x)
		return -ENOMEM;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void **p = realloc(v->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return (int)v->n - 1;
}

struct enc {
	struct arena ar;
	struct vec str, fn, loc, map, stack, attr, link;
	struct u64map str_ix, fn_ix, stack_ix, attr_ix; /* hash -> index + 1 */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

static int32_t str_ix(struct enc *e, const char *s)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, s, strlen(s));
	uintptr_t ix = (uintptr_t)u64map__get(&e->str_ix, h);
	char *c;

	if (ix && !strcmp(e->str.v[ix - 1], s))
		return ix - 1;
	c = alloc(&e->ar, strlen(s) + 1);
	if (!c)
		return 0;
	strcpy(c, s);
	ix = vpush(&e->str, c);
	if ((int)ix < 0)
		return 0;
	if (!u64map__get(&e->str_ix, h)) /* on a collision the later copy is simply not indexed */
		u64map__put(&e->str_ix, h, (void *)(ix + 1));
	return ix;
}

static int32_t fn_ix(struct enc *e, int32_t name, int32_t file, int64_t start)
{
	uint64_t key = ((uint64_t)(uint32_t)name << 32 | (uint32_t)file) + 1;
	uintptr_t ix = (uintptr_t)u64map__get(&e->fn_ix, key);
	Func *f;

	if (ix)
		return ix - 1;
	f = alloc(&e->ar, sizeof(*f));
	if (!f)
		return 0;
	opentelemetry__proto__profiles__v1development__function__init(f);
	f->name_strindex = f->system_name_strindex = name;
	f->filename_strindex = file;
	f->start_line = start;
	ix = vpush(&e->fn, f);
	u64map__put(&e->fn_ix, key, (void *)(ix + 1));
	return ix;
}

static int32_t stack_ix(struct enc *e, const int32_t *locs, size_t n)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, locs, n * sizeof(*locs));
	uintptr_t ix = (uintptr_t)u64map__get(&e->stack_ix, h);
	Stack *s;

	if (ix) {
		Stack *o = e->stack.v[ix - 1];

		if (o->n_location_indices == n && !memcmp(o->location_indices, locs, n * sizeof(*locs)))
			return ix - 1;
	}
	s = alloc(&e->ar, sizeof(*s));
	if (!s || !(s->location_indices = alloc(&e->ar, n * sizeof(*locs))))
		return 0;
	opentelemetry__proto__profiles__v1development__stack__init(s);
	s->location_indices = e->ar.p[e->ar.n - 1];
	memcpy(s->location_indices, locs, n * sizeof(*locs));
	s->n_location_indices = n;
	ix = vpush(&e->stack, s);
	if (!u64map__get(&e->stack_ix, h))
		u64map__put(&e->stack_ix, h, (void *)(ix + 1));
	return ix;
}

/* An attribute with a string (str != NULL) or an integer value. */
static int32_t attr_ix(struct enc *e, const char *key, const char *str, int64_t num,
		       const char *unit)
{
	int32_t k = str_ix(e, key), u = unit ? str_ix(e, unit) : 0;
	uint64_t h = fnv(fnv(fnv(0xcbf29ce484222325ull, &k, sizeof(k)), &u, sizeof(u)),
			 str ? str : (const char *)&num, str ? strlen(str) + 1 : sizeof(num));
	uintptr_t ix = (uintptr_t)u64map__get(&e->attr_ix, h);
	Attr *a;
	AnyV *v;

	if (ix)
		return ix - 1;
	a = alloc(&e->ar, sizeof(*a));
	v = alloc(&e->ar, sizeof(*v));
	if (!a || !v)
		return 0;
	opentelemetry__proto__profiles__v1development__key_value_and_unit__init(a);
	opentelemetry__proto__common__v1__any_value__init(v);
	a->key_strindex = k;
	a->unit_strindex = u;
	if (str) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = alloc(&e->ar, strlen(str) + 1);
		if (!v->string_value)
			return 0;
		strcpy(v->string_value, str);
	} else {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = num;
	}
	a->value = v;
	ix = vpush(&e->attr, a);
	u64map__put(&e->attr_ix, h, (void *)(ix + 1));
	return ix;
}

static const char *pstr(const Perftools__Profiles__Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "";
}

/* One pprof into OTLP profiles appended to sp. */
static int add_pprof(struct enc *e, ScopeProf *sp, struct vec *profs, const struct agent_series *s)
{
	size_t raw_len;
	uint8_t *raw = NULL;
	Perftools__Profiles__Profile *pp;
	int32_t *loc_ix = NULL, *map_ix = NULL, stk[1024];
	int32_t pattrs[8];
	size_t npattrs = 0;
	const char *duty = "1";
	int err = 0;

	/* the window's own pprof, as written: no bound beyond memory */
	if (gzip__inflate(s->p->pprof, s->p->len, SIZE_MAX, &raw, &raw_len))
		return -EINVAL;
	pp = perftools__profiles__profile__unpack(NULL, raw_len, raw);
	free(raw);
	if (!pp)
		return -EINVAL;
	/* mappings and locations of this pprof, by their pprof ids */
	map_ix = calloc(pp->n_mapping + 1, sizeof(*map_ix));
	loc_ix = calloc(pp->n_location + 1, sizeof(*loc_ix));
	if (!map_ix || !loc_ix) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pp->n_mapping; i++) {
		Map *m = alloc(&e->ar, sizeof(*m));

		if (!m)
			break;
		opentelemetry__proto__profiles__v1development__mapping__init(m);
		m->memory_start = pp->mapping[i]->memory_start;
		m->memory_limit = pp->mapping[i]->memory_limit;
		m->file_offset = pp->mapping[i]->file_offset;
		m->filename_strindex = str_ix(e, pstr(pp, pp->mapping[i]->filename));
		if (pp->mapping[i]->id <= pp->n_mapping)
			map_ix[pp->mapping[i]->id] = vpush(&e->map, m);
	}
	for (size_t i = 0; i < pp->n_location; i++) {
		const Perftools__Profiles__Location *pl = pp->location[i];
		Loc *l = alloc(&e->ar, sizeof(*l));
		Line **lines = alloc(&e->ar, (pl->n_line ? pl->n_line : 1) * sizeof(*lines));

		if (!l || !lines)
			break;
		opentelemetry__proto__profiles__v1development__location__init(l);
		l->mapping_index = pl->mapping_id <= pp->n_mapping ? map_ix[pl->mapping_id] : 0;
		l->address = pl->address;
		for (size_t j = 0; j < pl->n_line; j++) {
			const Perftools__Profiles__Function *pf = NULL;
			Line *ln = alloc(&e->ar, sizeof(*ln));

			if (!ln)
				break;
			opentelemetry__proto__profiles__v1development__line__init(ln);
			for (size_t k = 0; k < pp->n_function && !pf; k++) /* ids are 1..n in order */
				if (pp->function[k]->id == pl->line[j]->function_id)
					pf = pp->function[k];
			if (pl->line[j]->function_id && pl->line[j]->function_id <= pp->n_function &&
			    pp->function[pl->line[j]->function_id - 1]->id == pl->line[j]->function_id)
				pf = pp->function[pl->line[j]->function_id - 1];
			if (pf)
				ln->function_index = fn_ix(e, str_ix(e, pstr(pp, pf->name)),
							   str_ix(e, pstr(pp, pf->filename)),
							   pf->start_line);
			ln->line = pl->line[j]->line;
			lines[l->n_lines++] = ln;
		}
		l->lines = lines;
		if (pl->id <= pp->n_location)
			loc_ix[pl->id] = vpush(&e->loc, l);
	}
	pattrs[npattrs++] = attr_ix(e, "gtrace.profile.type", s->p->type, 0, NULL);
	for (int j = 0; j < s->nlabels; j++)
		if (!strcmp(s->label[j][0], "gtrace.duty_cycle"))
			duty = s->label[j][1];
	pattrs[npattrs++] = attr_ix(e, "gtrace.duty_cycle", duty, 0, NULL);
	for (size_t j = 0; j < pp->n_comment && npattrs < 8; j++)
		pattrs[npattrs++] = attr_ix(e, "pprof.profile.comment", pstr(pp, pp->comment[j]), 0, NULL);
	for (size_t t = 0; t < pp->n_sample_type; t++) {
		Prof *pr = alloc(&e->ar, sizeof(*pr));
		VT *st = alloc(&e->ar, sizeof(*st)), *pt = alloc(&e->ar, sizeof(*pt));
		Samp **ss = alloc(&e->ar, (pp->n_sample ? pp->n_sample : 1) * sizeof(*ss));
		int32_t *pa = alloc(&e->ar, sizeof(pattrs));

		if (!pr || !st || !pt || !ss || !pa) {
			err = -ENOMEM;
			goto out;
		}
		opentelemetry__proto__profiles__v1development__profile__init(pr);
		opentelemetry__proto__profiles__v1development__value_type__init(st);
		opentelemetry__proto__profiles__v1development__value_type__init(pt);
		st->type_strindex = str_ix(e, pstr(pp, pp->sample_type[t]->type));
		st->unit_strindex = str_ix(e, pstr(pp, pp->sample_type[t]->unit));
		if (pp->period_type) {
			pt->type_strindex = str_ix(e, pstr(pp, pp->period_type->type));
			pt->unit_strindex = str_ix(e, pstr(pp, pp->period_type->unit));
		}
		pr->sample_type = st;
		pr->period_type = pt;
		pr->period = pp->period;
		pr->time_unix_nano = pp->time_nanos;
		pr->duration_nano = pp->duration_nanos;
		memcpy(pa, pattrs, sizeof(pattrs));
		pr->attribute_indices = pa;
		pr->n_attribute_indices = npattrs;
		for (size_t i = 0; i < pp->n_sample; i++) {
			const Perftools__Profiles__Sample *ps = pp->sample[i];
			Samp *sm = alloc(&e->ar, sizeof(*sm));
			int64_t *v = alloc(&e->ar, sizeof(*v));
			int32_t *ai = alloc(&e->ar, (ps->n_label ? ps->n_label : 1) * sizeof(*ai));
			size_t n = ps->n_location_id < 1024 ? ps->n_location_id : 1024;

			if (!sm || !v || !ai) {
				err = -ENOMEM;
				goto out;
			}
			opentelemetry__proto__profiles__v1development__sample__init(sm);
			for (size_t j = 0; j < n; j++)
				stk[j] = ps->location_id[j] <= pp->n_location ? loc_ix[ps->location_id[j]] : 0;
			sm->stack_index = stack_ix(e, stk, n);
			*v = t < ps->n_value ? ps->value[t] : 0;
			sm->values = v;
			sm->n_values = 1;
			for (size_t j = 0; j < ps->n_label; j++) {
				const Perftools__Profiles__Label *lb = ps->label[j];

				ai[j] = lb->str ? attr_ix(e, pstr(pp, lb->key), pstr(pp, lb->str), 0, NULL) :
						  attr_ix(e, pstr(pp, lb->key), NULL, lb->num,
							  lb->num_unit ? pstr(pp, lb->num_unit) : NULL);
			}
			sm->attribute_indices = ai;
			sm->n_attribute_indices = ps->n_label;
			ss[pr->n_samples++] = sm;
		}
		pr->samples = ss;
		if (vpush(profs, pr) < 0) {
			err = -ENOMEM;
			goto out;
		}
	}
	(void)sp;
out:
	free(map_ix);
	free(loc_ix);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	return err;
}

static ResProf *resource(struct enc *e, const struct agent_series *s)
{
	ResProf *rp = alloc(&e->ar, sizeof(*rp));
	Opentelemetry__Proto__Resource__V1__Resource *r = alloc(&e->ar, sizeof(*r));
	Opentelemetry__Proto__Common__V1__InstrumentationScope *sc = alloc(&e->ar, sizeof(*sc));
	ScopeProf *sp = alloc(&e->ar, sizeof(*sp)), **spp = alloc(&e->ar, sizeof(*spp));
	KV **kvs = alloc(&e->ar, (s->nlabels + 1) * sizeof(*kvs));

	if (!rp || !r || !sc || !sp || !spp || !kvs)
		return NULL;
	opentelemetry__proto__profiles__v1development__resource_profiles__init(rp);
	opentelemetry__proto__resource__v1__resource__init(r);
	opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
	opentelemetry__proto__profiles__v1development__scope_profiles__init(sp);
	for (int i = 0; i < s->nlabels; i++) {
		KV *kv = alloc(&e->ar, sizeof(*kv));
		AnyV *v = alloc(&e->ar, sizeof(*v));

		if (!kv || !v)
			return NULL;
		if (!strcmp(s->label[i][0], "gtrace.duty_cycle"))
			continue; /* per profile */
		opentelemetry__proto__common__v1__key_value__init(kv);
		opentelemetry__proto__common__v1__any_value__init(v);
		kv->key = (char *)s->label[i][0];
		if (!strcmp(s->label[i][0], "process.pid")) {
			v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			v->int_value = atoll(s->label[i][1]);
		} else {
			v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			v->string_value = (char *)s->label[i][1];
		}
		kv->value = v;
		kvs[r->n_attributes++] = kv;
	}
	r->attributes = kvs;
	sc->name = "gtrace";
	sc->version = GTRACE_VERSION;
	sp->scope = sc;
	sp->schema_url = "https://opentelemetry.io/schemas/1.37.0";
	*spp = sp;
	rp->resource = r;
	rp->scope_profiles = spp;
	rp->n_scope_profiles = 1;
	return rp;
}

int otlp__encode(const struct agent_batch *b, uint8_t **out, size_t *len)
{
	Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest req =
		OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_REQUEST__INIT;
	Dict dict = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
	struct enc e = { 0 };
	struct vec res = { 0 }, profs = { 0 };
	Map *m0;
	Loc *l0;
	Func *f0;
	Stack *s0;
	Attr *a0;
	Link *k0;
	int err = 0;

	/* index 0 of every table: the zero value */
	str_ix(&e, "");
	m0 = alloc(&e.ar, sizeof(*m0));
	l0 = alloc(&e.ar, sizeof(*l0));
	f0 = alloc(&e.ar, sizeof(*f0));
	s0 = alloc(&e.ar, sizeof(*s0));
	a0 = alloc(&e.ar, sizeof(*a0));
	k0 = alloc(&e.ar, sizeof(*k0));
	if (e.ar.oom) {
		err = -ENOMEM;
		goto out;
	}
	opentelemetry__proto__profiles__v1development__mapping__init(m0);
	opentelemetry__proto__profiles__v1development__location__init(l0);
	opentelemetry__proto__profiles__v1development__function__init(f0);
	opentelemetry__proto__profiles__v1development__stack__init(s0);
	opentelemetry__proto__profiles__v1development__key_value_and_unit__init(a0);
	opentelemetry__proto__profiles__v1development__link__init(k0);
	vpush(&e.map, m0);
	vpush(&e.loc, l0);
	vpush(&e.fn, f0);
	vpush(&e.stack, s0);
	vpush(&e.attr, a0);
	vpush(&e.link, k0);
	u64map__put(&e.fn_ix, 1, (void *)1); /* function (0, 0) is the zero one */
	for (int i = 0; i < b->n && !err;) {
		/* the series of one process are consecutive and share its service pointer */
		ResProf *rp = resource(&e, &b->s[i]);
		int j = i;

		if (!rp) {
			err = -ENOMEM;
			break;
		}
		profs.n = 0;
		for (; j < b->n && b->s[j].service == b->s[i].service && !err; j++)
			err = add_pprof(&e, rp->scope_profiles[0], &profs, &b->s[j]);
		rp->scope_profiles[0]->profiles = alloc(&e.ar, (profs.n ? profs.n : 1) * sizeof(Prof *));
		if (!rp->scope_profiles[0]->profiles) {
			err = -ENOMEM;
			break;
		}
		memcpy(rp->scope_profiles[0]->profiles, profs.v, profs.n * sizeof(Prof *));
		rp->scope_profiles[0]->n_profiles = profs.n;
		if (vpush(&res, rp) < 0)
			err = -ENOMEM;
		i = j;
	}
	if (err || e.ar.oom) {
		err = err ? err : -ENOMEM;
		goto out;
	}
	dict.string_table = (char **)e.str.v;
	dict.n_string_table = e.str.n;
	dict.mapping_table = (Map **)e.map.v;
	dict.n_mapping_table = e.map.n;
	dict.location_table = (Loc **)e.loc.v;
	dict.n_location_table = e.loc.n;
	dict.function_table = (Func **)e.fn.v;
	dict.n_function_table = e.fn.n;
	dict.stack_table = (Stack **)e.stack.v;
	dict.n_stack_table = e.stack.n;
	dict.attribute_table = (Attr **)e.attr.v;
	dict.n_attribute_table = e.attr.n;
	dict.link_table = (Link **)e.link.v;
	dict.n_link_table = e.link.n;
	req.dictionary = &dict;
	req.resource_profiles = (ResProf **)res.v;
	req.n_resource_profiles = res.n;
	*len = opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__get_packed_size(&req);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		err = -ENOMEM;
	else
		opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__pack(&req, *out);
out:
	free(e.str.v);
	free(e.fn.v);
	free(e.loc.v);
	free(e.map.v);
	free(e.stack.v);
	free(e.attr.v);
	free(e.link.v);
	free(res.v);
	free(profs.v);
	u64map__free(&e.str_ix);
	u64map__free(&e.fn_ix);
	u64map__free(&e.stack_ix);
	u64map__free(&e.attr_ix);
	arena_free(&e.ar);
	return err;
}

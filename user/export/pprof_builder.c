// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof profile builder (see pprof_builder.h).  Strings and function keys
 * are interned in gs_strtabs (the string table is the profile's own,
 * index 0 ""); locations are keyed by address, pseudo locations by their
 * function, in u64maps.  Everything is freed together; the protobuf-c
 * structs point into the builder's own arrays, so packing needs no copies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "lib/gzip.h"
#include "capture/gs_table.h"
#include "export/pprof_builder.h"
#include "profile.pb-c.h"
#include "lib/u64map.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Mapping Mapping;

struct pprof_builder {
	Profile p;
	struct gs_strtab str;
	/* "name\nfile", or "\1name" for pseudo frames: index = function id - 1 */
	struct gs_strtab fkeys;
	Function **fn;
	size_t nfn, capfn;
	Location **loc;
	size_t nloc, caploc;
	struct u64map by_addr; /* addr -> location id */
	struct u64map pseudo;  /* function id -> location id */
	uint64_t lo, hi;       /* span of the locations' addresses */
	bool span;	       /* the mapping is that span */
	Sample **smp;
	size_t nsmp, capsmp;
	ValueType **types, period;
	size_t ntypes;
	Mapping map, *maps[1];
	int64_t *comments;
	size_t ncomments;
};

/* Index of s in t, *added telling whether it is new; -ENOMEM on failure. */
static int64_t intern(struct gs_strtab *t, const char *s, bool *added)
{
	size_t len = t->len;
	int64_t i = gs_strtab__intern(t, s);

	*added = t->len > len;
	return i;
}

/* Grows *arr (of pointers) to hold one more. */
static int grow(void ***arr, size_t len, size_t *cap)
{
	void **n;

	if (len < *cap)
		return 0;
	n = realloc(*arr, (*cap ? *cap * 2 : 64) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

int64_t pprof_builder__str(struct pprof_builder *b, const char *s)
{
	int64_t i = gs_strtab__intern(&b->str, s ? s : "");

	return i < 0 ? 0 : i;
}

struct pprof_builder *pprof_builder__new(void)
{
	struct pprof_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	perftools__profiles__profile__init(&b->p);
	perftools__profiles__value_type__init(&b->period);
	perftools__profiles__mapping__init(&b->map);
	pprof_builder__str(b, ""); /* index 0 must be "" */
	return b;
}

int pprof_builder__sample_type(struct pprof_builder *b, const char *type, const char *unit)
{
	ValueType **n = realloc(b->types, (b->ntypes + 1) * sizeof(*n));
	ValueType *v = malloc(sizeof(*v));

	if (n)
		b->types = n;
	if (!n || !v) {
		free(v);
		return -ENOMEM;
	}
	perftools__profiles__value_type__init(v);
	v->type = pprof_builder__str(b, type);
	v->unit = pprof_builder__str(b, unit);
	b->types[b->ntypes++] = v;
	return 0;
}

void pprof_builder__default_type(struct pprof_builder *b, const char *type)
{
	b->p.default_sample_type = pprof_builder__str(b, type);
}

void pprof_builder__period(struct pprof_builder *b, const char *type, const char *unit,
			   int64_t period)
{
	b->period.type = pprof_builder__str(b, type);
	b->period.unit = pprof_builder__str(b, unit);
	b->p.period_type = &b->period;
	b->p.period = period;
}

void pprof_builder__time(struct pprof_builder *b, int64_t time_nanos, int64_t duration_nanos)
{
	b->p.time_nanos = time_nanos;
	b->p.duration_nanos = duration_nanos;
}

void pprof_builder__mapping(struct pprof_builder *b, uint64_t start, uint64_t limit,
			    const char *file, const char *build_id)
{
	b->map.id = 1;
	b->map.memory_start = start;
	b->map.memory_limit = limit;
	b->span = !limit;
	b->map.filename = pprof_builder__str(b, file);
	b->map.build_id = pprof_builder__str(b, build_id);
	/* Frames are symbolized here: pprof must not try to symbolize again. */
	b->map.has_functions = b->map.has_filenames = b->map.has_line_numbers = 1;
	b->map.has_inline_frames = 1;
	b->maps[0] = &b->map;
}

void pprof_builder__comment(struct pprof_builder *b, const char *text)
{
	int64_t *n = realloc(b->comments, (b->ncomments + 1) * sizeof(*n));

	if (!n)
		return;
	b->comments = n;
	b->comments[b->ncomments++] = pprof_builder__str(b, text);
}

/* Function id for key (one per distinct function), added when new; 0 on ENOMEM. */
static uint64_t func_id(struct pprof_builder *b, const char *key, const char *name,
			const char *file)
{
	bool added;
	int64_t i = intern(&b->fkeys, key, &added);
	Function *f;

	if (i < 0)
		return 0;
	if (!added)
		return i + 1;
	if (grow((void ***)&b->fn, b->nfn, &b->capfn) || !(f = malloc(sizeof(*f))))
		return 0;
	perftools__profiles__function__init(f);
	f->id = i + 1;
	f->name = f->system_name = pprof_builder__str(b, name);
	f->filename = pprof_builder__str(b, file);
	b->fn[b->nfn++] = f;
	return f->id;
}

static uint64_t frame_func(struct pprof_builder *b, const struct gt_frame *f)
{
	char key[2048];

	snprintf(key, sizeof(key), "%s\n%s", f->func, f->file);
	return func_id(b, key, f->func, f->file);
}

static Location *new_loc(struct pprof_builder *b, int nlines)
{
	Location *l;

	if (grow((void ***)&b->loc, b->nloc, &b->caploc))
		return NULL;
	/* one block: the Location, its Line pointers, then the Lines */
	l = calloc(1, sizeof(*l) + nlines * (sizeof(Line *) + sizeof(Line)));
	if (!l)
		return NULL;
	perftools__profiles__location__init(l);
	l->line = (Line **)(l + 1);
	for (int i = 0; i < nlines; i++) {
		l->line[i] = (Line *)(l->line + nlines) + i;
		perftools__profiles__line__init(l->line[i]);
	}
	l->n_line = nlines;
	l->id = b->nloc + 1;
	b->loc[b->nloc++] = l;
	return l;
}

uint64_t pprof_builder__find(struct pprof_builder *b, uint64_t addr)
{
	/* u64map reserves key 0: address 0 is never shared */
	return addr ? (uintptr_t)u64map__get(&b->by_addr, addr) : 0;
}

uint64_t pprof_builder__location(struct pprof_builder *b, uint64_t addr,
				 const struct gt_frame *f, int n)
{
	static const struct gt_frame unknown = { "?", "?", 0 };
	uint64_t id = pprof_builder__find(b, addr);
	Location *l;

	if (id)
		return id;
	if (n <= 0) {
		f = &unknown;
		n = 1;
	}
	l = new_loc(b, n);
	if (!l)
		return 0;
	l->address = addr;
	l->mapping_id = b->maps[0] ? 1 : 0;
	/* pprof wants the innermost (inlined) function first, as pclntab gives them. */
	for (int i = 0; i < n; i++) {
		l->line[i]->function_id = frame_func(b, &f[i]);
		l->line[i]->line = f[i].line;
	}
	if (!b->lo || addr < b->lo)
		b->lo = addr;
	if (addr + 1 > b->hi)
		b->hi = addr + 1;
	if (addr && u64map__put(&b->by_addr, addr, (void *)(uintptr_t)l->id))
		return 0;
	return l->id;
}

uint64_t pprof_builder__pseudo(struct pprof_builder *b, const char *name)
{
	char key[256];
	uint64_t fid, id;
	Location *l;

	/* "\1" keeps a pseudo frame apart from a real function of that name */
	snprintf(key, sizeof(key), "\x01%s", name);
	fid = func_id(b, key, name, "");
	id = fid ? (uintptr_t)u64map__get(&b->pseudo, fid) : 0;
	if (!fid || id)
		return id;
	l = new_loc(b, 1);
	if (!l)
		return 0;
	l->line[0]->function_id = fid;
	if (u64map__put(&b->pseudo, fid, (void *)(uintptr_t)l->id))
		return 0;
	return l->id;
}

static void set_label(struct pprof_builder *b, Label *l, const struct pprof_label *in)
{
	perftools__profiles__label__init(l);
	l->key = pprof_builder__str(b, in->key);
	if (in->unit) {
		l->num = in->num;
		l->num_unit = pprof_builder__str(b, in->unit);
	} else {
		l->str = pprof_builder__str(b, in->value);
	}
}

int pprof_builder__sample(struct pprof_builder *b, const uint64_t *locs, int nlocs,
			  const int64_t *values, const struct pprof_label *labels, int nlabels)
{
	/* one block: the Sample, its location ids, values, Label pointers, then the Labels */
	size_t sz = sizeof(Sample) + nlocs * sizeof(uint64_t) + b->ntypes * sizeof(int64_t) +
		    nlabels * (sizeof(Label *) + sizeof(Label));
	Sample *s;
	Label *lab;

	if (grow((void ***)&b->smp, b->nsmp, &b->capsmp) || !(s = calloc(1, sz)))
		return -ENOMEM;
	perftools__profiles__sample__init(s);
	s->location_id = (uint64_t *)(s + 1);
	s->n_location_id = nlocs;
	memcpy(s->location_id, locs, nlocs * sizeof(uint64_t));
	s->value = (int64_t *)(s->location_id + nlocs);
	s->n_value = b->ntypes;
	memcpy(s->value, values, b->ntypes * sizeof(int64_t));
	s->label = (Label **)(s->value + b->ntypes);
	lab = (Label *)(s->label + nlabels);
	for (int i = 0; i < nlabels; i++) {
		set_label(b, &lab[i], &labels[i]);
		s->label[i] = &lab[i];
	}
	s->n_label = nlabels;
	b->smp[b->nsmp++] = s;
	return 0;
}

/* The profile gzipped, as Go's runtime/pprof writes it. */
static int write_gzip(const uint8_t *buf, size_t len, FILE *out)
{
	uint8_t *gz;
	size_t n;
	int err = gzip__compress(buf, len, &gz, &n);

	if (err)
		return err;
	if (fwrite(gz, 1, n, out) != n)
		err = -EIO;
	free(gz);
	/* a full disk may only show when stdio hands its buffer over */
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
	return err;
}

/* Points the Profile at the builder's tables. */
static void fill_profile(struct pprof_builder *b)
{
	Profile *p = &b->p;

	if (b->span) {
		b->map.memory_start = b->lo;
		b->map.memory_limit = b->hi;
	}
	p->sample_type = b->types;
	p->n_sample_type = b->ntypes;
	p->sample = b->smp;
	p->n_sample = b->nsmp;
	p->location = b->loc;
	p->n_location = b->nloc;
	p->function = b->fn;
	p->n_function = b->nfn;
	p->mapping = b->maps[0] ? b->maps : NULL;
	p->n_mapping = b->maps[0] ? 1 : 0;
	p->string_table = b->str.strs;
	p->n_string_table = b->str.len;
	p->comment = b->comments;
	p->n_comment = b->ncomments;
}

int pprof_builder__write(struct pprof_builder *b, FILE *out)
{
	uint8_t *buf;
	size_t len;
	int err;

	fill_profile(b);
	len = perftools__profiles__profile__get_packed_size(&b->p);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	perftools__profiles__profile__pack(&b->p, buf);
	err = write_gzip(buf, len, out);
	free(buf);
	if (err)
		pr_err("cannot write the profile: %s\n", strerror(-err));
	return err;
}

void pprof_builder__free(struct pprof_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nsmp; i++)
		free(b->smp[i]);
	for (size_t i = 0; i < b->nloc; i++)
		free(b->loc[i]);
	for (size_t i = 0; i < b->nfn; i++)
		free(b->fn[i]);
	for (size_t i = 0; i < b->ntypes; i++)
		free(b->types[i]);
	free(b->smp);
	free(b->loc);
	free(b->fn);
	free(b->types);
	free(b->comments);
	gs_strtab__free(&b->str);
	gs_strtab__free(&b->fkeys);
	u64map__free(&b->by_addr);
	u64map__free(&b->pseudo);
	free(b);
}

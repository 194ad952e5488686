// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof profile builder (see pprof_builder.h).  Strings are interned in an
 * open-addressing table keyed by an FNV hash; functions are interned as
 * "name\nfile" strings in a second table; locations are keyed by address in
 * a u64map.  Everything is freed together; the protobuf-c structs point into
 * the builder's own arrays, so packing needs no copies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "debug.h"
#include "pprof_builder.h"
#include "profile.pb-c.h"
#include "u64map.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Mapping Mapping;

/* Interned strings: index by content. */
struct strtab {
	char **s;
	size_t len, cap;
	int64_t *slots; /* index + 1, 0 = empty */
	size_t nslots;	/* power of two */
};

struct pprof_builder {
	Profile p;
	struct strtab str, fkeys;
	Function **fn;
	size_t nfn, capfn;
	Location **loc;
	size_t nloc, caploc;
	struct u64map by_addr; /* addr -> location index + 1 */
	Sample **smp;
	size_t nsmp, capsmp;
	ValueType **types, period;
	size_t ntypes;
	Mapping map, *maps[1];
	int64_t *comments;
	size_t ncomments;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

static int strtab_rehash(struct strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 1024;
	int64_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->len; i++) {
		size_t j = fnv(t->s[i]) & (n - 1);

		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

/* Index of s, added when new; *added tells which.  -ENOMEM on failure. */
static int64_t strtab_intern(struct strtab *t, const char *s, bool *added)
{
	size_t j;

	*added = false;
	if (t->len * 2 >= t->nslots && strtab_rehash(t))
		return -ENOMEM;
	for (j = fnv(s) & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1))
		if (!strcmp(t->s[t->slots[j] - 1], s))
			return t->slots[j] - 1;
	if (t->len == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		char **ns = realloc(t->s, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		t->s = ns;
		t->cap = nc;
	}
	t->s[t->len] = strdup(s);
	if (!t->s[t->len])
		return -ENOMEM;
	t->slots[j] = ++t->len;
	*added = true;
	return t->len - 1;
}

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->len; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slots);
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
	bool added;
	int64_t i = strtab_intern(&b->str, s ? s : "", &added);

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

/* Function id for (name, file), added when new; 0 on ENOMEM. */
static uint64_t func_id(struct pprof_builder *b, const char *name, const char *file)
{
	char key[2048];
	Function *f;
	bool added;
	int64_t i;

	snprintf(key, sizeof(key), "%s\n%s", name, file);
	i = strtab_intern(&b->fkeys, key, &added);
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

static Location *new_loc(struct pprof_builder *b, int nlines)
{
	Location *l;

	if (grow((void ***)&b->loc, b->nloc, &b->caploc))
		return NULL;
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

uint64_t pprof_builder__location(struct pprof_builder *b, uint64_t addr,
				 const struct gt_frame *f, int n)
{
	uintptr_t v = (uintptr_t)u64map__get(&b->by_addr, addr);
	struct gt_frame unknown = { "?", "?", 0 };
	Location *l;

	if (v)
		return v;
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
		l->line[i]->function_id = func_id(b, f[i].func, f[i].file);
		l->line[i]->line = f[i].line;
	}
	if (addr && u64map__put(&b->by_addr, addr, (void *)(uintptr_t)l->id))
		return 0;
	return l->id;
}

uint64_t pprof_builder__pseudo(struct pprof_builder *b, const char *name)
{
	char key[256];
	bool added;
	int64_t i;
	Location *l;

	/* Pseudo frames live in the function table only; one location per name. */
	snprintf(key, sizeof(key), "\x01%s", name);
	i = strtab_intern(&b->fkeys, key, &added);
	if (i < 0)
		return 0;
	if (!added) {
		for (size_t k = 0; k < b->nloc; k++)
			if (!b->loc[k]->address && b->loc[k]->n_line == 1 &&
			    b->loc[k]->line[0]->function_id == (uint64_t)i + 1)
				return b->loc[k]->id;
		return 0;
	}
	if (grow((void ***)&b->fn, b->nfn, &b->capfn))
		return 0;
	b->fn[b->nfn] = malloc(sizeof(Function));
	if (!b->fn[b->nfn] || !(l = new_loc(b, 1)))
		return 0;
	perftools__profiles__function__init(b->fn[b->nfn]);
	b->fn[b->nfn]->id = i + 1;
	b->fn[b->nfn]->name = b->fn[b->nfn]->system_name = pprof_builder__str(b, name);
	b->nfn++;
	l->line[0]->function_id = i + 1;
	return l->id;
}

int pprof_builder__sample(struct pprof_builder *b, const uint64_t *locs, int nlocs,
			  const int64_t *values, const struct pprof_label *labels, int nlabels)
{
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
		perftools__profiles__label__init(&lab[i]);
		lab[i].key = pprof_builder__str(b, labels[i].key);
		lab[i].str = pprof_builder__str(b, labels[i].value);
		s->label[i] = &lab[i];
	}
	s->n_label = nlabels;
	b->smp[b->nsmp++] = s;
	return 0;
}

static int write_gzip(const uint8_t *buf, size_t len, FILE *out)
{
	uint8_t chunk[65536];
	z_stream z = { 0 };
	int zr, err = 0;

	/* 15 + 16: a gzip wrapper, BestSpeed as Go's runtime/pprof writes. */
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (uint8_t *)buf;
	z.avail_in = len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		if (fwrite(chunk, 1, sizeof(chunk) - z.avail_out, out) !=
		    sizeof(chunk) - z.avail_out)
			err = -EIO;
	} while (zr == Z_OK && !err);
	deflateEnd(&z);
	if (!err && zr != Z_STREAM_END)
		err = -EIO;
	return err;
}

int pprof_builder__write(struct pprof_builder *b, FILE *out)
{
	Profile *p = &b->p;
	uint8_t *buf;
	size_t len;
	int err;

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
	p->string_table = b->str.s;
	p->n_string_table = b->str.len;
	p->comment = b->comments;
	p->n_comment = b->ncomments;
	len = perftools__profiles__profile__get_packed_size(p);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	perftools__profiles__profile__pack(p, buf);
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
	strtab_free(&b->str);
	strtab_free(&b->fkeys);
	u64map__free(&b->by_addr);
	free(b);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof_builder on a small hand-made profile, read back through a gzip
 * file reader and the generated protobuf-c unpacker: every string once
 * in the table, functions shared by name and file, locations by address
 * (inlined frames as several Lines) or by pseudo name, string and numeric
 * labels, the header fields, and a mapping spanning the addresses.
 */
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include "export/pprof_builder.h"
#include "profile.pb-c.h"
#include "helpers.h"
#include "test.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Location Location;


static const char *str(const Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "<bad index>";
}

static const Location *loc(const Profile *p, uint64_t id)
{
	return id && id <= p->n_location && p->location[id - 1]->id == id ? p->location[id - 1] :
									      NULL;
}

/* Name of the function of a location's i-th line. */
static const char *line_func(const Profile *p, uint64_t id, size_t i)
{
	const Location *l = loc(p, id);
	uint64_t f = l && i < l->n_line ? l->line[i]->function_id : 0;

	return f && f <= p->n_function ? str(p, p->function[f - 1]->name) : "<bad function>";
}

static bool strings_unique(const Profile *p)
{
	for (size_t i = 0; i < p->n_string_table; i++)
		for (size_t j = i + 1; j < p->n_string_table; j++)
			if (!strcmp(p->string_table[i], p->string_table[j]))
				return false;
	return p->n_string_table && !p->string_table[0][0];
}

/* Two samples: an inlined leaf under main.main, and a pseudo frame; ids out. */
static void build(struct pprof_builder *b, uint64_t *ids)
{
	const struct gt_frame inl[] = { { "main.leaf", "/src/a.go", 7 },
					{ "main.caller", "/src/a.go", 20 } };
	const struct gt_frame other_frames[] = { { "main.other", "/src/b.go", 1 } };
	const struct gt_frame mainf[] = { { "main.main", "/src/a.go", 30 } };
	const struct gt_frame caller2[] = { { "main.caller", "/src/a.go", 22 } };
	struct pprof_label lab[] = { { .key = "state", .value = "waiting" },
				     { .key = "goid", .num = 42, .unit = "goid" },
				     { .key = "zero", .num = 0, .unit = "bytes" } };
	int64_t v1[] = { 1, 100 }, v2[] = { 2, 5 };

	pprof_builder__sample_type(b, "events", "count");
	pprof_builder__sample_type(b, "delay", "nanoseconds");
	pprof_builder__default_type(b, "delay");
	pprof_builder__period(b, "events", "count", 1);
	pprof_builder__time(b, 1000, 2000);
	pprof_builder__mapping(b, 0, 0, "/bin/prog", "bid");
	pprof_builder__comment(b, "hello");
	pprof_builder__comment(b, "events"); /* a string the table already has */
	ids[0] = pprof_builder__location(b, 0x1000, inl, 2);
	ids[1] = pprof_builder__location(b, 0x2000, mainf, 1);
	/* a known address keeps its frames; a new one shares main.caller's function */
	ids[2] = pprof_builder__location(b, 0x1000, other_frames, 1);
	ids[3] = pprof_builder__location(b, 0x3000, caller2, 1);
	ids[4] = pprof_builder__pseudo(b, "[running]");
	ids[5] = pprof_builder__pseudo(b, "[running]");
	ids[6] = pprof_builder__location(b, 0x4000, NULL, 0);
	pprof_builder__sample(b, (uint64_t[]){ ids[0], ids[1] }, 2, v1, lab, 3);
	pprof_builder__sample(b, (uint64_t[]){ ids[4] }, 1, v2, lab, 1);
}

/* The profile of build(), read back; ids as build() gave them, *found what find said. */
static Profile *built(uint64_t *ids, bool *found)
{
	struct pprof_builder *b = pprof_builder__new();
	Profile *p;

	if (!b)
		return NULL;
	build(b, ids);
	*found = pprof_builder__find(b, 0x1000) == ids[0] && !pprof_builder__find(b, 0x5000);
	p = t_pprof_decode(b);
	pprof_builder__free(b);
	return p;
}

static void check_tables(const Profile *p, const uint64_t *ids)
{
	T_CHECK(strings_unique(p), "string table: \"\" first, every string once");
	T_CHECK(ids[0] == ids[2] && ids[4] == ids[5], "same address / pseudo name, same location");
	T_CHECK(p->n_location == 5, "%zu locations, want 5", p->n_location);
	/* leaf, caller, main, [running], ? : main.caller's two locations share one function */
	T_CHECK(p->n_function == 5, "%zu functions, want 5", p->n_function);
	T_CHECK(loc(p, ids[0]) && loc(p, ids[0])->n_line == 2 &&
			!strcmp(line_func(p, ids[0], 0), "main.leaf") &&
			!strcmp(line_func(p, ids[0], 1), "main.caller") &&
			loc(p, ids[0])->line[1]->line == 20 && loc(p, ids[0])->address == 0x1000,
		"inlined frames: innermost Line first");
	T_CHECK(loc(p, ids[0]) && loc(p, ids[3]) &&
			loc(p, ids[0])->line[1]->function_id ==
				loc(p, ids[3])->line[0]->function_id,
		"main.caller de-duplicated across locations");
	T_CHECK(loc(p, ids[4]) && !loc(p, ids[4])->address && !loc(p, ids[4])->mapping_id &&
			!strcmp(line_func(p, ids[4], 0), "[running]"),
		"pseudo location: no address, no mapping");
	T_CHECK(loc(p, ids[6]) && !strcmp(line_func(p, ids[6], 0), "?") &&
			loc(p, ids[6])->mapping_id == 1,
		"no frames: one unknown \"?\" frame in the mapping");
}

static void check_samples(const Profile *p, const uint64_t *ids)
{
	const Perftools__Profiles__Sample *s;

	T_ASSERT(p->n_sample == 2, "%zu samples, want 2", p->n_sample);
	s = p->sample[0];
	T_CHECK(s->n_location_id == 2 && s->location_id[0] == ids[0] &&
			s->location_id[1] == ids[1],
		"locations leaf first");
	T_CHECK(s->n_value == 2 && s->value[0] == 1 && s->value[1] == 100, "values");
	T_ASSERT(s->n_label == 3, "%zu labels, want 3", s->n_label);
	T_CHECK(!strcmp(str(p, s->label[0]->key), "state") &&
			!strcmp(str(p, s->label[0]->str), "waiting") && !s->label[0]->num_unit,
		"string label");
	T_CHECK(!strcmp(str(p, s->label[1]->key), "goid") && s->label[1]->num == 42 &&
			!strcmp(str(p, s->label[1]->num_unit), "goid") && !s->label[1]->str,
		"numeric label with its unit");
	T_CHECK(s->label[2]->num == 0 && !strcmp(str(p, s->label[2]->num_unit), "bytes"),
		"numeric label 0 keeps its unit");
	T_CHECK(p->sample[1]->n_label == 1 && p->sample[1]->value[0] == 2, "second sample");
}

static void check_header(const Profile *p)
{
	const Perftools__Profiles__Mapping *m;

	T_CHECK(p->n_sample_type == 2 && !strcmp(str(p, p->sample_type[1]->type), "delay") &&
			!strcmp(str(p, p->sample_type[1]->unit), "nanoseconds"),
		"sample types");
	T_CHECK(!strcmp(str(p, p->default_sample_type), "delay"), "default sample type");
	T_CHECK(p->period == 1 && p->period_type &&
			!strcmp(str(p, p->period_type->type), "events"),
		"period");
	T_CHECK(p->time_nanos == 1000 && p->duration_nanos == 2000, "time and duration");
	T_CHECK(p->n_comment == 2 && !strcmp(str(p, p->comment[0]), "hello") &&
			!strcmp(str(p, p->comment[1]), "events"),
		"comments in order");
	T_ASSERT(p->n_mapping == 1, "%zu mappings, want 1", p->n_mapping);
	m = p->mapping[0];
	/* limit 0 asked for the span of the addresses: 0x1000 up to past 0x4000 */
	T_CHECK(m->id == 1 && m->memory_start == 0x1000 && m->memory_limit == 0x4001,
		"mapping spans the addresses: %#lx-%#lx", (unsigned long)m->memory_start,
		(unsigned long)m->memory_limit);
	T_CHECK(!strcmp(str(p, m->filename), "/bin/prog") && !strcmp(str(p, m->build_id), "bid") &&
			m->has_functions && m->has_inline_frames,
		"mapping file, build id, symbolized");
}

TEST(pprof_builder)
{
	uint64_t ids[7];
	bool found;
	Profile *p = built(ids, &found);

	T_ASSERT(p, "profile did not build, gunzip and decode");
	T_CHECK(found, "find: a known address gives its id, an unknown one 0");
	check_tables(p, ids);
	check_samples(p, ids);
	check_header(p);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

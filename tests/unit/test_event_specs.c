// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The event spec table against bpf/gtrace_events.h itself, read as text (as
 * Go's internal/trace checks its spec table against the format): every
 * type of the enum has a spec named after it; a type with a struct has its
 * size (or, for a trailing array, the offset of the array) as minimum; one
 * the header says carries only the header has that; every u64 field whose
 * name says code address (*pc) is listed as one, and only those.
 */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include "capture/event_specs.h"
#include "test.h"

/* What the compiler says about each struct, to check the table's numbers. */
static const struct {
	const char *name;
	size_t size, array_off; /* array_off: the smallest valid record when not size (a tail) */
} sizes[] = {
	{ "create", sizeof(struct gt_ev_create) },     { "start", sizeof(struct gt_ev_start) },
	{ "park", sizeof(struct gt_ev_park) },	       { "unpark", sizeof(struct gt_ev_unpark) },
	/* version 1 LABELS records end before .stack (docs/capture-format.md) */
	{ "labels", sizeof(struct gt_ev_labels), offsetof(struct gt_ev_labels, stack) },
	{ "labelset", sizeof(struct gt_ev_labelset), offsetof(struct gt_ev_labelset, blob) },
	{ "stack", sizeof(struct gt_ev_stack), offsetof(struct gt_ev_stack, pcs) },
	{ "loss", sizeof(struct gt_ev_loss) },	       { "snapshot", sizeof(struct gt_ev_snapshot) },
	{ "gap", sizeof(struct gt_ev_gap) },
	{ "cpu_sample", sizeof(struct gt_ev_cpu_sample) },
};

static char *header_text(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len;

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	/* the tree above the binary's directory: build/ or build/san/ (SANITIZE=1) */
	for (int up = 0; up < 3 && strrchr(exe, '/'); up++) {
		char *h;

		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/bpf/gtrace_events.h", exe);
		if ((h = (char *)t_slurp(path, &len)))
			return h;
	}
	return NULL;
}

/* The body of "struct gt_ev_<name> {" ... "};", or NULL. */
static char *struct_body(const char *h, const char *name, char *buf, size_t len)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "struct gt_ev_%s {", name);
	p = strstr(h, key);
	if (!p)
		return NULL;
	e = strstr(p, "};");
	if (!e || (size_t)(e - p) >= len)
		return NULL;
	memcpy(buf, p, e - p);
	buf[e - p] = 0;
	return buf;
}

TEST(event_specs_match_header)
{
	char *h = header_text(), *p, *end, body[2048];
	int ntypes = 0;

	T_ASSERT(h, "cannot read bpf/gtrace_events.h next to the test binary's build/");
	p = strstr(h, "enum gt_event_type {");
	end = p ? strstr(p, "};") : NULL;
	T_ASSERT(p && end, "no enum gt_event_type in the header");
	while ((p = strstr(p, "GT_EV_")) && p < end) {
		char upper[32], name[32];
		int i = 0, type;
		const struct gt_event_spec *s;

		p += 6;
		while (i < 31 && (isupper((unsigned char)p[i]) || p[i] == '_' || isdigit((unsigned char)p[i]))) {
			upper[i] = p[i];
			name[i] = tolower((unsigned char)p[i]);
			i++;
		}
		upper[i] = name[i] = 0;
		if (sscanf(p + i, " = %d", &type) != 1)
			continue; /* GT_EV_MAX */
		p += i;
		if (!type)
			continue; /* GT_EV_NONE */
		ntypes++;
		s = event_spec(type);
		T_CHECK(s && !strcmp(s->name, name), "GT_EV_%s (%d): spec named %s", upper, type,
			s ? s->name : "(none)");
		if (!s)
			continue;
		if (struct_body(h, name, body, sizeof(body))) {
			size_t want = 0;
			int npc = 0;

			for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++)
				if (!strcmp(sizes[k].name, name))
					want = sizes[k].array_off ? sizes[k].array_off : sizes[k].size;
			T_CHECK(want && s->min_size == want, "%s: min_size %u, struct says %zu", name,
				s->min_size, want);
			/* "__u64 gopc;", "__u64 startpc;", "__u64 pcs[...]": code addresses */
			for (char *f = body; (f = strstr(f, "__u64 ")); f += 6) {
				char fld[32];

				if (sscanf(f + 6, "%31[a-z_]", fld) != 1)
					continue;
				size_t fl = strlen(fld);

				if (!strcmp(fld, "pcs"))
					T_CHECK(s->pc_array, "%s: pcs[] not marked as code addresses", name);
				else if (fl >= 2 && !strcmp(fld + fl - 2, "pc"))
					npc++;
			}
			int listed = 0;

			for (int k = 0; k < GT_EVENT_SPEC_PCS; k++)
				listed += s->pcs[k].off != 0;
			T_CHECK(listed == npc, "%s: %d code-address fields in the header, %d in the spec",
				name, npc, listed);
		} else {
			T_CHECK(s->min_size == sizeof(struct gt_event_hdr) && !s->pcs[0].off,
				"%s: no struct in the header, but min_size %u", name, s->min_size);
			T_CHECK(strstr(h, upper) && strstr(h, "carry only the header"),
				"%s: the header does not say it carries only the header", name);
		}
	}
	T_CHECK(ntypes == GT_EV_MAX - 1, "%d types in the enum, GT_EV_MAX %d", ntypes, GT_EV_MAX);
	/* the offsets the table gives are the compiler's */
	T_CHECK(gt_event_specs[GT_EV_CREATE].pcs[0].off == offsetof(struct gt_ev_create, gopc) &&
			gt_event_specs[GT_EV_CREATE].pcs[1].off == offsetof(struct gt_ev_create, startpc) &&
			gt_event_specs[GT_EV_SNAPSHOT].pcs[0].off == offsetof(struct gt_ev_snapshot, gopc) &&
			gt_event_specs[GT_EV_SNAPSHOT].pcs[1].off == offsetof(struct gt_ev_snapshot, startpc),
		"code-address offsets");
	T_CHECK(gt_event_specs[GT_EV_CREATE].pcs[0].kind == GT_PC_RETURN &&
			gt_event_specs[GT_EV_CREATE].pcs[1].kind == GT_PC_ENTRY,
		"gopc is a return address, startpc an entry");
	free(h);
}

/* Every class `record --events` offers selects something the probes make. */
TEST(event_specs_cli_classes)
{
	const char *want[] = { "create", "start", "park", "unpark", "preempt",
			       "yield", "syscall", "exit", "labels" };

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		int n = 0;

		for (int t = 0; t < GT_EV_MAX; t++)
			n += gt_event_specs[t].cli_class && !strcmp(gt_event_specs[t].cli_class, want[i]);
		T_CHECK(n >= 1, "class %s selects nothing", want[i]);
	}
	T_CHECK(gt_event_specs[GT_EV_SYSCALL_EXIT].cli_class &&
			!strcmp(gt_event_specs[GT_EV_SYSCALL_EXIT].cli_class, "syscall") &&
			!strcmp(gt_event_specs[GT_EV_WAIT_END].cli_class, "park"),
		"pairs share their class");
	T_CHECK(!gt_event_specs[GT_EV_STACK].cli_class && !gt_event_specs[GT_EV_LABELSET].cli_class &&
			!gt_event_specs[GT_EV_LOSS].cli_class && !gt_event_specs[GT_EV_GAP].cli_class,
		"definitions and loss records are always recorded");
}

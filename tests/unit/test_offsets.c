// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Runtime offsets against the truth of real binaries: for every Go version
 * the fixtures were built with, the generated table row equals the DWARF of
 * the plain fixture field by field, disassembly gives the same values where
 * it can, and the wait reason names read from the stripped twin (found by
 * disassembly) equal those read through .symtab.
 */
#include <errno.h>
#include <stdlib.h>
#include "binary/buildinfo.h"
#include "binary/elf_file.h"
#include "binary/go_offsets.h"
#include "helpers.h"
#include "binary/pclntab.h"

struct fx {
	struct gt_elf ef;
	struct gt_pclntab *t;
	struct gt_go_version v;
};

static int fx_open(struct fx *f, const char *ver, const char *variant)
{
	char path[512];

	t_fixture(path, sizeof(path), "script", ver, variant);
	memset(f, 0, sizeof(*f));
	if (elf_file__open(&f->ef, path))
		return -ENOENT;
	if (buildinfo__read(&f->ef, &f->v) || pclntab__open(&f->t, &f->ef)) {
		elf_file__close(&f->ef);
		return -EINVAL;
	}
	return 0;
}

static void fx_close(struct fx *f)
{
	pclntab__close(f->t);
	elf_file__close(&f->ef);
}


/* Struct field offsets: what go_offsets__from_dwarf reads itself (the one list). */
#define FIELDS(X) GT_GO_OFFSET_FIELDS(X)

TEST(offsets_table_equals_dwarf)
{
	char vers[8][16];
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	for (int i = 0; i < nv; i++) {
		struct gt_go_offsets dw;
		const struct gt_go_offsets *tab;
		struct gt_go_runtime rt;
		struct fx f;
		int dw_err;

		T_ASSERT(!fx_open(&f, vers[i], "plain"), "%s: cannot open plain fixture", vers[i]);
		tab = go_offsets__table(f.v.major, f.v.minor);
		T_CHECK(tab, "%s: no table row", vers[i]);
		memset(&dw, 0xff, sizeof(dw));
		dw_err = go_offsets__from_dwarf(&f.ef, &dw);
		T_CHECK(!dw_err, "%s: no DWARF offsets", vers[i]);
		/* resolve() also settles labels_slice from the DWARF's labelMap type */
		T_CHECK(!go_offsets__resolve(&f.ef, f.t, &f.v, &rt), "%s: resolve", vers[i]);
		T_CHECK(rt.source == GT_OFFSETS_DWARF, "%s: source %s", vers[i],
			go_offsets__source_name(rt.source));
		/*
		 * The generated table against the binary's own DWARF, read
		 * directly (not through resolve(), which might fall back on the
		 * table itself), and what resolve() settled on against both.
		 */
		if (tab && !dw_err) {
#define CMP(fld, st_, member_, opt_)                                                                        \
	T_CHECK(tab->fld == dw.fld && rt.off.fld == dw.fld,                               \
		"%s: " #fld ": table %u, dwarf %u, resolved %u", vers[i], tab->fld, dw.fld,   \
		rt.off.fld);
			FIELDS(CMP)
#undef CMP
		}
		if (tab) {
			T_CHECK(tab->labels_slice == rt.off.labels_slice,
				"%s: labels_slice: table %u, from DWARF %u", vers[i], tab->labels_slice,
				rt.off.labels_slice);
			/* the label walk's geometry follows the format, whichever source gave it */
			T_CHECK(!memcmp(&tab->lbl, &rt.off.lbl, sizeof(tab->lbl)),
				"%s: label layout of the table row and of resolve() differ", vers[i]);
			T_CHECK(rt.off.labels_slice ? rt.off.lbl.list_stride == 32 :
						      rt.off.lbl.bucket_size == 272,
				"%s: label layout does not match its format", vers[i]);
		}
		fx_close(&f);
	}
}

TEST(offsets_table_rows_1_19_to_1_27)
{
	for (int m = 19; m <= 27; m++) {
		const struct gt_go_offsets *o = go_offsets__table(1, m);
		const struct gt_go_traits *tr = go_offsets__table_traits(1, m);

		T_CHECK(o && tr, "no row for go1.%d", m);
		if (!o || !tr)
			continue;
		T_CHECK(o->labels_slice == (m >= 24), "go1.%d labels_slice %u", m, o->labels_slice);
		T_CHECK(tr->syscall_cas_fastpath == (m >= 26), "go1.%d fastpath", m);
		T_CHECK(tr->goid_after_runnable == (m <= 23), "go1.%d goid_after_runnable", m);
		T_CHECK(!o->g_parent_goid == (m < 21), "go1.%d parentGoid %u", m, o->g_parent_goid);
		T_CHECK(!o->g_syscallbp == (m < 23), "go1.%d syscallbp %u", m, o->g_syscallbp);
	}
	T_CHECK(!go_offsets__table(1, 18), "a row for go1.18");
}

TEST(offsets_too_old_is_refused)
{
	struct gt_go_version v = { .str = "go1.18.10", .major = 1, .minor = 18, .patch = 10 };
	struct gt_go_runtime rt;
	struct gt_elf ef = { 0 };

	T_CHECK(go_offsets__resolve(&ef, NULL, &v, &rt) == -ENOTSUP, "go1.18 accepted");
}

TEST(offsets_disasm_equals_dwarf)
{
	char vers[8][16];
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	for (int i = 0; i < nv; i++) {
		struct gt_go_offsets dw, dis;
		unsigned int found = 0;
		struct fx f, s;

		T_ASSERT(!fx_open(&f, vers[i], "plain"), "%s: plain", vers[i]);
		T_ASSERT(!fx_open(&s, vers[i], "stripped"), "%s: stripped", vers[i]);
		T_CHECK(!go_offsets__from_dwarf(&f.ef, &dw), "%s: DWARF", vers[i]);
		memset(&dis, 0xff, sizeof(dis));
		T_CHECK(!go_offsets__from_disasm(&s.ef, s.t, &dis, &found), "%s: disasm", vers[i]);
		T_CHECK(found == (GT_DIS_G_LABELS | GT_DIS_G_M | GT_DIS_G_SYSCALLSP |
				  GT_DIS_G_WAITREASON | GT_DIS_G_ATOMICSTATUS),
			"%s: disasm found only %#x", vers[i], found);
#define DCMP(bit, fld)                                                                    \
	if (found & bit)                                                                  \
		T_CHECK(dis.fld == dw.fld, "%s: " #fld ": disasm %u, dwarf %u", vers[i], dis.fld, \
			dw.fld);
		DCMP(GT_DIS_G_LABELS, g_labels)
		DCMP(GT_DIS_G_M, g_m)
		DCMP(GT_DIS_G_SYSCALLSP, g_syscallsp)
		DCMP(GT_DIS_G_WAITREASON, g_waitreason)
		DCMP(GT_DIS_G_ATOMICSTATUS, g_atomicstatus)
#undef DCMP
		fx_close(&s);
		fx_close(&f);
	}
}

TEST(offsets_waitreasons_stripped_equal_symtab)
{
	char vers[8][16];
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	for (int i = 0; i < nv; i++) {
		static struct gt_go_runtime a, b;
		struct fx f, s;
		int na, nb;

		T_ASSERT(!fx_open(&f, vers[i], "plain"), "%s: plain", vers[i]);
		T_ASSERT(!fx_open(&s, vers[i], "stripped"), "%s: stripped", vers[i]);
		na = go_offsets__waitreasons_from_binary(&f.ef, f.t, &a);
		nb = go_offsets__waitreasons_from_binary(&s.ef, s.t, &b);
		T_CHECK(na > 20 && na == nb, "%s: %d names via symtab, %d stripped", vers[i], na, nb);
		T_CHECK(!strcmp(a.waitreason_source, "binary symtab"), "%s: %s", vers[i],
			a.waitreason_source);
		T_CHECK(!strcmp(b.waitreason_source, "binary disasm"), "%s: %s", vers[i],
			b.waitreason_source);
		for (int j = 0; j < na && j < nb; j++)
			T_CHECK(a.waitreason[j] && b.waitreason[j] &&
					!strcmp(a.waitreason[j], b.waitreason[j]),
				"%s: reason %d: '%s' vs '%s'", vers[i], j,
				a.waitreason[j] ? a.waitreason[j] : "(null)",
				b.waitreason[j] ? b.waitreason[j] : "(null)");
		T_CHECK(na > 2 && !strcmp(a.waitreason[2], "IO wait"), "%s: reason 2 is '%s'",
			vers[i], na > 2 ? a.waitreason[2] : "");
		fx_close(&s);
		fx_close(&f);
	}
}

/* A Go newer than the table, stripped: disassembly plus the newest row. */
TEST(offsets_newer_than_table_uses_disasm)
{
	char vers[8][16];
	int nv;
	const struct gt_go_offsets *want;
	struct gt_go_offsets dw;
	static struct gt_go_runtime rt;
	struct fx f, plain;

	T_NEED_FIXTURES(vers, nv, false);
	T_ASSERT(!fx_open(&f, vers[nv - 1], "stripped"), "no stripped %s fixture", vers[nv - 1]);
	T_ASSERT(!fx_open(&plain, vers[nv - 1], "plain"), "no plain %s fixture", vers[nv - 1]);
	T_CHECK(!go_offsets__from_dwarf(&plain.ef, &dw), "%s: DWARF", vers[nv - 1]);
	fx_close(&plain);
	want = go_offsets__table(f.v.major, f.v.minor);
	f.v.minor = 99;
	T_CHECK(!go_offsets__resolve(&f.ef, f.t, &f.v, &rt), "resolve go1.99");
	T_CHECK(rt.source == GT_OFFSETS_DISASM, "source %s (%s)", go_offsets__source_name(rt.source),
		rt.source_detail);
	T_CHECK(want && !memcmp(&rt.off, want, sizeof(*want)), "go1.99 offsets differ from the %s row",
		vers[nv - 1]);
	/* and from the truth: the plain twin's DWARF */
#define CMP(fld, st_, member_, opt_)                                                                        \
	T_CHECK(rt.off.fld == dw.fld, "go1.99 " #fld ": %u, dwarf of the plain twin %u",      \
		rt.off.fld, dw.fld);
	FIELDS(CMP)
#undef CMP
	T_CHECK(!strcmp(rt.waitreason_source, "binary disasm"), "%s", rt.waitreason_source);
	fx_close(&f);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Runtime layout and behaviour of one Go binary.  DWARF (libdw) is the
 * truth when the binary has it; else the per-version table generated from
 * real toolchains (go_offsets_table.h, tools/gen-offsets); else, for Go
 * versions newer than the table, the fields disassembly of small runtime
 * functions gives, with the rest from the newest table row.  Wait reason
 * names come from the binary's own runtime.waitReasonStrings when it can
 * be found, else from the table of the version.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <capstone/capstone.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <libelf.h>
#include "lib/debug.h"
#include "binary/go_offsets.h"

struct gt_go_table_row {
	int major, minor;
	struct gt_go_offsets off;
	struct gt_go_traits traits;
};

struct gt_go_waitreason_table {
	int major, minor;
	const char *const *names;
	int n;
};

/*
 * The two layouts of the label set g.labels points at (docs/go-runtime.md,
 * "pprof labels"); each table row names its own, and DWARF targets take the
 * one their labelMap type shows.
 * <= 1.23: *labelMap -> *hmap of map[string]string.  hmap is {count int,
 * flags u8, B u8, noverflow u16, hash0 u32, buckets, oldbuckets, ...}; a
 * bucket is {tophash [8]u8, keys [8]string, values [8]string, overflow
 * *bucket}; tophash values 0-4 mark empty or evacuated slots (minTopHash 5).
 * 1.24+ (CL 574516): *labelMap -> {list []label}, label = {key, value string}.
 */
#define GT_LABELS_MAP                                                                    \
	{ .hmap_count = 0, .hmap_b = 9, .hmap_buckets = 16, .hmap_oldbuckets = 24, .bucket_size = 272,   \
	  .bucket_keys = 8, .bucket_values = 136, .bucket_overflow = 264, .min_tophash = 5 }
#define GT_LABELS_SLICE { .list_stride = 32 }

static const struct gt_go_label_layout labels_map_layout = GT_LABELS_MAP,
					labels_slice_layout = GT_LABELS_SLICE;

#include "binary/go_offsets_table.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Oldest version gtrace knows; older runtimes lack the register ABI guarantees it relies on. */
#define GT_GO_MIN_MINOR 19

const char *go_offsets__source_name(enum gt_offsets_source s)
{
	switch (s) {
	case GT_OFFSETS_DWARF:
		return "dwarf";
	case GT_OFFSETS_TABLE:
		return "table";
	case GT_OFFSETS_DISASM:
		return "disasm";
	}
	return "?";
}

static const struct gt_go_table_row *table_row(int major, int minor)
{
	for (size_t i = 0; i < ARRAY_LEN(gt_go_table); i++)
		if (gt_go_table[i].major == major && gt_go_table[i].minor == minor)
			return &gt_go_table[i];
	return NULL;
}

/* The newest row not newer than major.minor: what a newer runtime most likely kept. */
static const struct gt_go_table_row *nearest_row(int major, int minor)
{
	const struct gt_go_table_row *best = NULL;

	for (size_t i = 0; i < ARRAY_LEN(gt_go_table); i++) {
		const struct gt_go_table_row *r = &gt_go_table[i];

		if (r->major == major && r->minor <= minor && (!best || r->minor > best->minor))
			best = r;
	}
	return best;
}

const struct gt_go_offsets *go_offsets__table(int major, int minor)
{
	const struct gt_go_table_row *r = table_row(major, minor);

	return r ? &r->off : NULL;
}

const struct gt_go_traits *go_offsets__table_traits(int major, int minor)
{
	const struct gt_go_table_row *r = table_row(major, minor);

	return r ? &r->traits : NULL;
}

/* ---- DWARF ---- */

struct dw_want {
	const char *name;
	Dwarf_Die die;
	bool found;
};

static int member_offset(Dwarf_Die *st, const char *name, __u32 *out)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m) != 0)
		return -ENOENT;
	do {
		Dwarf_Attribute at;
		Dwarf_Word v;
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		n = dwarf_diename(&m);
		if (!n || strcmp(n, name))
			continue;
		if (!dwarf_attr(&m, DW_AT_data_member_location, &at))
			return -EINVAL;
		if (dwarf_formudata(&at, &v) == 0) {
			*out = (__u32)v;
			return v < (1u << 20) ? 0 : -EINVAL;
		}
		/* An expression: DW_OP_plus_uconst N, as some producers write it. */
		Dwarf_Op *ops;
		size_t nops;

		if (dwarf_getlocation(&at, &ops, &nops) == 0 && nops == 1 &&
		    ops[0].atom == DW_OP_plus_uconst && ops[0].number < (1u << 20)) {
			*out = (__u32)ops[0].number;
			return 0;
		}
		return -EINVAL;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -ENOENT;
}

/* Top-level DIEs of every CU: Go puts its type DIEs there. */
static void dw_find(Dwarf *dw, struct dw_want *w, size_t nw, int *labels_slice)
{
	Dwarf_Off off = 0, next;
	size_t hsize, left = nw;

	while (left && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, d;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &d) == 0) {
			do {
				int tag = dwarf_tag(&d);
				const char *n;

				if (tag != DW_TAG_structure_type && tag != DW_TAG_typedef)
					continue;
				n = dwarf_diename(&d);
				if (!n)
					continue;
				/*
				 * 1.24+ made labelMap a struct around a sorted slice (Go
				 * then emits both a struct and a typedef of that name);
				 * before, only a typedef of a map.
				 */
				if (!strcmp(n, "runtime/pprof.labelMap") && *labels_slice != 1)
					*labels_slice = tag == DW_TAG_structure_type;
				if (tag != DW_TAG_structure_type)
					continue;
				for (size_t i = 0; i < nw; i++) {
					if (!w[i].found && !strcmp(n, w[i].name)) {
						w[i].die = d;
						w[i].found = true;
						left--;
					}
				}
			} while (dwarf_siblingof(&d, &d) == 0);
		}
		off = next;
	}
}

struct dw_field {
	int st;		  /* index in wants: DW_G, DW_M, DW_GOBUF */
	const char *name;
	size_t off;	  /* offsetof(struct gt_go_offsets, ...) */
	bool optional;	  /* absent in older runtimes: 0 */
	bool in_sched;	  /* a gobuf field: add g.sched */
};

enum { DW_G, DW_M, DW_GOBUF };
#define DW_ST_g DW_G
#define DW_ST_m DW_M
#define DW_ST_gobuf DW_GOBUF
#define F(fld, st, member, opt) \
	{ DW_ST_##st, member, offsetof(struct gt_go_offsets, fld), opt, DW_ST_##st == DW_GOBUF },
static const struct dw_field dw_fields[] = { GT_GO_OFFSET_FIELDS(F) };
#undef F

/* labels_slice: 1/0 when the DWARF tells, -1 when it has no labelMap type. */
static int dwarf_read(const struct gt_elf *ef, struct gt_go_offsets *off, int *labels_slice)
{
	struct dw_want w[3] = { [DW_G] = { "runtime.g" }, [DW_M] = { "runtime.m" },
				[DW_GOBUF] = { "runtime.gobuf" } };
	__u32 sched;
	Dwarf *dw;
	int err = 0;

	*labels_slice = -1;
	if (!ef->has_dwarf || !ef->elf)
		return -ENOENT;
	dw = dwarf_begin_elf((Elf *)ef->elf, DWARF_C_READ, NULL);
	if (!dw)
		return -ENOENT;
	dw_find(dw, w, ARRAY_LEN(w), labels_slice);
	if (!w[0].found || !w[1].found || !w[2].found) {
		pr_debug("%s: DWARF lacks runtime.g/m/gobuf\n", ef->path);
		err = -ENOENT;
		goto out;
	}
	memset(off, 0, sizeof(*off));
	if (member_offset(&w[0].die, "sched", &sched)) {
		err = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < ARRAY_LEN(dw_fields); i++) {
		const struct dw_field *f = &dw_fields[i];
		__u32 v = 0;
		int r = member_offset(&w[f->st].die, f->name, &v);

		if (r == -ENOENT && f->optional)
			v = 0;
		else if (r) {
			pr_debug("%s: DWARF: no usable %s.%s\n", ef->path, w[f->st].name, f->name);
			err = -EINVAL;
			goto out;
		} else if (f->in_sched)
			v += sched;
		*(__u32 *)((char *)off + f->off) = v;
	}
	if (*labels_slice >= 0) {
		off->labels_slice = *labels_slice;
		off->lbl = off->labels_slice ? labels_slice_layout : labels_map_layout;
	}
out:
	dwarf_end(dw);
	return err;
}

int go_offsets__from_dwarf(const struct gt_elf *ef, struct gt_go_offsets *off)
{
	int ls;

	return dwarf_read(ef, off, &ls);
}

/* ---- disassembly (x86-64) ---- */

struct dis {
	csh cs;
	cs_insn *insn;
	const uint8_t *code;
	size_t size;
	uint64_t addr;
};

static int dis_open(struct dis *d, const struct gt_elf *ef, const struct gt_pclntab *t,
		    const char *fn)
{
	const struct gt_func *f = pclntab__lookup_name(t, fn);

	if (!f || f->end <= f->entry || f->end - f->entry > 1 << 20)
		return -ENOENT;
	d->code = elf_file__vaddr_ptr(ef, f->entry, f->end - f->entry);
	if (!d->code)
		return -ENOENT;
	d->size = f->end - f->entry;
	d->addr = f->entry;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
	d->insn = cs_malloc(d->cs);
	if (!d->insn) {
		cs_close(&d->cs);
		return -ENOMEM;
	}
	return 0;
}

/* Next instruction; on bytes capstone cannot decode, skip one byte. */
static bool dis_next(struct dis *d)
{
	while (d->size) {
		if (cs_disasm_iter(d->cs, &d->code, &d->size, &d->addr, d->insn))
			return true;
		d->code++;
		d->size--;
		d->addr++;
	}
	return false;
}

static void dis_close(struct dis *d)
{
	cs_free(d->insn, 1);
	cs_close(&d->cs);
}

static const cs_x86_op *op(const struct dis *d, int i)
{
	const cs_x86 *x = &d->insn->detail->x86;

	return i < x->op_count ? &x->operands[i] : NULL;
}

static bool is_mem(const cs_x86_op *o, x86_reg base)
{
	return o && o->type == X86_OP_MEM && o->mem.segment == X86_REG_INVALID &&
	       o->mem.index == X86_REG_INVALID && (base == X86_REG_INVALID || o->mem.base == base);
}

/* runtime_setProfLabel: the only g field it writes is labels ([r14+X], or through a copy of r14). */
static int dis_labels(const struct gt_elf *ef, const struct gt_pclntab *t, __u32 *v)
{
	struct dis d;
	int err = dis_open(&d, ef, t, "runtime/pprof.runtime_setProfLabel");

	if (err)
		return err;
	err = -ENOENT;
	while (dis_next(&d)) {
		for (int i = 0; i < 2; i++) {
			const cs_x86_op *o = op(&d, i);

			if (is_mem(o, X86_REG_INVALID) && o->mem.base != X86_REG_RSP &&
			    o->mem.base != X86_REG_RIP && o->mem.disp >= 0x100 && o->mem.disp < 0x400) {
				*v = (__u32)o->mem.disp;
				err = 0;
				goto out;
			}
		}
	}
out:
	dis_close(&d);
	return err;
}

/* exitsyscall: mov reg,[r14+m]; cmp [r14+syscallsp],reg; mov qword [r14+waitsince],0. */
static void dis_exitsyscall(const struct gt_elf *ef, const struct gt_pclntab *t,
			    struct gt_go_offsets *off, unsigned int *found)
{
	struct dis d;
	int n = 0;

	if (dis_open(&d, ef, t, "runtime.exitsyscall"))
		return;
	while (n++ < 64 && dis_next(&d)) {
		const cs_x86_op *a = op(&d, 0), *b = op(&d, 1);
		unsigned int id = d.insn->id;

		if (id == X86_INS_MOV && !(*found & GT_DIS_G_M) && a && a->type == X86_OP_REG &&
		    a->size == 8 && is_mem(b, X86_REG_R14) && b->mem.disp > 0 && b->mem.disp < 0x100) {
			off->g_m = (__u32)b->mem.disp;
			*found |= GT_DIS_G_M;
		} else if (id == X86_INS_CMP && !(*found & GT_DIS_G_SYSCALLSP) &&
			   is_mem(a, X86_REG_R14) && b && b->type == X86_OP_REG) {
			off->g_syscallsp = (__u32)a->mem.disp;
			*found |= GT_DIS_G_SYSCALLSP;
		} else if (id == X86_INS_MOV && !(*found & GT_DIS_G_WAITREASON) &&
			   is_mem(a, X86_REG_R14) && a->size == 8 && b && b->type == X86_OP_IMM &&
			   b->imm == 0) {
			/* g.waitsince = 0; waitReason is the next field (1.19-1.27). */
			off->g_waitreason = (__u32)a->mem.disp + 8;
			*found |= GT_DIS_G_WAITREASON;
		}
	}
	dis_close(&d);
}

/* casgstatus: the first lock cmpxchg is on gp.atomicstatus. */
static void dis_casgstatus(const struct gt_elf *ef, const struct gt_pclntab *t,
			   struct gt_go_offsets *off, unsigned int *found)
{
	struct dis d;

	if (dis_open(&d, ef, t, "runtime.casgstatus"))
		return;
	while (dis_next(&d)) {
		const cs_x86_op *a = op(&d, 0);

		if (d.insn->id == X86_INS_CMPXCHG && is_mem(a, X86_REG_INVALID) &&
		    a->mem.disp > 0 && a->mem.disp < 0x400) {
			off->g_atomicstatus = (__u32)a->mem.disp;
			*found |= GT_DIS_G_ATOMICSTATUS;
			break;
		}
	}
	dis_close(&d);
}

int go_offsets__from_disasm(const struct gt_elf *ef, const struct gt_pclntab *t,
			    struct gt_go_offsets *off, unsigned int *found)
{
	__u32 v;

	*found = 0;
	if (ef->machine != EM_X86_64)
		return -ENOTSUP;
	if (!dis_labels(ef, t, &v)) {
		off->g_labels = v;
		*found |= GT_DIS_G_LABELS;
	}
	dis_exitsyscall(ef, t, off, found);
	dis_casgstatus(ef, t, off, found);
	return *found ? 0 : -ENOENT;
}

/* The g fields in the order every runtime since 1.19 declares them. */
static bool plausible(const struct gt_go_offsets *o)
{
	return o->g_m < o->g_sched_sp && o->g_sched_bp < o->g_syscallsp &&
	       o->g_syscallsp < o->g_atomicstatus && o->g_atomicstatus < o->g_goid &&
	       o->g_goid < o->g_waitreason && o->g_waitreason < o->g_gopc &&
	       o->g_gopc < o->g_startpc && o->g_startpc < o->g_labels && o->g_labels < 0x400 &&
	       !(o->g_labels & 7) && !(o->g_goid & 7) && !(o->g_atomicstatus & 3) &&
	       o->m_curg && o->m_curg < 0x400;
}

/* ---- wait reasons ---- */

/* Interned names: a few dozen strings, kept for the life of the process. */
static char **pool;
static size_t pool_len;

static const char *intern(const uint8_t *s, size_t n)
{
	char **np;

	for (size_t i = 0; i < pool_len; i++)
		if (strlen(pool[i]) == n && !memcmp(pool[i], s, n))
			return pool[i];
	np = realloc(pool, (pool_len + 1) * sizeof(*pool));
	if (!np)
		return NULL;
	pool = np;
	pool[pool_len] = strndup((const char *)s, n);
	if (!pool[pool_len])
		return NULL;
	return pool[pool_len++];
}

static bool printable(const uint8_t *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static int read_waitreasons(const struct gt_elf *ef, uint64_t addr, uint64_t count,
			    struct gt_go_runtime *rt)
{
	const uint8_t *arr;
	const char *names[256];

	if (!count || count > 256)
		return -EINVAL;
	arr = elf_file__vaddr_ptr(ef, addr, count * 16);
	if (!arr)
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t p, n;
		const uint8_t *s;

		memcpy(&p, arr + i * 16, 8);
		memcpy(&n, arr + i * 16 + 8, 8);
		if (n > 128)
			return -EINVAL;
		s = n ? elf_file__vaddr_ptr(ef, p, n) : (const uint8_t *)"";
		if (!s || !printable(s, n))
			return -EINVAL;
		names[i] = intern(s, n);
		if (!names[i])
			return -ENOMEM;
	}
	memset(rt->waitreason, 0, sizeof(rt->waitreason));
	memcpy(rt->waitreason, names, count * sizeof(names[0]));
	return (int)count;
}

/*
 * runtime.waitReason.String: "cmp al, N; jb ok; ...; lea rdx, [rip+waitReasonStrings]".
 * N is len(waitReasonStrings) (the bound check of the index).
 */
static int find_waitreasons_disasm(const struct gt_elf *ef, const struct gt_pclntab *t,
				   uint64_t *addr, uint64_t *count)
{
	struct dis d;
	int n = 0;

	if (ef->machine != EM_X86_64 || dis_open(&d, ef, t, "runtime.waitReason.String"))
		return -ENOENT;
	*addr = *count = 0;
	while (n++ < 32 && dis_next(&d)) {
		const cs_x86_op *a = op(&d, 0), *b = op(&d, 1);

		if (d.insn->id == X86_INS_CMP && !*count && a && a->type == X86_OP_REG &&
		    b && b->type == X86_OP_IMM && b->imm > 0 && b->imm <= 256)
			*count = (uint64_t)b->imm;
		/* the second RIP-relative lea: the first is the "bad waitReason" string */
		if (d.insn->id == X86_INS_LEA && b && b->type == X86_OP_MEM &&
		    b->mem.base == X86_REG_RIP && b->mem.index == X86_REG_INVALID)
			*addr = d.addr + b->mem.disp;
	}
	dis_close(&d);
	return *addr && *count ? 0 : -ENOENT;
}

int go_offsets__waitreasons_from_binary(const struct gt_elf *ef, const struct gt_pclntab *t,
					struct gt_go_runtime *rt)
{
	uint64_t addr, size;
	int n;

	if (!elf_file__symbol(ef, "runtime.waitReasonStrings", &addr, &size) && size &&
	    !(size % 16)) {
		n = read_waitreasons(ef, addr, size / 16, rt);
		if (n > 0) {
			snprintf(rt->waitreason_source, sizeof(rt->waitreason_source), "binary symtab");
			return n;
		}
	}
	if (t && !find_waitreasons_disasm(ef, t, &addr, &size)) {
		n = read_waitreasons(ef, addr, size, rt);
		if (n > 0) {
			snprintf(rt->waitreason_source, sizeof(rt->waitreason_source), "binary disasm");
			return n;
		}
	}
	return -ENOENT;
}

static void waitreasons_from_table(int major, int minor, struct gt_go_runtime *rt)
{
	const struct gt_go_waitreason_table *best = NULL;

	for (size_t i = 0; i < ARRAY_LEN(gt_waitreason_tables); i++) {
		const struct gt_go_waitreason_table *w = &gt_waitreason_tables[i];

		if (w->major == major && w->minor <= minor && (!best || w->minor > best->minor))
			best = w;
	}
	memset(rt->waitreason, 0, sizeof(rt->waitreason));
	if (!best) {
		snprintf(rt->waitreason_source, sizeof(rt->waitreason_source), "none");
		return;
	}
	for (int i = 0; i < best->n && i < 256; i++)
		rt->waitreason[i] = best->names[i];
	snprintf(rt->waitreason_source, sizeof(rt->waitreason_source), "table go%d.%d%s",
		 best->major, best->minor, best->minor == minor ? "" : " (nearest)");
}

/* ---- the version from the layout, for binaries that lost their version string ---- */

/*
 * Runtime packages and functions each release added, first release with
 * them.  Checked on esbuild builds with build info (Go 1.19.3, 1.20.12,
 * 1.22.5, 1.23.12, 1.25.7, 1.26.5) and the fixtures: present from that
 * release on, absent before.  A prefix ending in '.' matches a package.
 */
static const struct { int minor; const char *name; } layout_markers[] = {
	{ 21, "runtime.(*inlineUnwinder).next" }, /* the 1.21 unwinder */
	{ 22, "runtime.traceAdvance" },		  /* the 1.22 execution tracer */
	{ 23, "internal/runtime/atomic." },	  /* runtime/internal/atomic moved in 1.23 */
	{ 24, "internal/runtime/maps." },	  /* swiss tables, 1.24 */
	{ 25, "internal/runtime/cgroup." },	  /* container-aware GOMAXPROCS, 1.25 */
	{ 26, "internal/runtime/gc/scan." },	  /* green tea GC, 1.26 */
};

static bool has_func(const struct gt_pclntab *t, const char *name)
{
	size_t n = strlen(name);

	if (name[n - 1] != '.')
		return pclntab__lookup_name(t, name) != NULL;
	for (size_t i = 0; i < pclntab__nfuncs(t); i++)
		if (!strncmp(pclntab__func(t, i)->name, name, n))
			return true;
	return false;
}

/* [*lo, *hi] from the pclntab magic, Go 1.26's layout changes and the markers. */
static void version_range(const struct gt_elf *ef, const struct gt_pclntab *t, int *lo, int *hi,
			  char *why, size_t len)
{
	const struct gt_pclntab_layout *l = pclntab__layout(t);
	bool sections = elf_file__section(ef, ".gopclntab", NULL, NULL) != NULL;
	bool module = elf_file__section(ef, ".go.module", NULL, NULL) != NULL;
	bool gotype = elf_file__section(ef, ".go.type", NULL, NULL) != NULL;
	size_t w;

	*lo = l->magic == 0xfffffff0u ? 18 : 20;
	*hi = l->magic == 0xfffffff0u ? 19 : 1000;
	w = snprintf(why, len, "pclntab magic 0x%x", l->magic);
	if (l->magic == 0xfffffff1u) {
		if (l->text_start_zero || module) {
			*lo = 26;
			w += snprintf(why + w, len - w, ", %s", module ? ".go.module" : "textStart 0");
		} else {
			*hi = 25;
		}
		if (gotype) {
			*lo = 27;
			w += snprintf(why + w, len - w, ", .go.type");
		} else if (sections && *hi > 26) {
			*hi = 26; /* 1.27 always writes .go.type; only judged when sections exist */
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(layout_markers); i++) {
		int m = layout_markers[i].minor;

		if (m <= *lo || m > *hi)
			continue;
		if (has_func(t, layout_markers[i].name)) {
			*lo = m;
			w += snprintf(why + w, len - w, ", %s", layout_markers[i].name);
		} else {
			*hi = m - 1;
		}
	}
}

int go_offsets__version_from_layout(const struct gt_elf *ef, const struct gt_pclntab *t,
				    struct gt_go_version *v)
{
	struct gt_go_offsets dis;
	unsigned int found = 0;
	int lo, hi;
	char why[96], range[24];

	version_range(ef, t, &lo, &hi, why, sizeof(why));
	if (hi < GT_GO_MIN_MINOR) {
		pr_err("%s: no Go version in the binary, and its pclntab says Go 1.%d-1.%d: gtrace needs Go 1.19 or newer\n",
		       ef->path, lo, hi);
		return -ENOTSUP;
	}
	memset(&dis, 0, sizeof(dis));
	if (go_offsets__from_disasm(ef, t, &dis, &found) || !found) {
		pr_err("%s: no Go version in the binary (%s: Go 1.%d+), and disassembly cannot confirm a runtime layout: cannot trace it\n",
		       ef->path, why, lo);
		return -ENOTSUP;
	}
	/* 1.18-1.19 (one magic): only 1.19 is supported; the disassembly below must agree */
	if (lo < GT_GO_MIN_MINOR)
		lo = GT_GO_MIN_MINOR;
	/* The newest row in range whose g layout the code agrees with. */
	for (int m = hi < 1000 ? hi : 1000; m >= lo; m--) {
		const struct gt_go_table_row *r = table_row(1, m);

		if (!r)
			continue;
		if (((found & GT_DIS_G_LABELS) && dis.g_labels != r->off.g_labels) ||
		    ((found & GT_DIS_G_M) && dis.g_m != r->off.g_m) ||
		    ((found & GT_DIS_G_SYSCALLSP) && dis.g_syscallsp != r->off.g_syscallsp) ||
		    ((found & GT_DIS_G_WAITREASON) && dis.g_waitreason != r->off.g_waitreason) ||
		    ((found & GT_DIS_G_ATOMICSTATUS) && dis.g_atomicstatus != r->off.g_atomicstatus))
			continue;
		v->major = 1;
		v->minor = m;
		v->patch = 0;
		snprintf(v->str, sizeof(v->str), "go1.%d", m);
		if (hi == lo)
			snprintf(range, sizeof(range), "1.%d", lo);
		else if (hi < 1000)
			snprintf(range, sizeof(range), "1.%d-1.%d", lo, hi);
		else
			snprintf(range, sizeof(range), "1.%d or newer", lo);
		snprintf(v->detail, sizeof(v->detail),
			 "%s: Go %s; the go1.%d layout is confirmed by disassembly (%d fields)", why,
			 range, m, __builtin_popcount(found));
		return 0;
	}
	pr_err("%s: no Go version in the binary (%s: Go 1.%d+), and no known runtime layout matches its code: cannot trace it\n",
	       ef->path, why, lo);
	return -ENOTSUP;
}

/* ---- resolve ---- */

int go_offsets__check_version(const struct gt_go_version *v)
{
	if (v->major == 1 && v->minor >= GT_GO_MIN_MINOR)
		return 0;
	if (v->major == 1)
		pr_err("Go 1.%d is not supported: gtrace needs Go 1.19 or newer\n", v->minor);
	else
		pr_err("Go version '%s' is not supported: gtrace knows Go 1.19 to 1.x\n", v->str);
	return -ENOTSUP;
}

static int resolve_without_dwarf(const struct gt_elf *ef, const struct gt_pclntab *t,
				 const struct gt_go_version *v, struct gt_go_runtime *rt)
{
	const struct gt_go_table_row *row = table_row(v->major, v->minor);
	struct gt_go_offsets off;
	unsigned int found = 0;

	if (row) {
		rt->off = row->off;
		rt->source = GT_OFFSETS_TABLE;
		snprintf(rt->source_detail, sizeof(rt->source_detail), "table go%d.%d", v->major,
			 v->minor);
		return 0;
	}
	/* Newer than the table: start from the newest row, correct what the code shows. */
	row = nearest_row(v->major, v->minor);
	if (!row) {
		pr_err("no runtime layout known for %s\n", v->str);
		return -ENOTSUP;
	}
	off = row->off;
	if (t && go_offsets__from_disasm(ef, t, &off, &found) == 0 && plausible(&off)) {
		rt->off = off;
		rt->source = GT_OFFSETS_DISASM;
		snprintf(rt->source_detail, sizeof(rt->source_detail),
			 "disasm (%d fields), rest from table go%d.%d", __builtin_popcount(found),
			 row->major, row->minor);
		if (off.g_labels != row->off.g_labels || off.g_atomicstatus != row->off.g_atomicstatus)
			pr_warn("%s: runtime.g moved since go%d.%d; fields not derivable by disassembly may be wrong\n",
				v->str, row->major, row->minor);
		return 0;
	}
	rt->off = row->off;
	rt->source = GT_OFFSETS_TABLE;
	snprintf(rt->source_detail, sizeof(rt->source_detail), "table go%d.%d (nearest)",
		 row->major, row->minor);
	pr_warn("%s is newer than gtrace's table and has no DWARF: using the go%d.%d layout unverified\n",
		v->str, row->major, row->minor);
	return 0;
}

int go_offsets__resolve(const struct gt_elf *ef, const struct gt_pclntab *t,
			const struct gt_go_version *v, struct gt_go_runtime *rt)
{
	const struct gt_go_table_row *near;
	int labels_slice, err;

	memset(rt, 0, sizeof(*rt));
	err = go_offsets__check_version(v);
	if (err)
		return err;
	near = nearest_row(v->major, v->minor);
	if (near)
		rt->traits = near->traits;

	err = dwarf_read(ef, &rt->off, &labels_slice);
	if (!err && plausible(&rt->off)) {
		rt->source = GT_OFFSETS_DWARF;
		snprintf(rt->source_detail, sizeof(rt->source_detail), "dwarf");
		/*
		 * The DWARF only names labelMap when runtime/pprof is linked; then
		 * the table's format for the version (or the newest row before it).
		 */
		if (labels_slice < 0 && near) {
			rt->off.labels_slice = near->off.labels_slice;
			rt->off.lbl = near->off.lbl;
		}
	} else {
		if (!err)
			pr_warn("%s: DWARF offsets look wrong; not using them\n", ef->path);
		else if (ef->has_dwarf)
			pr_warn("%s: DWARF unreadable; using the version table\n", ef->path);
		err = resolve_without_dwarf(ef, t, v, rt);
		if (err)
			return err;
	}
	if (go_offsets__waitreasons_from_binary(ef, t, rt) <= 0)
		waitreasons_from_table(v->major, v->minor, rt);
	/* waitsince (int64) sits right before waitreason in every runtime 1.19-1.27 (runtime2.go). */
	rt->g_waitsince = rt->off.g_waitreason >= 8 ? rt->off.g_waitreason - 8 : 0;
	return 0;
}

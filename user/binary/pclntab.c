// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A reader for Go's runtime symbol table, laid out as runtime.pcHeader
 * describes (runtime/symtab.go, cmd/link/internal/ld/pcln.go): a header,
 * then the function-name, compilation-unit, file, pc-value and function
 * tables.  Only the 1.18+ layouts are read.  Addresses that the header no
 * longer holds (Go 1.26 zeroes textStart) and the base of the funcdata
 * (go:func.*, needed for inline trees) come from .symtab when present,
 * else from runtime.firstmoduledata, found by scanning for its pointer to
 * the header, else from section headers and the ELF entry point.  Every
 * read is checked against the table's bounds: a corrupt table gives an
 * error or "?" frames, not a crash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "binary/pclntab.h"

#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u
#define HDR_LEN (8 + 8 * 8)
#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3
#define MAX_INLINE_DEPTH 256
#define MD_WORDS 48 /* moduledata words we look at: up to gofunc and a little more */
#define MD_TEXT 22  /* moduledata.text: same index in every 1.18+ layout */
#define MD_NOPTRDATA 24 /* noptrdata, enoptrdata, data, edata follow text, etext (1.18-1.27) */

struct gt_pclntab {
	const struct gt_elf *ef;
	const uint8_t *hdr;
	uint64_t len, hdr_vaddr;
	bool v120; /* 0xfffffff1: _func.startLine, 16-byte inlinedCall */
	uint8_t minlc;
	uint64_t text;
	uint64_t gofunc; /* 0 when unknown: no inline expansion */
	/* the sub-tables, as offsets from hdr and lengths */
	uint64_t names, names_len, cutab, cutab_len, files, files_len;
	uint64_t pctab, pctab_len, pcln, pcln_len;
	struct gt_func *funcs;
	uint32_t *funcoff; /* _func offset in pcln, per funcs[i] */
	size_t nfuncs;
	uint32_t *by_name; /* indices into funcs, sorted by name */
	struct gt_pclntab_layout layout;
	bool quiet; /* pclntab__probe: no error lines */
};

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Pointer to n bytes at off inside the sub-table [base, base+len), or NULL. */
static const uint8_t *sub(const struct gt_pclntab *t, uint64_t base, uint64_t len, uint64_t off,
			  uint64_t n)
{
	if (off > len || n > len - off)
		return NULL;
	return t->hdr + base + off;
}

/* A NUL-terminated string at off in a string sub-table, or NULL. */
static const char *str(const struct gt_pclntab *t, uint64_t base, uint64_t len, uint64_t off)
{
	const uint8_t *p = sub(t, base, len, off, 1);

	if (!p || !memchr(p, 0, len - off))
		return NULL;
	return (const char *)p;
}

/* --- header ------------------------------------------------------------- */

static bool plausible_hdr(const uint8_t *p, uint64_t len)
{
	uint32_t magic;

	if (len < HDR_LEN)
		return false;
	magic = u32(p);
	return (magic == MAGIC_118 || magic == MAGIC_120) && p[4] == 0 && p[5] == 0 &&
	       (p[6] == 1 || p[6] == 2 || p[6] == 4) && p[7] == 8;
}

static int parse_hdr(struct gt_pclntab *t)
{
	const uint8_t *p = t->hdr;
	uint64_t nfunc, off[5];

	t->v120 = u32(p) == MAGIC_120;
	t->minlc = p[6];
	nfunc = u64(p + 8);
	for (int i = 0; i < 5; i++)
		off[i] = u64(p + 32 + 8 * i);
	/* the sub-tables follow each other in this order */
	if (off[0] < HDR_LEN)
		return -EINVAL;
	for (int i = 1; i < 5; i++)
		if (off[i] < off[i - 1])
			return -EINVAL;
	if (off[4] > t->len)
		return -EINVAL;
	t->names = off[0], t->names_len = off[1] - off[0];
	t->cutab = off[1], t->cutab_len = off[2] - off[1];
	t->files = off[2], t->files_len = off[3] - off[2];
	t->pctab = off[3], t->pctab_len = off[4] - off[3];
	t->pcln = off[4], t->pcln_len = t->len - off[4];
	if (nfunc == 0 || nfunc > (t->pcln_len - 4) / 8)
		return -EINVAL;
	t->nfuncs = nfunc;
	return 0;
}

static int old_magic(const uint8_t *p, uint64_t len)
{
	uint32_t m = len >= 8 ? u32(p) : 0;

	return m == 0xfffffffbu || m == 0xfffffffau;
}

/* Finds the table by section, then by symbol, then by scanning for the magic. */
static int locate(struct gt_pclntab *t, const struct gt_elf *ef)
{
	static const char *const sects[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	uint64_t addr, end, off;

	for (size_t i = 0; i < sizeof(sects) / sizeof(sects[0]); i++) {
		t->hdr = elf_file__section(ef, sects[i], &t->hdr_vaddr, &t->len);
		if (t->hdr)
			return 0;
	}
	if (!elf_file__symbol(ef, "runtime.pclntab", &addr, NULL) &&
	    !elf_file__symbol(ef, "runtime.epclntab", &end, NULL) && end > addr) {
		t->hdr = elf_file__vaddr_ptr(ef, addr, end - addr);
		t->hdr_vaddr = addr;
		t->len = end - addr;
		if (t->hdr)
			return 0;
	}
	/* no section headers: the header is pointer-aligned, like the section */
	for (off = 0; off + HDR_LEN <= ef->size; off += 8) {
		const uint8_t *p = ef->data + off;
		uint64_t va, seg_end;

		if (!plausible_hdr(p, ef->size - off) || elf_file__offset_to_vaddr(ef, off, &va))
			continue;
		/* the table runs to the end of its segment at most */
		for (seg_end = va; elf_file__vaddr_ptr(ef, seg_end, 1);)
			seg_end += 4096 - (seg_end & 4095);
		while (seg_end > va && !elf_file__vaddr_ptr(ef, seg_end - 1, 1))
			seg_end--;
		t->hdr = p;
		t->hdr_vaddr = va;
		t->len = seg_end - va;
		if (!parse_hdr(t))
			return 0;
	}
	t->hdr = NULL;
	return -ENOENT;
}

/* --- functions ------------------------------------------------------------ */

/* The _func record of funcs[i], with room for its fixed part. */
static const uint8_t *func_rec(const struct gt_pclntab *t, size_t i)
{
	return sub(t, t->pcln, t->pcln_len, t->funcoff[i], t->v120 ? 44 : 40);
}

static int load_funcs(struct gt_pclntab *t)
{
	const uint8_t *ft = t->hdr + t->pcln;
	uint32_t prev = 0;

	t->funcs = calloc(t->nfuncs, sizeof(*t->funcs));
	t->funcoff = calloc(t->nfuncs, sizeof(*t->funcoff));
	if (!t->funcs || !t->funcoff)
		return -ENOMEM;
	for (size_t i = 0; i < t->nfuncs; i++) {
		uint32_t entry = u32(ft + 8 * i), next = u32(ft + 8 * (i + 1));
		const uint8_t *rec;
		const char *name;

		t->funcoff[i] = u32(ft + 8 * i + 4);
		rec = func_rec(t, i);
		if (entry < prev || next < entry || !rec || u32(rec) != entry)
			return -EINVAL;
		name = str(t, t->names, t->names_len, u32(rec + 4));
		t->funcs[i].entry = t->text + entry;
		t->funcs[i].end = t->text + next;
		t->funcs[i].name = name ? name : "?";
		prev = entry;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
	const struct gt_func *f = ctx;

	return strcmp(f[*(const uint32_t *)a].name, f[*(const uint32_t *)b].name);
}

static int index_names(struct gt_pclntab *t)
{
	t->by_name = malloc(t->nfuncs * sizeof(*t->by_name));
	if (!t->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < t->nfuncs; i++)
		t->by_name[i] = i;
	qsort_r(t->by_name, t->nfuncs, sizeof(*t->by_name), cmp_name, t->funcs);
	return 0;
}

/* Index of the function named name, or -1. */
static long find_name(const struct gt_pclntab *t, const char *name)
{
	size_t lo = 0, hi = t->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->funcs[t->by_name[mid]].name, name);

		if (c == 0)
			return t->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static long find_pc(const struct gt_pclntab *t, uint64_t pc)
{
	size_t lo = 0, hi = t->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc < t->funcs[mid].entry)
			hi = mid;
		else if (pc >= t->funcs[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

/* --- addresses the header does not hold ------------------------------------ */

/* runtime.firstmoduledata: starts with the header's address and funcnametab. */
static const uint8_t *moduledata_at(const struct gt_pclntab *t, const uint8_t *p)
{
	/* slice lengths may be shorter than the gaps between tables: padding */
	if (u64(p) != t->hdr_vaddr || u64(p + 8) != t->hdr_vaddr + t->names ||
	    u64(p + 32) != t->hdr_vaddr + t->cutab || u64(p + 56) != t->hdr_vaddr + t->files)
		return NULL;
	return p;
}

static const uint8_t *find_moduledata(const struct gt_pclntab *t)
{
	const struct gt_elf *ef = t->ef;
	const uint8_t *p;
	uint64_t addr;

	if (!elf_file__symbol(ef, "runtime.firstmoduledata", &addr, NULL) &&
	    (p = elf_file__vaddr_ptr(ef, addr, MD_WORDS * 8)) && moduledata_at(t, p))
		return p;
	if ((p = elf_file__section(ef, ".go.module", NULL, &addr)) && addr >= MD_WORDS * 8 &&
	    moduledata_at(t, p))
		return p;
	for (uint64_t off = 0; off + MD_WORDS * 8 <= ef->size; off += 8) {
		p = ef->data + off;
		if (u64(p) == t->hdr_vaddr && moduledata_at(t, p))
			return p;
	}
	return NULL;
}

/* Function i's entry according to the table, before textStart is known. */
static uint32_t entry_off(const struct gt_pclntab *t, size_t i)
{
	return u32(t->hdr + t->pcln + 8 * i);
}

/* The function whose entry is the ELF entry point (_rt0_<arch>_linux). */
static int text_from_entry(const struct gt_pclntab *t, uint64_t *text)
{
	uint64_t entry;

	if (t->ef->size < 32)
		return -ENOENT;
	entry = u64(t->ef->data + 24);
	for (size_t i = 0; i < t->nfuncs; i++) {
		const uint8_t *rec = sub(t, t->pcln, t->pcln_len, u32(t->hdr + t->pcln + 8 * i + 4), 8);
		const char *name = rec ? str(t, t->names, t->names_len, u32(rec + 4)) : NULL;

		size_t len = name ? strlen(name) : 0;

		/* not _rt0_amd64_linux_lib: that is the c-shared entry */
		if (len > 11 && !strncmp(name, "_rt0_", 5) && !strcmp(name + len - 6, "_linux") &&
		    entry >= entry_off(t, i)) {
			*text = entry - entry_off(t, i);
			return 0;
		}
	}
	return -ENOENT;
}

static int find_text(struct gt_pclntab *t, const uint8_t *md)
{
	const struct gt_elf *ef = t->ef;
	uint64_t addr, hdr_text = u64(t->hdr + 24);

	if (!elf_file__symbol(ef, "runtime.text", &t->text, NULL))
		return 0;
	if (md && (t->text = u64(md + 8 * MD_TEXT)))
		return 0;
	if ((t->text = hdr_text))
		return 0;
	if (elf_file__section(ef, ".text", &addr, NULL)) {
		t->text = addr;
		return 0;
	}
	return text_from_entry(t, &t->text);
}

/* Size and field offsets of runtime.inlinedCall. */
static int inl_size(const struct gt_pclntab *t)
{
	return t->v120 ? 16 : 20;
}

static int inl_nameoff(const struct gt_pclntab *t)
{
	return t->v120 ? 4 : 12;
}

static int inl_parentpc(const struct gt_pclntab *t)
{
	return t->v120 ? 8 : 16;
}

static uint32_t funcdata_off(const struct gt_pclntab *t, size_t i, int which);

/*
 * Whether gofunc makes the inline trees of the first functions that have
 * one look like inline trees: names at string starts, call sites inside
 * the function, padding zero.
 */
static bool gofunc_ok(const struct gt_pclntab *t, uint64_t gofunc)
{
	int checked = 0;

	for (size_t i = 0; i < t->nfuncs && checked < 32; i++) {
		uint32_t off = funcdata_off(t, i, FUNCDATA_INLTREE);
		const uint8_t *inl;
		uint32_t name;
		int32_t ppc;

		if (off == ~0u)
			continue;
		inl = elf_file__vaddr_ptr(t->ef, gofunc + off, inl_size(t));
		if (!inl)
			return false;
		name = u32(inl + inl_nameoff(t));
		ppc = (int32_t)u32(inl + inl_parentpc(t));
		if (name >= t->names_len || (name && t->hdr[t->names + name - 1]) || ppc < 0 ||
		    (uint64_t)ppc >= t->funcs[i].end - t->funcs[i].entry)
			return false;
		if (t->v120 ? (inl[1] | inl[2] | inl[3]) : inl[3])
			return false;
		checked++;
	}
	return true;
}

static void find_gofunc(struct gt_pclntab *t, const uint8_t *md)
{
	uint64_t addr;

	if ((!elf_file__symbol(t->ef, "go:func.*", &addr, NULL) ||
	     !elf_file__symbol(t->ef, "go.func.*", &addr, NULL)) &&
	    gofunc_ok(t, addr)) {
		t->gofunc = addr;
		return;
	}
	/* its index moves between versions (1.19: 38, 1.26: 40, 1.27: 43) */
	for (int i = 36; md && i < MD_WORDS; i++) {
		addr = u64(md + 8 * i);
		if (addr && gofunc_ok(t, addr)) {
			t->gofunc = addr;
			return;
		}
	}
	pr_debug("%s: go:func.* not found, inlined frames will not be expanded\n", t->ef->path);
}

/* --- open/close ------------------------------------------------------------ */

static int open_fail(struct gt_pclntab *t, const char *why, int err)
{
	if (!t->quiet)
		pr_err("%s: %s\n", t->ef->path, why);
	pclntab__close(t);
	return err;
}

static int do_open(struct gt_pclntab **out, const struct gt_elf *ef, bool quiet)
{
	struct gt_pclntab *t = calloc(1, sizeof(*t));
	const uint8_t *md;
	int err;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->ef = ef;
	t->quiet = quiet;
	if (locate(t, ef))
		return open_fail(t, "no Go pclntab (not a Go binary, or Go older than 1.18)",
				 -ENOENT);
	if (old_magic(t->hdr, t->len))
		return open_fail(t, "Go older than 1.18 pclntab: not supported", -ENOTSUP);
	if (!plausible_hdr(t->hdr, t->len) || parse_hdr(t))
		return open_fail(t, "corrupt pclntab header", -EINVAL);
	md = find_moduledata(t);
	t->layout.magic = u32(t->hdr);
	t->layout.text_start_zero = u64(t->hdr + 24) == 0;
	if (md) {
		elf_file__offset_to_vaddr(ef, md - ef->data, &t->layout.moduledata);
		t->layout.noptrdata = u64(md + 8 * MD_NOPTRDATA);
		t->layout.enoptrdata = u64(md + 8 * (MD_NOPTRDATA + 1));
		t->layout.data = u64(md + 8 * (MD_NOPTRDATA + 2));
		t->layout.edata = u64(md + 8 * (MD_NOPTRDATA + 3));
	}
	if (find_text(t, md))
		return open_fail(t, "cannot tell where the Go text segment starts", -ENOENT);
	err = load_funcs(t);
	if (err)
		return open_fail(t, err == -ENOMEM ? "out of memory" : "corrupt pclntab function table",
				 err);
	err = index_names(t);
	if (err)
		return open_fail(t, "out of memory", err);
	find_gofunc(t, md);
	pr_debug("%s: pclntab %s, %zu funcs, text 0x%llx, go:func.* 0x%llx\n", ef->path,
		 t->v120 ? "1.20+" : "1.18", t->nfuncs, (unsigned long long)t->text,
		 (unsigned long long)t->gofunc);
	*out = t;
	return 0;
}

int pclntab__open(struct gt_pclntab **out, const struct gt_elf *ef)
{
	return do_open(out, ef, false);
}

int pclntab__probe(struct gt_pclntab **out, const struct gt_elf *ef)
{
	return do_open(out, ef, true);
}

const struct gt_pclntab_layout *pclntab__layout(const struct gt_pclntab *t)
{
	return &t->layout;
}

void pclntab__close(struct gt_pclntab *t)
{
	if (!t)
		return;
	free(t->funcs);
	free(t->funcoff);
	free(t->by_name);
	free(t);
}

size_t pclntab__nfuncs(const struct gt_pclntab *t)
{
	return t ? t->nfuncs : 0;
}

const struct gt_func *pclntab__func(const struct gt_pclntab *t, size_t i)
{
	return t && i < t->nfuncs ? &t->funcs[i] : NULL;
}

const struct gt_func *pclntab__lookup_name(const struct gt_pclntab *t, const char *name)
{
	long i = t ? find_name(t, name) : -1;

	return i < 0 ? NULL : &t->funcs[i];
}

const struct gt_func *pclntab__lookup_pc(const struct gt_pclntab *t, uint64_t pc)
{
	long i = t ? find_pc(t, pc) : -1;

	return i < 0 ? NULL : &t->funcs[i];
}

/* --- pc-value tables and frames -------------------------------------------- */

/* Fields of _func that follow the common prefix. */
static uint32_t rec_u32(const struct gt_pclntab *t, size_t i, int off)
{
	const uint8_t *rec = func_rec(t, i);

	return rec ? u32(rec + off) : 0;
}

static uint32_t npcdata(const struct gt_pclntab *t, size_t i)
{
	return rec_u32(t, i, 28);
}

/* Offset of pcdata[which] or funcdata[which] from the record start; 0 when absent. */
static uint64_t tail_off(const struct gt_pclntab *t, size_t i, uint32_t which, bool funcdata)
{
	const uint8_t *rec = func_rec(t, i);
	uint64_t fixed = t->v120 ? 44 : 40, np, nf;

	if (!rec)
		return 0;
	np = npcdata(t, i);
	nf = rec[fixed - 1];
	if (funcdata)
		return which < nf ? fixed + 4 * np + 4 * which : 0;
	return which < np ? fixed + 4 * which : 0;
}

static uint32_t tail_u32(const struct gt_pclntab *t, size_t i, uint64_t off, uint32_t none)
{
	const uint8_t *p;

	if (!off)
		return none;
	p = sub(t, t->pcln, t->pcln_len, (uint64_t)t->funcoff[i] + off, 4);
	return p ? u32(p) : none;
}

static uint32_t funcdata_off(const struct gt_pclntab *t, size_t i, int which)
{
	return tail_u32(t, i, tail_off(t, i, which, true), ~0u);
}

static uint32_t pcdata_off(const struct gt_pclntab *t, size_t i, int which)
{
	return tail_u32(t, i, tail_off(t, i, which, false), 0);
}

static int varint(const struct gt_pclntab *t, uint64_t *p, uint32_t *v)
{
	uint32_t r = 0;

	for (int shift = 0; shift < 35; shift += 7) {
		const uint8_t *b = sub(t, t->pctab, t->pctab_len, (*p)++, 1);

		if (!b)
			return -EINVAL;
		r |= (uint32_t)(*b & 0x7f) << shift;
		if (!(*b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * The value of the pc-value table at off for target, as runtime.pcvalue:
 * pairs of (zig-zag value delta, pc delta / minLC), starting at -1 and the
 * entry; a zero value delta after the first pair ends the table.
 */
static int32_t pcvalue(const struct gt_pclntab *t, uint32_t off, uint64_t entry, uint64_t target)
{
	uint64_t p = off, pc = entry;
	int32_t val = -1;
	bool first = true;

	if (!off)
		return -1;
	while (p < t->pctab_len) {
		uint32_t uv, pcd;

		if (varint(t, &p, &uv) || (uv == 0 && !first))
			return -1;
		val += (int32_t)(-(uv & 1) ^ (uv >> 1));
		if (varint(t, &p, &pcd))
			return -1;
		pc += (uint64_t)pcd * t->minlc;
		if (target < pc)
			return val;
		first = false;
	}
	return -1;
}

static const char *file_at(const struct gt_pclntab *t, size_t i, uint64_t pc)
{
	int32_t fileno = pcvalue(t, rec_u32(t, i, 20), t->funcs[i].entry, pc);
	uint64_t cu = rec_u32(t, i, 32);
	const uint8_t *p;
	const char *s;

	if (fileno < 0)
		return "?";
	p = sub(t, t->cutab, t->cutab_len, 4 * (cu + (uint64_t)fileno), 4);
	if (!p || u32(p) == ~0u)
		return "?";
	s = str(t, t->files, t->files_len, u32(p));
	return s ? s : "?";
}

static void fill_frame(const struct gt_pclntab *t, size_t i, uint64_t pc, const char *func,
		       struct gt_frame *f)
{
	int32_t line = pcvalue(t, rec_u32(t, i, 24), t->funcs[i].entry, pc);

	f->func = func;
	f->file = file_at(t, i, pc);
	f->line = line > 0 ? line : 0;
}

/*
 * runtime.inlineUnwinder: the inline-tree index at pc names the function
 * inlined there; its call site (entry + parentPc) is a pc whose own index
 * names the next frame out, until the index is -1: the real function.
 * File and line of each frame come from the pc-value tables at its pc.
 */
int pclntab__frames(const struct gt_pclntab *t, uint64_t pc, struct gt_frame *out, int max)
{
	long i = t ? find_pc(t, pc) : -1;
	uint32_t inl_off;
	uint64_t entry;
	int n = 0;

	if (i < 0 || max <= 0)
		return 0;
	entry = t->funcs[i].entry;
	inl_off = funcdata_off(t, i, FUNCDATA_INLTREE);
	for (int depth = 0; t->gofunc && inl_off != ~0u && n < max - 1 && depth < MAX_INLINE_DEPTH;
	     depth++) {
		int32_t ix = pcvalue(t, pcdata_off(t, i, PCDATA_INLTREEINDEX), entry, pc);
		const uint8_t *inl;
		const char *name;

		if (ix < 0)
			break;
		inl = elf_file__vaddr_ptr(t->ef, t->gofunc + inl_off + (uint64_t)ix * inl_size(t),
					  inl_size(t));
		if (!inl)
			break;
		name = str(t, t->names, t->names_len, u32(inl + inl_nameoff(t)));
		fill_frame(t, i, pc, name ? name : "?", &out[n++]);
		pc = entry + (uint32_t)u32(inl + inl_parentpc(t));
		if (pc >= t->funcs[i].end)
			break;
	}
	fill_frame(t, i, pc, t->funcs[i].name, &out[n++]);
	return n;
}

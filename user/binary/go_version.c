// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Identifying a Go binary that has lost its build info (esbuild 0.27+ ships
 * like that: no .go.buildinfo, no .symtab, but .gopclntab and the runtime's
 * own version string).  The order of sources and how sure each is are in
 * go_version.h; every source is tried only when the better ones found
 * nothing, and `info` shows which one decided.
 */
#include <capstone/capstone.h>
#include <elf.h>
#include <errno.h>
#include <string.h>
#include "binary/go_offsets.h"
#include "binary/go_version.h"
#include "binary/pclntab.h"
#include "lib/debug.h"

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static bool in_data(const struct gt_pclntab_layout *l, uint64_t a, uint64_t n)
{
	if (!l->data && !l->noptrdata)
		return true; /* no moduledata: the string check alone decides */
	return (a >= l->noptrdata && a + n <= l->enoptrdata) || (a >= l->data && a + n <= l->edata);
}

/*
 * The Go string header at addr, if it is one to "go1.N[.P][ X:...]": sets v
 * (experiments after the space dropped).  0 or -ENOENT.
 */
static int version_at(const struct gt_elf *ef, uint64_t addr, struct gt_go_version *v)
{
	const uint8_t *h = elf_file__vaddr_ptr(ef, addr, 16), *s;
	uint64_t len, n;
	char buf[64];

	if (!h)
		return -ENOENT;
	len = u64(h + 8);
	if (len < 4 || len > 200 || !(s = elf_file__vaddr_ptr(ef, u64(h), len)))
		return -ENOENT;
	if (memcmp(s, "go1.", 4))
		return -ENOENT;
	for (n = 0; n < len && s[n] != ' '; n++)
		if (s[n] < 0x21 || s[n] > 0x7e)
			return -ENOENT;
	if (n >= sizeof(buf))
		return -ENOENT;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (buildinfo__parse_version(buf, v))
		return -ENOENT;
	snprintf(v->str, sizeof(v->str), "%s", buf);
	return 0;
}

/* Route 3 in one function: the operand of schedinit's `buildVersion == ""` test. */
static int scan_schedinit(const struct gt_elf *ef, const struct gt_pclntab *t,
			  const struct gt_func *f, struct gt_go_version *v)
{
	const struct gt_pclntab_layout *l = pclntab__layout(t);
	const uint8_t *code;
	uint64_t addr, size;
	cs_insn *insn;
	csh cs;
	int err = -ENOENT;

	if (f->end <= f->entry || f->end - f->entry > 1 << 16)
		return -ENOENT;
	code = elf_file__vaddr_ptr(ef, f->entry, f->end - f->entry);
	if (!code || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOENT;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(cs);
	addr = f->entry;
	size = f->end - f->entry;
	while (insn && err && size) {
		if (!cs_disasm_iter(cs, &code, &size, &addr, insn)) {
			code++, size--, addr++;
			continue;
		}
		const cs_x86 *x = &insn->detail->x86;

		/* cmp qword ptr [rip+d], 0 (or a load of it): d addresses buildVersion.len */
		for (int i = 0; i < x->op_count && err; i++) {
			const cs_x86_op *o = &x->operands[i];
			uint64_t len_addr;

			if (o->type != X86_OP_MEM || o->mem.base != X86_REG_RIP || o->size != 8)
				continue;
			len_addr = insn->address + insn->size + o->mem.disp;
			if (in_data(l, len_addr - 8, 16) && !version_at(ef, len_addr - 8, v)) {
				snprintf(v->detail, sizeof(v->detail),
					 "runtime.buildVersion at 0x%llx, found through runtime.schedinit",
					 (unsigned long long)(len_addr - 8));
				err = 0;
			}
		}
	}
	cs_free(insn, 1);
	cs_close(&cs);
	return err;
}

/* Route 3: every function of that name (Go 1.25 binaries carry a 32-byte second one). */
static int from_schedinit(const struct gt_elf *ef, const struct gt_pclntab *t,
			  struct gt_go_version *v)
{
	if (ef->machine != EM_X86_64)
		return -ENOENT;
	for (size_t i = 0; i < pclntab__nfuncs(t); i++) {
		const struct gt_func *f = pclntab__func(t, i);

		if (!strcmp(f->name, "runtime.schedinit") && !scan_schedinit(ef, t, f, v))
			return 0;
	}
	return -ENOENT;
}

/* Route 4: string headers to a Go version inside moduledata's data ranges; one version only. */
static int from_data(const struct gt_elf *ef, const struct gt_pclntab *t, struct gt_go_version *v)
{
	const struct gt_pclntab_layout *l = pclntab__layout(t);
	const uint64_t ranges[2][2] = { { l->noptrdata, l->enoptrdata }, { l->data, l->edata } };
	struct gt_go_version c;
	int hits = 0;

	if (!l->moduledata)
		return -ENOENT;
	for (int r = 0; r < 2; r++) {
		for (uint64_t a = (ranges[r][0] + 7) & ~7ull; a + 16 <= ranges[r][1]; a += 8) {
			if (version_at(ef, a, &c))
				continue;
			if (hits && strcmp(c.str, v->str)) {
				pr_debug("%s: two Go version strings in data (%s, %s)\n", ef->path,
					 v->str, c.str);
				return -ENOENT;
			}
			if (!hits++)
				*v = c;
		}
	}
	if (!hits)
		return -ENOENT;
	snprintf(v->detail, sizeof(v->detail),
		 "a Go string \"%s\" in moduledata's data (%d header%s)", v->str, hits,
		 hits > 1 ? "s" : "");
	return 0;
}

int go_version__from_schedinit(const struct gt_elf *ef, struct gt_go_version *v)
{
	struct gt_pclntab *t;
	int err;

	memset(v, 0, sizeof(*v));
	if (pclntab__probe(&t, ef))
		return -ENOENT;
	err = from_schedinit(ef, t, v);
	pclntab__close(t);
	return err;
}

int go_version__identify(const struct gt_elf *ef, struct gt_go_version *v)
{
	struct gt_pclntab *t;
	int err = buildinfo__find(ef, v);

	if (err != -ENOENT)
		return err;
	/* No build info: the rest needs Go's own table, which every Go binary keeps. */
	if (pclntab__probe(&t, ef)) {
		pr_err("%s: not a Go binary (no Go build info, no runtime.buildVersion, no pclntab)\n",
		       ef->path);
		return -ENOENT;
	}
	memset(v, 0, sizeof(*v));
	err = 0;
	if (!from_schedinit(ef, t, v)) {
		snprintf(v->source, sizeof(v->source), "runtime.buildVersion");
		snprintf(v->confidence, sizeof(v->confidence), "exact");
	} else if (memset(v, 0, sizeof(*v)), !from_data(ef, t, v)) {
		snprintf(v->source, sizeof(v->source), "moduledata");
		snprintf(v->confidence, sizeof(v->confidence), "likely");
	} else {
		memset(v, 0, sizeof(*v));
		err = go_offsets__version_from_layout(ef, t, v);
		if (!err) {
			snprintf(v->source, sizeof(v->source), "pclntab layout");
			snprintf(v->confidence, sizeof(v->confidence), "range");
		}
	}
	pclntab__close(t);
	return err;
}

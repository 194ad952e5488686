// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probe sites on every fixture: each entry site of a hooked function is an
 * instruction the kernel emulates, lies inside the function, and is reached
 * from the entry on straight-line code that writes no argument register and
 * not R14 (checked with an independent capstone walk); the RET sites are
 * exactly the RETs `go tool objdump` lists for the function (for a
 * stripped fixture: those of its plain twin, whose text is the same).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <capstone/capstone.h>
#include "binary/buildinfo.h"
#include "binary/elf_file.h"
#include "binary/go_offsets.h"
#include "helpers.h"
#include "binary/pclntab.h"
#include "binary/probe_plan.h"
#include "binary/probe_sites.h"

/* Argument registers (RAX RBX RCX RDI RSI R8-R11) and R14, any width. */
static bool arg_or_g(unsigned int r)
{
	static const unsigned int regs[] = {
		X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH,
		X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH,
		X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH,
		X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL,
		X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL,
		X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B,
		X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B,
		X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B,
		X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B,
		X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B,
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i] == r)
			return true;
	return false;
}

/* "" when [entry, site) is straight-line code that leaves the args and g alone. */
static const char *check_prefix(const struct gt_elf *ef, const struct gt_func *f, uint64_t site,
				enum gt_site_regs regs, char *why, size_t len)
{
	const uint8_t *code = elf_file__vaddr_ptr(ef, f->entry, site - f->entry);
	size_t n = site - f->entry;
	uint64_t a = f->entry;
	cs_insn *in;
	csh cs;

	why[0] = '\0';
	if (!n)
		return why;
	if (!code || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		snprintf(why, len, "cannot decode");
		return why;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs_malloc(cs);
	while (n && !why[0]) {
		cs_regs rd, wr;
		uint8_t nrd, nwr;

		if (!cs_disasm_iter(cs, &code, &n, &a, in)) {
			snprintf(why, len, "undecodable byte before the site");
			break;
		}
		for (int g = 0; g < in->detail->groups_count; g++)
			if (in->detail->groups[g] == CS_GRP_JUMP || in->detail->groups[g] == CS_GRP_CALL ||
			    in->detail->groups[g] == CS_GRP_RET)
				snprintf(why, len, "branch %.16s %.64s before the site", in->mnemonic,
					 in->op_str);
		if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
			for (int r = 0; r < nwr; r++)
				if (regs == GT_SITE_G_ONLY ? wr[r] == X86_REG_R14 : arg_or_g(wr[r]))
					snprintf(why, len, "%.16s %.64s writes %.8s before the site",
						 in->mnemonic, in->op_str, cs_reg_name(cs, wr[r]));
		}
	}
	if (!why[0] && a != site)
		snprintf(why, len, "site 0x%llx is not an instruction boundary",
			 (unsigned long long)site);
	cs_free(in, 1);
	cs_close(&cs);
	return why;
}

TEST(probe_sites_entry_emulated_and_safe)
{
	char vers[8][16];
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	for (int i = 0; i < nv; i++) {
		for (size_t k = 0; k < T_NVARIANTS; k++) {
			char path[512], why[160];
			int checked = 0;
			static struct gt_go_runtime rt;
			struct gt_pclntab *t;
			struct gt_go_version v;
			struct gt_elf ef;

			t_fixture(path, sizeof(path), "script", vers[i], t_variants[k]);
			T_ASSERT(!elf_file__open(&ef, path), "%s: open", path);
			T_ASSERT(!buildinfo__read(&ef, &v) && !pclntab__open(&t, &ef) &&
					 !go_offsets__resolve(&ef, t, &v, &rt),
				 "%s: inspect", path);
			for (size_t p = 0; p < gt_probe_plan_len; p++) {
				const struct gt_probe_plan_entry *e = &gt_probe_plan[p];
				const struct gt_func *f = pclntab__lookup_name(t, e->symbol);
				struct gt_probe_site s;
				int err;

				if (e->kind != GT_PROBE_ENTRY)
					continue;
				T_CHECK(f, "%s: %s missing", path, e->symbol);
				if (!f)
					continue;
				err = probe_sites__entry_for(&ef, f, false, e->regs, &s);
				T_CHECK(!err, "%s: %s: no entry site (%d)", path, e->symbol, err);
				if (err)
					continue;
				checked++;
				T_CHECK(s.addr >= f->entry && s.addr < f->end, "%s: %s: site outside",
					path, e->symbol);
				/* needed probes must be cheap; the others may fall back */
				if (probe_plan__needed(e, &rt.traits))
					T_CHECK(s.emulated && !s.at_entry, "%s: %s: site %s +0x%llx not emulated",
						path, e->symbol, s.insn,
						(unsigned long long)(s.addr - f->entry));
				if (s.at_entry)
					continue;
				T_CHECK(!check_prefix(&ef, f, s.addr, e->regs, why, sizeof(why))[0], "%s: %s: %s",
					path, e->symbol, why);
			}
			T_CHECK(checked > 0, "%s: no entry probe site was checked", path);
			pclntab__close(t);
			elf_file__close(&ef);
		}
	}
}

/* RET addresses go tool objdump shows for fn in path; count or -1. */
static int objdump_rets(const char *path, const char *fn, uint64_t *out, int max)
{
	char cmd[1024], line[512];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "GOTOOLCHAIN=local %s tool objdump -s '^%s$' '%s' 2>/dev/null",
		 T_GO, fn, path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *tok, *save = NULL, *addr = NULL;
		int col = 0;

		for (tok = strtok_r(line, "\t\n", &save); tok; tok = strtok_r(NULL, "\t\n", &save)) {
			if (col == 1)
				addr = tok;
			if (col == 3 && !strncmp(tok, "RET", 3) && addr && n < max)
				out[n++] = strtoull(addr, NULL, 16);
			col++;
		}
	}
	return pclose(p) == 0 ? n : -1;
}

TEST(probe_sites_returns_match_objdump)
{
	char vers[8][16];
	int nv;

	T_NEED_FIXTURES(vers, nv, true);
	for (int i = 0; i < nv; i++) {
		for (size_t k = 0; k < T_NVARIANTS; k++) {
			char path[512], ref[512];
			int rets = 0;
			struct gt_pclntab *t;
			struct gt_elf ef;

			t_fixture(path, sizeof(path), "script", vers[i], t_variants[k]);
			T_ASSERT(!elf_file__open(&ef, path), "%s: open", path);
			T_ASSERT(!pclntab__open(&t, &ef), "%s: pclntab", path);
			/* objdump needs .symtab: a stripped binary has its plain twin's text */
			t_fixture(ref, sizeof(ref), "script", vers[i],
				  k == T_STRIPPED ? "plain" : t_variants[k]);
			for (size_t p = 0; p < gt_probe_plan_len; p++) {
				const char *name = gt_probe_plan[p].symbol;
				const struct gt_func *f = pclntab__lookup_name(t, name);
				struct gt_probe_site s[64];
				uint64_t want[64];
				int n, nw;

				/* the RET-probed functions exist in every supported Go */
				if (gt_probe_plan[p].kind == GT_PROBE_RET)
					T_CHECK(f, "%s: %s missing", path, name);
				if (!f)
					continue;
				n = probe_sites__returns(&ef, f, s, 64);
				nw = objdump_rets(ref, name, want, 64);
				rets += nw > 0 ? nw : 0;
				T_CHECK(nw >= 0, "%s: objdump %s failed", path, name);
				T_CHECK(n == nw, "%s: %s: %d RETs, objdump shows %d", path, name, n, nw);
				for (int j = 0; j < n && j < nw; j++) {
					T_CHECK(s[j].addr == want[j], "%s: %s: RET 0x%llx, objdump 0x%llx",
						path, name, (unsigned long long)s[j].addr,
						(unsigned long long)want[j]);
					T_CHECK(s[j].file_offset && !strcmp(s[j].insn, "ret"),
						"%s: %s: RET site %s", path, name, s[j].insn);
				}
			}
			/* objdump listing no RET at all would make every n == nw vacuous */
			T_CHECK(rets > 0, "%s: objdump showed no RET in any probed function", path);
			pclntab__close(t);
			elf_file__close(&ef);
		}
	}
}

TEST(probe_sites_emulated_rules)
{
	static const struct {
		const char *bytes;
		size_t n;
		bool emulated;
	} c[] = {
		{ "\x76\x36", 2, true },			/* jbe rel8 */
		{ "\x0f\x86\x86\x03\x00\x00", 6, true },	/* jbe rel32 */
		{ "\xe8\x00\x00\x00\x00", 5, true },		/* call */
		{ "\x55", 1, true },				/* push rbp */
		{ "\x41\x56", 2, true },			/* push r14 */
		{ "\x90", 1, true },				/* nop */
		{ "\x0f\x1f\x00", 3, true },			/* nopl (rax) */
		{ "\x66\x0f\x1f\x84\x00\x00\x00\x00\x00", 9, false }, /* nopw: 0x66 refused */
		{ "\x49\x3b\x66\x10", 4, false },		/* cmp rsp,[r14+0x10] */
		{ "\x48\x83\xec\x40", 4, false },		/* sub rsp,0x40 */
		{ "\xc3", 1, false },				/* ret */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		T_CHECK(probe_sites__emulated((const uint8_t *)c[i].bytes, c[i].n) == c[i].emulated,
			"case %zu", i);
}

/*
 * The last instruction before site: "" when it is the stack check's CMP
 * (an operand [r14 + 0x10], g.stackguard0, or [r14 + 0x18], g.stackguard1,
 * which the compiler checks in functions that must run on the system
 * stack, such as preemptPark), else what it is.
 */
static const char *cmp_before(const struct gt_elf *ef, const struct gt_func *f, uint64_t site,
			      char *why, size_t len)
{
	const uint8_t *code = elf_file__vaddr_ptr(ef, f->entry, site - f->entry);
	size_t n = site - f->entry;
	uint64_t a = f->entry;
	bool cmp = false;
	cs_insn *in;
	csh cs;

	snprintf(why, len, "no instruction before the site");
	if (!code || !n || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return why;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs_malloc(cs);
	while (n && cs_disasm_iter(cs, &code, &n, &a, in)) {
		const cs_x86 *x = &in->detail->x86;

		cmp = false;
		snprintf(why, len, "%.16s %.64s before the site", in->mnemonic, in->op_str);
		if (in->id != X86_INS_CMP)
			continue;
		for (int o = 0; o < x->op_count; o++)
			if (x->operands[o].type == X86_OP_MEM && x->operands[o].mem.base == X86_REG_R14 &&
			    (x->operands[o].mem.disp == 0x10 || x->operands[o].mem.disp == 0x18))
				cmp = true;
	}
	if (cmp && a == site)
		why[0] = '\0';
	cs_free(in, 1);
	cs_close(&cs);
	return why;
}

/*
 * The restart check the BPF side is configured with (tracer.c's rodata
 * *_before_check / *_at_jbe) for the two probes that sit on a stack check:
 * FLAGS only on a JBE right after the stack check's CMP, SP only where the
 * CMP has not run, and FLAGS really chosen on some fixture (a knob never
 * set would leave the race 8ad70c3 fixed in place).
 */
TEST(probe_sites_restart_check)
{
	static const char *const funcs[] = { "runtime/pprof.runtime_setProfLabel",
					     "runtime.preemptPark" };
	int nflags = 0, nsites = 0;
	char vers[8][16];
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	for (int i = 0; i < nv; i++) {
		for (size_t k = 0; k < T_NVARIANTS; k++) {
			char path[512], why[160];
			struct gt_pclntab *t;
			struct gt_elf ef;

			t_fixture(path, sizeof(path), "script", vers[i], t_variants[k]);
			T_ASSERT(!elf_file__open(&ef, path) && !pclntab__open(&t, &ef), "%s: open", path);
			for (size_t j = 0; j < sizeof(funcs) / sizeof(funcs[0]); j++) {
				const struct gt_func *f = pclntab__lookup_name(t, funcs[j]);
				struct gt_probe_site s;
				enum gt_restart_check c;

				if (!f || probe_sites__entry(&ef, f, false, &s))
					continue;
				nsites++;
				c = probe_sites__restart_check(&s);
				if (c == GT_RESTART_FLAGS) {
					nflags++;
					T_CHECK(!cmp_before(&ef, f, s.addr, why, sizeof(why))[0],
						"%s: %s: flags check at %s, but %s", path, funcs[j], s.insn, why);
				} else if (c == GT_RESTART_SP) {
					T_CHECK(cmp_before(&ef, f, s.addr, why, sizeof(why))[0],
						"%s: %s: an SP check after the stack check's CMP (%s)", path,
						funcs[j], s.insn);
				}
			}
			pclntab__close(t);
			elf_file__close(&ef);
		}
	}
	T_CHECK(nsites > 0, "no setProfLabel/preemptPark site on any fixture");
	T_CHECK(nflags > 0, "no fixture's site is the stack check's JBE (%d sites)", nsites);
}

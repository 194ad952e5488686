// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probe placement in Go functions (x86-64).  The entry site is the first
 * instruction the kernel's uprobe code emulates instead of single-stepping
 * (arch/x86/kernel/uprobes.c: branch_setup_xol_ops takes jmp/call/jcc and
 * nops, push_setup_xol_ops takes push reg), provided straight-line code
 * reaches it from the entry without writing an argument register or R14, so
 * the BPF program still sees the arguments and the g.  Return sites are
 * every RET, found by a linear sweep (Go puts no data in text).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>
#include <elf.h>
#include "lib/debug.h"
#include "binary/probe_sites.h"

/* How far from the entry a site may be: the prologue of any Go function fits. */
#define ENTRY_SCAN_BYTES 160
#define ENTRY_SCAN_INSNS 40

enum reg_class { R_OTHER, R_ARG, R_G, R_SP, R_BP };

/* Capstone names sub-registers separately; fold them to what the ABI says they are. */
static enum reg_class reg_class(unsigned int r)
{
	switch (r) {
	case X86_REG_RAX: case X86_REG_EAX: case X86_REG_AX: case X86_REG_AL: case X86_REG_AH:
	case X86_REG_RBX: case X86_REG_EBX: case X86_REG_BX: case X86_REG_BL: case X86_REG_BH:
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
	case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
	case X86_REG_R8: case X86_REG_R8D: case X86_REG_R8W: case X86_REG_R8B:
	case X86_REG_R9: case X86_REG_R9D: case X86_REG_R9W: case X86_REG_R9B:
	case X86_REG_R10: case X86_REG_R10D: case X86_REG_R10W: case X86_REG_R10B:
	case X86_REG_R11: case X86_REG_R11D: case X86_REG_R11W: case X86_REG_R11B:
		return R_ARG;
	case X86_REG_R14: case X86_REG_R14D: case X86_REG_R14W: case X86_REG_R14B:
		return R_G;
	case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL:
		return R_SP;
	case X86_REG_RBP: case X86_REG_EBP: case X86_REG_BP: case X86_REG_BPL:
		return R_BP;
	default:
		return R_OTHER;
	}
}

/*
 * What the kernel emulates, from the raw bytes as its decoder sees them:
 * short/near jcc, jmp rel8/rel32, call rel32, push r64 (optionally REX.B),
 * nop 0x90 and NOPL 0f 1f /0.  Any 0x66 prefix is refused by the kernel for
 * branches, so it is refused here for all.  NOPL is emulated on kernels with
 * the unified insn_is_nop() (measured emulated on 6.18, probe-cost.md); an
 * older kernel single-steps it, which is slower but still correct.
 */
bool probe_sites__emulated(const uint8_t *b, size_t n)
{
	if (!n)
		return false;
	if ((b[0] >= 0x70 && b[0] <= 0x7f) || b[0] == 0xeb || b[0] == 0xe9 || b[0] == 0xe8 ||
	    b[0] == 0x90)
		return true;
	if (b[0] >= 0x50 && b[0] <= 0x57)
		return true;
	if (n >= 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return true;
	if (n >= 2 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f)
		return true;
	if (n >= 3 && b[0] == 0x0f && b[1] == 0x1f && ((b[2] >> 3) & 7) == 0)
		return true;
	return false;
}

static int site_fill(const struct gt_elf *ef, uint64_t addr, const cs_insn *in,
		     struct gt_probe_site *out)
{
	out->addr = addr;
	if (elf_file__vaddr_to_offset(ef, addr, &out->file_offset)) {
		pr_err("%s: address 0x%llx is not in a loaded segment\n", ef->path,
		       (unsigned long long)addr);
		return -ENOENT;
	}
	if (in) {
		/* precision: a long operand string is cut, not an error */
		snprintf(out->insn, sizeof(out->insn), "%.16s%s%.46s", in->mnemonic,
			 in->op_str[0] ? " " : "", in->op_str);
		out->emulated = probe_sites__emulated(in->bytes, in->size);
	} else {
		snprintf(out->insn, sizeof(out->insn), "(bad)");
		out->emulated = false;
	}
	return 0;
}

static bool writes(const cs_insn *in, csh cs, enum reg_class c)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true; /* unknown: assume the worst */
	for (int i = 0; i < nwr; i++)
		if (reg_class(wr[i]) == c)
			return true;
	return false;
}

static bool is_branch(const cs_insn *in)
{
	const cs_detail *d = in->detail;

	for (int i = 0; i < d->groups_count; i++) {
		switch (d->groups[i]) {
		case CS_GRP_JUMP: case CS_GRP_CALL: case CS_GRP_RET:
		case CS_GRP_INT: case CS_GRP_IRET:
			return true;
		}
	}
	return false;
}

/* sub/add rsp, imm: the only stack-pointer changes a prologue makes before the site. */
static bool sp_adjust(const cs_insn *in, struct gt_probe_site *s)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *a = &x->operands[0], *b = &x->operands[1];

	if ((in->id != X86_INS_SUB && in->id != X86_INS_ADD) || x->op_count != 2 ||
	    a->type != X86_OP_REG || a->reg != X86_REG_RSP || b->type != X86_OP_IMM)
		return false;
	s->sp_delta += in->id == X86_INS_SUB ? (int)b->imm : -(int)b->imm;
	return true;
}

/* push REG: 8 more bytes on the stack; push rbp saves the caller's frame pointer. */
static bool push_adjust(const cs_insn *in, struct gt_probe_site *s, bool *bp_saved)
{
	const cs_x86 *x = &in->detail->x86;

	if (x->op_count != 1 || x->operands[0].type != X86_OP_REG)
		return false;
	s->sp_delta += 8;
	if (x->operands[0].reg == X86_REG_RBP)
		*bp_saved = true;
	return true;
}

/* Saving the caller's rbp, then pointing rbp at the new frame. */
static void track_frame(const cs_insn *in, struct gt_probe_site *s, bool *bp_saved)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *a = &x->operands[0], *b = &x->operands[1];

	if ((in->id != X86_INS_MOV && in->id != X86_INS_LEA) || x->op_count != 2)
		return;
	/* mov [rsp+N], rbp (1.19-1.25 prologue) */
	if (a->type == X86_OP_MEM && a->mem.base == X86_REG_RSP && b->type == X86_OP_REG &&
	    b->reg == X86_REG_RBP)
		*bp_saved = true;
	/* mov rbp, rsp / lea rbp, [rsp+N] */
	if (*bp_saved && a->type == X86_OP_REG && a->reg == X86_REG_RBP &&
	    ((b->type == X86_OP_REG && b->reg == X86_REG_RSP) ||
	     (b->type == X86_OP_MEM && b->mem.base == X86_REG_RSP)))
		s->frame_set = true;
}

static int entry_fallback(const struct gt_elf *ef, const struct gt_func *f, csh cs,
			  const uint8_t *code, size_t n, struct gt_probe_site *out, bool quiet)
{
	const uint8_t *c = code;
	uint64_t a = f->entry;
	cs_insn *in = cs_malloc(cs);
	int err;

	if (!in)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	err = site_fill(ef, f->entry, cs_disasm_iter(cs, &c, &n, &a, in) ? in : NULL, out);
	out->at_entry = true;
	if (!err && !quiet && !out->emulated)
		pr_debug("%s: no emulated instruction before the arguments are touched; "
			 "probing the first byte (%s, single-stepped)\n", f->name, out->insn);
	cs_free(in, 1);
	return err;
}

static int open_cs(const struct gt_elf *ef, const struct gt_func *f, csh *cs,
		   const uint8_t **code, size_t *n, size_t max)
{
	if (ef->machine != EM_X86_64) {
		pr_err("%s: probe placement supports only x86-64 binaries for now (ELF machine %u)\n",
		       ef->path, ef->machine);
		return -ENOTSUP;
	}
	if (f->end <= f->entry) {
		pr_err("%s: %s has no body\n", ef->path, f->name);
		return -EINVAL;
	}
	*n = f->end - f->entry;
	if (max && *n > max)
		*n = max;
	*code = elf_file__vaddr_ptr(ef, f->entry, *n);
	if (!*code) {
		pr_err("%s: the code of %s is not in the file\n", ef->path, f->name);
		return -EINVAL;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK) {
		pr_err("capstone: cannot open an x86-64 decoder\n");
		return -ENOMEM;
	}
	cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

enum gt_restart_check probe_sites__restart_check(const struct gt_probe_site *s)
{
	if (s->sp_delta)
		return GT_RESTART_NONE;
	/*
	 * With SP untouched, a JBE can only be the stack check's own (the
	 * site is the first emulated instruction before any argument or g
	 * register is written): its CMP has run, and a second read of
	 * stackguard0 would race with a preemption request poisoning it.
	 */
	return !strncmp(s->insn, "jbe ", 4) ? GT_RESTART_FLAGS : GT_RESTART_SP;
}

int probe_sites__entry(const struct gt_elf *ef, const struct gt_func *f, bool force_entry,
		       struct gt_probe_site *out)
{
	return probe_sites__entry_for(ef, f, force_entry, GT_SITE_ARGS_AND_G, out);
}

int probe_sites__entry_for(const struct gt_elf *ef, const struct gt_func *f, bool force_entry,
			   enum gt_site_regs regs, struct gt_probe_site *out)
{
	const uint8_t *code, *c;
	size_t n, left;
	uint64_t a;
	bool bp_saved = false, have_push = false;
	struct gt_probe_site push_site;
	cs_insn *in;
	csh cs;
	int err = open_cs(ef, f, &cs, &code, &n, ENTRY_SCAN_BYTES);

	if (err)
		return err;
	if (force_entry) {
		err = entry_fallback(ef, f, cs, code, n, out, true);
		goto out;
	}
	in = cs_malloc(cs);
	if (!in) {
		err = -ENOMEM;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	c = code;
	left = n;
	a = f->entry;
	for (int i = 0; i < ENTRY_SCAN_INSNS; i++) {
		uint64_t at = a;

		if (!cs_disasm_iter(cs, &c, &left, &a, in))
			break;
		if (probe_sites__emulated(in->bytes, in->size) && in->id != X86_INS_PUSH) {
			err = site_fill(ef, at, in, out);
			cs_free(in, 1);
			goto out;
		}
		/*
		 * A push is emulated too, but costs more than a branch or nop
		 * and, on a function's first byte, was seen to see a few percent
		 * of calls twice or not at all (Go 1.26 reentersyscall and
		 * exitsyscall): keep it only as the fallback.
		 */
		if (in->id == X86_INS_PUSH) {
			if (!have_push) {
				push_site = *out;
				have_push = !site_fill(ef, at, in, &push_site);
			}
			if (!push_adjust(in, out, &bp_saved))
				break;
			continue;
		}
		/* a branch we cannot probe ends straight-line code; so does touching the args */
		if (is_branch(in) || writes(in, cs, R_G) ||
		    (regs == GT_SITE_ARGS_AND_G && writes(in, cs, R_ARG)))
			break;
		if (writes(in, cs, R_SP)) {
			if (!sp_adjust(in, out))
				break;
		} else {
			track_frame(in, out, &bp_saved);
		}
	}
	cs_free(in, 1);
	if (have_push) {
		*out = push_site;
		goto out;
	}
	err = entry_fallback(ef, f, cs, code, n, out, false);
out:
	cs_close(&cs);
	return err;
}

int probe_sites__returns(const struct gt_elf *ef, const struct gt_func *f,
			 struct gt_probe_site *out, int max)
{
	const uint8_t *code;
	size_t n;
	uint64_t a;
	int count = 0, err;
	cs_insn *in;
	csh cs;

	err = open_cs(ef, f, &cs, &code, &n, 0);
	if (err)
		return err;
	in = cs_malloc(cs);
	if (!in) {
		cs_close(&cs);
		return -ENOMEM;
	}
	a = f->entry;
	while (n) {
		uint64_t at = a;

		if (!cs_disasm_iter(cs, &code, &n, &a, in)) {
			/* undecodable byte (padding): step over it */
			code++;
			n--;
			a++;
			continue;
		}
		if (in->id != X86_INS_RET)
			continue;
		if (count < max) {
			memset(&out[count], 0, sizeof(out[count]));
			err = site_fill(ef, at, in, &out[count]);
			if (err)
				break;
		}
		count++;
	}
	cs_free(in, 1);
	cs_close(&cs);
	if (err)
		return err;
	if (count > max)
		pr_warn("%s: %d RETs, only the first %d kept\n", f->name, count, max);
	return count < max ? count : max;
}

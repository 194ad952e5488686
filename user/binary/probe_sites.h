/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where exactly to put a uprobe in a Go function.  A probe on an
 * instruction the kernel must single-step costs ~15x one it can emulate
 * (shared/reference/probe-cost.md), so the entry site is the first
 * emulated instruction (jcc, jmp, call, nop, push) reached before any
 * argument register or R14 is written; return sites are every RET (never
 * uretprobes: Go stacks move).  Decoding is capstone's; x86-64 only for now.
 *
 * In a function that is not nosplit the site is usually the JBE of the
 * stack-bound check (CMPQ SP, 0x10(R14); JBE morestack).  When that branch
 * is taken the function runs again after morestack, so the probe fires a
 * second time for the same call: the BPF side ignores the first hit when
 * the branch will be taken (at the JBE: CF or ZF in regs->flags, which the
 * CMP has set; before the CMP: regs->sp <= g.stackguard0).
 */
#ifndef GTRACE_PROBE_SITES_H
#define GTRACE_PROBE_SITES_H

#include "binary/elf_file.h"
#include "binary/pclntab.h"

struct gt_probe_site {
	uint64_t addr;	      /* virtual address */
	uint64_t file_offset; /* for uprobe attach (PT_LOAD translated) */
	char insn[64];	      /* "jbe 0x4363a5" */
	bool emulated;	      /* the kernel runs it without single-stepping */
	int sp_delta;	      /* bytes pushed/subtracted from SP before addr: the return
			       * address is at [sp + sp_delta] when the probe fires */
	bool frame_set;	      /* rbp already points at this function's frame at addr */
	bool at_entry;	      /* fallback: the function's first byte */
};

/* Which registers the probe's program reads, so must still hold their entry values. */
enum gt_site_regs {
	GT_SITE_ARGS_AND_G, /* argument registers and R14 */
	GT_SITE_G_ONLY,	    /* only R14 (the current g) */
};

/*
 * The cheapest safe site near the entry of f for a program reading regs.
 * With force_entry, the first byte (for benchmarks).  0, or -errno (printed).
 */
int probe_sites__entry_for(const struct gt_elf *ef, const struct gt_func *f, bool force_entry,
			   enum gt_site_regs regs, struct gt_probe_site *out);
/* probe_sites__entry_for(..., GT_SITE_ARGS_AND_G, ...). */
int probe_sites__entry(const struct gt_elf *ef, const struct gt_func *f, bool force_entry,
		       struct gt_probe_site *out);

/* Every RET in f; returns how many (up to max), or -errno. */
int probe_sites__returns(const struct gt_elf *ef, const struct gt_func *f,
			 struct gt_probe_site *out, int max);

/*
 * How a probe at an entry site tells apart the first hit of a call that
 * morestack will start over (see above), so it counts the call once.
 */
enum gt_restart_check {
	GT_RESTART_NONE,  /* SP has moved: past the stack check, one hit per call */
	GT_RESTART_SP,	  /* before the CMP: regs->sp <= g.stackguard0 */
	GT_RESTART_FLAGS, /* the check's JBE: the CMP's CF|ZF say the branch is taken */
};
enum gt_restart_check probe_sites__restart_check(const struct gt_probe_site *s);

/* Whether the x86-64 instruction in b[0..n) is one the kernel's uprobes emulate. */
bool probe_sites__emulated(const uint8_t *b, size_t n);

#endif

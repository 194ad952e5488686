// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Finding and reading runtime.allgs (see allgs.h). */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdlib.h>
#include "lib/debug.h"
#include "live/allgs.h"
#include "live/remote_mem.h"

/* runtime.forEachGRace loads allglen then allgptr, each RIP-relative, first (docs/go-runtime.md). */
static int allgs_from_disasm(const struct gt_target *t, uint64_t *len_va, uint64_t *ptr_va)
{
	const struct gt_func *f = pclntab__lookup_name(t->pcln, "runtime.forEachGRace");
	uint64_t found[2], addr, size;
	const uint8_t *code;
	cs_insn *insn;
	int n = 0;
	csh cs;

	if (!f || t->elf.machine != 62 /* EM_X86_64 */ || f->end <= f->entry)
		return -ENOENT;
	size = f->end - f->entry;
	addr = f->entry;
	code = elf_file__vaddr_ptr(&t->elf, addr, size);
	if (!code || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOENT;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(cs);
	while (insn && n < 2 && cs_disasm_iter(cs, &code, &size, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id != X86_INS_MOV || x->op_count != 2 || x->operands[1].type != X86_OP_MEM ||
		    x->operands[1].mem.base != X86_REG_RIP || x->operands[1].size != 8)
			continue;
		found[n++] = insn->address + insn->size + x->operands[1].mem.disp;
	}
	if (insn)
		cs_free(insn, 1);
	cs_close(&cs);
	if (n < 2)
		return -ENOENT;
	*len_va = found[0];
	*ptr_va = found[1];
	return 0;
}

int allgs__find(const struct gt_target *t, uint64_t *len_va, uint64_t *ptr_va,
		const char **source)
{
	uint64_t l, p;

	if (!elf_file__symbol(&t->elf, "runtime.allglen", &l, NULL) &&
	    !elf_file__symbol(&t->elf, "runtime.allgptr", &p, NULL)) {
		*source = "symtab";
	} else if (!allgs_from_disasm(t, &l, &p)) {
		*source = "disasm runtime.forEachGRace";
	} else {
		pr_err("cannot find runtime.allgs in %s (no .symtab, and runtime.forEachGRace "
		       "did not decode)\n", t->exe_name);
		return -ENOENT;
	}
	*len_va = l;
	*ptr_va = p;
	pr_debug("allglen %#llx allgptr %#llx (%s)\n", (unsigned long long)l,
		 (unsigned long long)p, *source);
	return 0;
}

/* allglen first, then allgptr: allgadd stores the other way round. */
int allgs__read(pid_t pid, uint64_t len_va, uint64_t ptr_va, uint64_t **out, size_t *n)
{
	uint64_t len, ptr, *a;
	int err;

	if ((err = rmem__read64(pid, len_va, &len)) || (err = rmem__read64(pid, ptr_va, &ptr)))
		return err;
	if (len > 1 << 26) {
		pr_err("runtime.allglen reads %llu: wrong offsets for this binary?\n",
		       (unsigned long long)len);
		return -EFAULT;
	}
	a = malloc((len ? len : 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (len && (err = rmem__read(pid, ptr, a, len * sizeof(*a)))) {
		free(a);
		return err;
	}
	*out = a;
	*n = len;
	return 0;
}

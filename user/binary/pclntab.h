/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's own symbol table (.gopclntab), which survives `-ldflags=-s -w`:
 * every function's entry and end, and PC -> file:line with inlined frames.
 * Supports the 1.18+ header (magics 0xfffffff0 and 0xfffffff1, Go 1.26's
 * zero textStart) and finds the table by section or by scanning for the
 * magic when section headers are gone.  .symtab is never needed.
 */
#ifndef GTRACE_PCLNTAB_H
#define GTRACE_PCLNTAB_H

#include "binary/elf_file.h"

struct gt_func {
	uint64_t entry, end; /* [entry, end) virtual addresses */
	const char *name;    /* points into the file mapping */
};

struct gt_frame {
	const char *func; /* never NULL: "?" when unknown */
	const char *file; /* never NULL: "?" when unknown */
	int line;	  /* 0 when unknown */
};

struct gt_pclntab;

/* 0 or -errno (printed). The table keeps pointers into ef: close it first. */
int pclntab__open(struct gt_pclntab **out, const struct gt_elf *ef);
/* The same without error lines: for asking "is there a Go table at all?". */
int pclntab__probe(struct gt_pclntab **out, const struct gt_elf *ef);

/* What the table and runtime.firstmoduledata say about the layout (0 = unknown). */
struct gt_pclntab_layout {
	uint32_t magic;	      /* pcHeader magic: 0xfffffff0 (1.18-1.19), 0xfffffff1 (1.20+) */
	bool text_start_zero; /* pcHeader.textStart is 0 (Go 1.26+) */
	uint64_t moduledata;  /* address of runtime.firstmoduledata */
	uint64_t noptrdata, enoptrdata, data, edata; /* moduledata's data ranges */
};
const struct gt_pclntab_layout *pclntab__layout(const struct gt_pclntab *t);
void pclntab__close(struct gt_pclntab *t);

size_t pclntab__nfuncs(const struct gt_pclntab *t);
const struct gt_func *pclntab__func(const struct gt_pclntab *t, size_t i);
const struct gt_func *pclntab__lookup_name(const struct gt_pclntab *t, const char *name);
const struct gt_func *pclntab__lookup_pc(const struct gt_pclntab *t, uint64_t pc);

/*
 * The frames at pc, innermost (inlined) first, outermost last; at most max.
 * pc is an exact instruction address: callers holding return addresses pass
 * ret-1.  Returns the number of frames (>= 1 when pc is in a function) or 0.
 */
int pclntab__frames(const struct gt_pclntab *t, uint64_t pc, struct gt_frame *out, int max);

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The g TLS slot (go_tls.h).  x86-64 uses TLS variant II: the executable's
 * TLS block (module 1, static) ends at the thread pointer, so a variable at
 * offset v inside PT_TLS lives at tp - round_up(p_memsz, p_align) + v.  The
 * Go linker puts runtime.tlsg at v = 0 of an 8-byte block (hence the
 * familiar fs:-8); an external linker may place it elsewhere in a larger
 * block, which .symtab tells when present.  The sampler checks every g it
 * reads against its m (m.procid == thread), so a wrong guess costs samples
 * (attributed to no goroutine), never wrong goroutines.
 */
#include <errno.h>
#include <gelf.h>
#include "binary/go_tls.h"

int go_tls__g_offset(const struct gt_elf *ef, int64_t *off)
{
	Elf *e = ef->elf;
	size_t n;
	uint64_t v = 0, size;

	if (!e || elf_getphdrnum(e, &n))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t align, block;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_TLS)
			continue;
		align = ph.p_align ? ph.p_align : 1;
		block = (ph.p_memsz + align - 1) / align * align;
		if (elf_file__symbol(ef, "runtime.tlsg", &v, &size))
			v = 0;
		/* A TLS symbol's st_value is its offset in the segment; some tools write the address. */
		if (v >= ph.p_vaddr && v < ph.p_vaddr + ph.p_memsz && ph.p_vaddr)
			v -= ph.p_vaddr;
		if (v + 8 > ph.p_memsz)
			v = 0;
		*off = (int64_t)v - (int64_t)block;
		return 0;
	}
	return -ENOENT;
}

void go_tls__text_range(const struct gt_pclntab *t, uint64_t *lo, uint64_t *hi)
{
	size_t n = pclntab__nfuncs(t);

	*lo = UINT64_MAX;
	*hi = 0;
	for (size_t i = 0; i < n; i++) {
		const struct gt_func *f = pclntab__func(t, i);

		if (f->entry < *lo)
			*lo = f->entry;
		if (f->end > *hi)
			*hi = f->end;
	}
	if (*lo > *hi)
		*lo = *hi = 0;
}

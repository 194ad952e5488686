// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the Go symbol-table reader: the input is written to
 * a memfd and opened as a binary, then the function table, name and pc
 * lookups and inline-frame expansion are run over it.  Any crash, sanitizer
 * report or frame with a NULL string is a bug; errors are expected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "binary/elf_file.h"
#include "binary/pclntab.h"

int gt_verbose;
int gt_quiet = 1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gt_pclntab *t;
	struct gt_elf ef;
	char path[64];
	int fd = memfd_create("fuzz", 0);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!elf_file__open(&ef, path)) {
		if (!pclntab__open(&t, &ef)) {
			size_t n = pclntab__nfuncs(t);

			for (size_t i = 0; i < n; i += 1 + n / 128) {
				const struct gt_func *f = pclntab__func(t, i);
				struct gt_frame fr[16];
				int m;

				if (!f->name || f->entry > f->end)
					abort();
				if (pclntab__lookup_name(t, f->name) == NULL)
					abort();
				for (uint64_t pc = f->entry; pc < f->end && pc < f->entry + 64; pc += 7) {
					m = pclntab__frames(t, pc, fr, 16);
					if (m < 1 || m > 16)
						abort();
					for (int k = 0; k < m; k++)
						if (!fr[k].func || !fr[k].file)
							abort();
				}
			}
			pclntab__lookup_pc(t, 0);
			pclntab__lookup_pc(t, ~0ULL);
			pclntab__close(t);
		}
		elf_file__close(&ef);
	}
	close(fd);
	return 0;
}

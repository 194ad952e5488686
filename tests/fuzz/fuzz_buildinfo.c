// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the ELF reader and the Go version reader: the input
 * is written to a memfd and opened as a binary; build IDs, sections,
 * symbols and the build info are read.  A crash, a sanitizer report or an
 * unterminated string is a bug; errors are expected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "binary/buildinfo.h"
#include "binary/elf_file.h"
#include "binary/pclntab.h"

int gt_verbose;
int gt_quiet = 1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gt_go_version v;
	struct gt_pclntab *t;
	struct gt_elf ef;
	uint64_t addr, len, off;
	char path[64];
	int fd = memfd_create("fuzz", 0);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!elf_file__open(&ef, path)) {
		if (!memchr(ef.gnu_build_id, 0, sizeof(ef.gnu_build_id)) ||
		    !memchr(ef.go_build_id, 0, sizeof(ef.go_build_id)))
			abort();
		if (!buildinfo__read(&ef, &v) && (!memchr(v.str, 0, sizeof(v.str)) || v.major != 1))
			abort();
		if (elf_file__section(&ef, ".text", &addr, &len)) {
			elf_file__vaddr_to_offset(&ef, addr, &off);
			elf_file__vaddr_ptr(&ef, addr, len);
		}
		elf_file__symbol(&ef, "runtime.main", &addr, &len);
		if (!pclntab__open(&t, &ef)) {
			pclntab__lookup_name(t, "runtime.main");
			pclntab__close(t);
		}
		elf_file__close(&ef);
	}
	close(fd);
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * elf_file against the Go fixtures and against tools that read the same
 * facts independently (go tool buildid, go tool nm, readelf), plus the
 * error paths: missing, empty, non-ELF, truncated and header-corrupted
 * files must give a clean error, never a crash.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "binary/elf_file.h"
#include "helpers.h"

TEST(elf_fixtures)
{
	char vers[8][16], path[512], want[512];
	int nv;

	T_NEED_FIXTURES(vers, nv, true);
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			struct gt_elf ef;
			uint64_t addr, size, off, va;
			const uint8_t *text;
			int err;

			t_fixture(path, sizeof(path), "script", vers[i], t_variants[j]);
			err = elf_file__open(&ef, path);
			T_CHECK(err == 0, "%s: open: %d", path, err);
			if (err)
				continue;
			T_CHECK(ef.machine == EM_X86_64 || ef.machine == EM_AARCH64, "%s: machine %u",
				path, ef.machine);
			T_CHECK(ef.pie == (j == T_PIE), "%s: pie %d", path, ef.pie);
			T_CHECK(ef.has_symtab == (j != T_STRIPPED), "%s: has_symtab %d", path,
				ef.has_symtab);
			T_CHECK(ef.has_dwarf == (j != T_STRIPPED), "%s: has_dwarf %d", path, ef.has_dwarf);
			/* go tool buildid failing must not pass as agreement */
			err = t_cmd_line(want, sizeof(want), T_GO " tool buildid '%s' 2>/dev/null", path);
			T_CHECK(!err && want[0] && !strcmp(ef.go_build_id, want),
				"%s: go build id '%s', go tool says '%s'", path, ef.go_build_id,
				err ? "(failed)" : want);
			if (!system("command -v readelf >/dev/null")) {
				if (t_cmd_line(want, sizeof(want),
					     "readelf -n '%s' 2>/dev/null | awk '/Build ID:/{print $3; exit}'",
					     path))
					want[0] = 0;
				T_CHECK(!strcmp(ef.gnu_build_id, want),
					"%s: gnu build id '%s', readelf says '%s'", path, ef.gnu_build_id,
					want);
			}

			text = elf_file__section(&ef, ".text", &addr, &size);
			T_CHECK(text && size > 0, "%s: no .text", path);
			if (text) {
				T_CHECK(!elf_file__vaddr_to_offset(&ef, addr, &off) &&
						off == (uint64_t)(text - ef.data),
					"%s: .text vaddr->offset", path);
				T_CHECK(!elf_file__offset_to_vaddr(&ef, text - ef.data, &va) && va == addr,
					"%s: .text offset->vaddr", path);
				T_CHECK(elf_file__vaddr_ptr(&ef, addr, size) == text,
					"%s: vaddr_ptr(.text)", path);
			}
			T_CHECK(!elf_file__vaddr_ptr(&ef, 0, 1), "%s: vaddr 0 mapped", path);
			T_CHECK(!elf_file__vaddr_ptr(&ef, addr, ~0ULL), "%s: huge len accepted", path);
			T_CHECK(!elf_file__section(&ef, ".no-such-section", NULL, NULL),
				"%s: bogus section found", path);
			T_CHECK(!elf_file__section(&ef, ".bss", NULL, NULL), "%s: NOBITS section has bytes",
				path);

			err = elf_file__symbol(&ef, "runtime.main", &addr, &size);
			if (j == T_STRIPPED) {
				T_CHECK(err == -ENOENT, "%s: symbol in stripped binary", path);
			} else {
				/* nm failing or not listing runtime.main is a failure, not a pass */
				int nm = t_cmd_line(want, sizeof(want),
						    T_GO " tool nm '%s' | awk '$3==\"runtime.main\"{print $1}'",
						    path);

				T_CHECK(!nm && want[0] && !err && addr == strtoull(want, NULL, 16) &&
						size > 0,
					"%s: runtime.main %#llx (err %d), nm says '%s'", path,
					(unsigned long long)addr, err, nm ? "(failed)" : want);
			}
			elf_file__close(&ef);
		}
	}
}

static int open_bytes(const char *path, const void *data, size_t len)
{
	struct gt_elf ef;
	int err;

	if (t_write_file(path, data, len))
		return 1;
	err = elf_file__open(&ef, path);
	if (!err)
		elf_file__close(&ef);
	return err;
}

TEST(elf_errors)
{
	static const char text[] = "#!/bin/sh\necho not an elf\n";
	char path[] = "/tmp/gtrace-elf-XXXXXX", fix[512];
	struct gt_elf ef;
	uint8_t *buf;
	struct stat st;
	FILE *f;
	int fd = mkstemp(path), err;

	T_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	T_CHECK(elf_file__open(&ef, "/nonexistent/gtrace") == -ENOENT, "missing file");
	T_CHECK(elf_file__open(&ef, "/tmp") < 0, "directory");
	T_CHECK(open_bytes(path, "", 0) == -ENOEXEC, "empty file");
	T_CHECK(open_bytes(path, text, sizeof(text)) == -ENOEXEC, "shell script");
	T_CHECK(open_bytes(path, "\177ELF", 4) < 0, "4-byte ELF");

	t_fixture(fix, sizeof(fix), "script", "go1.26", "stripped");
	if (stat(fix, &st)) {
		unlink(path);
		T_SKIP("%s missing", fix);
	}
	buf = malloc(st.st_size);
	f = fopen(fix, "r");
	T_ASSERT(buf && f && fread(buf, 1, st.st_size, f) == (size_t)st.st_size, "read %s", fix);
	fclose(f);
	T_CHECK(open_bytes(path, buf, 40) < 0, "truncated in the ELF header");
	T_CHECK(open_bytes(path, buf, 100) < 0, "truncated in the program headers");
	T_CHECK(open_bytes(path, buf, st.st_size / 2) < 0, "truncated in a segment");

	/* section headers pointing past the end: opens, finds no sections */
	((Elf64_Ehdr *)buf)->e_shoff = (uint64_t)st.st_size + 4096;
	T_ASSERT(!t_write_file(path, buf, st.st_size), "write");
	err = elf_file__open(&ef, path);
	T_CHECK(err == 0, "bad e_shoff: open %d", err);
	if (!err) {
		T_CHECK(!elf_file__section(&ef, ".text", NULL, NULL), "bad e_shoff: found .text");
		T_CHECK(ef.go_build_id[0], "bad e_shoff: Go build id not read from PT_NOTE");
		elf_file__close(&ef);
	}
	((Elf64_Ehdr *)buf)->e_phoff = (uint64_t)st.st_size - 8;
	T_CHECK(open_bytes(path, buf, st.st_size) < 0, "program headers past the end");
	free(buf);
	unlink(path);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * buildinfo against `go version FILE` for every fixture, and each fallback
 * made to happen on a patched copy: section headers removed (scan), the
 * pre-1.18 pointer form, buildinfo gone (runtime.buildVersion), cgo set
 * in the module info, and a non-Go ELF file.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "binary/buildinfo.h"
#include "helpers.h"

/* Writes buf to a temp file and reads its Go version; returns the error. */
static int bi_read_copy(const uint8_t *buf, size_t len, struct gt_go_version *v)
{
	char path[] = "/tmp/gtrace-bi-XXXXXX";
	struct gt_elf ef;
	int fd = mkstemp(path), err;

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	err = elf_file__open(&ef, path);
	if (!err) {
		err = buildinfo__read(&ef, v);
		elf_file__close(&ef);
	}
	unlink(path);
	return err;
}

TEST(buildinfo_parse_version)
{
	static const struct {
		const char *s;
		int ok, minor, patch;
	} cases[] = {
		{ "go1.19.8", 1, 19, 8 }, { "go1.26.0", 1, 26, 0 }, { "go1.27", 1, 27, 0 },
		{ "go1.21rc2", 1, 21, 0 }, { "devel go1.27-abc", 1, 27, 0 }, { "go2.0", 0 },
		{ "gox", 0 }, { "", 0 }, { "go1.", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gt_go_version v = { 0 };
		int err = buildinfo__parse_version(cases[i].s, &v);

		T_CHECK((err == 0) == cases[i].ok, "\"%s\": err %d", cases[i].s, err);
		if (!err && cases[i].ok)
			T_CHECK(v.major == 1 && v.minor == cases[i].minor && v.patch == cases[i].patch,
				"\"%s\": %d.%d.%d", cases[i].s, v.major, v.minor, v.patch);
	}
}

TEST(buildinfo_fixtures_match_go_version)
{
	char vers[8][16], path[512], cmd[1024], out[512];
	int nv;

	T_NEED_FIXTURES(vers, nv, true);
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			struct gt_go_version v;
			struct gt_elf ef;
			char *want;
			FILE *p;
			int err;

			t_fixture(path, sizeof(path), "script", vers[i], t_variants[j]);
			snprintf(cmd, sizeof(cmd), T_GO " version '%s'", path);
			p = popen(cmd, "r");
			T_ASSERT(p, "popen");
			out[0] = 0;
			if (!fgets(out, sizeof(out), p))
				out[0] = 0;
			pclose(p);
			/* "PATH: go1.26.8" (plus " X:..." with experiments) */
			want = strstr(out, ": ");
			T_CHECK(want, "%s: go version printed '%s'", path, out);
			if (!want)
				continue;
			want += 2;
			want[strcspn(want, " \n")] = 0;

			T_CHECK(!(err = elf_file__open(&ef, path)), "%s: open %d", path, err);
			if (err)
				continue;
			err = buildinfo__read(&ef, &v);
			elf_file__close(&ef);
			T_CHECK(!err, "%s: buildinfo %d", path, err);
			T_CHECK(!strcmp(v.str, want), "%s: version '%s', go version says '%s'", path,
				v.str, want);
			T_CHECK(!strncmp(v.str, vers[i], strlen(vers[i])), "%s: '%s' is not %s", path,
				v.str, vers[i]);
			T_CHECK(!strcmp(v.source, "buildinfo"), "%s: source %s", path, v.source);
			T_CHECK(!v.cgo, "%s: fixtures are built with CGO_ENABLED=0", path);
		}
	}
}

/* Offset of .go.buildinfo in the file and its address, found by hand. */
static int bi_section(const uint8_t *buf, size_t len, uint64_t *off, uint64_t *addr)
{
	const Elf64_Ehdr *eh = (const void *)buf;
	const Elf64_Shdr *sh = (const void *)(buf + eh->e_shoff);
	const char *strs = (const char *)buf + sh[eh->e_shstrndx].sh_offset;

	for (int i = 1; i < eh->e_shnum; i++) {
		if (!strcmp(strs + sh[i].sh_name, ".go.buildinfo")) {
			*off = sh[i].sh_offset;
			*addr = sh[i].sh_addr;
			return 0;
		}
	}
	return -1;
}

TEST(buildinfo_fallbacks)
{
	char path[512];
	struct gt_go_version v, base;
	uint64_t off, addr;
	uint8_t *buf, *copy, *p;
	size_t len;
	int err;

	snprintf(path, sizeof(path), "%s/script-go1.26-plain", t_fixtures());
	buf = t_slurp(path, &len);
	if (!buf)
		T_SKIP("%s missing (run tests/fixtures/build.sh)", path);
	copy = malloc(len);
	T_ASSERT(copy, "malloc");
	T_ASSERT(!bi_read_copy(buf, len, &base), "unpatched copy");
	T_ASSERT(!bi_section(buf, len, &off, &addr), "no .go.buildinfo in %s", path);

	/* no section headers: found by scanning for the magic */
	memcpy(copy, buf, len);
	((Elf64_Ehdr *)copy)->e_shoff = 0;
	((Elf64_Ehdr *)copy)->e_shnum = 0;
	((Elf64_Ehdr *)copy)->e_shstrndx = 0;
	err = bi_read_copy(copy, len, &v);
	T_CHECK(!err && !strcmp(v.str, base.str) && !strcmp(v.source, "buildinfo-scan"),
		"no sections: err %d '%s' via %s", err, v.str, v.source);

	/* the pre-1.18 pointer form: pointers to Go string headers */
	memcpy(copy, buf, len);
	p = copy + off;
	p[15] = 0;
	*(uint64_t *)(p + 16) = addr + 0x100;
	*(uint64_t *)(p + 24) = addr + 0x110;
	*(uint64_t *)(p + 0x100) = addr + 0x120;
	*(uint64_t *)(p + 0x108) = 9;
	*(uint64_t *)(p + 0x110) = addr + 0x130;
	*(uint64_t *)(p + 0x118) = 23;
	memcpy(p + 0x120, "go1.17.13", 9);
	memcpy(p + 0x130, "build\tCGO_ENABLED=1\nx\tz", 23);
	err = bi_read_copy(copy, len, &v);
	T_CHECK(!err && !strcmp(v.str, "go1.17.13") && v.minor == 17 && v.patch == 13 && v.cgo,
		"pointer form: err %d '%s' cgo %d", err, v.str, v.cgo);

	/* cgo from the inline form's module info */
	memcpy(copy, buf, len);
	p = memmem(copy + off, 0x1000, "CGO_ENABLED=0", 13);
	T_ASSERT(p, "no CGO_ENABLED in modinfo");
	p[12] = '1';
	err = bi_read_copy(copy, len, &v);
	T_CHECK(!err && v.cgo, "CGO_ENABLED=1: err %d cgo %d", err, v.cgo);

	/* no build info anywhere: runtime.buildVersion through .symtab */
	memcpy(copy, buf, len);
	for (p = copy; (p = memmem(p, copy + len - p, "\xff Go buildinf:", 14));)
		*p = 0;
	err = bi_read_copy(copy, len, &v);
	T_CHECK(!err && !strcmp(v.str, base.str) && !strcmp(v.source, "runtime.buildVersion"),
		"buildVersion: err %d '%s' via %s", err, v.str, v.source);

	/* an inline string longer than the section: corrupt, not a crash */
	memcpy(copy, buf, len);
	copy[off + 32] = 0xff;
	copy[off + 33] = 0xff;
	copy[off + 34] = 0x7f;
	err = bi_read_copy(copy, len, &v);
	/*
	 * The inline form says its length: a length past the section is
	 * corruption.  Either it is reported, or the blob is passed over for
	 * another source that still gives the true version; never a version
	 * read out of the corrupt blob.
	 */
	T_CHECK((err == -EINVAL && !v.str[0]) ||
			(!err && !strcmp(v.str, base.str) && strcmp(v.source, "buildinfo") &&
			 strcmp(v.source, "buildinfo-scan")),
		"oversized string: err %d '%s' via %s", err, v.str, v.source);
	free(copy);
	free(buf);
}

TEST(buildinfo_not_go)
{
	static const char *const bins[] = { "/bin/true", "/usr/bin/true", "/bin/sh" };
	struct gt_go_version v;
	struct gt_elf ef;

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		if (elf_file__open(&ef, bins[i]))
			continue;
		T_CHECK(buildinfo__read(&ef, &v) == -ENOENT, "%s: read as Go", bins[i]);
		T_CHECK(v.str[0] == 0, "%s: version left set", bins[i]);
		elf_file__close(&ef);
		return;
	}
	T_SKIP("no non-Go ELF binary found");
}

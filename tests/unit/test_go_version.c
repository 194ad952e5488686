// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Identification without build info (binary/go_version.h), on copies of
 * every fixture made to look like esbuild 0.27+ releases: the build info
 * magic wiped (section and scan find nothing).  Stripped copies then must
 * give the exact version through runtime.schedinit, and with every copy of
 * the version string also wiped, the right minor from the pclntab layout
 * ("range").  The build info of the untouched file is the judge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "binary/go_version.h"
#include "helpers.h"

/* Writes buf to a temp file and identifies it; returns the error. */
static int identify_copy(const uint8_t *buf, size_t len, struct gt_go_version *v, bool schedinit)
{
	char path[] = "/tmp/gtrace-gv-XXXXXX";
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
		err = schedinit ? go_version__from_schedinit(&ef, v) : go_version__identify(&ef, v);
		elf_file__close(&ef);
	}
	unlink(path);
	return err;
}

/* Overwrites every occurrence of s (n bytes) in buf; returns how many. */
static int wipe(uint8_t *buf, size_t len, const char *s, size_t n)
{
	uint8_t *p = buf;
	int k = 0;

	while ((p = memmem(p, len - (p - buf), s, n))) {
		memset(p, 'x', n);
		k++;
	}
	return k;
}

TEST(go_version_without_buildinfo)
{
	char vers[8][16], path[512];
	int nv;

	T_NEED_FIXTURES(vers, nv, false);
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < T_NVARIANTS; j++) {
			struct gt_go_version want, v;
			struct gt_elf ef;
			uint8_t *buf;
			size_t len;
			int err;

			t_fixture(path, sizeof(path), "script", vers[i], t_variants[j]);
			if (elf_file__open(&ef, path)) {
				T_CHECK(0, "%s: cannot open", path);
				continue;
			}
			err = buildinfo__read(&ef, &want);
			elf_file__close(&ef);
			buf = t_slurp(path, &len);
			T_CHECK(!err && buf, "%s: buildinfo %d", path, err);
			if (err || !buf) {
				free(buf);
				continue;
			}
			T_CHECK(wipe(buf, len, "\xff Go buildinf:", 14) >= 1, "%s: no build info magic", path);

			/* route 3 on every variant: schedinit's operand */
			err = identify_copy(buf, len, &v, true);
			T_CHECK(!err && !strcmp(v.str, want.str), "%s: schedinit: err %d '%s', want '%s'",
				path, err, v.str, want.str);
			if (strcmp(t_variants[j], "stripped")) {
				free(buf);
				continue;
			}
			/* stripped (no .symtab): the whole chain picks route 3 */
			err = identify_copy(buf, len, &v, false);
			T_CHECK(!err && !strcmp(v.str, want.str) &&
					!strcmp(v.source, "runtime.buildVersion") &&
					!strcmp(v.confidence, "exact") && strstr(v.detail, "schedinit"),
				"%s: err %d '%s' via %s (%s)", path, err, v.str, v.source, v.confidence);
			/* no version string left at all: the layout gives the minor */
			T_CHECK(wipe(buf, len, want.str, strlen(want.str)) >= 1, "%s: no '%s' string", path,
				want.str);
			err = identify_copy(buf, len, &v, false);
			T_CHECK(!err && v.minor == want.minor && !strcmp(v.source, "pclntab layout") &&
					!strcmp(v.confidence, "range"),
				"%s: layout: err %d go1.%d via %s (%s; %s), want go1.%d", path, err,
				v.minor, v.source, v.confidence, v.detail, want.minor);
			free(buf);
		}
	}
}

TEST(go_version_not_go)
{
	static const char *const bins[] = { "/bin/true", "/usr/bin/true", "/bin/sh" };
	struct gt_go_version v;
	struct gt_elf ef;

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		if (elf_file__open(&ef, bins[i]))
			continue;
		T_CHECK(go_version__identify(&ef, &v) == -ENOENT, "%s: read as Go", bins[i]);
		elf_file__close(&ef);
		return;
	}
	T_SKIP("no non-Go ELF binary found");
}

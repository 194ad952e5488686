/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which Go toolchain built a binary: from .go.buildinfo (inline-string form
 * of 1.18+ and the older pointer form), else from the buildinfo magic found
 * anywhere in the file, else from runtime.buildVersion.  Never guessed.
 */
#ifndef GTRACE_BUILDINFO_H
#define GTRACE_BUILDINFO_H

#include "binary/elf_file.h"

struct gt_go_version {
	char str[64]; /* "go1.26.8", experiments (" X:...") dropped */
	int major, minor, patch;
	char source[32]; /* "buildinfo", "buildinfo-scan", "runtime.buildVersion", ... (go_version.h) */
	char confidence[8]; /* "exact", "likely" or "range" */
	char detail[256];   /* how the source decided, for `info` ("" when obvious) */
	bool cgo;	/* modinfo/build settings say CGO_ENABLED=1 */
};

/* 0, or -ENOENT when the file is not a Go binary (nothing found), -EINVAL when corrupt. */
int buildinfo__read(const struct gt_elf *ef, struct gt_go_version *v);
/* The same, silent on -ENOENT (go_version__identify then looks further). */
int buildinfo__find(const struct gt_elf *ef, struct gt_go_version *v);

/* Parses "go1.N[.P][suffix]"; 0 or -EINVAL. */
int buildinfo__parse_version(const char *s, struct gt_go_version *v);

#endif

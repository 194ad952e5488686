/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which Go built a binary, from whatever the binary still has, best source
 * first:
 *   1. build info (.go.buildinfo, or its magic anywhere in the file) -- exact;
 *   2. runtime.buildVersion through .symtab -- exact;
 *   3. runtime.buildVersion found through the code: runtime.schedinit tests
 *      `buildVersion == ""` in every Go since 1.19, so the RIP-relative
 *      operand of that compare is the string header's length word; the
 *      header must lie in moduledata's data ranges -- exact;
 *   4. a Go string header {ptr, len} to "go1.N[.P]" inside moduledata's
 *      data ranges (not a scan of the whole file) -- likely;
 *   5. the pclntab magic and the layout markers of each release (see
 *      go_offsets__version_range), narrowed to the newest version whose
 *      table row the disassembly confirms -- a range.
 * Fails only when none of these establishes a runtime layout.
 */
#ifndef GTRACE_GO_VERSION_H
#define GTRACE_GO_VERSION_H

#include "binary/buildinfo.h"
#include "binary/elf_file.h"

/* 0, or -ENOENT (not a Go binary) / -EINVAL / -ENOTSUP after one line saying why. */
int go_version__identify(const struct gt_elf *ef, struct gt_go_version *v);

/* Route 3 alone (for tests): the string runtime.schedinit compares; 0 or -ENOENT. */
int go_version__from_schedinit(const struct gt_elf *ef, struct gt_go_version *v);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * runtime.allgs of a Go process: where its length and pointer live
 * (.symtab, or the first two RIP-relative loads of runtime.forEachGRace
 * when the binary is stripped), and the list of g addresses read from it.
 */
#ifndef GTRACE_ALLGS_H
#define GTRACE_ALLGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "binary/target.h"

/*
 * Link-time addresses of runtime.allglen and runtime.allgptr; *source says
 * how they were found ("symtab" or "disasm runtime.forEachGRace").
 * 0 or -ENOENT (printed).
 */
int allgs__find(const struct gt_target *t, uint64_t *len_va, uint64_t *ptr_va,
		const char **source);

/*
 * The g addresses of allgs, by the runtime's lock-free protocol; len_va and
 * ptr_va are runtime addresses.  *out is malloc'd.  0 or -errno.
 */
int allgs__read(pid_t pid, uint64_t len_va, uint64_t ptr_va, uint64_t **out, size_t *n);

#endif

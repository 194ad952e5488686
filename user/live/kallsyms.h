/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The running kernel's symbols from /proc/kallsyms, for the kernel stacks
 * of CPU samples (--kernel-stacks): record writes the names into the
 * capture, so a report needs neither this host nor this boot (KASLR moves
 * the kernel every boot).  Addresses read as 0 (kptr_restrict, no
 * CAP_SYSLOG) give an empty table: the stacks then stay addresses.
 */
#ifndef GTRACE_KALLSYMS_H
#define GTRACE_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/* Reads path (NULL: /proc/kallsyms).  NULL on ENOMEM or when unreadable (printed once, -v). */
struct kallsyms *kallsyms__load(const char *path);
void kallsyms__free(struct kallsyms *k);
/* Symbols read (0: the addresses were hidden). */
size_t kallsyms__count(const struct kallsyms *k);
/* The function holding addr ("name" or "name [module]"), NULL outside every symbol. */
const char *kallsyms__name(const struct kallsyms *k, uint64_t addr);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a Go program keeps the running g in thread-local storage, and where
 * its Go code lies: what a sampler that interrupts a thread at an arbitrary
 * instruction needs to learn which goroutine the thread serves.  From the
 * ELF alone (PT_TLS, runtime.tlsg, pclntab), no version knowledge.
 */
#ifndef GTRACE_GO_TLS_H
#define GTRACE_GO_TLS_H

#include <stdint.h>
#include "binary/elf_file.h"
#include "binary/pclntab.h"

/*
 * g's offset from the thread pointer (x86-64: fs base), e.g. -8 for a Go-
 * linked binary; cgo (externally linked) binaries place runtime.tlsg inside
 * the executable's TLS block.  0, or -ENOENT when the binary has no TLS.
 */
int go_tls__g_offset(const struct gt_elf *ef, int64_t *off);

/* [lo, hi): the Go functions' text, link-time addresses (C code lies outside). */
void go_tls__text_range(const struct gt_pclntab *t, uint64_t *lo, uint64_t *hi);

#endif

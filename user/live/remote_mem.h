/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading another process's memory with process_vm_readv, one range or many
 * ranges per system call.  Nothing here knows Go: the goroutine reader, the
 * label decoder and the stack walker sit on top.  A range that is unmapped
 * fails alone and cleanly (no signal, no fault in the target).
 */
#ifndef GTRACE_REMOTE_MEM_H
#define GTRACE_REMOTE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define RMEM_IOV_BATCH 1024 /* iovecs per process_vm_readv (IOV_MAX) */

/* One range of the target and where it lands here. */
struct rmem_vec {
	uint64_t addr;
	void *buf;
	size_t len;
};

/* Reads exactly len bytes at addr.  0, -EFAULT, -EPERM or -ESRCH (target gone). */
int rmem__read(pid_t pid, uint64_t addr, void *buf, size_t len);
int rmem__read64(pid_t pid, uint64_t addr, uint64_t *v);

/*
 * Reads n ranges with as few process_vm_readv calls as IOV_MAX allows;
 * ok[i] tells whether range i was read whole.  A range that cannot be read
 * (unmapped, address 0) fails alone: the call stops there and the next one
 * resumes after it.  0, or -ESRCH when the target is gone.  *ncalls, when
 * given, grows by the system calls made.
 */
int rmem__readv(pid_t pid, const struct rmem_vec *v, size_t n, bool *ok, uint64_t *ncalls);

/* Unaligned little-endian fields of a buffer read from the target. */
static inline uint64_t rmem__get64(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static inline uint32_t rmem__get32(const uint8_t *b, uint32_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

#endif

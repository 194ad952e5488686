/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unsigned LEB128 varint that protobuf (Perfetto) and Go's execution
 * trace format both use: 7 bits a byte, low first, the high bit "more".
 */
#ifndef GTRACE_VARINT_H
#define GTRACE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10 /* bytes of a 64-bit value at most */

/* Writes v at p (room for VARINT_MAX bytes); how many bytes it took. */
static inline size_t varint__put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

#endif

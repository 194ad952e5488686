/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * On-disk framing of a capture, shared by capture_writer.c and
 * capture_reader.c only (everyone else goes through capture.h).
 * docs/capture-format.md describes the same bytes for people.
 */
#ifndef GTRACE_CAPTURE_FORMAT_H
#define GTRACE_CAPTURE_FORMAT_H

#include <stdint.h>

#define GT_FILE_MAGIC "GTRACE\0\0"
#define GT_BYTE_ORDER_MARK 0x01020304u
#define GT_CHUNK_MAGIC 0x4b435447u /* "GTCK" little-endian */
#define GT_CHUNK_MAX (64u << 20)   /* a larger chunk is corruption */

enum gt_chunk_type {
	GT_CHUNK_META = 1,
	GT_CHUNK_SYMS = 2,
	GT_CHUNK_EVENTS = 3,
	GT_CHUNK_TRAILER = 4,
};

#define GT_CHUNK_F_ZLIB 0x1 /* read, no longer written */
#define GT_CHUNK_F_ZSTD 0x2

struct gt_file_header {
	char magic[8];
	uint32_t version;
	uint32_t byte_order;
};

struct gt_chunk_header {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t len;	  /* stored bytes that follow */
	uint32_t raw_len; /* bytes after inflating */
	uint32_t crc32;	  /* zlib crc32 of this header (crc32 = 0) then the stored bytes */
};

/*
 * SYMS payload: records of
 *   u64 pc; u16 nframes; then per frame: u16 func_len, func, u16 file_len, file, u32 line
 */

#endif

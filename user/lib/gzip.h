/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gzip in memory, the one copy for every pprof gtrace writes or reads
 * (the pprof builder, `stamp`, the agent's OTLP conversion).  Compression
 * is BestSpeed, as Go's runtime/pprof writes its profiles.
 */
#ifndef GTRACE_GZIP_H
#define GTRACE_GZIP_H

#include <stddef.h>
#include <stdint.h>

/* len bytes -> *out (malloc'd, *out_len bytes).  0, -ENOMEM or -EIO. */
int gzip__compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);
/*
 * One gzip stream -> *out (malloc'd, *out_len bytes).  0; -EBADMSG when
 * the stream is cut or corrupt; -ENOMEM when memory, or max bytes of
 * output, run out.
 */
int gzip__inflate(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --dir: every profile of every window as a file
 * DIR/<service>/<type>/<start>.pb.gz (start = the window's UTC start in
 * ns), the same bytes that are pushed, so `go tool pprof` opens them.
 * Retention by size: past max_bytes the oldest windows are removed.
 */
#ifndef GTRACE_DIRSINK_H
#define GTRACE_DIRSINK_H

#include <stdint.h>
#include "agent/batch.h"

struct dirsink;

/* Opens (creating) dir and counts what earlier runs left in it.  0 or -errno. */
int dirsink__open(struct dirsink **out, const char *dir, uint64_t max_bytes);
/* Writes every profile of b, then trims to the bound.  0 or -errno (printed once). */
int dirsink__write(struct dirsink *d, const struct agent_batch *b);
uint64_t dirsink__bytes(const struct dirsink *d);
void dirsink__close(struct dirsink *d);

#endif

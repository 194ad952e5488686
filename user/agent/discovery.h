/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which processes on the host are Go, and their binaries opened once.  A
 * process's executable is reached through /proc/PID/exe (the very inode it
 * runs, whatever its mount namespace, even when deleted or replaced on
 * disk), keyed by device, inode, size and mtime; a binary is inspected once
 * (one cheap ELF section check for non-Go, the full target__open for Go)
 * and shared by every process running it; its Go build ID is checked
 * against each new process's.  Exec and exit events come from
 * live/proc_events.h; discovery__scan finds what ran before the agent.
 */
#ifndef GTRACE_DISCOVERY_H
#define GTRACE_DISCOVERY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "binary/target.h"

struct agent_binary {
	dev_t dev;
	ino_t ino;
	int64_t size, mtime;
	bool go;	    /* false: skipped; why says why */
	char why[160];
	struct gt_target t; /* pid 0; valid when go */
	int refs;	    /* processes running it */
};

struct binaries;

struct binaries *binaries__new(void);
void binaries__free(struct binaries *b);

/*
 * The binary pid runs, inspected on first sight.  NULL with *err = 0 when
 * it is not a Go program we can profile (cached, so the next process of the
 * same binary costs one stat), -ESRCH when pid is gone or has no
 * executable (a kernel thread).  A returned binary holds a reference.
 */
struct agent_binary *binaries__get(struct binaries *b, pid_t pid, int *err);
void binaries__put(struct binaries *b, struct agent_binary *bin);
/* Binaries inspected so far (Go and not), Go binaries open now. */
void binaries__counts(const struct binaries *b, uint64_t *inspected, uint64_t *open);

/* true when the ELF file at path has a Go section (.gopclntab, .go.buildinfo, ...). */
bool discovery__is_go_elf(const char *path);
/* Calls fn for every process now in /proc.  Number of processes. */
int discovery__scan(void (*fn)(void *ctx, pid_t pid), void *ctx);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A Go program to trace, binary or running process: everything the probes
 * and the symbolizer need from it (ELF, Go version, pclntab, runtime
 * offsets), opened in one call that explains any failure in one line.
 */
#ifndef GTRACE_TARGET_H
#define GTRACE_TARGET_H

#include <stdint.h>
#include <sys/types.h>
#include "binary/buildinfo.h"
#include "binary/go_version.h"
#include "binary/elf_file.h"
#include "binary/go_offsets.h"
#include "binary/pclntab.h"

struct gt_target {
	pid_t pid;	/* 0 for a binary on disk */
	char exe[4096]; /* path opened: /proc/PID/exe for processes */
	char exe_name[4096]; /* what the process says its executable is (in its own mount namespace) */
	pid_t ns_pid;	/* its pid in its own (innermost) PID namespace; == pid outside containers */
	struct gt_elf elf;
	struct gt_go_version ver;
	struct gt_pclntab *pcln;
	struct gt_go_runtime rt;
	/*
	 * Runtime address - link-time address of the executable's text: non-zero
	 * for PIE processes.  Captures hold link-time addresses, so one binary's
	 * captures line up whatever ASLR did; BPF sees runtime addresses.
	 */
	uint64_t load_bias;
};

/* Opens a binary (pid 0) or a running process's executable.  0 or -errno (printed). */
int target__open(struct gt_target *t, pid_t pid, const char *path);
void target__close(struct gt_target *t);

/*
 * A process running a binary already opened as bin (pid 0): *t shares bin's
 * ELF, pclntab and offsets (never target__close it; close bin once its last
 * process is done) and gets its own pid, paths and load bias.  Lets one
 * inspection serve every process of a binary.  0 or -errno (-ESRCH: gone).
 */
int target__bind(struct gt_target *t, const struct gt_target *bin, pid_t pid);

#endif

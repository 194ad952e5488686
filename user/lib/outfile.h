/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Creating an output file safely as root, in shared directories such as /tmp.
 * Every command that writes a file (record, flight, report, merge, stamp,
 * snapshot, and any sink that writes a spool or directory) goes through here,
 * so one set of rules holds everywhere:
 *
 *  - Nothing is ever written through a symbolic link, into a directory, a
 *    FIFO, a device or any other non-regular file: such an OUT is refused.
 *  - An output that is one of the command's inputs (same st_dev and st_ino)
 *    is refused before anything is touched.
 *  - An existing regular file is never truncated or written in place: it is
 *    kept as OUT.old (as perf does with perf.data; a previous .old goes), and
 *    the new output is a fresh file made with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 *    link planted between the check and the create makes the create fail
 *    instead of being followed.
 *  - The mode is the one asked for (0600 for captures and spools) whatever
 *    existed before, since the file is new.
 *
 * Two ways of writing, because a capture must stay readable after a SIGKILL:
 *  - GT_OUT_STREAM (record, flight): the fresh file is created under its
 *    final name and written as the work goes; a killed writer leaves a
 *    readable prefix at OUT.  outfile__commit fsyncs.
 *  - GT_OUT_ATOMIC (report, merge, stamp, snapshot): written to a temporary
 *    file in OUT's directory, fsynced and renamed to OUT at commit; a failure
 *    (full disk, bad input) removes the temporary and leaves OUT as it was.
 *
 * "-" means standard output and bypasses all of this.
 */
#ifndef GTRACE_OUTFILE_H
#define GTRACE_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

enum gt_out_mode { GT_OUT_STREAM, GT_OUT_ATOMIC };

struct gt_outfile {
	char *path;  /* the name the user gave */
	char *tmp;   /* ATOMIC: the temporary name until commit; NULL otherwise */
	int fd;      /* -1 when closed */
	bool stdout_; /* path was "-" */
	bool kept_old; /* an existing OUT was renamed to OUT.old */
};

/*
 * Checks OUT against the rules above without creating anything: 0, or
 * -errno after a one-line error naming OUT.  inputs (n of them, NULL
 * entries and "-" skipped) are the files the command reads.
 */
int outfile__check(const char *path, const char *const *inputs, size_t n);

/*
 * outfile__check, then moves an existing OUT to OUT.old and creates the new
 * file with perm (before umask for ATOMIC outputs that are not captures:
 * pass 0600 to ignore the umask).  0, or -errno after a one-line error.
 */
int outfile__open(struct gt_outfile *o, const char *path, enum gt_out_mode mode, mode_t perm,
		  const char *const *inputs, size_t n);

/* fdopen of the output (the FILE owns the fd until outfile__commit/abort). */
FILE *outfile__fdopen(struct gt_outfile *o);

/*
 * Finishes the file: flushes f if given (a FILE from outfile__fdopen; it is
 * closed), fsyncs, and for ATOMIC renames the temporary over OUT.  0, or
 * -errno after a one-line error (then as outfile__abort).
 */
int outfile__commit(struct gt_outfile *o, FILE *f);

/* Gives up: closes f or the fd; ATOMIC removes the temporary, STREAM keeps what was written. */
void outfile__abort(struct gt_outfile *o, FILE *f);

#endif

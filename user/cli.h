/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Option values every command parses the same way, with the same one-line
 * errors: a PID, a number of seconds.
 */
#ifndef GTRACE_CLI_H
#define GTRACE_CLI_H

#include <sys/types.h>

/* A positive PID; 0, or -EINVAL after "invalid PID '...'". */
int cli__pid(const char *arg, pid_t *out);
/* A positive number of seconds for option what ("duration", "--window"); 0 or -EINVAL. */
int cli__seconds(const char *arg, const char *what, const char *example, double *out);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Option values every command parses the same way, with the same one-line
 * errors: a PID, a number of seconds, a ring buffer size, and the zone
 * options of the commands that stamp where they ran (record, flight, stamp).
 */
#ifndef GTRACE_CLI_H
#define GTRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct gt_az_opts;

/*
 * -q/--quiet, -v/--verbose (repeatable) and -h/--help: the same in every
 * command.  Put CLI_COMMON_LONGOPTS in the getopt table and the letters
 * "qvh" in the short options; cli__common_opt takes -q and -v before the
 * command's own switch, which answers -h with its own usage.
 */
#define CLI_COMMON_LONGOPTS                              \
	{ "quiet", no_argument, NULL, 'q' },             \
	{ "verbose", no_argument, NULL, 'v' },           \
	{ "help", no_argument, NULL, 'h' }
/* True when c was -q or -v (applied to the log level). */
bool cli__common_opt(int c);

/* A positive PID; 0, or -EINVAL after "invalid PID '...'". */
int cli__pid(const char *arg, pid_t *out);
/*
 * After getopt, for the commands that take a process: -p was given and no
 * argument is left.  0, or -EINVAL after one line ("which process? ..."
 * naming cmd's --help, or "unexpected argument").
 */
int cli__want_pid(pid_t pid, int argc, char **argv, const char *cmd);
/*
 * ARG as one of NAMES (NULL-terminated): its index, or -1 after the one-line
 * error "unknown WHAT 'ARG' (a, b or c)".  NAMES follow the caller's enum.
 */
int cli__choice(const char *arg, const char *what, const char *const *names);
/* A positive number of seconds for option what ("duration", "--window"); 0 or -EINVAL. */
int cli__seconds(const char *arg, const char *what, const char *example, double *out);

/* --buffer: a power of two such as 4M or 32M; 0, or -EINVAL after "invalid --buffer". */
int cli__buffer(const char *arg, uint64_t *out);
/* --cpu[=HZ] / --cpu-hz HZ: NULL gives the default 99; 0 or -EINVAL (printed). */
int cli__cpu_hz(const char *arg, unsigned *hz);

/*
 * --az, --az-file, --imds-endpoint, --no-az-detect: one spelling and one
 * meaning wherever a zone is stamped.  Put CLI_AZ_LONGOPTS in the getopt
 * table (its values lie above any command's own OPT_*) and offer every
 * option to cli__az_opt before the command's own switch.
 */
enum { CLI_OPT_AZ = 0x1000, CLI_OPT_AZ_FILE, CLI_OPT_IMDS, CLI_OPT_NO_AZ };
#define CLI_AZ_LONGOPTS                                                    \
	{ "az", required_argument, NULL, CLI_OPT_AZ },                     \
	{ "az-file", required_argument, NULL, CLI_OPT_AZ_FILE },           \
	{ "imds-endpoint", required_argument, NULL, CLI_OPT_IMDS },        \
	{ "no-az-detect", no_argument, NULL, CLI_OPT_NO_AZ }
/* True when c was a zone option (stored in *o). */
bool cli__az_opt(int c, const char *arg, struct gt_az_opts *o);

#endif

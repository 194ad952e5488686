/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One entry point per subcommand (user/cmd_<verb>.c); gtrace.c dispatches. */
#ifndef GTRACE_COMMANDS_H
#define GTRACE_COMMANDS_H

/* Each returns the process exit status: 0 ok, 1 error, 2 usage error. */
int cmd_info(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_stamp(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_flight(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_top(int argc, char **argv);

#include "lib/version.h"

/* Exit statuses that scripts can rely on. */
#define GT_EXIT_OK 0
#define GT_EXIT_ERROR 1
#define GT_EXIT_USAGE 2

#endif

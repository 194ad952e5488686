// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace: trace the Go runtime of a running process with eBPF uprobes.
 * This file only dispatches to the subcommands, as perf.c does.
 */
#include <stdio.h>
#include <string.h>
#include "cmd/commands.h"
#include "lib/debug.h"

int gt_verbose;
int gt_quiet;

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "info", cmd_info, "inspect a Go binary or process: version, offsets, probe sites" },
	{ "record", cmd_record, "record goroutine transitions and labels of a process" },
	{ "report", cmd_report, "turn a capture into text, jsonl, pprof or traces" },
	{ "merge", cmd_merge, "put several captures on one wall-clock timeline" },
	{ "stamp", cmd_stamp, "add zone, region and host labels to a pprof profile" },
	{ "snapshot", cmd_snapshot, "print every goroutine of a process: state, labels, stack" },
	{ "flight", cmd_flight, "keep the last seconds of events, dump them on triggers" },
	{ "profile", cmd_profile, "sampled goroutine profile of a process, no probes (pprof)" },
	{ "agent", cmd_agent, "profile every Go process on the host, push to Pyroscope/OTLP" },
	{ "top", cmd_top, "live view of a process's goroutines, refreshed every second" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: gtrace [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'gtrace COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return GT_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("gtrace %s\n", GTRACE_VERSION);
		return GT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			int rc = commands[i].fn(argc - 1, argv + 1);

			if (fflush(stdout) || ferror(stdout)) {
				pr_err("write failure on standard output\n");
				return GT_EXIT_ERROR;
			}
			return rc;
		}
	}
	pr_err("'%s' is not a gtrace command; see 'gtrace --help'\n", argv[1]);
	return GT_EXIT_USAGE;
}

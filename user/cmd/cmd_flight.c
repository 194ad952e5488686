// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace flight: a flight recorder (live/flight.h).  This file parses the
 * options and hands them to the recorder.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/debug.h"
#include "live/capture_session.h"
#include "live/flight.h"

static volatile sig_atomic_t exiting, dump_asked;

static void on_signal(int sig)
{
	if (sig == SIGUSR2)
		dump_asked = 1;
	else
		exiting = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace flight -p PID --window SECONDS [--window-mb N] [--trigger EXPR]...\n"
		"                     [-o DIR] [--buffer SIZE] [--no-stacks] [--az ZONE] [--no-az-detect]\n"
		"                     [-q] [-v]\n"
		"\n"
		"Keep the last SECONDS of goroutine events of a running Go process in memory\n"
		"and write them to a capture in DIR on a trigger, on SIGUSR2, on Ctrl-C and\n"
		"when the process exits.  Read the captures with 'gtrace report'.\n"
		"\n"
		"  -p, --pid PID         process to trace (Go 1.19 or newer)\n"
		"  -w, --window SEC      seconds of events to keep\n"
		"      --window-mb N     and at most N MB of them (default 64)\n"
		"  -t, --trigger EXPR    write a capture when EXPR becomes true (repeatable;\n"
		"                        at most one capture per trigger per 10 s):\n"
		"                          goroutines>N           more than N goroutines alive\n"
		"                          waiting[REASON]>N      more than N waiting for REASON,\n"
		"                                                 e.g. 'waiting[chan receive]>100'\n"
		"                          blocked>DURATION       a goroutine parked longer than\n"
		"                                                 DURATION (e.g. 500ms, 10s, 2m)\n"
		"                          label:KEY=VALUE        a goroutine got that pprof label\n"
		"  -o, --output DIR      directory for captures (default .)\n"
		"      --buffer SIZE     BPF ring buffer, a power of two (default 32M)\n"
		"      --no-stacks       do not walk the stack at each park\n"
		"      --az ZONE         availability zone to stamp (default: detect once)\n"
		"      --az-file FILE    file holding the zone (default /etc/gtrace/az)\n"
		"      --imds-endpoint URL  cloud metadata base URL (tests)\n"
		"      --no-az-detect    do not ask cloud metadata services\n"
		"  -q, --quiet           no progress line\n"
		"  -v, --verbose         more detail\n"
		"\n"
		"examples:\n"
		"  gtrace flight -p $(pidof myserver) --window 30 --trigger 'blocked>10s'\n"
		"  kill -USR2 $(pidof gtrace)    # dump the last 30 s now\n");
}

enum { OPT_WINDOW_MB = 256, OPT_BUFFER, OPT_NO_STACKS };

static int parse_args(int argc, char **argv, struct flight_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "window-mb", required_argument, NULL, OPT_WINDOW_MB },
		{ "trigger", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "buffer", required_argument, NULL, OPT_BUFFER },
		{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
		CLI_AZ_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	unsigned long long mb;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "p:w:t:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c) || cli__az_opt(c, optarg, &o->az))
			continue;
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'w':
			if (cli__seconds(optarg, "--window", "30", &o->window_s))
				return GT_EXIT_USAGE;
			break;
		case OPT_WINDOW_MB:
			errno = 0;
			mb = strtoull(optarg, &end, 10);
			if (errno || *end || !mb || mb > 1 << 20) {
				pr_err("invalid --window-mb '%s'\n", optarg);
				return GT_EXIT_USAGE;
			}
			o->window_bytes = mb << 20;
			break;
		case 't':
			if (o->ntrig == FLIGHT_MAX_TRIGGERS) {
				pr_err("at most %d triggers\n", FLIGHT_MAX_TRIGGERS);
				return GT_EXIT_USAGE;
			}
			if (flight_trigger__parse(optarg, &o->trig[o->ntrig])) {
				pr_err("invalid trigger '%s' (see 'gtrace flight --help')\n", optarg);
				return GT_EXIT_USAGE;
			}
			o->ntrig++;
			break;
		case 'o': o->dir = optarg; break;
		case OPT_BUFFER:
			if (cli__buffer(optarg, &o->buffer))
				return GT_EXIT_USAGE;
			break;
		case OPT_NO_STACKS: o->stacks = false; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (cli__want_pid(o->pid, argc, argv, "flight"))
		return GT_EXIT_USAGE;
	if (!o->window_s) {
		pr_err("how long a window? give --window SECONDS\n");
		return GT_EXIT_USAGE;
	}
	return -1;
}

int cmd_flight(int argc, char **argv)
{
	static struct flight_opts o = { .window_bytes = 64ull << 20, .dir = ".",
					.buffer = 32 << 20, .stacks = true };
	struct flight *f;
	const char *why;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (capture_session__check_privileges("flight") || capture_session__check_kernel())
		return GT_EXIT_ERROR;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (flight__open(&f, &o))
		return GT_EXIT_ERROR;
	why = flight__run(f, &exiting, &dump_asked);
	return flight__close(f, why) ? GT_EXIT_ERROR : GT_EXIT_OK;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace snapshot: every goroutine of a running Go process, read from
 * outside (no BPF, no cooperation from the program), as text grouped by
 * identical stack, one JSON object per goroutine, or a pprof goroutine
 * profile.  Unlike Go's own dumps it shows labels, parents and wait times,
 * walks up to 512 frames and says when a stack was cut.  --stop freezes the
 * target with SIGSTOP for the read only, and always resumes it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/clock.h"
#include "lib/outfile.h"
#include "lib/debug.h"
#include "export/snapshot_export.h"
#include "live/freeze.h"
#include "live/greader.h"
#include "binary/target.h"

enum fmt { F_TEXT, F_JSONL, F_PPROF };
static const char *const fmt_names[] = { "text", "jsonl", "pprof", NULL };

struct snap_opts {
	pid_t pid;
	enum fmt fmt;
	const char *output;
	bool stop;
};

static volatile sig_atomic_t interrupted;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace snapshot -p PID [-f text|jsonl|pprof] [-o FILE] [--stop] [-q] [-v]\n"
		"\n"
		"Print every goroutine of a running Go process: state, wait reason and time,\n"
		"parent, creation site, pprof labels and full stack (up to %d frames), read\n"
		"from outside with process_vm_readv.  Needs root (or ptrace rights on PID).\n"
		"\n"
		"  -p, --pid PID       process to read (Go 1.19 or newer)\n"
		"  -f, --format FMT    text (default): grouped by identical stack, with counts;\n"
		"                      jsonl: one goroutine per line; pprof: goroutine profile\n"
		"  -o, --output FILE   write there instead of stdout\n"
		"      --stop          freeze the process (SIGSTOP) while reading, for a\n"
		"                      consistent view; it is resumed even on error or Ctrl-C\n"
		"  -q, --quiet         no summary on stderr\n"
		"  -v, --verbose       more detail\n"
		"\n"
		"examples:\n"
		"  gtrace snapshot -p $(pidof myserver)\n"
		"  gtrace snapshot -p 1234 -f pprof -o goroutines.pb.gz && go tool pprof -top goroutines.pb.gz\n",
		GT_G_MAX_FRAMES);
}

/* Resumes a frozen target first thing: a signal must never leave it stopped. */
static void on_signal(int sig)
{
	freeze__resume();
	interrupted = sig;
}

/* ---- command ---- */

static int parse_args(int argc, char **argv, struct snap_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "stop", no_argument, NULL, 'S' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:f:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c))
			continue;
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'f':
			if ((c = cli__choice(optarg, "format", fmt_names)) < 0)
				return GT_EXIT_USAGE;
			o->fmt = c;
			break;
		case 'o': o->output = optarg; break;
		case 'S': o->stop = true; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (cli__want_pid(o->pid, argc, argv, "snapshot"))
		return GT_EXIT_USAGE;
	return -1;
}

static int write_out(const struct snap_opts *o, const struct gt_target *t,
		     struct gt_snapshot *s, const char *stopped)
{
	struct gt_outfile of;
	FILE *f;
	int err;

	err = outfile__open(&of, o->output ? o->output : "-", GT_OUT_ATOMIC, 0644, NULL, 0);
	if (err)
		return err;
	if (!(f = outfile__fdopen(&of))) {
		outfile__abort(&of, NULL);
		return -EIO;
	}
	if (o->fmt == F_TEXT)
		err = snapexp__text(f, t, s, stopped);
	else if (o->fmt == F_JSONL)
		err = snapexp__jsonl(f, t, s);
	else
		err = snapexp__pprof(f, t, s);
	if (err)
		outfile__abort(&of, f);
	else
		err = outfile__commit(&of, f);
	return err;
}

/* Reads every goroutine, under SIGSTOP when asked; *stop_ns gets how long it was stopped. */
static int take(const struct snap_opts *o, struct gt_greader *r, struct gt_snapshot *s,
		uint64_t *stop_ns)
{
	uint64_t t0 = clock__mono_ns();
	int err = o->stop ? freeze__stop(o->pid, &interrupted) : 0;

	if (err)
		return err;
	err = greader__read_all(r, s, &interrupted);
	if (o->stop) {
		freeze__resume();
		*stop_ns = clock__mono_ns() - t0;
	}
	return err;
}

int cmd_snapshot(int argc, char **argv)
{
	struct snap_opts o = { .fmt = F_TEXT };
	struct gt_greader *r = NULL;
	struct gt_snapshot s = { 0 };
	struct gt_target t;
	uint64_t stop_ns = 0;
	char stopped[96] = "while it ran (not stopped)";
	int rc, err;

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (outfile__check(o.output, NULL, 0)) /* a bad -o fails before the target is read */
		return GT_EXIT_ERROR;
	if (target__open(&t, o.pid, NULL))
		return GT_EXIT_ERROR;
	err = greader__open(&r, &t);
	if (err)
		goto out;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	err = take(&o, r, &s, &stop_ns);
	if (o.stop)
		snprintf(stopped, sizeof(stopped), "with the process stopped for %.1f ms (SIGSTOP)",
			 stop_ns / 1e6);
	if (err == -ESRCH)
		pr_err("PID %d exited during the snapshot: printing the %zu goroutines read\n",
		       o.pid, s.n);
	else if (err == -EINTR)
		pr_err("interrupted: printing the %zu goroutines read\n", s.n);
	else if (err)
		pr_err("reading goroutines failed: %s\n", strerror(-err));
	if (!err || err == -ESRCH || err == -EINTR) {
		int werr = write_out(&o, &t, &s, stopped);

		err = err ? err : werr;
	}
	pr_info("gtrace: %zu goroutines (%zu runtime, %zu inconsistent) of pid %d read in %.1f ms%s%s\n",
		s.n, s.nsystem, s.ninconsistent, o.pid, (s.end_ns - s.start_ns) / 1e6,
		o.stop ? "; " : "", o.stop ? stopped + 5 : "");
out:
	freeze__resume();
	greader__free_snapshot(&s);
	if (r)
		greader__close(r);
	target__close(&t);
	return err ? GT_EXIT_ERROR : GT_EXIT_OK;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace top: a live view of a Go process's goroutines from the sampler
 * (live/sampler.h), drawn by export/top_view.h on a curses screen
 * (export/top_screen.h) refreshed every second, or once as plain text.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/clock.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "export/top_screen.h"
#include "export/top_view.h"
#include "lib/debug.h"
#include "live/sampler.h"

struct top_opts {
	pid_t pid;
	bool once;
	double hz, interval;
	struct sampler_opts so;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace top -p PID [--once] [--hz N] [-i SEC] [--system]\n"
		"\n"
		"A live view of a running Go process's goroutines, sampled from outside\n"
		"with no probe (as gtrace profile): goroutines by state and wait reason, the\n"
		"heaviest blocking functions by sampled wait time, the goroutine count and its\n"
		"growth, the creation sites of the goroutines alive longest (leak suspects),\n"
		"label sets and their share.  Needs root (or ptrace rights on PID).\n"
		"\n"
		"  -p, --pid PID       process to watch\n"
		"      --once          sample for one interval, print one screen as text, exit\n"
		"      --hz N          passes per second (default 10; lowered when passes are slow)\n"
		"  -i, --interval SEC  screen refresh (default 1)\n"
		"      --system        include runtime goroutines\n"
		"\n"
		"keys: q quit, s sort blocking stacks (wait time / goroutines now), w filter by\n"
		"wait reason (next), l filter by label set (next), c clear filters, j/k or\n"
		"arrows select a stack, e or Enter expand it, r restart the sampled times\n"
		"\n"
		"examples:\n"
		"  gtrace top -p $(pidof myserver)\n"
		"  gtrace top -p 1234 --once | head -40\n");
}

static int parse_args(int argc, char **argv, struct top_opts *o)
{
	enum { OPT_ONCE = 1, OPT_HZ, OPT_SYSTEM };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "hz", required_argument, NULL, OPT_HZ },
		{ "interval", required_argument, NULL, 'i' },
		{ "system", no_argument, NULL, OPT_SYSTEM },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "p:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case OPT_ONCE: o->once = true; break;
		case OPT_HZ:
			o->hz = strtod(optarg, &end);
			if (*end || !(o->hz > 0) || o->hz > 1000) {
				pr_err("invalid --hz '%s': a rate above 0 and up to 1000, e.g. --hz 10\n",
				       optarg);
				return GT_EXIT_USAGE;
			}
			break;
		case 'i':
			if (cli__seconds(optarg, "--interval", "-i 2", &o->interval))
				return GT_EXIT_USAGE;
			break;
		case OPT_SYSTEM: o->so.system = true; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (cli__want_pid(o->pid, argc, argv, "top"))
		return GT_EXIT_USAGE;
	return -1;
}

static void print_line(void *ctx, enum topview_attr a, const char *text)
{
	fprintf(ctx, "%s\n", text);
}

/* Passes until mono time until; keys (curses) between them.  0, 1 (quit) or -errno. */
static int sample_until(struct sampler *s, struct topview *v, struct sampler_pacer *pc,
			uint64_t until, bool keys, uint64_t *prev)
{
	while (!interrupted) {
		struct sampler_pass_stats st;
		uint64_t start = clock__mono_ns(), next;
		int err;

		if (start >= until)
			return 0;
		err = sampler__pass(s, *prev ? start - *prev : (uint64_t)(1e9 / pc->hz), &interrupted,
				    &st);
		if (err)
			return err == -EINTR ? 0 : err;
		*prev = start;
		sampler__pace(pc, st.wall_ns);
		if ((err = topview__update(v, &st, pc->hz)))
			return err;
		next = start + (uint64_t)(1e9 / pc->hz);
		if (next > until)
			next = until;
		while (!interrupted && clock__mono_ns() < next) {
			uint64_t now = clock__mono_ns();
			int k;

			if (!keys) {
				struct timespec ts = { 0, next - now };

				nanosleep(&ts, NULL);
				continue;
			}
			k = topscreen__key((int)((next - now) / 1000000) + 1);
			if (k < 0)
				continue;
			if (!topview__key(v, k))
				return 1;
			topscreen__draw(v);
		}
	}
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o = { .hz = 10, .interval = 1 };
	struct sampler_pacer pc;
	struct sampler *s = NULL;
	struct topview *v = NULL;
	uint64_t prev = 0;
	int rc, err;

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	pc = (struct sampler_pacer){ .hz = o.hz, .max_share = 0.25, .min_hz = 0.1 };
	if (sampler__open(&s, o.pid, &o.so))
		return GT_EXIT_ERROR;
	v = topview__new(s);
	if (!v) {
		sampler__close(s);
		return GT_EXIT_ERROR;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (o.once) {
		err = sample_until(s, v, &pc, clock__mono_ns() + (uint64_t)(o.interval * 1e9), false, &prev);
		if (!err)
			topview__draw(v, 0, 0, print_line, stdout);
	} else if (!(err = topscreen__open())) {
		for (;;) {
			err = sample_until(s, v, &pc, clock__mono_ns() + (uint64_t)(o.interval * 1e9), true, &prev);
			if (err || interrupted)
				break;
			topscreen__draw(v);
		}
		topscreen__close();
		err = err == 1 ? 0 : err;
	}
	if (err == -ESRCH)
		pr_err("PID %d exited\n", o.pid);
	else if (err && err != -ENOTTY)
		pr_err("sampling failed: %s\n", strerror(-err));
	topview__free(v);
	sampler__close(s);
	return err ? GT_EXIT_ERROR : GT_EXIT_OK;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace profile: a sampled goroutine profile of a running Go process with
 * no probe, no BPF program and no ptrace stop (live/sampler.h does the
 * sampling, export/profile_export.h the writing).  Ctrl-C ends the run
 * early and still writes the profile.  --cpu adds the CPU sampler
 * (live/cpu_sampler.h: a BPF perf_event program, still no uprobe), whose
 * records export/cpu_profile.h aggregates into the profile's cpu type.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "export/profile_export.h"
#include "lib/outfile.h"
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/az.h"
#include "live/cpu_sampler.h"
#include "live/sampler.h"

enum fmt { F_PPROF, F_TEXT, F_JSONL };
static const char *const fmt_names[] = { "pprof", "text", "jsonl", NULL };

struct prof_opts {
	pid_t pid;
	double duration, hz, max_share;
	enum fmt fmt;
	const char *output;
	struct sampler_opts so;
	struct gt_az_opts az;
	unsigned cpu_hz; /* 0: no CPU sampler */
};

/* --cpu: the sampler and the rows its records make */
struct cpu_part {
	struct gt_cpu_sampler *s;
	struct cpu_profile *prof;
	int err;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace profile -p PID [-d SEC] [--hz N] [-o FILE] [-f pprof|text|jsonl]\n"
		"                      [--goid-labels] [--system] [--max-share PCT]\n"
		"                      [--cpu[=HZ] | --cpu-hz HZ] [-q] [-v]\n"
		"\n"
		"Sample every goroutine of a running Go process N times a second, from outside\n"
		"(process_vm_readv): no probe, no BPF program, the process is never stopped.\n"
		"Each goroutine seen adds the time since the last pass to its stack, state, wait\n"
		"reason and labels.  Sample types: wall (every state), offcpu (waiting and\n"
		"syscall), runnable (waiting for a P), goroutines (count at the end).  Running\n"
		"goroutines count with state running and their start function only: their\n"
		"stack cannot be read while they run.  Needs root (or ptrace rights on PID).\n"
		"\n"
		"  -p, --pid PID       process to sample (Go 1.19 or newer)\n"
		"  -d, --duration SEC  how long (default 10; Ctrl-C stops early and writes)\n"
		"      --hz N          passes per second (default 10); lowered, with a line on\n"
		"                      stderr, when a pass takes more than --max-share of the period\n"
		"      --max-share PCT share of the period a pass may take (default 25)\n"
		"  -f, --format FMT    pprof (default), text, jsonl (one sample per line)\n"
		"  -o, --output FILE   default profile.pb.gz for pprof, stdout otherwise\n"
		"      --goid-labels   a numeric goid label on every sample (one sample per goroutine)\n"
		"      --system        include runtime goroutines (left out, as Go's profiles do)\n"
		"      --cpu[=HZ]      also sample on-CPU stacks (perf_event + BPF, no uprobe):\n"
		"                      a cpu sample type with goid, code and pprof labels;\n"
		"                      HZ per CPU (default 99; --cpu-hz HZ is the same); pprof only\n"
		"      --az ZONE, --az-file FILE, --imds-endpoint URL, --no-az-detect\n"
		"                      the zone stamped on samples, as for record\n"
		"  -q, --quiet         no progress or summary on stderr\n"
		"  -v, --verbose       more detail (per-pass cost)\n"
		"\n"
		"examples:\n"
		"  gtrace profile -p $(pidof myserver) -d 30 && go tool pprof -top profile.pb.gz\n"
		"  gtrace profile -p 1234 -f text -d 5\n"
		"  go tool pprof -sample_index=offcpu -tagfocus=wait_reason=chan.receive profile.pb.gz\n"
		"  gtrace profile -p 1234 --cpu -d 30 && go tool pprof -sample_index=cpu -top profile.pb.gz\n");
}

static int parse_args(int argc, char **argv, struct prof_opts *o)
{
	enum { OPT_HZ = 1, OPT_GOID, OPT_SYSTEM, OPT_SHARE, OPT_CPU, OPT_CPU_HZ };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "hz", required_argument, NULL, OPT_HZ },
		{ "max-share", required_argument, NULL, OPT_SHARE },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "goid-labels", no_argument, NULL, OPT_GOID },
		{ "system", no_argument, NULL, OPT_SYSTEM },
		{ "cpu", optional_argument, NULL, OPT_CPU },
		{ "cpu-hz", required_argument, NULL, OPT_CPU_HZ },
		CLI_COMMON_LONGOPTS,
		CLI_AZ_LONGOPTS,
		{ 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "p:d:f:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c) || cli__az_opt(c, optarg, &o->az))
			continue;
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'd':
			if (cli__seconds(optarg, "duration", "-d 30", &o->duration))
				return GT_EXIT_USAGE;
			break;
		case OPT_HZ:
			o->hz = strtod(optarg, &end);
			if (*end || !(o->hz > 0) || o->hz > 1000) {
				pr_err("invalid --hz '%s': a rate above 0 and up to 1000, e.g. --hz 10\n",
				       optarg);
				return GT_EXIT_USAGE;
			}
			break;
		case OPT_SHARE:
			o->max_share = strtod(optarg, &end) / 100;
			if (*end || !(o->max_share > 0) || o->max_share > 1) {
				pr_err("invalid --max-share '%s': a percentage in (0, 100], e.g. 25\n",
				       optarg);
				return GT_EXIT_USAGE;
			}
			break;
		case 'f':
			if ((c = cli__choice(optarg, "format", fmt_names)) < 0)
				return GT_EXIT_USAGE;
			o->fmt = c;
			break;
		case 'o': o->output = optarg; break;
		case OPT_GOID: o->so.goid_labels = true; break;
		case OPT_SYSTEM: o->so.system = true; break;
		case OPT_CPU:
		case OPT_CPU_HZ:
			if (cli__cpu_hz(optarg, &o->cpu_hz))
				return GT_EXIT_USAGE;
			break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (cli__want_pid(o->pid, argc, argv, "profile"))
		return GT_EXIT_USAGE;
	if (o->cpu_hz && o->fmt != F_PPROF) {
		pr_err("--cpu writes a pprof profile only: drop -f %s or --cpu\n", fmt_names[o->fmt]);
		return GT_EXIT_USAGE;
	}
	if (!o->output && o->fmt == F_PPROF)
		o->output = "profile.pb.gz";
	return -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Sleeps until mono time at, or until a signal; with --cpu, reading its samples meanwhile. */
static void sleep_until(uint64_t at, struct cpu_part *cp)
{
	struct timespec ts = { at / 1000000000ull, at % 1000000000ull };
	uint64_t now;

	if (cp->s) {
		while (!interrupted && !cp->err && (now = mono_ns()) < at) {
			int n = cpu_sampler__poll(cp->s, (int)((at - now + 999999) / 1000000));

			if (n < 0)
				cp->err = n;
		}
		return;
	}
	while (!interrupted && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Records of the CPU sampler (one at a time, from its ring buffer) into the rows. */
static int on_cpu_record(void *ctx, const void *rec, size_t len)
{
	struct cpu_part *cp = ctx;

	return cpu_profile__record(cp->prof, rec, len);
}

/* The passes: each weighted by the time since the previous one began. */
static int run(const struct prof_opts *o, struct sampler *s, struct sampler_pacer *pc,
	       struct cpu_part *cp)
{
	uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(o->duration * 1e9), prev = 0, last_note = 0;
	int err = 0;

	while (!interrupted) {
		struct sampler_pass_stats st;
		uint64_t start = mono_ns(), w = prev ? start - prev : (uint64_t)(1e9 / pc->hz);
		double was = pc->hz;

		if (start >= end)
			break;
		err = sampler__pass(s, w, &interrupted, &st);
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err)
			break;
		prev = start;
		pr_debug("pass: %zu goroutines (%zu counted, %zu reused) in %.2f ms, %.2f ms CPU, "
			 "%llu process_vm_readv\n", st.goroutines, st.counted, st.cached,
			 st.wall_ns / 1e6, st.cpu_ns / 1e6, (unsigned long long)st.nreadv);
		if (sampler__pace(pc, st.wall_ns))
			pr_warn("a pass over %zu goroutines takes %.1f ms, more than %.0f%% of the "
				"%.0f ms period: sampling at %g Hz instead of %g Hz\n", st.goroutines,
				st.wall_ns / 1e6, o->max_share * 100, 1e3 / was, pc->hz, was);
		if (!gt_quiet && start - last_note >= 1000000000ull) {
			fprintf(stderr, "\rgtrace: profiling pid %d: %.0f s of %.0f, %zu goroutines, "
					"pass %.1f ms ",
				o->pid, (start - t0) / 1e9, o->duration, st.counted, st.wall_ns / 1e6);
			last_note = start;
		}
		sleep_until(start + (uint64_t)(1e9 / pc->hz), cp);
		if (cp->err) {
			pr_err("reading the CPU samples failed: %s\n", strerror(-cp->err));
			err = cp->err;
			break;
		}
	}
	if (!gt_quiet && last_note)
		fprintf(stderr, "\n");
	return err;
}

static int write_out(const struct prof_opts *o, const struct sampler *s, double hz,
		     const struct gt_az *az, struct cpu_part *cp)
{
	struct profexp_opts eo = { .hz = hz, .az = az->az, .host = az->host };
	uint64_t produced;
	struct gt_clock_map cm;
	char line[160];
	struct gt_outfile of;
	FILE *f;
	int err;

	if (cp->s) {
		eo.cpu = cp->prof;
		eo.cpu_hz = o->cpu_hz;
		eo.cpu_period_ns = cpu_sampler__period_ns(cp->s);
		cpu_sampler__counters(cp->s, &produced, &eo.cpu_lost);
	}
	if (!clock__sample(&cm))
		eo.clock = clock__describe(&cm, line, sizeof(line));
	/* a fresh file renamed over OUT, never through a link (lib/outfile.h) */
	if (outfile__open(&of, o->output ? o->output : "-", GT_OUT_ATOMIC, 0644, NULL, 0))
		return -EIO;
	if (!(f = outfile__fdopen(&of))) {
		outfile__abort(&of, NULL);
		return -EIO;
	}
	if (o->fmt == F_PPROF)
		err = profexp__pprof(f, s, &eo);
	else if (o->fmt == F_TEXT)
		err = profexp__text(f, s, &eo);
	else
		err = profexp__jsonl(f, s, &eo);
	if (err)
		outfile__abort(&of, f);
	else
		err = outfile__commit(&of, f);
	return err;
}

int cmd_profile(int argc, char **argv)
{
	struct prof_opts o = { .duration = 10, .hz = 10, .max_share = 0.25 };
	struct sampler_pacer pc;
	struct sampler *s = NULL;
	const struct sampler_profile *p;
	struct gt_az az = { 0 };
	struct cpu_part cp = { 0 };
	int rc, err;

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (outfile__check(o.output, NULL, 0)) /* a bad -o fails before sampling for seconds */
		return GT_EXIT_ERROR;
	pc = (struct sampler_pacer){ .hz = o.hz, .max_share = o.max_share, .min_hz = 0.1 };
	if ((err = sampler__open(&s, o.pid, &o.so)))
		return GT_EXIT_ERROR;
	if (o.cpu_hz) {
		struct gt_cpu_sampler_opts co = { .hz = o.cpu_hz };

		if (!(cp.prof = cpu_profile__new()) ||
		    cpu_sampler__open(&cp.s, &co, on_cpu_record, &cp) ||
		    cpu_sampler__add_target(cp.s, sampler__target(s))) {
			if (!cp.prof)
				pr_err("out of memory\n");
			cpu_sampler__close(cp.s);
			cpu_profile__free(cp.prof);
			sampler__close(s);
			return GT_EXIT_ERROR;
		}
		cpu_sampler__enable(cp.s, true);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	az__resolve(&o.az, &az);
	err = run(&o, s, &pc, &cp);
	if (cp.s) {
		cpu_sampler__enable(cp.s, false);
		if (!cp.err && cpu_sampler__poll(cp.s, 0) < 0 && !err)
			pr_warn("reading the last CPU samples failed\n");
	}
	p = sampler__profile(s);
	if (err == -ESRCH)
		pr_err("PID %d exited: writing the %llu passes taken\n", o.pid,
		       (unsigned long long)p->passes);
	else if (err)
		pr_err("sampling failed: %s\n", strerror(-err));
	if (interrupted && !err)
		pr_info("gtrace: interrupted: writing the %llu passes taken\n",
			(unsigned long long)p->passes);
	if (!err || err == -ESRCH) {
		int werr = p->passes ? write_out(&o, s, pc.hz, &az, &cp) : -ENODATA;

		if (werr == -ENODATA)
			pr_err("no pass completed: nothing to write\n");
		err = err ? err : werr;
	}
	if (p->passes)
		pr_info("gtrace: %llu passes at %g Hz, %zu goroutines at the end; reader %.2f ms "
			"per pass, %.1f us CPU per 1000 goroutines per pass, %.0f%% of stacks "
			"reused%s%s\n", (unsigned long long)p->passes, pc.hz, p->last_goroutines,
			p->read_ns / 1e6 / p->passes,
			p->goroutines_read ? p->cpu_ns / 1e3 / (p->goroutines_read / 1000.0) : 0,
			p->goroutines_read ? 100.0 * p->cached / p->goroutines_read : 0,
			o.output ? "; wrote " : "", o.output ? o.output : "");
	if (cp.s && !gt_quiet) {
		uint64_t produced, lost;

		cpu_sampler__counters(cp.s, &produced, &lost);
		pr_info("gtrace: cpu: %llu samples at %u Hz per CPU on %d CPUs, %llu lost\n",
			(unsigned long long)cpu_profile__samples(cp.prof), o.cpu_hz,
			cpu_sampler__ncpus(cp.s), (unsigned long long)lost);
	}
	cpu_sampler__close(cp.s);
	cpu_profile__free(cp.prof);
	sampler__close(s);
	return err && err != -ESRCH ? GT_EXIT_ERROR : (err ? GT_EXIT_ERROR : GT_EXIT_OK);
}

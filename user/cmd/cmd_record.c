// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace record: attach to a running Go process and write every goroutine
 * transition and label set to a capture file until the duration ends,
 * Ctrl-C/SIGTERM, or the target exits.  The capture carries what reports
 * need without the binary: metadata, symbols for every PC it mentions, and
 * a trailer with exact loss counts.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "live/az.h"
#include "live/capture_session.h"
#include "live/greader.h"
#include "live/snapshot_records.h"
#include "capture/capture.h"
#include "capture/event_specs.h"
#include "lib/outfile.h"
#include "lib/clock.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/debug.h"
#include "binary/target.h"
#include "live/tracer.h"
#include "live/slicer.h"
#include "live/trap_cost.h"
#include "live/cpu_sampler.h"
#include "lib/u64map.h"

static volatile sig_atomic_t exiting;

struct record {
	struct gt_target target;
	struct gt_capture_writer *w;
	struct gt_tracer *tr;
	struct gt_slicer *slicer; /* --budget: probes on for slices of each second */
	double trap_ns;		  /* --budget: one trap here, measured (0: not) */
	struct gt_cpu_sampler *cpu; /* --cpu: writes into tr's ring buffer */
	struct u64map syms_done; /* PCs whose frames are in the capture */
	struct gt_clock_tracker clock;
	bool clock_ok;
	uint64_t written[GT_EV_MAX];
	uint64_t user_produced[GT_EV_MAX]; /* records made here, not by the probes */
	bool from_user;	/* on_record is fed by the snapshot, not the ring buffer */
	uint64_t resyncs, resync_ns; /* --budget: snapshots taken as slices began, their time */
	uint64_t events;
	uint64_t turns; /* reader loop turns: batched waits keep this near 10 a second */
	struct capture_loss loss;
	uint64_t start_ns;
	uint64_t created, exited;
	int err;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace record -p PID [-d SECONDS] [-o FILE] [--events LIST] [--no-stacks]\n"
		"                     [--buffer SIZE] [--budget PCT] [--cpu[=HZ]] [--kernel-stacks]\n"
		"                     [--az ZONE] [--no-az-detect] [-q] [-v]\n"
		"\n"
		"Record every goroutine transition and pprof label set of a running Go process\n"
		"into a capture file, until SECONDS pass, Ctrl-C, or the process exits.\n"
		"\n"
		"  -p, --pid PID        process to trace (Go 1.19 or newer)\n"
		"  -d, --duration SEC   stop after SEC seconds (default: until Ctrl-C)\n"
		"  -o, --output FILE    capture file (default gtrace.gtr; '-' for stdout)\n"
		"      --events LIST    event classes, comma-separated (default all):\n"
		"                       create,start,park,unpark,preempt,yield,syscall,exit,labels;\n"
		"                       none (with --cpu: CPU samples only, no uprobe)\n"
		"      --no-stacks      do not walk the stack at each park\n"
		"      --buffer SIZE    ring buffer size, e.g. 16M (default 32M; power of two)\n"
		"      --budget PCT     keep the target's added CPU under PCT%% of its own: probes\n"
		"                       attached for a slice of each second only; the gaps are\n"
		"                       marked in the capture and every report (e.g. 2)\n"
		"      --cpu[=HZ]       also sample on-CPU stacks with goroutine and labels,\n"
		"                       HZ per CPU (default 99; --cpu-hz HZ is the same)\n"
		"      --kernel-stacks  with --cpu: also the kernel stack of samples in the kernel\n"
		"      --probe-at-entry put probes on functions' first bytes (benchmarks only)\n"
		"      --bare-trap      same probe sites, programs that only count hits (benchmarks)\n"
		"      --create-at-ret  Go <= 1.23: creations at newproc1's single-stepped RETs (benchmarks)\n"
		"      --az ZONE        availability zone to stamp (default: detect)\n"
		"      --az-file FILE   file holding the zone (default /etc/gtrace/az)\n"
		"      --imds-endpoint URL  cloud metadata base URL (tests)\n"
		"      --no-az-detect   do not ask cloud metadata services\n"
		"  -q, --quiet          no progress line\n"
		"  -v, --verbose        more detail (twice: libbpf debug)\n"
		"\n"
		"examples:\n"
		"  gtrace record -p $(pidof myserver) -d 10\n"
		"  gtrace record -p 1234 --events create,exit -o lifecycle.gtr\n"
		"  gtrace record -p 1234 -d 30 --cpu   # then: report -f pprof --profile cpu|wall\n"
		"then: gtrace report gtrace.gtr\n");
}

static void on_signal(int sig)
{
	exiting = sig;
}

static int parse_events(const char *list, uint32_t *mask)
{
	char *copy = strdup(list), *save = NULL;

	*mask = GT_DEFINITION_EVENTS;
	if (!strcmp(list, "none"))
		goto out; /* with --cpu: samples only, no uprobe */
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		/* Classes that come in pairs (syscall enter/exit) share one name. */
		for (unsigned t = 0; t < GT_EV_MAX; t++) {
			const char *cls = gt_event_specs[t].cli_class;

			if (!cls || strcmp(tok, cls))
				continue;
			*mask |= 1u << t;
			found = true;
		}
		if (!found) {
			pr_err("unknown event class '%s' (see 'gtrace record --help')\n", tok);
			free(copy);
			return -EINVAL;
		}
	}
out:
	free(copy);
	return 0;
}


static int on_record(void *ctx, const void *rec, size_t len)
{
	struct record *r = ctx;
	const struct gt_event_hdr *h = rec;

	if (len < sizeof(*h) || h->size > len || h->type >= GT_EV_MAX)
		return 0;
	capture_session__symbols(r->w, &r->target, &r->syms_done, h);
	if (h->type == GT_EV_CREATE)
		r->created++;
	else if (h->type == GT_EV_EXIT)
		r->exited++;
	r->written[h->type]++;
	if (r->from_user)
		r->user_produced[h->type]++;
	r->events++;
	/* Pad to 8 so records stay aligned in the chunk. */
	r->err = capture_writer__events(r->w, rec, (h->size + 7) & ~7u);
	return r->err;
}

/*
 * The header: target, clock mapping (kept by a tracker so steps and drift
 * get new mappings later), zone and host.
 */
static void write_header(struct record *r, uint32_t mask, bool stacks, uint64_t buffer,
			 const struct gt_az_opts *azo)
{
	struct gt_az az;

	r->clock_ok = !clock__tracker_init(&r->clock, NULL);
	/* Even without a zone, the host name and whatever was learned go in. */
	az__resolve(azo, &az);
	capture_session__write_header(r->w, &r->target, mask, stacks, buffer,
				      r->clock_ok ? &r->clock.cur : NULL, &az);
}

/* A LOSS record for this poll window; made here, so counted as user-produced. */
static void note_loss(struct record *r)
{
	struct gt_ev_loss e;

	if (!capture_session__loss(r->tr, &r->loss, &e))
		return;
	r->from_user = true;
	on_record(r, &e, sizeof(e));
	r->from_user = false;
}

/* --budget: switch the probes when due; a gap that ended becomes a GAP record. */
static int note_slice(struct record *r, uint64_t now)
{
	struct gt_ev_gap gap;
	int rc = slicer__tick(r->slicer, now, &gap);

	if (rc < 0) {
		pr_err("could not attach the probes again for the next slice: %s\n", strerror(-rc));
		return rc;
	}
	if (rc == 1) {
		uint64_t t0 = clock__mono_ns();
		int n;

		r->from_user = true;
		on_record(r, &gap, sizeof(gap));
		/*
		 * The goroutines as the slice begins: what changed in the gap (a
		 * park, a wake, a goroutine born unseen) is known from here on
		 * rather than guessed at its next event (gstate.c on_snapshot).
		 */
		n = snaprec__emit(&r->target, on_record, r);
		r->from_user = false;
		if (n >= 0) {
			r->resyncs++;
			r->resync_ns += clock__mono_ns() - t0;
		}
	}
	return 0;
}

/* --budget: the slicing, in the trailer (docs/capture-format.md, record.slice.*). */
static void write_slices(struct record *r, double budget)
{
	struct gt_slicer_stats st;
	uint64_t total;

	slicer__stats(r->slicer, &st);
	total = st.on_ns + st.off_ns;
	capture_writer__meta(r->w, "record.budget_pct", "%g", budget);
	capture_writer__meta(r->w, "record.slice.period_ns", "%llu", 1000000000ull);
	if (r->trap_ns > 0)
		capture_writer__meta(r->w, "record.slice.trap_ns", "%.0f", r->trap_ns);
	capture_writer__meta(r->w, "record.slice.count", "%llu", (unsigned long long)st.slices);
	capture_writer__meta(r->w, "record.slice.on_ns", "%llu", (unsigned long long)st.on_ns);
	capture_writer__meta(r->w, "record.slice.off_ns", "%llu", (unsigned long long)st.off_ns);
	capture_writer__meta(r->w, "record.slice.duty", "%.6f",
			     total ? (double)st.on_ns / total : 1.0);
	capture_writer__meta(r->w, "record.slice.duty_min", "%.6f", st.duty_min);
	capture_writer__meta(r->w, "record.slice.duty_max", "%.6f", st.duty_max);
	capture_writer__meta(r->w, "record.slice.gaps", "%llu", (unsigned long long)st.gaps);
	capture_writer__meta(r->w, "record.slice.gap_est_events", "%llu",
			     (unsigned long long)st.gap_est_events);
	capture_writer__meta(r->w, "record.slice.resyncs", "%llu", (unsigned long long)r->resyncs);
	capture_writer__meta(r->w, "record.slice.resync_ns", "%llu",
			     (unsigned long long)r->resync_ns);
	capture_writer__meta(r->w, "record.slice.hits", "%llu", (unsigned long long)st.hits);
	capture_writer__meta(r->w, "record.slice.cost_per_hit_ns", "%.0f", st.cost_per_hit_ns);
	capture_writer__meta(r->w, "record.slice.added_pct", "%.3f", st.added_pct);
	capture_writer__meta(r->w, "record.slice.aim_pct", "%.3f", st.aim_pct);
	capture_writer__meta(r->w, "record.slice.over_budget", "%llu",
			     (unsigned long long)st.over_budget);
	capture_writer__meta(r->w, "record.slice.attach_ns_max", "%llu",
			     (unsigned long long)st.attach_ns_max);
	capture_writer__meta(r->w, "record.slice.detach_ns_max", "%llu",
			     (unsigned long long)st.detach_ns_max);
}

/* Loss totals and how the capture ended: read by every report. */
static void write_trailer(struct record *r, const char *why)
{
	capture_session__write_trailer(r->w, r->tr, r->written, r->user_produced, r->events, why);
	uint64_t att, det;

	capture_writer__meta(r->w, "record.probe_hits", "%llu",
			     (unsigned long long)tracer__hits(r->tr));
	capture_writer__meta(r->w, "record.reader_turns", "%llu", (unsigned long long)r->turns);
	tracer__timings(r->tr, &att, &det);
	capture_writer__meta(r->w, "record.detach_ns", "%llu", (unsigned long long)det);
	/* The final progress line shows the same total as the trailer. */
	r->loss.seen = tracer__lost_total(r->tr);
}

/*
 * A new clock mapping when the wall clock was stepped (the step fd fires)
 * or every few seconds, so long captures follow drift; readers use the
 * mapping in force at each event.
 */
static void resample_clock(struct record *r, uint64_t now, uint64_t *last)
{
	struct pollfd p = { .fd = r->clock.step_fd, .events = POLLIN };
	struct gt_clock_map cm;
	bool stepped;

	if (!r->clock_ok)
		return;
	stepped = r->clock.step_fd >= 0 && poll(&p, 1, 0) > 0;

	if (!stepped && now - *last < 5000000000ull)
		return;
	*last = now;
	if (clock__tracker_poll(&r->clock, &cm) == 1) {
		capture_session__write_clock(r->w, &cm);
		capture_writer__meta(r->w, "clock.resample", "%s", stepped ? "step" : "drift");
	}
}

/*
 * Goroutines that existed before the probes went live, read from
 * runtime.allgs once they are live (so none falls between the two); reports
 * de-duplicate on goid.
 */
static void take_snapshot(struct record *r)
{
	uint64_t t0 = clock__mono_ns();
	int n;

	r->from_user = true;
	n = snaprec__emit(&r->target, on_record, r);
	r->from_user = false;

	if (n < 0) {
		pr_warn("could not list the goroutines alive at attach (%s); reports will show "
			"them from their first event\n", strerror(-n));
		return;
	}
	capture_writer__meta(r->w, "record.snapshot_goroutines", "%d", n);
	capture_writer__meta(r->w, "record.snapshot_ns", "%llu",
			     (unsigned long long)(clock__mono_ns() - t0));
}

static void progress(struct record *r, uint64_t *last_events, uint64_t interval_ns, bool final)
{
	double secs = (clock__mono_ns() - r->start_ns) / 1e9;
	double rate = interval_ns ? (r->events - *last_events) * 1e9 / interval_ns : 0;

	char duty[48] = "";

	if (r->slicer)
		snprintf(duty, sizeof(duty), ", duty %.1f%%", 100 * slicer__duty(r->slicer));
	fprintf(stderr,
		"\rgtrace: pid %d: %.0fs, %llu events (%.0f/s), goroutines +%llu -%llu, %llu lost%s%s",
		r->target.pid, secs, (unsigned long long)r->events, rate,
		(unsigned long long)r->created, (unsigned long long)r->exited,
		(unsigned long long)r->loss.seen, duty, final ? "\n" : "  ");
	*last_events = r->events;
}

struct record_opts {
	pid_t pid;
	double duration;
	const char *output;
	uint32_t mask;
	bool stacks;
	uint64_t buffer;
	bool probe_at_entry;
	bool bare_trap;
	bool per_site;
	bool create_at_ret;
	double budget; /* %, 0: no slicing */
	unsigned cpu_hz; /* 0: no CPU samples */
	bool kernel_stacks;
	struct gt_az_opts az;
};

enum { OPT_EVENTS = 256, OPT_NO_STACKS, OPT_BUFFER, OPT_ENTRY, OPT_BARE, OPT_BUDGET, OPT_PER_SITE, OPT_AT_RET,
       OPT_CPU, OPT_CPU_HZ, OPT_KSTACKS };

/* 0 to run, GT_EXIT_OK after --help, GT_EXIT_USAGE on bad arguments. */
static int parse_args(int argc, char **argv, struct record_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
		{ "buffer", required_argument, NULL, OPT_BUFFER },
		{ "probe-at-entry", no_argument, NULL, OPT_ENTRY },
		{ "bare-trap", no_argument, NULL, OPT_BARE },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "per-site-links", no_argument, NULL, OPT_PER_SITE },
		{ "create-at-ret", no_argument, NULL, OPT_AT_RET },
		{ "cpu", optional_argument, NULL, OPT_CPU },
		{ "cpu-hz", required_argument, NULL, OPT_CPU_HZ },
		{ "kernel-stacks", no_argument, NULL, OPT_KSTACKS },
		CLI_AZ_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:d:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c) || cli__az_opt(c, optarg, &o->az))
			continue;
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'd':
			if (cli__seconds(optarg, "duration", "10 or 0.5", &o->duration))
				return GT_EXIT_USAGE;
			break;
		case 'o': o->output = optarg; break;
		case OPT_EVENTS:
			if (parse_events(optarg, &o->mask))
				return GT_EXIT_USAGE;
			break;
		case OPT_NO_STACKS: o->stacks = false; break;
		case OPT_BUFFER:
			if (cli__buffer(optarg, &o->buffer))
				return GT_EXIT_USAGE;
			break;
		case OPT_ENTRY: o->probe_at_entry = true; break;
		case OPT_BARE: o->bare_trap = true; break;
		case OPT_PER_SITE: o->per_site = true; break;
		case OPT_AT_RET: o->create_at_ret = true; break;
		case OPT_BUDGET: {
			char *end;

			o->budget = strtod(optarg, &end);
			if (end == optarg || (*end && strcmp(end, "%")) || !(o->budget > 0) ||
			    o->budget > 100) {
				pr_err("invalid --budget '%s' (a share of the target's CPU in %%, "
				       "above 0 and at most 100, e.g. 2)\n", optarg);
				return GT_EXIT_USAGE;
			}
			break;
		}
		case OPT_CPU:
		case OPT_CPU_HZ:
			if (cli__cpu_hz(optarg, &o->cpu_hz))
				return GT_EXIT_USAGE;
			break;
		case OPT_KSTACKS: o->kernel_stacks = true; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (o->mask == GT_DEFINITION_EVENTS && !o->cpu_hz) {
		pr_err("--events none records nothing without --cpu\n");
		return GT_EXIT_USAGE;
	}
	if (o->kernel_stacks && !o->cpu_hz) {
		pr_err("--kernel-stacks needs --cpu\n");
		return GT_EXIT_USAGE;
	}
	if (cli__want_pid(o->pid, argc, argv, "record"))
		return GT_EXIT_USAGE;
	return -1;
}

static const char *record_loop(struct record *r, const struct record_opts *o)
{
	uint64_t start = clock__mono_ns(), last_progress = start, last_events = 0, last_clock = start;
	struct capture_watch cw;
	const char *why = "interrupted", *gone;
	bool tty = isatty(STDERR_FILENO);

	capture_session__watch_open(&cw, o->pid);
	r->loss.last_poll_ns = r->start_ns = start;
	while (!exiting) {
		int timeout = 100, n;
		uint64_t now;

		if (r->slicer) {
			uint64_t due = slicer__next_switch(r->slicer), t = clock__mono_ns();

			timeout = due <= t ? 0 : due - t >= 100000000ull ? 100 : (int)((due - t) / 1000000);
		}
		n = tracer__poll(r->tr, timeout);
		r->turns++;
		now = clock__mono_ns();
		if (n < 0 || r->err) {
			why = "error";
			break;
		}
		if (r->slicer && note_slice(r, now)) {
			why = "error";
			break;
		}
		note_loss(r);
		resample_clock(r, now, &last_clock);
		if (capture_writer__flush(r->w)) {
			why = "write error";
			break;
		}
		if (o->duration && now - start >= o->duration * 1e9) {
			why = "duration";
			break;
		}
		if ((gone = capture_session__watch_check(&cw))) {
			why = gone;
			break;
		}
		if (!gt_quiet && now - last_progress >= capture_session__progress_every(tty)) {
			progress(r, &last_events, now - last_progress, !tty);
			last_progress = now;
		}
	}
	capture_session__watch_close(&cw);
	return exiting ? "interrupted" : why;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o = { .output = "gtrace.gtr", .stacks = true, .buffer = 32 << 20 };
	struct gt_tracer_opts to;
	struct record r = { 0 };
	uint64_t last_events = 0;
	const char *why;
	int nprobes;
	int rc, err;

	parse_events("create,start,park,unpark,preempt,yield,syscall,exit,labels", &o.mask);
	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (capture_session__check_privileges("record") || capture_session__check_kernel())
		return GT_EXIT_ERROR;
	if (outfile__check(o.output, NULL, 0)) /* a bad -o fails before anything is attached */
		return GT_EXIT_ERROR;
	if (target__open(&r.target, o.pid, NULL))
		return GT_EXIT_ERROR;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	err = capture_writer__open(&r.w, o.output);
	if (err)
		goto out;
	write_header(&r, o.mask, o.stacks, o.buffer, &o.az);
	if (o.cpu_hz) {
		/* In the first chunk: readers decide from the header what the capture holds. */
		capture_writer__meta(r.w, "record.cpu_hz", "%u", o.cpu_hz);
		capture_writer__meta(r.w, "record.cpu_period_ns", "%llu",
				     (unsigned long long)(1000000000ull / o.cpu_hz));
		capture_writer__meta(r.w, "record.cpu_kernel_stacks", "%d", o.kernel_stacks);
	}
	err = capture_writer__flush(r.w);
	if (err)
		goto out;
	to = (struct gt_tracer_opts){ .events_mask = o.mask, .stacks = o.stacks,
				      .buffer_bytes = o.buffer, .probe_at_entry = o.probe_at_entry,
				      .count_only = o.bare_trap, .per_site_links = o.per_site,
				      .create_at_ret = o.create_at_ret };
	err = tracer__open(&r.tr, &r.target, &to, on_record, &r);
	if (err)
		goto out;
	{
		uint64_t att, det;

		tracer__timings(r.tr, &att, &det);
		capture_writer__meta(r.w, "record.links", "%s",
				     tracer__multi(r.tr) ? "multi-uprobe" : "perf-per-site");
		capture_writer__meta(r.w, "record.attach_ns", "%llu", (unsigned long long)att);
	}
	if (o.cpu_hz) {
		struct gt_cpu_sampler_opts so = { .hz = o.cpu_hz, .kernel_stacks = o.kernel_stacks,
						  .share = r.tr };

		err = cpu_sampler__open(&r.cpu, &so, NULL, NULL);
		if (!err)
			err = cpu_sampler__add_target(r.cpu, &r.target);
		if (err)
			goto out;
		capture_writer__meta(r.w, "record.cpu_events", "%d", cpu_sampler__ncpus(r.cpu));
	}
	if (o.budget) {
		struct gt_slicer_opts so = { .budget_pct = o.budget };

		/*
		 * What a trap costs here, measured as the agent does: the
		 * slicer can time the programs but not the breakpoint, and the
		 * 1 us it assumes is half of what some VMs charge.
		 */
		if (trap_cost__measure(&so.trap_ns))
			so.trap_ns = 0; /* the slicer's default */
		r.trap_ns = so.trap_ns;
		pr_debug("a uprobe trap costs %.0f ns here\n", so.trap_ns);
		tracer__prompt(r.tr, true); /* slices: as the agent (tracer.h) */
		err = slicer__open(&r.slicer, r.tr, o.pid, &so);
		if (!err)
			err = slicer__attach(r.slicer, clock__mono_ns());
		if (err)
			goto out;
	} else {
		tracer__enable(r.tr, true);
	}
	if (r.cpu)
		cpu_sampler__enable(r.cpu, true);
	capture_writer__meta(r.w, "record.enabled_mono_ns", "%llu",
			     (unsigned long long)clock__mono_ns());
	take_snapshot(&r);
	{
		uint64_t att, det;

		tracer__timings(r.tr, &att, &det);
		pr_debug("attached %d probes with %d %s links in %.1f ms\n", tracer__nprobes(r.tr),
			 tracer__nlinks(r.tr), tracer__multi(r.tr) ? "multi-uprobe" : "perf", att / 1e6);
	}
	/* planned sites, but none attached with --events none: say what is on the target */
	nprobes = tracer__nlinks(r.tr) ? tracer__nprobes(r.tr) : 0;
	if (r.target.ns_pid != o.pid)
		pr_info("gtrace: recording pid %d (pid %d in its namespace; %s, %s), %d probes%s; Ctrl-C to stop\n",
			o.pid, r.target.ns_pid, r.target.exe_name, r.target.ver.str,
			nprobes, r.cpu ? ", CPU samples" : "");
	else
		pr_info("gtrace: recording pid %d (%s, %s), %d probes%s; Ctrl-C to stop\n", o.pid,
			r.target.exe_name, r.target.ver.str, nprobes,
			r.cpu ? ", CPU samples" : "");
	why = record_loop(&r, &o);
	/* Quiet all probes at once, detach, then drain what they already wrote. */
	if (r.slicer) {
		struct gt_ev_gap gap;

		if (slicer__finish(r.slicer, clock__mono_ns(), &gap) == 1) {
			r.from_user = true;
			on_record(&r, &gap, sizeof(gap));
			r.from_user = false;
		}
	}
	tracer__enable(r.tr, false);
	if (r.cpu)
		cpu_sampler__enable(r.cpu, false);
	capture_writer__meta(r.w, "record.disabled_mono_ns", "%llu", (unsigned long long)clock__mono_ns());
	cpu_sampler__close(r.cpu);
	r.cpu = NULL;
	tracer__detach(r.tr);
	tracer__poll(r.tr, 0);
	tracer__flush_pending(r.tr);
	note_loss(&r);
	if (r.slicer)
		write_slices(&r, o.budget);
	write_trailer(&r, why);
	if (!gt_quiet)
		progress(&r, &last_events, 0, true);
	if (!gt_quiet || !strcmp(why, CAPTURE_WHY_EXEC)) /* an exec stop is news even with -q */
		fprintf(stderr, "gtrace: stopped (%s); wrote %s\n", why, o.output);
	err = r.err;
out:
	slicer__close(r.slicer);
	cpu_sampler__close(r.cpu);
	tracer__close(r.tr);
	if (r.w) {
		int cerr = capture_writer__close(r.w);

		err = err ? err : cerr;
	}
	u64map__free(&r.syms_done);
	if (r.clock_ok)
		clock__tracker_close(&r.clock);
	target__close(&r.target);
	return err ? GT_EXIT_ERROR : GT_EXIT_OK;
}

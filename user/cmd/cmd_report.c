// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace report: read a capture through the one reader and write it in the
 * format asked for.  Exporters get an open capture and a FILE; this file
 * only parses options and picks the exporter.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/outfile.h"
#include "lib/debug.h"
#include "export/export.h"

static const struct {
	const char *name;
	int (*fn)(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out);
	bool binary;
} formats[] = {
	{ "text", export_text, false },	      { "jsonl", export_jsonl, false },
	{ "pprof", export_pprof, true },      { "perfetto", export_perfetto, true },
	{ "chrome", export_chrome, false },   { "gotrace", export_gotrace, true },
};

static const char *const profiles[] = {
	[GT_PROFILE_OFFCPU] = "offcpu",
	[GT_PROFILE_SCHEDLAT] = "schedlat",
	[GT_PROFILE_GOROUTINE] = "goroutine",
	[GT_PROFILE_LIFETIME] = "lifetime",
	[GT_PROFILE_LABELS] = "labels",
	[GT_PROFILE_CPU] = "cpu",
	[GT_PROFILE_WALL] = "wall",
};

/* --labels: the label-loss analysis in the format asked for (docs/labels.md). */
static int (*const labels_fn[])(struct gt_capture *, const struct gt_export_opts *, FILE *) = {
	export_labels_text, export_labels_jsonl, export_labels_pprof,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace report FILE [-f FORMAT] [--profile KIND] [--labels] [-o OUT]\n"
		"\n"
		"Turn a capture written by 'gtrace record' into something to read or open.\n"
		"\n"
		"  -f, --format FORMAT   text (default), jsonl, pprof, perfetto, chrome, gotrace\n"
		"      --profile KIND    pprof: offcpu (default), schedlat, goroutine, lifetime, labels;\n"
		"                        cpu, wall (captures recorded with --cpu)\n"
		"      --labels          where labels get lost: per key shares, unlabelled time by\n"
		"                        creation site and who woke it, label changes that drop keys\n"
		"                        (text, jsonl; with pprof the 'labels' profile)\n"
		"      --at SECONDS      goroutine profile: at this time since capture start\n"
		"      --min-duration D  perfetto/chrome: drop slices shorter than D (e.g. 50us)\n"
		"      --goroutines F    perfetto/chrome: keep only these (goid list or label:K=V)\n"
		"  -o, --output OUT      write here (default stdout; binary formats need -o or a pipe)\n"
		"  -q, --quiet           no warnings\n"
		"  -v, --verbose         more detail\n"
		"\n"
		"examples:\n"
		"  gtrace report gtrace.gtr\n"
		"  gtrace report gtrace.gtr -f pprof -o offcpu.pb.gz && go tool pprof -top offcpu.pb.gz\n"
		"  gtrace report gtrace.gtr -f perfetto -o trace.pftrace   # open in ui.perfetto.dev\n"
		"  gtrace report gtrace.gtr -f gotrace -o trace.out && go tool trace trace.out\n"
		"  gtrace report gtrace.gtr --labels\n");
}

/* "250us", "2ms", "1.5s", "100" (ns). */
static int parse_duration_ns(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "ns"))
		;
	else if (!strcmp(end, "us") || !strcmp(end, "µs"))
		v *= 1e3;
	else if (!strcmp(end, "ms"))
		v *= 1e6;
	else if (!strcmp(end, "s"))
		v *= 1e9;
	else
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

enum { OPT_PROFILE = 256, OPT_AT, OPT_MIN_DURATION, OPT_GOROUTINES, OPT_LABELS };

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "at", required_argument, NULL, OPT_AT },
		{ "min-duration", required_argument, NULL, OPT_MIN_DURATION },
		{ "goroutines", required_argument, NULL, OPT_GOROUTINES },
		{ "labels", no_argument, NULL, OPT_LABELS },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	struct gt_export_opts eo = { .profile = GT_PROFILE_OFFCPU };
	const char *format = "text", *output = NULL;
	double at_s = -1;
	struct gt_capture *cap = NULL;
	struct gt_outfile of;
	FILE *out = stdout;
	int (*fn)(struct gt_capture *, const struct gt_export_opts *, FILE *);
	bool labels = false;
	int c, fi = -1, err;

	while ((c = getopt_long(argc, argv, "f:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c))
			continue;
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case OPT_PROFILE: {
			int k = -1;

			for (size_t i = 0; i < sizeof(profiles) / sizeof(*profiles); i++)
				if (!strcmp(optarg, profiles[i]))
					k = i;
			if (k < 0) {
				pr_err("unknown profile '%s' (offcpu, schedlat, goroutine, lifetime, labels, cpu, wall)\n",
				       optarg);
				return GT_EXIT_USAGE;
			}
			eo.profile = k;
			break;
		}
		case OPT_AT: {
			char *end;

			at_s = strtod(optarg, &end);
			if (*end || at_s < 0) {
				pr_err("invalid --at '%s' (seconds since the capture start)\n", optarg);
				return GT_EXIT_USAGE;
			}
			break;
		}
		case OPT_MIN_DURATION:
			if (parse_duration_ns(optarg, &eo.min_duration_ns)) {
				pr_err("invalid --min-duration '%s' (e.g. 50us, 2ms)\n", optarg);
				return GT_EXIT_USAGE;
			}
			break;
		case OPT_GOROUTINES: eo.goroutines = optarg; break;
		case OPT_LABELS: labels = true; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		if (optind == argc)
			pr_err("which capture? give FILE (see 'gtrace report --help')\n");
		else
			pr_err("one capture at a time (see 'gtrace report --help')\n");
		return GT_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++)
		if (!strcmp(format, formats[i].name))
			fi = i;
	if (fi < 0) {
		pr_err("unknown format '%s' (text, jsonl, pprof, perfetto, chrome, gotrace)\n", format);
		return GT_EXIT_USAGE;
	}
	if (formats[fi].binary && !output && isatty(fileno(stdout))) {
		pr_err("%s output is binary: give -o FILE or redirect stdout\n", format);
		return GT_EXIT_USAGE;
	}
	if (at_s >= 0 && (strcmp(formats[fi].name, "pprof") || eo.profile != GT_PROFILE_GOROUTINE)) {
		pr_err("--at goes with -f pprof --profile goroutine\n");
		return GT_EXIT_USAGE;
	}
	fn = formats[fi].fn;
	if (labels || eo.profile == GT_PROFILE_LABELS) {
		if (fi > 2 || (eo.profile == GT_PROFILE_LABELS && fi != 2)) {
			pr_err("--labels goes with -f text, jsonl or pprof (--profile labels with -f pprof)\n");
			return GT_EXIT_USAGE;
		}
		fn = labels_fn[fi];
	}
	/* Checked before anything is opened: -o must not be the capture read. */
	if (output && outfile__check(output, (const char *const *)&argv[optind], 1))
		return GT_EXIT_ERROR;
	if (capture__open(&cap, argv[optind]))
		return GT_EXIT_ERROR;
	if (at_s >= 0) {
		const char *start = capture__meta(cap, "record.start_mono_ns");

		eo.at_ns = (start ? strtoll(start, NULL, 10) : 0) + (int64_t)(at_s * 1e9);
	}
	if (outfile__open(&of, output ? output : "-", GT_OUT_ATOMIC, 0644,
			  (const char *const *)&argv[optind], 1) ||
	    !(out = outfile__fdopen(&of))) {
		outfile__abort(&of, NULL);
		capture__close(cap);
		return GT_EXIT_ERROR;
	}
	err = fn(cap, &eo, out);
	if (err)
		outfile__abort(&of, out); /* a failed report leaves OUT as it was */
	else
		err = outfile__commit(&of, out);
	capture__close(cap);
	return err ? GT_EXIT_ERROR : GT_EXIT_OK;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace merge: several captures (hosts, zones, processes) in one trace on
 * one wall-clock axis.  Perfetto and Chrome outputs take the captures one
 * after another through one timeline output object (each packet carries
 * its own time, so order across processes does not matter), then the
 * windows of uncertain order; jsonl is a k-way merge by wall time
 * (merge.c).  Alignment and bounds: docs/clock-and-az.md.
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
#include "export/merge.h"
#include "export/timeline.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace merge CAPTURE... -o OUT [-f perfetto|chrome|jsonl]\n"
		"\n"
		"Put several captures (hosts, zones, processes) on one wall-clock timeline,\n"
		"each placed by its own clock mapping: one process per capture, named by\n"
		"host, zone and pid with its clock error bound.  Where two captures' events\n"
		"are closer than their combined bound, their order is not known: Perfetto\n"
		"and Chrome mark those windows on a \"clock uncertainty\" track, jsonl marks\n"
		"each such event \"order_uncertain\".\n"
		"\n"
		"  -f, --format FORMAT   perfetto (default), chrome, jsonl\n"
		"  -o, --output OUT      write here ('-' = stdout)\n"
		"  -q, --quiet           no warnings\n"
		"  -v, --verbose         more detail\n"
		"\n"
		"example:\n"
		"  gtrace merge vm-a.gtr vm-b.gtr -o both.pftrace   # open in ui.perfetto.dev\n");
}

/* Wall time of the captures' earliest start: Chrome's ts origin (0 = first event). */
static int64_t origin(const struct merge_cap *c, int n)
{
	int64_t o = 0;

	for (int i = 0; i < n; i++)
		if (c[i].start && (!o || c[i].start < o))
			o = c[i].start;
	return o;
}

static int run_timeline(struct merge_cap *c, int n, bool chrome, FILE *out)
{
	struct gt_export_opts eo = { 0 };
	struct tl t;
	int err = chrome ? chrome__open(&t, &eo, out) : perfetto__open(&t, &eo, out);

	if (err)
		return err;
	t.wall = true;
	t.wall_t0 = origin(c, n);
	for (int i = 0; i < n && !err; i++) {
		t.idx = i;
		t.pid = c[i].pid;
		t.proc_name = c[i].name;
		t.proc_desc = c[i].desc;
		t.error_ns = c[i].error_ns;
		err = timeline__add(&t, c[i].cap);
		if (t.first_ts) {
			c[i].first = capture__wall_ns(c[i].cap, t.first_ts);
			c[i].last = capture__wall_ns(c[i].cap, t.last_ts);
		}
	}
	for (int i = 0; i < n && !err; i++) {
		for (int j = i + 1; j < n && !err; j++) {
			struct tl_window w;
			char name[128];

			if (merge__window(&c[i], &c[j], &w, name, sizeof(name)))
				err = timeline__window(&t, &w);
		}
	}
	if (!err)
		err = timeline__finish(&t);
	timeline__close(&t);
	return err;
}

static void say_captures(const struct merge_cap *c, int n)
{
	for (int i = 0; i < n; i++)
		pr_info("merge: capture %d: %s (%s)\n", i, c[i].name, c[i].path);
	for (int i = 0; i < n; i++) {
		for (int j = i + 1; j < n; j++) {
			bool same;
			char b[32];

			merge__fmt_ns(merge__pair_bound(&c[i], &c[j], &same), b, sizeof(b));
			pr_info("merge: captures %d and %d: order known beyond ±%s%s\n", i, j, b,
				same ? " (one host clock)" : "");
		}
	}
}

static int merge(char **paths, int n, const char *format, const char *output)
{
	struct merge_cap *c = calloc(n, sizeof(*c));
	struct gt_outfile of;
	FILE *out = stdout;
	int err = 0, opened = 0;

	if (!c)
		return -ENOMEM;
	/* Before any capture is opened: OUT must not be one of them. */
	err = outfile__check(output, (const char *const *)paths, n);
	if (err)
		goto out;
	for (; opened < n; opened++) {
		struct gt_capture *cap;

		err = capture__open(&cap, paths[opened]);
		if (err)
			goto out;
		merge__describe(&c[opened], cap, opened, paths[opened]);
	}
	merge__unique_pids(c, n);
	say_captures(c, n);
	err = outfile__open(&of, output, GT_OUT_ATOMIC, 0644, (const char *const *)paths, n);
	if (err)
		goto out;
	if (!(out = outfile__fdopen(&of))) {
		outfile__abort(&of, NULL);
		err = -EIO;
		goto out;
	}
	if (!strcmp(format, "jsonl"))
		err = merge__jsonl(c, n, out);
	else
		err = run_timeline(c, n, !strcmp(format, "chrome"), out);
	if (err)
		outfile__abort(&of, out);
	else
		err = outfile__commit(&of, out);
out:
	for (int i = 0; i < opened; i++)
		capture__close(c[i].cap);
	free(c);
	return err;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	const char *format = "perfetto", *output = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "f:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c))
			continue;
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (strcmp(format, "perfetto") && strcmp(format, "chrome") && strcmp(format, "jsonl")) {
		pr_err("unknown merge format '%s' (perfetto, chrome, jsonl)\n", format);
		return GT_EXIT_USAGE;
	}
	if (optind == argc) {
		pr_err("which captures? give one or more CAPTURE files (see 'gtrace merge --help')\n");
		return GT_EXIT_USAGE;
	}
	if (!output) {
		pr_err("where to? give -o OUT ('-' for stdout)\n");
		return GT_EXIT_USAGE;
	}
	if (!strcmp(output, "-") && !strcmp(format, "perfetto") && isatty(fileno(stdout))) {
		pr_err("perfetto output is binary: give -o FILE or redirect stdout\n");
		return GT_EXIT_USAGE;
	}
	return merge(argv + optind, argc - optind, format, output) ? GT_EXIT_ERROR : GT_EXIT_OK;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace snapshot: every goroutine of a running Go process, read from
 * outside (no BPF, no cooperation from the program), as text grouped by
 * identical stack, one JSON object per goroutine, or a pprof goroutine
 * profile.  Unlike Go's own dumps it shows labels, parents and wait times,
 * walks up to 512 frames and says when a stack was cut.  --stop freezes the
 * target with SIGSTOP for the read only, and always resumes it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "commands.h"
#include "debug.h"
#include "goroutines.h"
#include "json.h"
#include "pprof_builder.h"
#include "target.h"

#define MAX_INLINE 16

enum fmt { F_TEXT, F_JSONL, F_PPROF };

struct snap_opts {
	pid_t pid;
	enum fmt fmt;
	const char *output;
	bool stop;
};

static volatile int interrupted;
static volatile pid_t stopped_pid;

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
	if (stopped_pid)
		kill(stopped_pid, SIGCONT);
	interrupted = sig;
}

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- --stop ---- */

/* true when every thread of pid is in the stopped state. */
static bool all_stopped(pid_t pid)
{
	char path[320], buf[512];
	struct dirent *de;
	bool all = true;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return true; /* gone: nothing to wait for */
	while (all && (de = readdir(d))) {
		FILE *f;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
			all = false;
		fclose(f);
	}
	closedir(d);
	return all;
}

static int freeze(pid_t pid)
{
	stopped_pid = pid;
	if (kill(pid, SIGSTOP)) {
		stopped_pid = 0;
		pr_err("cannot stop PID %d: %s\n", pid, strerror(errno));
		return -errno;
	}
	/* SIGSTOP is asynchronous: wait (bounded) until every thread is off its CPU. */
	for (int i = 0; i < 1000 && !all_stopped(pid) && !interrupted; i++)
		usleep(1000);
	return 0;
}

static void thaw(void)
{
	if (stopped_pid)
		kill(stopped_pid, SIGCONT);
	stopped_pid = 0;
}

/* ---- symbolization ---- */

static int frames(const struct gt_target *t, uint64_t ret, struct gt_frame *fr)
{
	int n = pclntab__frames(t->pcln, ret - 1, fr, MAX_INLINE);

	if (n <= 0) {
		fr[0] = (struct gt_frame){ "?", "?", 0 };
		n = 1;
	}
	return n;
}

static const char *func_name(const struct gt_target *t, uint64_t pc)
{
	const struct gt_func *f = pclntab__lookup_pc(t->pcln, pc);

	return f ? f->name : "?";
}

/* Frames shown: the root runtime.goexit is bookkeeping, Go's dumps hide it too. */
static int shown_frames(const struct gt_target *t, const struct gt_goroutine *g)
{
	int n = g->nframes;

	if (n > 1 && !strcmp(func_name(t, g->pcs[n - 1] - 1), "runtime.goexit"))
		n--;
	return n;
}

static void fmt_dur(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ull;

	if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else
		snprintf(buf, len, "%.1fs", ns / 1e9);
}

/* Wait time from the runtime's waitsince: set lazily by the GC, so a lower bound. */
static bool wait_ns(const struct gt_snapshot *s, const struct gt_goroutine *g, uint64_t *ns)
{
	if (g->status != GT_G_WAITING || !g->waitsince || (uint64_t)g->waitsince > s->end_ns)
		return false;
	*ns = s->end_ns - g->waitsince;
	return true;
}

/* ---- grouping ---- */

static const struct gt_target *sort_t;

static int cmp_stack(const struct gt_goroutine *a, const struct gt_goroutine *b)
{
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	return memcmp(a->pcs, b->pcs, a->nframes * sizeof(*a->pcs));
}

static int cmp_labels(const struct gt_goroutine *a, const struct gt_goroutine *b)
{
	if (a->nlabels != b->nlabels)
		return a->nlabels < b->nlabels ? -1 : 1;
	for (int i = 0; i < a->nlabels; i++) {
		int c = strcmp(a->labels[i].key, b->labels[i].key);

		if (c || (c = strcmp(a->labels[i].value, b->labels[i].value)))
			return c;
	}
	return 0;
}

/* Text groups: same stack, same state, same creation site. */
static int cmp_group(const void *pa, const void *pb)
{
	const struct gt_goroutine *a = pa, *b = pb;
	int c = cmp_stack(a, b);

	if (c)
		return c;
	c = strcmp(goroutine__state(sort_t, a), goroutine__state(sort_t, b));
	if (c)
		return c;
	if (a->gopc != b->gopc)
		return a->gopc < b->gopc ? -1 : 1;
	return a->goid < b->goid ? -1 : a->goid > b->goid;
}

struct group {
	size_t first, n;
};

static int cmp_count(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	if (a->n != b->n)
		return a->n < b->n ? 1 : -1;
	return a->first < b->first ? -1 : 1;
}

/* Sorts s->g by group and returns the groups, largest first. */
static struct group *make_groups(const struct gt_target *t, struct gt_snapshot *s, size_t *ng,
				 int (*same)(const struct gt_goroutine *, const struct gt_goroutine *,
					     const struct gt_target *))
{
	struct group *gr = calloc(s->n ? s->n : 1, sizeof(*gr));

	*ng = 0;
	if (!gr)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (*ng && same(&s->g[gr[*ng - 1].first], &s->g[i], t)) {
			gr[*ng - 1].n++;
			continue;
		}
		gr[(*ng)++] = (struct group){ i, 1 };
	}
	qsort(gr, *ng, sizeof(*gr), cmp_count);
	return gr;
}

static int same_text_group(const struct gt_goroutine *a, const struct gt_goroutine *b,
			   const struct gt_target *t)
{
	return !cmp_stack(a, b) && a->gopc == b->gopc &&
	       !strcmp(goroutine__state(t, a), goroutine__state(t, b));
}

/* ---- text ---- */

static void text_labels(FILE *f, const struct gt_goroutine *g)
{
	fprintf(f, " labels {");
	for (int i = 0; i < g->nlabels; i++)
		fprintf(f, "%s%s=\"%s\"", i ? ", " : "", g->labels[i].key, g->labels[i].value);
	fprintf(f, "}%s", (g->flags & GT_G_LABELS_TRUNCATED) ? " (cut)" : "");
}

static void text_goroutine(FILE *f, const struct gt_target *t, const struct gt_snapshot *s,
			   const struct gt_goroutine *g)
{
	char d[32];
	uint64_t ns;

	fprintf(f, "  goroutine %" PRIu64 " [%s", g->goid, goroutine__state(t, g));
	if (g->status == GT_G_WAITING)
		fprintf(f, ", %s", wait_ns(s, g, &ns) ? (fmt_dur(d, sizeof(d), ns), d) : "wait unknown");
	fprintf(f, "]");
	if (g->parent)
		fprintf(f, " parent %" PRIu64, g->parent);
	if (g->tid)
		fprintf(f, " thread %d", g->tid);
	if (g->nlabels || (g->flags & GT_G_LABELS_TRUNCATED))
		text_labels(f, g);
	if (g->flags & GT_G_SYSTEM)
		fprintf(f, " (runtime)");
	if (g->flags & GT_G_INCONSISTENT)
		fprintf(f, " (inconsistent: changed while read %d times)", g->retries + 1);
	fprintf(f, "\n");
}

static void text_frame(FILE *f, const struct gt_target *t, uint64_t ret, bool exact)
{
	struct gt_frame fr[MAX_INLINE];
	const struct gt_func *fn = pclntab__lookup_pc(t->pcln, exact ? ret : ret - 1);
	int n;

	n = exact ? pclntab__frames(t->pcln, ret, fr, MAX_INLINE) : frames(t, ret, fr);
	if (n <= 0) {
		fprintf(f, "?()\n\t? pc=%#" PRIx64 "\n", ret);
		return;
	}
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s(%s)\n\t%s:%d", fr[i].func, i < n - 1 ? "..." : "", fr[i].file,
			fr[i].line);
		if (i == n - 1 && fn)
			fprintf(f, " +%#" PRIx64, ret - fn->entry);
		fprintf(f, "\n");
	}
}

/* "\tfile:line +off" of the outermost frame at a return address (Go's "created by" line). */
static void text_site(FILE *f, const struct gt_target *t, uint64_t ret)
{
	const struct gt_func *fn = pclntab__lookup_pc(t->pcln, ret - 1);
	struct gt_frame fr[MAX_INLINE];
	int n = frames(t, ret, fr);

	fprintf(f, "\t%s:%d", fr[n - 1].file, fr[n - 1].line);
	if (fn)
		fprintf(f, " +%#" PRIx64, ret - fn->entry);
	fprintf(f, "\n");
}

static void text_stack(FILE *f, const struct gt_target *t, const struct gt_goroutine *g)
{
	int n = shown_frames(t, g);

	if (g->flags & GT_G_NO_STACK) {
		fprintf(f, "(%s, stack unavailable from outside the process)\n",
			goroutine__status_name(g->status));
	}
	for (int i = 0, run; i < n; i += run) {
		/* Deep recursion: one frame, then how many times it repeats. */
		for (run = 1; i + run < n && g->pcs[i + run] == g->pcs[i]; run++)
			;
		text_frame(f, t, g->pcs[i], false);
		if (run > 2) {
			text_frame(f, t, g->pcs[i], false);
			fprintf(f, "...%d more calls of the same frame\n", run - 2);
		} else if (run == 2) {
			text_frame(f, t, g->pcs[i], false);
		}
	}
	if (g->flags & GT_G_TRUNCATED)
		fprintf(f, "...cut at %d frames\n", GT_G_MAX_FRAMES);
	if (g->flags & GT_G_STACK_PARTIAL)
		fprintf(f, "...stack walk stopped early (frame chain not readable%s)\n",
			g->status == GT_G_SYSCALL && !t->rt.off.g_syscallbp ?
				": no syscall frame pointer before Go 1.23" : "");
	if (g->gopc) {
		fprintf(f, "created by %s", func_name(t, g->gopc - 1));
		if (g->parent)
			fprintf(f, " in goroutine %" PRIu64, g->parent);
		fprintf(f, "\n");
		text_site(f, t, g->gopc);
	}
}

static void text_header(FILE *f, const struct gt_target *t, const struct gt_snapshot *s,
			const char *stopped)
{
	time_t now = time(NULL);
	char when[64];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	fprintf(f, "gtrace snapshot of pid %d (%s, %s) at %s\n", t->pid, t->exe_name, t->ver.str,
		when);
	fprintf(f, "%zu goroutines (%zu runtime), allglen %zu, read in %.1f ms %s%s\n", s->n,
		s->nsystem, s->allglen, (s->end_ns - s->start_ns) / 1e6, stopped,
		s->target_exited ? "; THE PROCESS EXITED DURING THE READ: partial" : "");
	if (s->ninconsistent)
		fprintf(f, "%zu goroutines changed while read and are marked inconsistent\n",
			s->ninconsistent);
	fprintf(f, "wait times: the runtime's g.waitsince (set by the GC, a lower bound), "
		   "\"wait unknown\" when unset\n");
}

static int out_text(FILE *f, const struct gt_target *t, struct gt_snapshot *s,
		    const char *stopped)
{
	struct group *gr;
	size_t ng;

	sort_t = t;
	qsort(s->g, s->n, sizeof(*s->g), cmp_group);
	gr = make_groups(t, s, &ng, same_text_group);
	if (!gr)
		return -ENOMEM;
	text_header(f, t, s, stopped);
	for (size_t i = 0; i < ng; i++) {
		const struct gt_goroutine *g0 = &s->g[gr[i].first];

		fprintf(f, "\n%zu goroutine%s [%s]:\n", gr[i].n, gr[i].n == 1 ? "" : "s",
			goroutine__state(t, g0));
		for (size_t j = 0; j < gr[i].n; j++)
			text_goroutine(f, t, s, &s->g[gr[i].first + j]);
		text_stack(f, t, g0);
	}
	free(gr);
	return 0;
}

/* ---- jsonl ---- */

static void json_frame(FILE *f, const struct gt_frame *fr, uint64_t pc)
{
	fprintf(f, "{\"func\":");
	json_str(f, fr->func);
	fprintf(f, ",\"file\":");
	json_str(f, fr->file);
	fprintf(f, ",\"line\":%d,\"pc\":%" PRIu64 "}", fr->line, pc);
}

static void json_site(FILE *f, const struct gt_target *t, const char *key, uint64_t pc,
		      bool exact)
{
	struct gt_frame fr[MAX_INLINE];
	int n = exact ? pclntab__frames(t->pcln, pc, fr, MAX_INLINE) : frames(t, pc, fr);

	fprintf(f, ",\"%s\":", key);
	if (!pc || n <= 0) {
		fprintf(f, "null");
		return;
	}
	/* the outermost frame is the function the PC is in */
	json_frame(f, &fr[n - 1], pc);
}

static void json_goroutine(FILE *f, const struct gt_target *t, const struct gt_snapshot *s,
			   const struct gt_goroutine *g)
{
	struct gt_frame fr[MAX_INLINE];
	bool first = true;
	uint64_t ns;

	fprintf(f, "{\"goid\":%" PRIu64 ",\"status\":", g->goid);
	json_str(f, goroutine__status_name(g->status));
	fprintf(f, ",\"state\":");
	json_str(f, goroutine__state(t, g));
	fprintf(f, ",\"wait_reason\":%u", g->reason);
	if (wait_ns(s, g, &ns))
		fprintf(f, ",\"wait_ns\":%" PRIu64 ",\"wait_source\":\"runtime.waitsince\"", ns);
	else
		fprintf(f, ",\"wait_ns\":null,\"wait_source\":\"unknown\"");
	fprintf(f, ",\"parent\":%" PRIu64 ",\"system\":%s,\"thread\":%d", g->parent,
		(g->flags & GT_G_SYSTEM) ? "true" : "false", g->tid);
	json_site(f, t, "created_by", g->gopc, false);
	json_site(f, t, "start", g->startpc, true);
	fprintf(f, ",\"labels\":{");
	for (int i = 0; i < g->nlabels; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_str(f, g->labels[i].key);
		fprintf(f, ":");
		json_str(f, g->labels[i].value);
	}
	fprintf(f, "},\"labels_truncated\":%s,\"stack_available\":%s,\"stack_truncated\":%s,"
		   "\"stack_partial\":%s,\"inconsistent\":%s,\"retries\":%d,\"stack\":[",
		(g->flags & GT_G_LABELS_TRUNCATED) ? "true" : "false",
		(g->flags & GT_G_NO_STACK) ? "false" : "true",
		(g->flags & GT_G_TRUNCATED) ? "true" : "false",
		(g->flags & GT_G_STACK_PARTIAL) ? "true" : "false",
		(g->flags & GT_G_INCONSISTENT) ? "true" : "false", g->retries);
	for (int i = 0; i < g->nframes; i++) {
		int n = frames(t, g->pcs[i], fr);

		for (int j = 0; j < n; j++) {
			fprintf(f, "%s", first ? "" : ",");
			json_frame(f, &fr[j], g->pcs[i]);
			first = false;
		}
	}
	fprintf(f, "]}\n");
}

static int out_jsonl(FILE *f, const struct gt_target *t, struct gt_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_goroutine(f, t, s, &s->g[i]);
	return 0;
}

/* ---- pprof ---- */

static int same_sample(const struct gt_goroutine *a, const struct gt_goroutine *b,
		       const struct gt_target *t)
{
	return !cmp_stack(a, b) && !cmp_labels(a, b) &&
	       (a->flags & GT_G_NO_STACK) == (b->flags & GT_G_NO_STACK);
}

static int cmp_sample(const void *pa, const void *pb)
{
	const struct gt_goroutine *a = pa, *b = pb;
	int c = cmp_stack(a, b);

	return c ? c : cmp_labels(a, b);
}

static int add_sample(struct pprof_builder *b, const struct gt_target *t,
		      const struct gt_goroutine *g, int64_t count)
{
	uint64_t locs[GT_G_MAX_FRAMES + 1];
	struct pprof_label lab[64];
	struct gt_frame fr[MAX_INLINE];
	int n = 0, nl = g->nlabels < 64 ? g->nlabels : 64;

	if (g->flags & GT_G_NO_STACK)
		locs[n++] = pprof_builder__pseudo(b, "[running: stack unavailable]");
	for (int i = 0; i < g->nframes; i++) {
		int k = frames(t, g->pcs[i], fr);

		locs[n++] = pprof_builder__location(b, g->pcs[i], fr, k);
	}
	for (int i = 0; i < nl; i++)
		lab[i] = (struct pprof_label){ g->labels[i].key, g->labels[i].value };
	return pprof_builder__sample(b, locs, n, &count, lab, nl);
}

static int out_pprof(FILE *f, const struct gt_target *t, struct gt_snapshot *s)
{
	struct pprof_builder *b = pprof_builder__new();
	struct timespec now;
	struct group *gr;
	size_t ng;
	int err = 0;

	if (!b)
		return -ENOMEM;
	qsort(s->g, s->n, sizeof(*s->g), cmp_sample);
	gr = make_groups(t, s, &ng, same_sample);
	clock_gettime(CLOCK_REALTIME, &now);
	pprof_builder__sample_type(b, "goroutine", "count");
	pprof_builder__period(b, "goroutine", "count", 1);
	pprof_builder__time(b, now.tv_sec * 1000000000ll + now.tv_nsec, 0);
	pprof_builder__mapping(b, 0, UINT64_MAX, t->exe_name,
			       t->elf.go_build_id[0] ? t->elf.go_build_id : t->elf.gnu_build_id);
	pprof_builder__comment(b, "gtrace snapshot");
	for (size_t i = 0; gr && !err && i < ng; i++)
		err = add_sample(b, t, &s->g[gr[i].first], gr[i].n);
	if (!gr)
		err = -ENOMEM;
	if (!err)
		err = pprof_builder__write(b, f);
	free(gr);
	pprof_builder__free(b);
	return err;
}

/* ---- command ---- */

static int parse_args(int argc, char **argv, struct snap_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "stop", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:f:o:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				o->fmt = F_TEXT;
			else if (!strcmp(optarg, "jsonl"))
				o->fmt = F_JSONL;
			else if (!strcmp(optarg, "pprof"))
				o->fmt = F_PPROF;
			else {
				pr_err("unknown format '%s' (text, jsonl or pprof)\n", optarg);
				return GT_EXIT_USAGE;
			}
			break;
		case 'o': o->output = optarg; break;
		case 'S': o->stop = true; break;
		case 'q': gt_quiet = 1; break;
		case 'v': gt_verbose++; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (!o->pid || optind != argc) {
		if (o->pid)
			pr_err("unexpected argument '%s'\n", argv[optind]);
		else
			pr_err("which process? give -p PID (see 'gtrace snapshot --help')\n");
		return GT_EXIT_USAGE;
	}
	return -1;
}

static int write_out(const struct snap_opts *o, const struct gt_target *t,
		     struct gt_snapshot *s, const char *stopped)
{
	FILE *f = stdout;
	int err;

	if (o->output && !(f = fopen(o->output, "w"))) {
		pr_err("cannot write %s: %s\n", o->output, strerror(errno));
		return -errno;
	}
	if (o->fmt == F_TEXT)
		err = out_text(f, t, s, stopped);
	else if (o->fmt == F_JSONL)
		err = out_jsonl(f, t, s);
	else
		err = out_pprof(f, t, s);
	if (f != stdout && fclose(f) && !err) {
		pr_err("cannot write %s: %s\n", o->output, strerror(errno));
		err = -EIO;
	}
	return err;
}

/* Reads every goroutine, under SIGSTOP when asked; *stop_ns gets how long it was stopped. */
static int take(const struct snap_opts *o, struct gt_greader *r, struct gt_snapshot *s,
		uint64_t *stop_ns)
{
	uint64_t t0 = now_mono();
	int err = o->stop ? freeze(o->pid) : 0;

	if (err)
		return err;
	err = greader__read_all(r, s, &interrupted);
	if (o->stop) {
		thaw();
		*stop_ns = now_mono() - t0;
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
	thaw();
	snapshot__free(&s);
	if (r)
		greader__close(r);
	target__close(&t);
	return err ? GT_EXIT_ERROR : GT_EXIT_OK;
}

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
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/debug.h"
#include "live/goroutines.h"
#include "lib/json.h"
#include "export/pprof_builder.h"
#include "binary/target.h"
#include "lib/u64map.h"

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

/*
 * 100,000 goroutines have a few hundred distinct PCs: each is looked up in
 * pclntab once.  A return address is symbolized at ret-1 (the call), an
 * exact PC (a start function's entry) as is: keys tag the first with the
 * top bit, which no link-time address has.
 */
struct sym {
	const struct gt_func *fn; /* the function holding the PC, or NULL */
	int n;			  /* frames, inlined first; 0 when the PC is in no function */
	struct gt_frame fr[];
};

#define RET_KEY (1ull << 63)

static struct u64map syms;

static const struct sym *sym_at(const struct gt_target *t, uint64_t pc, bool exact)
{
	static const struct sym none = { NULL, 0 };
	uint64_t at = exact ? pc : pc - 1, key = exact ? pc : pc | RET_KEY;
	struct gt_frame fr[MAX_INLINE];
	struct sym *s = key ? u64map__get(&syms, key) : NULL;
	int n;

	if (s || !key)
		return s ? s : &none;
	n = pclntab__frames(t->pcln, at, fr, MAX_INLINE);
	n = n > 0 ? n : 0;
	s = malloc(sizeof(*s) + n * sizeof(*fr));
	if (!s)
		return &none;
	s->fn = pclntab__lookup_pc(t->pcln, at);
	s->n = n;
	memcpy(s->fr, fr, n * sizeof(*fr));
	if (u64map__put(&syms, key, s)) {
		free(s);
		return &none;
	}
	return s;
}

static void syms_free(void)
{
	for (size_t i = 0; i < syms.cap; i++)
		if (syms.keys && syms.keys[i])
			free(syms.vals[i]);
	u64map__free(&syms);
}

static const struct gt_frame unknown_frame = { "?", "?", 0 };

/* The frames at a return address; "?" when it is in no function. */
static int frames(const struct gt_target *t, uint64_t ret, const struct gt_frame **fr)
{
	const struct sym *s = sym_at(t, ret, false);

	*fr = s->n ? s->fr : &unknown_frame;
	return s->n ? s->n : 1;
}

/* The function that called at a return address. */
static const char *func_name(const struct gt_target *t, uint64_t ret)
{
	const struct sym *s = sym_at(t, ret, false);

	return s->fn ? s->fn->name : "?";
}

/* Frames shown: the root runtime.goexit is bookkeeping, Go's dumps hide it too. */
static int shown_frames(const struct gt_target *t, const struct gt_goroutine *g)
{
	int n = g->nframes;

	if (n > 1 && !strcmp(func_name(t, g->pcs[n - 1]), "runtime.goexit"))
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
	/* a snapshot stores each distinct stack once */
	if (a->pcs == b->pcs)
		return 0;
	return memcmp(a->pcs, b->pcs, a->nframes * sizeof(*a->pcs));
}

static int cmp_labels(const struct gt_goroutine *a, const struct gt_goroutine *b)
{
	if (a->nlabels != b->nlabels)
		return a->nlabels < b->nlabels ? -1 : 1;
	if (a->labels == b->labels) /* one label set, shared */
		return 0;
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
	const char *sa, *sb;
	int c = cmp_stack(a, b);

	if (c)
		return c;
	sa = goroutine__state(sort_t, a);
	sb = goroutine__state(sort_t, b);
	c = sa == sb ? 0 : strcmp(sa, sb);
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

/* ---- a line of output, built in memory and written at once ---- */

/* A line being built. */
struct line {
	char *b;
	size_t len, cap;
	bool oom;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = (l->len + n) * 2;
		char *b = realloc(l->b, cap);

		if (!b) {
			l->oom = true;
			return;
		}
		l->b = b;
		l->cap = cap;
	}
	memcpy(l->b + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putu(struct line *l, uint64_t v)
{
	char d[24];
	int i = sizeof(d);

	do
		d[--i] = '0' + v % 10;
	while (v /= 10);
	put(l, d + i, sizeof(d) - i);
}

/* ---- text ---- */

static void text_labels(struct line *l, const struct gt_goroutine *g)
{
	puts_(l, " labels {");
	for (int i = 0; i < g->nlabels; i++) {
		if (i)
			puts_(l, ", ");
		puts_(l, g->labels[i].key);
		puts_(l, "=\"");
		puts_(l, g->labels[i].value);
		puts_(l, "\"");
	}
	puts_(l, (g->flags & GT_G_LABELS_TRUNCATED) ? "} (cut)" : "}");
}

static void text_goroutine(struct line *l, const struct gt_target *t,
			   const struct gt_snapshot *s, const struct gt_goroutine *g)
{
	char d[64];
	uint64_t ns;

	puts_(l, "  goroutine ");
	putu(l, g->goid);
	puts_(l, " [");
	puts_(l, goroutine__state(t, g));
	if (g->status == GT_G_WAITING) {
		puts_(l, ", ");
		puts_(l, wait_ns(s, g, &ns) ? (fmt_dur(d, sizeof(d), ns), d) : "wait unknown");
	}
	puts_(l, "]");
	if (g->parent) {
		puts_(l, " parent ");
		putu(l, g->parent);
	}
	if (g->tid) {
		snprintf(d, sizeof(d), " thread %d", g->tid);
		puts_(l, d);
	}
	if (g->nlabels || (g->flags & GT_G_LABELS_TRUNCATED))
		text_labels(l, g);
	if (g->flags & GT_G_SYSTEM)
		puts_(l, " (runtime)");
	if (g->flags & GT_G_INCONSISTENT) {
		snprintf(d, sizeof(d), " (inconsistent: changed while read %d times)", g->retries + 1);
		puts_(l, d);
	}
	puts_(l, "\n");
}

static void text_frame(FILE *f, const struct gt_target *t, uint64_t ret, bool exact)
{
	const struct sym *s = sym_at(t, ret, exact);
	const struct gt_func *fn = s->fn;
	const struct gt_frame *fr;
	int n;

	n = exact ? s->n : frames(t, ret, &fr);
	if (exact)
		fr = s->fr;
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
	const struct gt_func *fn = sym_at(t, ret, false)->fn;
	const struct gt_frame *fr;
	int n = frames(t, ret, &fr);

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
		fprintf(f, "created by %s", func_name(t, g->gopc));
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
	struct line l = { 0 };
	struct group *gr;
	size_t ng;
	int err = 0;

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
		/* the lines of a group, written together */
		l.len = 0;
		for (size_t j = 0; j < gr[i].n; j++) {
			text_goroutine(&l, t, s, &s->g[gr[i].first + j]);
			if (l.len > 1 << 16) {
				fwrite(l.b, 1, l.len, f);
				l.len = 0;
			}
		}
		if (l.len)
			fwrite(l.b, 1, l.len, f);
		if (l.oom) {
			err = -ENOMEM;
			break;
		}
		text_stack(f, t, g0);
	}
	free(l.b);
	free(gr);
	return err;
}

/* ---- jsonl ---- */

/*
 * A line is mostly parts many goroutines share: the state, creation site,
 * start function, label set and stack.  Each distinct part is rendered once
 * (stacks and label sets are shared by pointer in a snapshot); a line is
 * those parts and a few numbers, written with one fwrite.
 */
struct part {
	size_t len;
	char s[];
};

enum { P_STATE, P_CREATED, P_START, P_LABELS, P_STACK, P_N };

static struct u64map parts[P_N];

static void parts_free(void)
{
	for (int k = 0; k < P_N; k++) {
		for (size_t i = 0; i < parts[k].cap; i++)
			if (parts[k].keys && parts[k].keys[i])
				free(parts[k].vals[i]);
		u64map__free(&parts[k]);
	}
}

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
	const struct sym *s = sym_at(t, pc, exact);
	const struct gt_frame *fr = s->fr;
	int n = exact ? s->n : frames(t, pc, &fr);

	fprintf(f, ",\"%s\":", key);
	if (!pc || n <= 0) {
		fprintf(f, "null");
		return;
	}
	/* the outermost frame is the function the PC is in */
	json_frame(f, &fr[n - 1], pc);
}

static void json_labels(FILE *f, const struct gt_goroutine *g)
{
	fprintf(f, ",\"labels\":{");
	for (int i = 0; i < g->nlabels; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_str(f, g->labels[i].key);
		fprintf(f, ":");
		json_str(f, g->labels[i].value);
	}
	fprintf(f, "}");
}

static void json_stack(FILE *f, const struct gt_target *t, const struct gt_goroutine *g)
{
	bool first = true;

	fprintf(f, ",\"stack\":[");
	for (int i = 0; i < g->nframes; i++) {
		const struct gt_frame *fr;
		int n = frames(t, g->pcs[i], &fr);

		for (int j = 0; j < n; j++) {
			fprintf(f, "%s", first ? "" : ",");
			json_frame(f, &fr[j], g->pcs[i]);
			first = false;
		}
	}
	fprintf(f, "]}\n");
}

/* The part of kind k for g, rendered on first use.  NULL when out of memory. */
static const struct part *part_of(const struct gt_target *t, const struct gt_goroutine *g, int k)
{
	uint64_t key;
	struct part *p;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	switch (k) {
	case P_STATE: key = ((uint64_t)g->status << 8 | g->reason) + 1; break;
	case P_CREATED: key = g->gopc ? g->gopc : ~0ull; break; /* 0: "null" */
	case P_START: key = g->startpc ? g->startpc : ~0ull; break;
	case P_LABELS: key = g->nlabels ? (uintptr_t)g->labels : 1; break;
	default: key = g->nframes ? (uintptr_t)g->pcs : 1; break;
	}
	p = u64map__get(&parts[k], key);
	if (p)
		return p;
	m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	switch (k) {
	case P_STATE:
		fprintf(m, ",\"status\":");
		json_str(m, goroutine__status_name(g->status));
		fprintf(m, ",\"state\":");
		json_str(m, goroutine__state(t, g));
		fprintf(m, ",\"wait_reason\":%u", g->reason);
		break;
	case P_CREATED: json_site(m, t, "created_by", g->gopc, false); break;
	case P_START: json_site(m, t, "start", g->startpc, true); break;
	case P_LABELS: json_labels(m, g); break;
	default: json_stack(m, t, g); break;
	}
	if (fclose(m) || !(p = malloc(sizeof(*p) + len))) {
		free(buf);
		return NULL;
	}
	p->len = len;
	memcpy(p->s, buf, len);
	free(buf);
	if (u64map__put(&parts[k], key, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static void put_part(struct line *l, const struct gt_target *t, const struct gt_goroutine *g,
		     int k)
{
	const struct part *p = part_of(t, g, k);

	if (p)
		put(l, p->s, p->len);
	else
		l->oom = true;
}

static void json_goroutine(struct line *l, const struct gt_target *t,
			   const struct gt_snapshot *s, const struct gt_goroutine *g)
{
	uint64_t ns;

	l->len = 0;
	puts_(l, "{\"goid\":");
	putu(l, g->goid);
	put_part(l, t, g, P_STATE);
	if (wait_ns(s, g, &ns)) {
		puts_(l, ",\"wait_ns\":");
		putu(l, ns);
		puts_(l, ",\"wait_source\":\"runtime.waitsince\"");
	} else {
		puts_(l, ",\"wait_ns\":null,\"wait_source\":\"unknown\"");
	}
	puts_(l, ",\"parent\":");
	putu(l, g->parent);
	puts_(l, (g->flags & GT_G_SYSTEM) ? ",\"system\":true,\"thread\":" :
					    ",\"system\":false,\"thread\":");
	if (g->tid < 0)
		puts_(l, "-");
	putu(l, g->tid < 0 ? -(int64_t)g->tid : g->tid);
	put_part(l, t, g, P_CREATED);
	put_part(l, t, g, P_START);
	put_part(l, t, g, P_LABELS);
	puts_(l, (g->flags & GT_G_LABELS_TRUNCATED) ? ",\"labels_truncated\":true" :
						      ",\"labels_truncated\":false");
	puts_(l, (g->flags & GT_G_NO_STACK) ? ",\"stack_available\":false" :
					      ",\"stack_available\":true");
	puts_(l, (g->flags & GT_G_TRUNCATED) ? ",\"stack_truncated\":true" :
					       ",\"stack_truncated\":false");
	puts_(l, (g->flags & GT_G_STACK_PARTIAL) ? ",\"stack_partial\":true" :
						   ",\"stack_partial\":false");
	puts_(l, (g->flags & GT_G_INCONSISTENT) ? ",\"inconsistent\":true" :
						  ",\"inconsistent\":false");
	puts_(l, ",\"retries\":");
	putu(l, g->retries);
	put_part(l, t, g, P_STACK);
}

static int out_jsonl(FILE *f, const struct gt_target *t, struct gt_snapshot *s)
{
	struct line l = { 0 };
	int err = 0;

	for (size_t i = 0; !err && i < s->n; i++) {
		json_goroutine(&l, t, s, &s->g[i]);
		if (l.oom)
			err = -ENOMEM;
		else
			fwrite(l.b, 1, l.len, f);
	}
	free(l.b);
	parts_free();
	return err;
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
	const struct gt_frame *fr;
	int n = 0, nl = g->nlabels < 64 ? g->nlabels : 64;

	if (g->flags & GT_G_NO_STACK)
		locs[n++] = pprof_builder__pseudo(b, "[running: stack unavailable]");
	for (int i = 0; i < g->nframes; i++) {
		int k = frames(t, g->pcs[i], &fr);

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
	syms_free();
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

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's loop (see agent.h).  Single-threaded except for the sender:
 * sampling, discovery and metrics share one poll, so a slow endpoint never
 * delays a sample and a window is cut on time.  A process that exits has
 * its partial window cut at once and shipped with the window it fell in;
 * one that execs is a new process from then on (the old image's window is
 * cut first).  Log lines are per lifecycle change, never per window.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "lib/clock.h"
#include "lib/debug.h"
#include "lib/u64map.h"
#include "live/proc_events.h"
#include <linux/types.h>
#include "bpf/gtrace_events.h"
#include "agent/agent.h"
#include "live/tracer.h"
#include "agent/agent_priv.h"
#include "agent/batch.h"
#include "agent/dirsink.h"
#include "agent/discovery.h"
#include "agent/identity.h"
#include "agent/metrics.h"
#include "agent/window_profiles.h"
#include "agent/window_slices.h"

#define RESCAN_S 10	     /* /proc safety net with exec events */
#define RESCAN_NO_EVENTS_S 1 /* without them (no BPF): the only discovery */

static int64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int64_t window_ns(const struct agent *a)
{
	return (int64_t)(a->o->window_s * 1e9);
}

/* ---- processes ---- */

static bool wanted(struct agent *a, const struct agent_identity *id)
{
	if (a->has_inc && regexec(&a->inc, id->service, 0, NULL, 0) &&
	    regexec(&a->inc, id->exe_path, 0, NULL, 0))
		return false;
	if (a->has_exc && (!regexec(&a->exc, id->service, 0, NULL, 0) ||
			   !regexec(&a->exc, id->exe_path, 0, NULL, 0)))
		return false;
	return true;
}


static void consider(void *ctx, pid_t pid)
{
	struct agent *a = ctx;
	struct agent_binary *bin;
	/* with slices, the sampler's reads and the probes share the budget half and half */
	struct wprof_opts wo = { a->o->sample_hz, 1, a->slicing ? a->o->budget / 2 : a->o->budget };
	struct proc *p;
	int err;

	struct agent_identity id;

	if (pid == a->self || u64map__get(&a->procs, pid) || u64map__get(&a->skipped, pid))
		return;
	/* names first: an excluded process never costs a binary inspection */
	if (identity__read(pid, NULL, &id))
		return;
	if (!wanted(a, &id)) {
		pr_debug("pid %d (%s): excluded\n", pid, id.service);
		u64map__put(&a->skipped, pid, (void *)1);
		return;
	}
	bin = binaries__get(a->bins, pid, &err);
	if (!bin) {
		if (!err) /* not Go: one check per binary; remember the pid too */
			u64map__put(&a->skipped, pid, (void *)1);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	p->pid = pid;
	p->bin = bin;
	p->id = id;
	err = target__bind(&p->t, &bin->t, pid);
	if (err)
		goto fail; /* gone already */
	identity__set_binary(&p->id, &p->t);
	err = wprof__open(&p->w, &p->t, &wo);
	if (err) {
		if (err != -ESRCH) {
			pr_warn("pid %d (%s): cannot read its goroutines (%s), not profiled\n", pid,
				p->id.exe_path, strerror(-err));
			a->failed++;
		}
		u64map__put(&a->skipped, pid, (void *)1);
		goto fail;
	}
	p->win_start = now_real();
	if (u64map__put(&a->procs, pid, p))
		goto fail;
	if (a->slicing)
		slices__open(a, p);
	cpu__add(a, p);
	a->started++;
	pr_info("gtrace: agent: profiling pid %d: service %s (from %s), %s, %s\n", pid,
		p->id.service, p->id.service_source, p->id.exe_path, p->t.ver.str);
	return;
fail:
	if (p && p->w)
		wprof__close(p->w);
	free(p);
	binaries__put(a->bins, bin);
}


/* Cuts what p has of the current window into the pending list and drops p. */
static void retire(struct agent *a, struct proc *p, const char *why)
{
	struct pending *pd = calloc(1, sizeof(*pd));
	struct wprof_stats st;
	int64_t end = now_real();
	bool attached;

	slices__opened(p, true);
	/* said in the lifecycle line: the probes outlived the process and are closed now */
	attached = p->ws && wslice__attached(p->ws);

	cpu__drain(a); /* while p is still in procs: its last samples reach it */
	u64map__del(&a->procs, p->pid);
	if (pd && !wprof__cut(p->w, p->win_start, end > p->win_start ? end : p->win_start + 1, 1,
			      &pd->w, &st)) {
		if (p->ws)
			slices__cut(a, p, p->win_start, end > p->win_start ? end : p->win_start + 1, 1,
				   &pd->w);
		cpu__cut(a, p, p->win_start, end > p->win_start ? end : p->win_start + 1, &pd->w);
		identity__copy(&pd->id, &p->id);
		pd->next = a->pending;
		a->pending = pd;
		a->reads += st.reads;
		a->goroutines += st.goroutines;
	} else {
		free(pd);
	}
	a->exited++;
	pr_info("gtrace: agent: pid %d (%s) %s after %" PRIu64 " windows%s; its last partial "
		"window goes out with this one\n", p->pid, p->id.service, why, p->windows,
		attached ? " (mid-slice: its probes detached)" : "");
	wslice__close(p->ws);
	cpu__remove(a, p);
	wprof__close(p->w);
	binaries__put(a->bins, p->bin);
	free(p);
}

static void on_proc_event(void *ctx, int kind, pid_t pid)
{
	struct agent *a = ctx;
	struct proc *p = u64map__get(&a->procs, pid);

	a->proc_events++;
	if (p)
		retire(a, p, kind == GT_PROC_EXEC ? "exec'd a new program" : "exited");
	u64map__del(&a->skipped, pid);
	if (kind == GT_PROC_EXEC)
		consider(a, pid);
}

/* ---- windows ---- */

/* Adds the labels of one profile of one process.  Identity first, then host, zone, user. */
static void series_labels(struct agent *a, struct agent_series *s, const struct agent_identity *id,
			  const struct agent_profile *p, char *duty, size_t dlen)
{
	const char *host[][2] = {
		{ "host.name", a->az.host },
		{ "cloud.availability_zone", a->az.az },
		{ "cloud.region", a->az.region },
		{ "cloud.provider", a->az.provider },
	};

	s->p = p;
	s->service = id->service;
	s->nlabels = 0;
	for (int i = 0; i < id->nattrs && s->nlabels < BATCH_MAX_LABELS; i++) {
		s->label[s->nlabels][0] = id->attr[i][0];
		s->label[s->nlabels++][1] = id->attr[i][1];
	}
	for (size_t i = 0; i < sizeof(host) / sizeof(*host); i++)
		if (host[i][1][0] && s->nlabels < BATCH_MAX_LABELS) {
			s->label[s->nlabels][0] = host[i][0];
			s->label[s->nlabels++][1] = host[i][1];
		}
	snprintf(duty, dlen, "%.3g", p->duty);
	if (s->nlabels < BATCH_MAX_LABELS) {
		s->label[s->nlabels][0] = "gtrace.duty_cycle";
		s->label[s->nlabels++][1] = duty;
	}
	for (int i = 0; i < a->o->nlabels && s->nlabels < BATCH_MAX_LABELS; i++) {
		s->label[s->nlabels][0] = a->o->labels[i][0];
		s->label[s->nlabels++][1] = a->o->labels[i][1];
	}
}

/* Room for n more series in b. */
static int batch_reserve(struct agent_batch *b, int n)
{
	if (b->n + n > b->cap) {
		int cap = (b->n + n) * 2;
		struct agent_series *s = realloc(b->s, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = cap;
	}
	return 0;
}

static void ship_batch(struct agent *a, const struct agent_batch *b)
{
	uint8_t *body;
	size_t len;

	if (!b->n)
		return;
	if (a->sink_of[SINK_PYRO] >= 0) {
		if (!pyroscope__encode(b, &body, &len)) {
			shipper__enqueue(a->ship, a->sink_of[SINK_PYRO], body, len);
			free(body);
		} else {
			a->encode_errors++;
		}
	}
	if (a->sink_of[SINK_OTLP] >= 0) {
		if (!otlp__encode(b, &body, &len)) {
			shipper__enqueue(a->ship, a->sink_of[SINK_OTLP], body, len);
			free(body);
		} else {
			a->encode_errors++;
		}
	}
	if (a->dir)
		dirsink__write(a->dir, b);
}

/* Ends the window at end (UTC ns) for every process and ships it. */
static void cut_window(struct agent *a, int64_t end)
{
	struct agent_batch b = { .start_ns = a->win_start, .end_ns = end };
	struct agent_window *ws = NULL;
	struct agent_identity **ids = NULL;
	char (*duty)[16] = NULL;
	size_t nw = 0, cap = a->procs.len + 1;
	int total = 0;
	struct pending *pd;

	for (pd = a->pending; pd; pd = pd->next)
		cap++;
	ws = calloc(cap, sizeof(*ws));
	ids = calloc(cap, sizeof(*ids));
	if (!ws || !ids)
		goto out;
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);

		if (!p)
			continue;
		/* found after this window's end (a long first scan): its samples go to the next */
		if (p->win_start >= end)
			continue;
		if (wprof__cut(p->w, p->win_start, end, 0, &ws[nw], &p->last))
			continue;
		if (p->ws)
			slices__cut(a, p, p->win_start, end, 0, &ws[nw]);
		cpu__cut(a, p, p->win_start, end, &ws[nw]);
		ids[nw++] = &p->id;
		p->win_start = end;
		p->windows++;
		a->reads += p->last.reads;
		a->goroutines += p->last.goroutines;
	}
	for (pd = a->pending; pd && nw < cap; pd = pd->next) {
		ws[nw] = pd->w;
		ids[nw++] = &pd->id;
	}
	for (size_t i = 0; i < nw; i++)
		total += ws[i].n;
	if (batch_reserve(&b, total))
		goto out;
	duty = calloc(b.cap ? b.cap : 1, sizeof(*duty));
	if (!duty)
		goto out;
	for (size_t i = 0; i < nw; i++)
		for (int j = 0; j < ws[i].n; j++, b.n++)
			series_labels(a, &b.s[b.n], ids[i], &ws[i].p[j], duty[b.n], sizeof(*duty));
	ship_batch(a, &b);
	a->windows++;
	a->profiles += b.n;
out:
	for (size_t i = 0; ws && i < nw; i++)
		agent_window__free(&ws[i]);
	while ((pd = a->pending)) {
		a->pending = pd->next;
		free(pd);
	}
	free(ws);
	free(ids);
	free(duty);
	free(b.s);
	a->win_start = end;
}

/* ---- metrics ---- */


static void render(void *ctx, FILE *f)
{
	static const char *sink_names[2] = { "pyroscope", "otlp" };
	struct agent *a = ctx;
	struct rusage ru;
	uint64_t rss = 0, inspected, open;
	long pages;
	FILE *sm;

	getrusage(RUSAGE_SELF, &ru);
	sm = fopen("/proc/self/statm", "r");
	if (sm && fscanf(sm, "%*d %ld", &pages) == 1)
		rss = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	if (sm)
		fclose(sm);
	binaries__counts(a->bins, &inspected, &open);
	fprintf(f, "# HELP gtrace_processes_profiled Go processes being profiled now.\n"
		   "# TYPE gtrace_processes_profiled gauge\ngtrace_processes_profiled %zu\n",
		a->procs.len);
	fprintf(f, "# HELP gtrace_processes_started_total Processes whose profiling started.\n"
		   "# TYPE gtrace_processes_started_total counter\ngtrace_processes_started_total %" PRIu64 "\n",
		a->started);
	fprintf(f, "# HELP gtrace_processes_exited_total Profiled processes that exited or exec'd.\n"
		   "# TYPE gtrace_processes_exited_total counter\ngtrace_processes_exited_total %" PRIu64 "\n",
		a->exited);
	fprintf(f, "# HELP gtrace_processes_failed_total Go processes that could not be read.\n"
		   "# TYPE gtrace_processes_failed_total counter\ngtrace_processes_failed_total %" PRIu64 "\n",
		a->failed);
	fprintf(f, "# HELP gtrace_binaries_inspected_total Distinct executables inspected.\n"
		   "# TYPE gtrace_binaries_inspected_total counter\ngtrace_binaries_inspected_total %" PRIu64 "\n"
		   "# HELP gtrace_binaries_open Go executables open (shared by their processes).\n"
		   "# TYPE gtrace_binaries_open gauge\ngtrace_binaries_open %" PRIu64 "\n",
		inspected, open);
	fprintf(f, "# HELP gtrace_windows_total Windows cut.\n"
		   "# TYPE gtrace_windows_total counter\ngtrace_windows_total %" PRIu64 "\n"
		   "# HELP gtrace_profiles_total Profiles produced (all processes, all types).\n"
		   "# TYPE gtrace_profiles_total counter\ngtrace_profiles_total %" PRIu64 "\n",
		a->windows, a->profiles);
	fprintf(f, "# HELP gtrace_events_total Exec/exit events received from the kernel.\n"
		   "# TYPE gtrace_events_total counter\ngtrace_events_total %" PRIu64 "\n"
		   "# HELP gtrace_lost_total Exec/exit events the kernel could not queue.\n"
		   "# TYPE gtrace_lost_total counter\ngtrace_lost_total %" PRIu64 "\n",
		a->proc_events, a->pe ? proc_events__lost(a->pe) : 0);
	fprintf(f, "# HELP gtrace_sample_reads_total Goroutine snapshots taken.\n"
		   "# TYPE gtrace_sample_reads_total counter\ngtrace_sample_reads_total %" PRIu64 "\n"
		   "# HELP gtrace_goroutines_sampled_total Goroutines seen, summed over reads.\n"
		   "# TYPE gtrace_goroutines_sampled_total counter\ngtrace_goroutines_sampled_total %" PRIu64 "\n",
		a->reads, a->goroutines);
	fprintf(f, "# HELP gtrace_windows_pushed_total Windows a sink accepted.\n"
		   "# TYPE gtrace_windows_pushed_total counter\n");
	for (int k = 0; k < 2; k++) {
		struct ship_stats st;

		if (a->sink_of[k] < 0)
			continue;
		shipper__stats(a->ship, a->sink_of[k], &st);
		fprintf(f, "gtrace_windows_pushed_total{sink=\"%s\"} %" PRIu64 "\n", sink_names[k], st.sent);
	}
	fprintf(f, "# HELP gtrace_push_errors_total Failed pushes (each retry counts).\n"
		   "# TYPE gtrace_push_errors_total counter\n");
	for (int k = 0; k < 2; k++) {
		struct ship_stats st;

		if (a->sink_of[k] < 0)
			continue;
		shipper__stats(a->ship, a->sink_of[k], &st);
		fprintf(f, "gtrace_push_errors_total{sink=\"%s\"} %" PRIu64 "\n", sink_names[k], st.errors);
		fprintf(f, "gtrace_windows_dropped_total{sink=\"%s\"} %" PRIu64 "\n", sink_names[k],
			st.dropped + st.refused);
		fprintf(f, "gtrace_spool_bytes{sink=\"%s\"} %" PRIu64 "\n", sink_names[k], st.spool_bytes);
		fprintf(f, "gtrace_queued_windows{sink=\"%s\"} %" PRIu64 "\n", sink_names[k], st.queued);
		fprintf(f, "gtrace_sink_up{sink=\"%s\"} %d\n", sink_names[k], st.up);
	}
	if (a->dir)
		fprintf(f, "# TYPE gtrace_dir_bytes gauge\ngtrace_dir_bytes %" PRIu64 "\n",
			dirsink__bytes(a->dir));
	fprintf(f, "# HELP gtrace_budget_spent_ratio What the agent cost a process (its reads, its "
		   "draining and cutting of slices, the probes' and the CPU sampler's cost in the target) over that process's own CPU, last window.\n# TYPE gtrace_budget_spent_ratio gauge\n");
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);

		if (!p)
			continue;
		fprintf(f, "gtrace_budget_spent_ratio{pid=\"%d\",service=\"%s\"} %.6g\n", p->pid,
			p->id.service, p->last.spent + (p->ws ? p->ws_last.spent +
			(p->ws_last.target_ns ? (double)p->ws_last.cost_ns / p->ws_last.target_ns : 0) : 0) +
			p->cpu_last_spent);
		fprintf(f, "gtrace_agent_cpu_per_process_seconds{pid=\"%d\",service=\"%s\"} %.6g\n",
			p->pid, p->id.service, p->last.cost_ns / 1e9);
		fprintf(f, "gtrace_sample_rate_hz{pid=\"%d\",service=\"%s\"} %.4g\n", p->pid,
			p->id.service, p->last.hz ? p->last.hz : a->o->sample_hz);
	}
	if (a->slicing)
		slices__render(a, f);
	cpu__render(a, f);
	fprintf(f, "# HELP gtrace_budget_ratio The --budget asked for.\n"
		   "# TYPE gtrace_budget_ratio gauge\ngtrace_budget_ratio %g\n", a->o->budget);
	fprintf(f, "# HELP gtrace_agent_cpu_seconds_total The agent's own CPU time.\n"
		   "# TYPE gtrace_agent_cpu_seconds_total counter\ngtrace_agent_cpu_seconds_total %.6f\n",
		ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	fprintf(f, "# HELP gtrace_agent_rss_bytes The agent's resident memory.\n"
		   "# TYPE gtrace_agent_rss_bytes gauge\ngtrace_agent_rss_bytes %" PRIu64 "\n", rss);
}

/* ---- setup and loop ---- */

static void url_with(char *out, size_t len, const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	if (n >= strlen(path) && !strncmp(base + n - strlen(path), path, strlen(path)))
		snprintf(out, len, "%.*s", (int)n, base);
	else
		snprintf(out, len, "%.*s%s", (int)n, base, path);
}


static int setup(struct agent *a, const struct agent_opts *o)
{
	struct ship_sink_opts sinks[2];
	struct ship_opts so = { o->spool, o->spool_max };
	int err;

	a->o = o;
	a->self = getpid();
	a->sink_of[0] = a->sink_of[1] = -1;
	if (o->include && regcomp(&a->inc, o->include, REG_EXTENDED | REG_NOSUB)) {
		pr_err("invalid --include regex '%s'\n", o->include);
		return -EINVAL;
	}
	a->has_inc = o->include;
	if (o->exclude && regcomp(&a->exc, o->exclude, REG_EXTENDED | REG_NOSUB)) {
		pr_err("invalid --exclude regex '%s'\n", o->exclude);
		return -EINVAL;
	}
	a->has_exc = o->exclude;
	if (o->pyroscope_url) {
		sinks[a->nsinks] = o->pyroscope;
		url_with(a->pyro_url, sizeof(a->pyro_url), o->pyroscope_url,
			 "/push.v1.PusherService/Push");
		sinks[a->nsinks].name = "pyroscope";
		sinks[a->nsinks].url = a->pyro_url;
		sinks[a->nsinks].content_type = "application/proto";
		a->sink_of[SINK_PYRO] = a->nsinks++;
	}
	if (o->otlp_url) {
		sinks[a->nsinks] = o->otlp;
		url_with(a->otlp_url, sizeof(a->otlp_url), o->otlp_url, "/v1development/profiles");
		sinks[a->nsinks].name = "otlp";
		sinks[a->nsinks].url = a->otlp_url;
		sinks[a->nsinks].content_type = "application/x-protobuf";
		a->sink_of[SINK_OTLP] = a->nsinks++;
	}
	err = shipper__open(&a->ship, &so, sinks, a->nsinks);
	if (err)
		return err;
	if (o->dir && (err = dirsink__open(&a->dir, o->dir, o->dir_max)))
		return err;
	if (o->metrics_addr && (err = metrics__open(&a->ms, o->metrics_addr, render, a)))
		return err;
	az__resolve(&o->az, &a->az);
	if (o->budget > 0) {
		/*
		 * Probes load on threads; each thread that mallocs would get its own
		 * glibc arena (~1.4 MB resident each): two are plenty.
		 */
		mallopt(M_ARENA_MAX, 2);
		/*
		 * And a fixed mmap threshold: glibc's sliding one rises after the
		 * first BTF buffer is freed, and later ones then stay in the heap.
		 */
		mallopt(M_MMAP_THRESHOLD, 256 << 10);
		slices__setup(a, o);
	}
	cpu__setup(a, o);
	a->bins = binaries__new();
	if (!a->bins)
		return -ENOMEM;
	if (proc_events__open(&a->pe, on_proc_event, a)) {
		pr_warn("no exec/exit events: finding processes by scanning /proc every %d s\n",
			RESCAN_NO_EVENTS_S);
		a->pe = NULL;
	}
	return 0;
}

static void teardown(struct agent *a)
{
	free(a->pfd);
	free(a->pfd_proc);
	a->pfd = NULL;
	a->pfd_proc = NULL;
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);

		if (!p)
			continue;
		slices__opened(p, true);
		wslice__close(p->ws);
		cpu__remove(a, p);
		wprof__close(p->w);
		binaries__put(a->bins, p->bin);
		free(p);
	}
	u64map__free(&a->procs);
	/* the links closing on their own threads must be gone before the exit (tracer.h) */
	if (tracer__wait_detached(5000000000ull))
		pr_warn("gtrace: agent: probes still detaching after 5 s; exiting may leave "
			"breakpoints in targets (dmesg: \"leaking uprobe\")\n");
	cpu__close(a);
	if (a->tmpdir[0])
		rmdir(a->tmpdir);
	u64map__free(&a->skipped);
	proc_events__close(a->pe);
	shipper__close(a->ship, a->o->flush_grace_s);
	dirsink__close(a->dir);
	metrics__close(a->ms);
	binaries__free(a->bins);
	if (a->has_inc)
		regfree(&a->inc);
	if (a->has_exc)
		regfree(&a->exc);
}


/* Room in a.pfd for the fixed fds and one per process. */
static int grow_pollfds(struct agent *a)
{
	size_t want = 3 + a->procs.len;

	if (want <= a->pfd_cap)
		return 0;
	want += want / 2;
	struct pollfd *n = realloc(a->pfd, want * sizeof(*n));
	struct proc **np = realloc(a->pfd_proc, want * sizeof(*np));

	if (n)
		a->pfd = n;
	if (np)
		a->pfd_proc = np;
	if (!n || !np) {
		pr_err("agent: out of memory\n");
		return -ENOMEM;
	}
	a->pfd_cap = want;
	return 0;
}

/* The ring buffers of the processes being sliced, into pf (a.pfd_proc says whose). */
static int slice_fds(struct agent *a, struct pollfd *pf)
{
	int n = 0;

	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);
		int fd;

		if (!p)
			continue;
		if (!p->ws || (fd = wslice__fd(p->ws)) < 0)
			continue;
		a->pfd_proc[n] = p;
		pf[n++] = (struct pollfd){ fd, POLLIN, 0 };
	}
	return n;
}

/* Samples every process that is due; returns the earliest next due time. */
static uint64_t tick_all(struct agent *a, uint64_t now)
{
	uint64_t next = now + 1000000000ull;

	for (size_t i = 0; i < a->procs.cap; i++) {
		struct proc *p = agent__proc_at(a, i);
		int err;

		if (!p)
			continue;
		slices__opened(p, false);
		if (p->ws && p->ws_due <= now) {
			p->ws_due = wslice__tick(p->ws, now, &err);
			if (err == -ESRCH) {
				retire(a, p, "exited");
				i = (size_t)-1;
				continue;
			}
			if (err) {
				/* detached at once: never probes nobody drains */
				pr_warn("pid %d (%s): exact profiles stopped (%s); sampling goes on\n",
					p->pid, p->id.service, strerror(-err));
				wslice__close(p->ws);
				p->ws = NULL;
			}
		}
		if (p->ws && p->ws_due < next)
			next = p->ws_due;
		if (p->next_due > now) {
			next = p->next_due < next ? p->next_due : next;
			continue;
		}
		uint64_t cs;

		p->next_due = wprof__tick(p->w, now, &err);
		cs = cpu__charge(a, p);
		/*
		 * The CPU sampler's program and interrupts run in the target: they
		 * come off the slices' half.  The sampling passes are not charged
		 * there: they keep to the other half themselves (wprof's rate), and
		 * charging them to both halves made a light target's passes leave
		 * its slices nothing.
		 */
		if (p->ws && err != -ESRCH)
			wslice__charge_fixed(p->ws, cs);
		if (err == -ESRCH) {
			retire(a, p, "exited");
			i = (size_t)-1; /* the map shifted: start over */
			continue;
		}
		next = p->next_due < next ? p->next_due : next;
	}
	return next;
}

int agent__run(const struct agent_opts *o, volatile sig_atomic_t *stop)
{
	struct agent a = { 0 };
	int64_t wns, t_end = 0;
	uint64_t next_scan = 0;
	int nfixed, err = setup(&a, o);

	if (err) {
		teardown(&a);
		return err;
	}
	wns = window_ns(&a);
	a.win_start = now_real();
	/* windows end on wall-clock multiples of --window, the same for every process */
	a.win_end = (a.win_start / wns + 1) * wns;
	if (o->duration_s > 0)
		t_end = a.win_start + (int64_t)(o->duration_s * 1e9);
	char slices[96] = "";

	if (a.slicing)
		snprintf(slices, sizeof(slices), " (exact profiles in slices; probes at most %g%% of "
			 "a core host-wide, a trap %.0f ns here)", o->host_budget * 100, a.trap_ns);
	char cpu[48] = ", no cpu profile";

	if (a.cpu)
		snprintf(cpu, sizeof(cpu), ", cpu sampled at %u Hz", o->cpu_hz);
	pr_info("gtrace: agent: %s%s%s%s%s%s, window %gs, budget %g%%%s%s, zone %s; SIGTERM/Ctrl-C to stop\n",
		o->pyroscope_url ? "pushing to Pyroscope " : "", o->pyroscope_url ? a.pyro_url : "",
		o->otlp_url ? (o->pyroscope_url ? " and OTLP " : "pushing to OTLP ") : "",
		o->otlp_url ? a.otlp_url : "", o->dir ? (o->pyroscope_url || o->otlp_url ? ", files in " : "files in ") : "",
		o->dir ? o->dir : "", o->window_s, o->budget * 100, slices, cpu,
		a.az.az[0] ? a.az.az : "unknown");
	while (!*stop) {
		struct pollfd *pf;
		int npf = 0, timeout;
		uint64_t mono = clock__mono_ns(), next;
		int64_t real;

		if (mono >= next_scan) {
			discovery__scan(consider, &a);
			next_scan = mono + (a.pe ? RESCAN_S : RESCAN_NO_EVENTS_S) * 1000000000ull;
		}
		slices__host_cap(&a, mono);
		cpu__drain(&a);
		next = tick_all(&a, mono);
		real = now_real();
		if (real >= a.win_end) {
			cut_window(&a, a.win_end);
			a.win_end += wns;
			if (a.win_end <= real) /* the loop stalled past whole windows: realign */
				a.win_end = (real / wns + 1) * wns;
		}
		if (t_end && real >= t_end)
			break;
		if (next > next_scan)
			next = next_scan;
		timeout = (int)((next - clock__mono_ns()) / 1000000);
		if ((int64_t)(next - clock__mono_ns()) < 0)
			timeout = 0;
		if ((a.win_end - now_real()) / 1000000 < timeout)
			timeout = (int)((a.win_end - now_real()) / 1000000);
		timeout = timeout < 0 ? 0 : timeout + 1;
		if (grow_pollfds(&a))
			break;
		pf = a.pfd;
		if (a.pe)
			pf[npf++] = (struct pollfd){ proc_events__fd(a.pe), POLLIN, 0 };
		if (a.ms)
			pf[npf++] = (struct pollfd){ metrics__fd(a.ms), POLLIN, 0 };
		if (cpu__fd(&a) >= 0)
			pf[npf++] = (struct pollfd){ cpu__fd(&a), POLLIN, 0 };
		nfixed = npf;
		npf += slice_fds(&a, pf + npf);
		if (poll(pf, npf, timeout) > 0) {
			for (int i = 0; i < npf; i++) {
				if (!(pf[i].revents & POLLIN))
					continue;
				if (i >= nfixed)
					a.pfd_proc[i - nfixed]->ws_due = 0; /* its ring buffer: drain now */
				else if (a.pe && pf[i].fd == proc_events__fd(a.pe))
					proc_events__consume(a.pe);
				else if (pf[i].fd == cpu__fd(&a))
					cpu__drain(&a);
				else if (a.ms)
					metrics__serve(a.ms);
			}
		}
	}
	/* the current window, partial, goes out too */
	cut_window(&a, now_real());
	pr_info("gtrace: agent: stopping: %" PRIu64 " windows, %" PRIu64 " profiles, %zu processes "
		"profiled now\n", a.windows, a.profiles, a.procs.len);
	teardown(&a);
	return 0;
}

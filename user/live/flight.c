// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The flight recorder (flight.h): records go into the window and move the
 * live gstate (what triggers look at); records leaving the window move the
 * base gstate (the goroutines as the window begins, written as SNAPSHOT
 * records at the head of each dump).  Both are the one goroutine state
 * machine the reports use, so a dump's start state and a trigger's view
 * of the target agree with what `gtrace report` computes from the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "binary/target.h"
#include "capture/gstate.h"
#include "lib/clock.h"
#include "lib/debug.h"
#include "lib/u64map.h"
#include "live/capture_session.h"
#include "live/flight.h"
#include "live/flight_ring.h"
#include "live/snapshot_records.h"
#include "live/tracer.h"

#define CHECK_NS 250000000ull /* how often trigger conditions are evaluated */
#define DEFS_MAX (1u << 18)   /* stack + label set definitions kept */

struct flight {
	struct gt_target target;
	struct flight_opts *o;
	struct gt_tracer *tr;
	struct flight_ring ring;
	struct u64map stacks, labelsets; /* id -> definition record (malloc'd) */
	size_t defs_bytes, defs_dropped;
	struct gstate live, base; /* goroutines now, and as the window begins */
	uint64_t events;
	struct capture_loss loss;
	uint32_t mask;
	struct gt_az az;
	int dumps;
	char last_dump[80];
	int err;
};

/* ---- goroutine state ---- */

static const char *target_func(void *arg, uint64_t pc)
{
	const struct gt_func *fn = pclntab__lookup_pc(((struct gt_target *)arg)->pcln, pc);

	return fn ? fn->name : NULL;
}

static const char *target_reason(void *arg, unsigned reason)
{
	return reason < 256 ? ((struct gt_target *)arg)->rt.waitreason[reason] : NULL;
}

/*
 * Moves gs along by one record.  Loss windows stay out: gstate keeps each
 * one for its intervals, which the recorder has none of, and a recorder
 * runs for ever.
 */
static int feed(struct gstate *gs, const struct gt_event_hdr *h)
{
	if (h->type == GT_EV_LOSS || h->type == GT_EV_GAP)
		return 0;
	return gstate__event(gs, h);
}

static void feed_base(void *arg, const struct gt_event_hdr *h)
{
	struct flight *f = arg;
	int err = feed(&f->base, h);

	if (err && !f->err)
		f->err = err;
}

/* ---- definitions ---- */

/* Keeps a definition for every future dump; label sets also feed label: triggers. */
static void keep_def(struct flight *f, const struct gt_event_hdr *h)
{
	struct u64map *m = h->type == GT_EV_STACK ? &f->stacks : &f->labelsets;
	uint64_t id = h->type == GT_EV_STACK ? ((const struct gt_ev_stack *)h)->id
					     : ((const struct gt_ev_labelset *)h)->id;
	void *copy;

	if (!id || u64map__get(m, id))
		return;
	if (f->stacks.len + f->labelsets.len >= DEFS_MAX || !(copy = malloc(h->size))) {
		f->defs_dropped++;
		return;
	}
	memcpy(copy, h, h->size);
	if (u64map__put(m, id, copy)) {
		free(copy);
		f->defs_dropped++;
		return;
	}
	f->defs_bytes += h->size;
	if (h->type == GT_EV_LABELSET)
		flight_trigger__labelset(f->o->trig, f->o->ntrig, copy);
}

static void free_defs(struct u64map *m)
{
	for (size_t i = 0; m->keys && i < m->cap; i++)
		if (m->keys[i])
			free(m->vals[i]);
	u64map__free(m);
}

static int on_record(void *ctx, const void *rec, size_t len)
{
	struct flight *f = ctx;
	const struct gt_event_hdr *h = rec;

	if (len < sizeof(*h) || h->size > len || h->size < sizeof(*h) || h->type >= GT_EV_MAX)
		return 0;
	if (h->type == GT_EV_STACK || h->type == GT_EV_LABELSET) {
		keep_def(f, h);
		return 0;
	}
	f->events++;
	f->err = feed(&f->live, h) ?: flight_ring__append(&f->ring, rec, h->size);
	return f->err;
}

/* A LOSS record goes into the window, like any event, so dumps of that span carry it. */
static void note_loss(struct flight *f)
{
	struct gt_ev_loss e;

	if (capture_session__loss(f->tr, &f->loss, &e))
		flight_ring__append(&f->ring, &e, sizeof(e));
}

/* ---- dumps ---- */

struct dump_ctx {
	struct gt_capture_writer *w;
	struct flight *f;
	uint64_t ts;
	struct u64map syms;
	uint64_t written[GT_EV_MAX];
};

static void write_defs(struct dump_ctx *d, struct u64map *m)
{
	for (size_t i = 0; m->keys && i < m->cap; i++) {
		struct gt_event_hdr *h;

		if (!m->keys[i])
			continue;
		h = m->vals[i];
		/* Definitions are timeless; stamp them at the window's start, not at first use. */
		h->ts = d->ts;
		capture_session__symbols(d->w, &d->f->target, &d->syms, h);
		capture_writer__events(d->w, h, (h->size + 7) & ~7u);
		d->written[h->type]++;
	}
}

/* One goroutine alive when the window begins, as a GT_EV_SNAPSHOT record. */
static int write_base_g(struct gstate *gs, struct gs_g *g, void *arg)
{
	struct dump_ctx *d = arg;
	struct gt_ev_snapshot e;

	(void)gs;
	gstate__snapshot_record(g, d->ts, &e);
	capture_session__symbols(d->w, &d->f->target, &d->syms, &e.h);
	capture_writer__events(d->w, &e, sizeof(e));
	d->written[GT_EV_SNAPSHOT]++;
	return 0;
}

static void dump_path(struct flight *f, const char *name, char *path, size_t len)
{
	time_t now = time(NULL);
	struct stat st;
	char when[32];

	strftime(when, sizeof(when), "%Y%m%dT%H%M%S", localtime(&now));
	snprintf(path, len, "%s/flight-%s-%s.gtr", f->o->dir, when, name);
	for (int i = 2; !stat(path, &st) && i < 1000; i++)
		snprintf(path, len, "%s/flight-%s-%s-%d.gtr", f->o->dir, when, name, i);
}

static void write_window(struct dump_ctx *d, const char *why, uint64_t *n, int *err)
{
	struct flight *f = d->f;
	const struct gt_event_hdr *h;

	capture_session__write_header(d->w, &f->target, f->mask, f->o->stacks, f->o->buffer, NULL,
				      &f->az); /* host name and what was learned, zone or not */
	capture_writer__meta(d->w, "flight.trigger", "%s", why);
	capture_writer__meta(d->w, "flight.window_s", "%g", f->o->window_s);
	capture_writer__meta(d->w, "flight.window_mb", "%llu",
			     (unsigned long long)(f->o->window_bytes >> 20));
	capture_writer__meta(d->w, "flight.window_start_mono_ns", "%llu",
			     (unsigned long long)d->ts);
	capture_writer__meta(d->w, "flight.dump_mono_ns", "%llu",
			     (unsigned long long)clock__mono_ns());
	if (f->defs_dropped)
		capture_writer__meta(d->w, "flight.definitions_dropped", "%zu", f->defs_dropped);
	write_defs(d, &f->stacks);
	write_defs(d, &f->labelsets);
	gstate__foreach(&f->base, write_base_g, d);
	*err = capture_writer__flush(d->w);
	for (struct flight_batch *b = f->ring.head; b && !*err; b = b->next) {
		flight_batch__for_each(b, h) {
			capture_session__symbols(d->w, &f->target, &d->syms, h);
			capture_writer__events(d->w, h, (h->size + 7) & ~7u);
			d->written[h->type]++;
			(*n)++;
		}
		/* Flush per batch: the writer's buffer stays one batch large. */
		*err = capture_writer__flush(d->w);
	}
}

static int dump(struct flight *f, const char *why, const char *name)
{
	struct dump_ctx d = { .f = f };
	char path[4200];
	uint64_t n = 0;
	bool reported;
	int err, cerr;

	dump_path(f, name, path, sizeof(path));
	err = capture_writer__open(&d.w, path);
	if (err)
		return err;
	d.ts = f->ring.head ? f->ring.head->first_ts : clock__mono_ns();
	write_window(&d, why, &n, &err);
	capture_session__write_trailer(d.w, f->tr, d.written, NULL, n, why);
	reported = capture_writer__failed(d.w);
	cerr = capture_writer__close(d.w); /* its own failures are printed (outfile) */
	err = cerr ?: err;
	u64map__free(&d.syms);
	if (err) {
		/* one line per failed dump: a write error (a full disk) was printed already */
		if (!reported && !cerr)
			pr_err("writing %s failed: %s\n", path, strerror(-err));
		return err;
	}
	f->dumps++;
	snprintf(f->last_dump, sizeof(f->last_dump), "%s", why);
	pr_info("%sgtrace: wrote %s (%s, %llu events)\n", isatty(STDERR_FILENO) ? "\r\033[K" : "",
		path, why, (unsigned long long)n);
	return 0;
}

/* ---- running ---- */

static void fire(void *arg, struct flight_trigger *tr)
{
	char why[300];

	snprintf(why, sizeof(why), "trigger %s", tr->text);
	dump(arg, why, tr->name);
}

static void check_triggers(struct flight *f, uint64_t now)
{
	struct flight_counts c;

	if (!f->o->ntrig)
		return;
	flight_trigger__count(&f->live, now, &c);
	flight_trigger__check(f->o->trig, f->o->ntrig, &c, now, fire, f);
}

static void progress(struct flight *f, uint64_t now, bool tty)
{
	struct flight_counts c;

	flight_trigger__count(&f->live, now, &c);
	fprintf(stderr,
		"%sgtrace flight: pid %d: window %.1f/%gs %.1f/%llu MB, %llu events, %llu goroutines, "
		"%d dumps%s%s%s%s",
		tty ? "\r\033[K" : "", f->target.pid, flight_ring__span(&f->ring) / 1e9,
		f->o->window_s, f->ring.bytes / 1048576.0,
		(unsigned long long)(f->o->window_bytes >> 20), (unsigned long long)f->events,
		(unsigned long long)c.alive, f->dumps, f->dumps ? " (last: " : "",
		f->dumps ? f->last_dump : "", f->dumps ? ")" : "", tty ? "" : "\n");
}

const char *flight__run(struct flight *f, const volatile sig_atomic_t *stop,
			volatile sig_atomic_t *dump_now)
{
	uint64_t last_check = 0, last_progress = clock__mono_ns();
	bool tty = isatty(STDERR_FILENO);
	const char *why = NULL;
	struct capture_watch cw;

	capture_session__watch_open(&cw, f->o->pid);
	f->loss.last_poll_ns = clock__mono_ns();
	while (!*stop && !why) {
		int n = tracer__poll(f->tr, 100);
		uint64_t now = clock__mono_ns();

		if (n < 0 || f->err) {
			why = "error";
			break;
		}
		note_loss(f);
		flight_ring__evict(&f->ring, now, feed_base, f);
		if (*dump_now) {
			*dump_now = 0;
			dump(f, "SIGUSR2", "sigusr2");
		}
		if (now - last_check >= CHECK_NS) {
			check_triggers(f, now);
			last_check = now;
		}
		why = capture_session__watch_check(&cw);
		if (!gt_quiet && now - last_progress >= capture_session__progress_every(tty)) {
			progress(f, now, tty);
			last_progress = now;
		}
	}
	capture_session__watch_close(&cw);
	return why ? why : "interrupted";
}

static void flight_free(struct flight *f)
{
	flight_ring__free(&f->ring);
	gstate__exit(&f->live);
	gstate__exit(&f->base);
	free_defs(&f->stacks);
	free_defs(&f->labelsets);
	tracer__close(f->tr);
	target__close(&f->target);
	free(f);
}

static int start(struct flight *f)
{
	struct gt_tracer_opts to = { .events_mask = ~0u & ((1u << GT_EV_MAX) - 1),
				     .stacks = f->o->stacks, .buffer_bytes = f->o->buffer };
	struct gs_names names = { target_func, target_reason, &f->target };
	struct stat st;
	int n;

	if (stat(f->o->dir, &st) || !S_ISDIR(st.st_mode)) {
		pr_err("output directory %s does not exist\n", f->o->dir);
		return -ENOENT;
	}
	if (target__open(&f->target, f->o->pid, NULL) ||
	    flight_trigger__resolve(f->o->trig, f->o->ntrig, &f->target))
		return -EINVAL;
	gstate__init_live(&f->live, &names, NULL, NULL);
	gstate__init_live(&f->base, &names, NULL, NULL);
	to.events_mask &= ~(1u << GT_EV_NONE | 1u << GT_EV_LOSS | 1u << GT_EV_SNAPSHOT);
	f->mask = to.events_mask;
	az__resolve(&f->o->az, &f->az); /* a missing zone is not an error: host etc. still go in */
	if (tracer__open(&f->tr, &f->target, &to, on_record, f))
		return -EINVAL;
	tracer__enable(f->tr, true);
	/*
	 * Probes first, then the snapshot: nothing falls between the two
	 * (docs/go-runtime.md).  Without ptrace rights or allgs the recorder
	 * still works, without the attach snapshot.
	 */
	n = snaprec__emit(&f->target, on_record, f);
	if (n < 0)
		pr_warn("no attach snapshot (%s): goroutines appear from their first event\n",
			strerror(-n));
	pr_info("gtrace: flight recorder on pid %d (%s, %s), %d probes, %d goroutines at attach, "
		"window %gs / %llu MB; SIGUSR2 (kill -USR2 %d) dumps, Ctrl-C stops\n",
		f->o->pid, f->target.exe_name, f->target.ver.str, tracer__nprobes(f->tr),
		n < 0 ? 0 : n, f->o->window_s, (unsigned long long)(f->o->window_bytes >> 20),
		getpid());
	return 0;
}

int flight__open(struct flight **fp, struct flight_opts *o)
{
	struct flight *f = calloc(1, sizeof(*f));
	int err;

	*fp = NULL;
	if (!f)
		return -ENOMEM;
	f->o = o;
	flight_ring__init(&f->ring, o->window_s, o->window_bytes);
	err = start(f);
	if (err) {
		flight_free(f);
		return err;
	}
	*fp = f;
	return 0;
}

int flight__close(struct flight *f, const char *why)
{
	int err;

	/* Detach, drain what the probes already wrote, and write the last window. */
	tracer__enable(f->tr, false);
	tracer__detach(f->tr);
	tracer__poll(f->tr, 0);
	note_loss(f);
	flight_ring__evict(&f->ring, clock__mono_ns(), feed_base, f);
	err = dump(f, why,
		   !strcmp(why, CAPTURE_WHY_EXITED) ? "exit" : !strcmp(why, CAPTURE_WHY_EXEC) ? "exec" : !strcmp(why, "error") ? "error" : "stop");
	if (!gt_quiet)
		progress(f, clock__mono_ns(), false);
	err = err ?: f->err;
	flight_free(f);
	return err;
}

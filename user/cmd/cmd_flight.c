// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace flight: a flight recorder.  Attaches like `record`, but keeps only
 * the last N seconds (or N MB) of events in memory, as a ring of record
 * batches, and writes them out as an ordinary capture when asked (SIGUSR2),
 * when it stops (Ctrl-C, target exit) or when a trigger fires.  A dump must
 * read on its own, so besides the window it carries every stack and label
 * set definition still referenced, and a snapshot of every goroutine as it
 * was when the window begins: the attach-time snapshot with every evicted
 * batch applied to it.  Memory is the window plus state bounded by the
 * number of live goroutines and distinct stacks, never by run time.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "live/capture_session.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/clock.h"
#include "lib/debug.h"
#include "live/greader.h"
#include "live/snapshot_records.h"
#include "binary/go_funcs.h"
#include "capture/gstate.h"
#include "binary/target.h"
#include "live/tracer.h"
#include "lib/u64map.h"

#define MAX_TRIGGERS 32
#define TRIGGER_GAP_NS (10 * 1000000000ull) /* at most one dump per trigger per 10 s */
#define CHECK_NS 250000000ull		    /* how often conditions are evaluated */
#define DEFS_MAX (1u << 18)		    /* stack + label set definitions kept */

static volatile sig_atomic_t exiting, dump_asked;

enum trig_kind { T_GOROUTINES, T_WAITING, T_BLOCKED, T_LABEL };

struct trigger {
	enum trig_kind kind;
	const char *text;  /* as given */
	char name[64];	   /* for file names: text with unsafe characters replaced */
	uint64_t n;	   /* count threshold, or ns for blocked */
	int reason;	   /* waiting[]: waitReason value */
	char key[GT_LABEL_STR_MAX + 1], value[GT_LABEL_STR_MAX + 1];
	bool armed;	   /* condition was false since the last dump (edge trigger) */
	bool pending;	   /* label seen, dump not yet written */
	uint64_t last_fire, fired;
};

struct flight_opts {
	pid_t pid;
	double window_s;
	uint64_t window_bytes;
	const char *dir;
	uint64_t buffer;
	bool stacks;
	struct gt_az_opts az;
	struct trigger trig[MAX_TRIGGERS];
	int ntrig;
};

/* A batch of records back to back, each padded to 8 bytes. */
struct batch {
	struct batch *next;
	uint64_t first_ts, last_ts;
	size_t len, cap;
	uint8_t data[];
};

/* A goroutine as the events tell it. */
struct fg {
	uint64_t parent, gopc, startpc, labels, stack, since;
	uint32_t status;
	uint8_t reason;
	bool pseudo, system;
};

struct flight {
	struct gt_target target;
	struct flight_opts *o;
	struct gt_tracer *tr;
	struct gt_greader *gr; /* for the load bias of PIE targets */
	struct batch *head, *tail, **tail_link; /* tail_link: the pointer to tail */
	size_t ring_bytes, batch_size;
	struct u64map stacks, labelsets; /* id -> definition record (malloc'd) */
	size_t defs_bytes, defs_dropped;
	struct u64map live, base; /* goid -> struct fg: now, and at the window's start */
	uint64_t events, evicted;
	struct capture_loss loss;
	uint32_t mask;
	struct gt_az az;
	int dumps;
	char last_dump[80];
	int err;
};

static void on_signal(int sig)
{
	if (sig == SIGUSR2)
		dump_asked = 1;
	else
		exiting = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gtrace flight -p PID --window SECONDS [--window-mb N] [--trigger EXPR]...\n"
		"                     [-o DIR] [--buffer SIZE] [--no-stacks] [--az ZONE] [--no-az-detect]\n"
		"                     [-q] [-v]\n"
		"\n"
		"Keep the last SECONDS of goroutine events of a running Go process in memory\n"
		"and write them to a capture in DIR on a trigger, on SIGUSR2, on Ctrl-C and\n"
		"when the process exits.  Read the captures with 'gtrace report'.\n"
		"\n"
		"  -p, --pid PID         process to trace (Go 1.19 or newer)\n"
		"  -w, --window SEC      seconds of events to keep\n"
		"      --window-mb N     and at most N MB of them (default 64)\n"
		"  -t, --trigger EXPR    write a capture when EXPR becomes true (repeatable;\n"
		"                        at most one capture per trigger per 10 s):\n"
		"                          goroutines>N           more than N goroutines alive\n"
		"                          waiting[REASON]>N      more than N waiting for REASON,\n"
		"                                                 e.g. 'waiting[chan receive]>100'\n"
		"                          blocked>DURATION       a goroutine parked longer than\n"
		"                                                 DURATION (e.g. 500ms, 10s, 2m)\n"
		"                          label:KEY=VALUE        a goroutine got that pprof label\n"
		"  -o, --output DIR      directory for captures (default .)\n"
		"      --buffer SIZE     BPF ring buffer, a power of two (default 32M)\n"
		"      --no-stacks       do not walk the stack at each park\n"
		"      --az ZONE         availability zone to stamp (default: detect once)\n"
		"      --az-file FILE    file holding the zone (default /etc/gtrace/az)\n"
		"      --imds-endpoint URL  cloud metadata base URL (tests)\n"
		"      --no-az-detect    do not ask cloud metadata services\n"
		"  -q, --quiet           no progress line\n"
		"  -v, --verbose         more detail\n"
		"\n"
		"examples:\n"
		"  gtrace flight -p $(pidof myserver) --window 30 --trigger 'blocked>10s'\n"
		"  kill -USR2 $(pidof gtrace)    # dump the last 30 s now\n");
}

/* ---- triggers ---- */

static int parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		v /= 1e3;
	else if (!strcmp(end, "m"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	*ns = v * 1e9;
	return 0;
}

static int parse_count(const char *s, uint64_t *n)
{
	char *end;

	errno = 0;
	*n = strtoull(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int find_reason(const struct gt_target *t, const char *name)
{
	for (int i = 1; i < 256; i++)
		if (t->rt.waitreason[i] && !strcmp(t->rt.waitreason[i], name))
			return i;
	return -1;
}

static void trigger_name(struct trigger *tr)
{
	size_t i;

	for (i = 0; tr->text[i] && i < sizeof(tr->name) - 1; i++) {
		char c = tr->text[i];

		tr->name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '_';
	}
	tr->name[i] = 0;
}

/* Syntax only; waiting[] reasons are resolved against the target later. */
static int parse_trigger(const char *s, struct trigger *tr)
{
	const char *gt = strrchr(s, '>');

	memset(tr, 0, sizeof(*tr));
	tr->text = s;
	tr->armed = true;
	trigger_name(tr);
	if (!strncmp(s, "label:", 6)) {
		const char *eq = strchr(s + 6, '=');

		tr->kind = T_LABEL;
		if (!eq || eq == s + 6 || eq - (s + 6) > GT_LABEL_STR_MAX ||
		    strlen(eq + 1) > GT_LABEL_STR_MAX)
			return -EINVAL;
		memcpy(tr->key, s + 6, eq - (s + 6));
		strcpy(tr->value, eq + 1);
		return 0;
	}
	if (!gt)
		return -EINVAL;
	if (!strncmp(s, "goroutines>", 11)) {
		tr->kind = T_GOROUTINES;
		return parse_count(gt + 1, &tr->n);
	}
	if (!strncmp(s, "blocked>", 8)) {
		tr->kind = T_BLOCKED;
		return parse_duration(gt + 1, &tr->n);
	}
	if (!strncmp(s, "waiting[", 8) && gt > s + 9 && gt[-1] == ']') {
		tr->kind = T_WAITING;
		return parse_count(gt + 1, &tr->n);
	}
	return -EINVAL;
}

static int resolve_triggers(struct flight *f)
{
	for (int i = 0; i < f->o->ntrig; i++) {
		struct trigger *tr = &f->o->trig[i];
		char name[128];
		size_t len;

		if (tr->kind != T_WAITING)
			continue;
		len = strrchr(tr->text, '>') - 1 - (tr->text + 8);
		snprintf(name, sizeof(name), "%.*s", (int)len, tr->text + 8);
		tr->reason = find_reason(&f->target, name);
		if (tr->reason < 0) {
			pr_err("no wait reason '%s' in this Go (%s); see 'gtrace info -p PID'\n",
			       name, f->target.ver.str);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- goroutine state ---- */

/* Runtime goroutines do not count towards goroutines> or waiting[] (as in reports). */
static bool is_system(struct flight *f, uint64_t startpc)
{
	const struct gt_func *fn = pclntab__lookup_pc(f->target.pcln, startpc);

	return fn && go_funcs__is_system(fn->name);
}

static struct fg *get_g(struct u64map *m, uint64_t goid)
{
	struct fg *g = u64map__get(m, goid);

	if (g || !goid)
		return g;
	g = calloc(1, sizeof(*g));
	if (g && u64map__put(m, goid, g)) {
		free(g);
		g = NULL;
	}
	return g;
}

/* Moves one goroutine of m along by one record. */
static void apply(struct flight *f, struct u64map *m, const struct gt_event_hdr *h)
{
	struct fg *g;

	if (h->type == GT_EV_EXIT) {
		free(u64map__del(m, h->goid));
		return;
	}
	if (h->type == GT_EV_LOSS || h->type >= GT_EV_MAX || !(g = get_g(m, h->goid)))
		return;
	switch (h->type) {
	case GT_EV_CREATE: {
		const struct gt_ev_create *c = (const void *)h;
		bool seen = g->since; /* the child ran before newproc1 returned */

		g->parent = c->parent;
		g->gopc = c->gopc;
		g->startpc = c->startpc;
		g->labels = c->labels;
		g->system = is_system(f, f->gr ? greader__unbias(f->gr, c->startpc) : c->startpc);
		if (seen)
			break;
		g->status = (h->flags & GT_F_PARKED_CREATE) ? GT_G_WAITING : GT_G_RUNNABLE;
		g->since = h->ts;
		break;
	}
	case GT_EV_SNAPSHOT: {
		const struct gt_ev_snapshot *s = (const void *)h;

		/* Events that raced the attach snapshot are newer: keep them. */
		if (g->since && g->since != h->ts)
			break;
		*g = (struct fg){ .parent = s->parent, .gopc = s->gopc, .startpc = s->startpc,
				  .labels = s->labels, .stack = s->stack, .status = s->status,
				  .reason = s->reason, .since = h->ts };
		g->system = is_system(f, s->startpc);
		break;
	}
	case GT_EV_PARK: {
		const struct gt_ev_park *p = (const void *)h;

		g->status = GT_G_WAITING;
		g->reason = p->reason;
		g->stack = p->stack;
		g->pseudo = h->flags & GT_F_PSEUDO_WAIT;
		g->since = h->ts;
		break;
	}
	case GT_EV_START:
	case GT_EV_WAIT_END:
		g->status = GT_G_RUNNING;
		g->since = h->ts;
		g->pseudo = false;
		break;
	case GT_EV_UNPARK:
	case GT_EV_PREEMPT:
	case GT_EV_YIELD:
		g->status = GT_G_RUNNABLE;
		g->since = h->ts;
		g->pseudo = false;
		break;
	case GT_EV_SYSCALL_ENTER:
		g->status = GT_G_SYSCALL;
		g->since = h->ts;
		break;
	case GT_EV_SYSCALL_EXIT:
		g->status = (h->flags & GT_F_TO_RUNNABLE) ? GT_G_RUNNABLE : GT_G_RUNNING;
		g->since = h->ts;
		break;
	case GT_EV_LABELS:
		g->labels = ((const struct gt_ev_labels *)h)->labels;
		break;
	}
}

static void free_state(struct u64map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys && m->keys[i])
			free(m->vals[i]);
	u64map__free(m);
}

/* ---- definitions ---- */

static bool label_matches(const struct gt_ev_labelset *e, const struct trigger *tr)
{
	size_t at = 0, kl = strlen(tr->key), vl = strlen(tr->value);

	for (unsigned i = 0; i < e->count && at + 2 <= e->blob_len; i++) {
		uint16_t k, v;

		memcpy(&k, e->blob + at, 2);
		if (at + 2 + k + 2 > e->blob_len)
			break;
		memcpy(&v, e->blob + at + 2 + k, 2);
		if (at + 4 + k + v > e->blob_len)
			break;
		if (k == kl && v == vl && !memcmp(e->blob + at + 2, tr->key, k) &&
		    !memcmp(e->blob + at + 4 + k, tr->value, v))
			return true;
		at += 4 + k + v;
	}
	return false;
}

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
	if (h->type != GT_EV_LABELSET)
		return;
	for (int i = 0; i < f->o->ntrig; i++)
		if (f->o->trig[i].kind == T_LABEL && label_matches(copy, &f->o->trig[i]))
			f->o->trig[i].pending = true;
}

/* ---- the ring ---- */

/* A full batch gives back its unused tail: memory and window accounting stay exact. */
static void shrink_tail(struct flight *f)
{
	struct batch *b = f->tail, *nb;

	if (b->len == b->cap)
		return;
	nb = realloc(b, sizeof(*b) + b->len);
	if (!nb)
		return;
	f->ring_bytes -= nb->cap - nb->len;
	nb->cap = nb->len;
	*f->tail_link = nb;
	f->tail = nb;
}

static int append(struct flight *f, const void *rec, size_t len)
{
	const struct gt_event_hdr *h = rec;
	struct batch *b = f->tail;

	len = (len + 7) & ~7ul;
	/* A batch spans at most 1/8 of the window, so a slow stream still ages out. */
	if (!b || b->len + len > b->cap || h->ts > b->first_ts + f->o->window_s * 1e9 / 8) {
		size_t cap = len > f->batch_size ? len : f->batch_size;

		if (b)
			shrink_tail(f);

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return -ENOMEM;
		*b = (struct batch){ .cap = cap, .first_ts = h->ts };
		if (f->tail) {
			f->tail->next = b;
			f->tail_link = &f->tail->next;
		} else {
			f->head = b;
			f->tail_link = &f->head;
		}
		f->tail = b;
		f->ring_bytes += sizeof(*b) + cap;
	}
	memcpy(b->data + b->len, rec, h->size);
	memset(b->data + b->len + h->size, 0, len - h->size);
	b->len += len;
	if (h->ts > b->last_ts)
		b->last_ts = h->ts;
	return 0;
}

#define for_each_rec(b, h)                                                                 \
	for (size_t _at = 0; _at + sizeof(struct gt_event_hdr) <= (b)->len &&                   \
			     ((h) = (const void *)((b)->data + _at), (h)->size);                 \
	     _at += ((h)->size + 7) & ~7u)

/* Drops batches older than the window or over its size; their events move the base state. */
static void evict(struct flight *f, uint64_t now)
{
	uint64_t window_ns = f->o->window_s * 1e9;

	while (f->head && (f->ring_bytes > f->o->window_bytes ||
			   f->head->last_ts + window_ns < now)) {
		struct batch *b = f->head;
		const struct gt_event_hdr *h;

		/* The batch still being filled leaves only by age. */
		if (b == f->tail && b->last_ts + window_ns >= now)
			break;
		for_each_rec(b, h)
			apply(f, &f->base, h);
		f->head = b->next;
		if (f->tail_link == &b->next)
			f->tail_link = &f->head;
		if (f->tail == b)
			f->tail = NULL;
		f->ring_bytes -= sizeof(*b) + b->cap;
		f->evicted++;
		free(b);
	}
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
	apply(f, &f->live, h);
	f->events++;
	f->err = append(f, rec, h->size);
	return f->err;
}

/* A LOSS record goes into the window, like any event, so dumps of that span carry it. */
static void note_loss(struct flight *f)
{
	struct gt_ev_loss e;

	if (capture_session__loss(f->tr, &f->loss, &e))
		append(f, &e, sizeof(e));
}

/* ---- dumps ---- */

static void write_defs(struct gt_capture_writer *w, struct flight *f, struct u64map *m,
		       uint64_t ts, struct u64map *syms, uint64_t written[])
{
	for (size_t i = 0; i < m->cap; i++) {
		struct gt_event_hdr *h;

		if (!m->keys || !m->keys[i])
			continue;
		h = m->vals[i];
		/* Definitions are timeless; stamp them at the window's start, not at first use. */
		h->ts = ts;
		capture_session__symbols(w, &f->target, syms, h);
		capture_writer__events(w, h, (h->size + 7) & ~7u);
		written[h->type]++;
	}
}

/* Every goroutine alive when the window begins, as GT_EV_SNAPSHOT records. */
static void write_base(struct gt_capture_writer *w, struct flight *f, uint64_t ts,
		       struct u64map *syms, uint64_t written[])
{
	for (size_t i = 0; i < f->base.cap; i++) {
		struct gt_ev_snapshot e = { .h = { .type = GT_EV_SNAPSHOT, .size = sizeof(e) } };
		const struct fg *g;

		if (!f->base.keys || !f->base.keys[i])
			continue;
		g = f->base.vals[i];
		e.h.ts = ts;
		e.h.goid = f->base.keys[i];
		e.parent = g->parent;
		e.gopc = g->gopc;
		e.startpc = g->startpc;
		e.labels = g->labels;
		e.stack = g->status == GT_G_WAITING ? g->stack : 0;
		e.status = g->status;
		e.reason = g->reason;
		capture_session__symbols(w, &f->target, syms, &e.h);
		capture_writer__events(w, &e, sizeof(e));
		written[GT_EV_SNAPSHOT]++;
	}
}

static int dump_path(struct flight *f, const char *name, char *path, size_t len)
{
	time_t now = time(NULL);
	struct stat st;
	char when[32];

	strftime(when, sizeof(when), "%Y%m%dT%H%M%S", localtime(&now));
	snprintf(path, len, "%s/flight-%s-%s.gtr", f->o->dir, when, name);
	for (int i = 2; !stat(path, &st) && i < 1000; i++)
		snprintf(path, len, "%s/flight-%s-%s-%d.gtr", f->o->dir, when, name, i);
	return 0;
}

static int dump(struct flight *f, const char *why, const char *name)
{
	uint64_t written[GT_EV_MAX] = { 0 }, n = 0, start;
	struct gt_capture_writer *w;
	struct u64map syms = { 0 };
	const struct gt_event_hdr *h;
	char path[4200];
	int err;

	dump_path(f, name, path, sizeof(path));
	err = capture_writer__open(&w, path);
	if (err)
		return err;
	start = f->head ? f->head->first_ts : clock__mono_ns();
	capture_session__write_header(w, &f->target, f->mask, f->o->stacks, f->o->buffer, NULL,
				     &f->az); /* host name and what was learned, zone or not */
	capture_writer__meta(w, "flight.trigger", "%s", why);
	capture_writer__meta(w, "flight.window_s", "%g", f->o->window_s);
	capture_writer__meta(w, "flight.window_mb", "%llu",
			     (unsigned long long)(f->o->window_bytes >> 20));
	capture_writer__meta(w, "flight.window_start_mono_ns", "%llu", (unsigned long long)start);
	capture_writer__meta(w, "flight.dump_mono_ns", "%llu",
			     (unsigned long long)clock__mono_ns());
	if (f->defs_dropped)
		capture_writer__meta(w, "flight.definitions_dropped", "%zu", f->defs_dropped);
	write_defs(w, f, &f->stacks, start, &syms, written);
	write_defs(w, f, &f->labelsets, start, &syms, written);
	write_base(w, f, start, &syms, written);
	err = capture_writer__flush(w);
	for (struct batch *b = f->head; b && !err; b = b->next) {
		for_each_rec(b, h) {
			capture_session__symbols(w, &f->target, &syms, h);
			capture_writer__events(w, h, (h->size + 7) & ~7u);
			written[h->type]++;
			n++;
		}
		/* Flush per batch: the writer's buffer stays one batch large. */
		err = capture_writer__flush(w);
	}
	capture_session__write_trailer(w, f->tr, written, NULL, n, why);
	err = capture_writer__close(w) ?: err;
	u64map__free(&syms);
	if (err) {
		pr_err("writing %s failed: %s\n", path, strerror(-err));
		return err;
	}
	f->dumps++;
	snprintf(f->last_dump, sizeof(f->last_dump), "%s", why);
	pr_info("%sgtrace: wrote %s (%s, %llu events)\n", isatty(STDERR_FILENO) ? "\r\033[K" : "",
		path, why, (unsigned long long)n);
	return 0;
}

/* ---- checking ---- */

struct counts {
	uint64_t alive, waiting[256], oldest_park;
};

static void count(struct flight *f, uint64_t now, struct counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < f->live.cap; i++) {
		const struct fg *g;

		if (!f->live.keys || !f->live.keys[i])
			continue;
		g = f->live.vals[i];
		if (g->system)
			continue;
		c->alive++;
		if (g->status != GT_G_WAITING || g->pseudo)
			continue;
		c->waiting[g->reason]++;
		if (g->since && now > g->since && now - g->since > c->oldest_park)
			c->oldest_park = now - g->since;
	}
}

static bool condition(const struct trigger *tr, const struct counts *c)
{
	switch (tr->kind) {
	case T_GOROUTINES: return c->alive > tr->n;
	case T_WAITING: return c->waiting[tr->reason] > tr->n;
	case T_BLOCKED: return c->oldest_park > tr->n;
	case T_LABEL: return tr->pending;
	}
	return false;
}

/* Edge-triggered: fires when a condition becomes true, at most once per 10 s. */
static void check_triggers(struct flight *f, uint64_t now)
{
	struct counts c;
	char why[300];

	if (!f->o->ntrig)
		return;
	count(f, now, &c);
	for (int i = 0; i < f->o->ntrig; i++) {
		struct trigger *tr = &f->o->trig[i];
		bool cond = condition(tr, &c);

		if (!cond) {
			tr->armed = true;
			continue;
		}
		if (!tr->armed || (tr->fired && now - tr->last_fire < TRIGGER_GAP_NS))
			continue;
		tr->armed = tr->pending = false;
		tr->last_fire = now;
		tr->fired++;
		snprintf(why, sizeof(why), "trigger %s", tr->text);
		dump(f, why, tr->name);
	}
}

static void progress(struct flight *f, uint64_t now, bool tty)
{
	uint64_t span = f->head && f->tail ? f->tail->last_ts - f->head->first_ts : 0;
	struct counts c;

	count(f, now, &c);
	fprintf(stderr,
		"%sgtrace flight: pid %d: window %.1f/%gs %.1f/%llu MB, %llu events, %llu goroutines, "
		"%d dumps%s%s%s%s",
		tty ? "\r\033[K" : "", f->target.pid, span / 1e9, f->o->window_s,
		f->ring_bytes / 1048576.0, (unsigned long long)(f->o->window_bytes >> 20),
		(unsigned long long)f->events, (unsigned long long)c.alive, f->dumps,
		f->dumps ? " (last: " : "", f->dumps ? f->last_dump : "", f->dumps ? ")" : "",
		tty ? "" : "\n");
}

/* ---- command ---- */

enum { OPT_WINDOW_MB = 256, OPT_BUFFER, OPT_NO_STACKS };

static int parse_args(int argc, char **argv, struct flight_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "window-mb", required_argument, NULL, OPT_WINDOW_MB },
		{ "trigger", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "buffer", required_argument, NULL, OPT_BUFFER },
		{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
		CLI_AZ_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	unsigned long long mb;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "p:w:t:o:qvh", longopts, NULL)) != -1) {
		if (cli__common_opt(c) || cli__az_opt(c, optarg, &o->az))
			continue;
		switch (c) {
		case 'p':
			if (cli__pid(optarg, &o->pid))
				return GT_EXIT_USAGE;
			break;
		case 'w':
			if (cli__seconds(optarg, "--window", "30", &o->window_s))
				return GT_EXIT_USAGE;
			break;
		case OPT_WINDOW_MB:
			errno = 0;
			mb = strtoull(optarg, &end, 10);
			if (errno || *end || !mb || mb > 1 << 20) {
				pr_err("invalid --window-mb '%s'\n", optarg);
				return GT_EXIT_USAGE;
			}
			o->window_bytes = mb << 20;
			break;
		case 't':
			if (o->ntrig == MAX_TRIGGERS) {
				pr_err("at most %d triggers\n", MAX_TRIGGERS);
				return GT_EXIT_USAGE;
			}
			if (parse_trigger(optarg, &o->trig[o->ntrig])) {
				pr_err("invalid trigger '%s' (see 'gtrace flight --help')\n", optarg);
				return GT_EXIT_USAGE;
			}
			o->ntrig++;
			break;
		case 'o': o->dir = optarg; break;
		case OPT_BUFFER:
			if (cli__buffer(optarg, &o->buffer))
				return GT_EXIT_USAGE;
			break;
		case OPT_NO_STACKS: o->stacks = false; break;
		case 'h': usage(stdout); return GT_EXIT_OK;
		default: usage(stderr); return GT_EXIT_USAGE;
		}
	}
	if (!o->pid || !o->window_s || optind != argc) {
		if (optind != argc)
			pr_err("unexpected argument '%s'\n", argv[optind]);
		else if (!o->pid)
			pr_err("which process? give -p PID (see 'gtrace flight --help')\n");
		else
			pr_err("how long a window? give --window SECONDS\n");
		return GT_EXIT_USAGE;
	}
	return -1;
}

static const char *flight_loop(struct flight *f)
{
	uint64_t last_check = 0, last_progress = clock__mono_ns();
	int pidfd = syscall(SYS_pidfd_open, f->o->pid, 0);
	bool tty = isatty(STDERR_FILENO);
	const char *why = NULL;

	f->loss.last_poll_ns = clock__mono_ns();
	while (!exiting && !why) {
		int n = tracer__poll(f->tr, 100);
		uint64_t now = clock__mono_ns();

		if (n < 0 || f->err) {
			why = "error";
			break;
		}
		note_loss(f);
		evict(f, now);
		if (dump_asked) {
			dump_asked = 0;
			dump(f, "SIGUSR2", "sigusr2");
		}
		if (now - last_check >= CHECK_NS) {
			check_triggers(f, now);
			last_check = now;
		}
		if (capture_session__target_gone(pidfd, f->o->pid))
			why = "target exited";
		if (!gt_quiet && now - last_progress >= capture_session__progress_every(tty)) {
			progress(f, now, tty);
			last_progress = now;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return why ? why : "interrupted";
}

static void flight_free(struct flight *f)
{
	while (f->head) {
		struct batch *b = f->head;

		f->head = b->next;
		free(b);
	}
	free_state(&f->live);
	free_state(&f->base);
	free_state(&f->stacks);
	free_state(&f->labelsets);
	if (f->gr)
		greader__close(f->gr);
	tracer__close(f->tr);
	target__close(&f->target);
}

static int start(struct flight *f)
{
	struct gt_tracer_opts to = { .events_mask = ~0u & ((1u << GT_EV_MAX) - 1),
				     .stacks = f->o->stacks, .buffer_bytes = f->o->buffer };
	struct stat st;
	int n;

	if (stat(f->o->dir, &st) || !S_ISDIR(st.st_mode)) {
		pr_err("output directory %s does not exist\n", f->o->dir);
		return -ENOENT;
	}
	if (target__open(&f->target, f->o->pid, NULL) || resolve_triggers(f))
		return -EINVAL;
	/* Without ptrace rights or allgs the recorder still works, without the attach snapshot. */
	if (greader__open(&f->gr, &f->target))
		f->gr = NULL;
	to.events_mask &= ~(1u << GT_EV_NONE | 1u << GT_EV_LOSS | 1u << GT_EV_SNAPSHOT);
	f->mask = to.events_mask;
	az__resolve(&f->o->az, &f->az); /* a missing zone is not an error: host etc. still go in */
	if (tracer__open(&f->tr, &f->target, &to, on_record, f))
		return -EINVAL;
	tracer__enable(f->tr, true);
	/* Probes first, then the snapshot: nothing falls between the two (docs/go-runtime.md). */
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

int cmd_flight(int argc, char **argv)
{
	static struct flight_opts o = { .window_bytes = 64ull << 20, .dir = ".",
					.buffer = 32 << 20, .stacks = true };
	struct flight f = { .o = &o };
	const char *why;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (capture_session__check_privileges("flight") || capture_session__check_kernel())
		return GT_EXIT_ERROR;
	/* Batches small enough that evicting one frees a sliver of the window. */
	f.batch_size = o.window_bytes / 16 < (1 << 20) ? o.window_bytes / 16 : 1 << 20;
	if (f.batch_size < 65536)
		f.batch_size = 65536;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (start(&f)) {
		flight_free(&f);
		return GT_EXIT_ERROR;
	}
	why = flight_loop(&f);
	/* Detach, drain what the probes already wrote, and write the last window. */
	tracer__enable(f.tr, false);
	tracer__detach(f.tr);
	tracer__poll(f.tr, 0);
	note_loss(&f);
	evict(&f, clock__mono_ns());
	rc = dump(&f, why, !strcmp(why, "target exited") ? "exit" : !strcmp(why, "error") ? "error" : "stop");
	if (!gt_quiet)
		progress(&f, clock__mono_ns(), false);
	flight_free(&f);
	return rc || f.err ? GT_EXIT_ERROR : GT_EXIT_OK;
}

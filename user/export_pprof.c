// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof exporter: gzipped perftools.profiles.Profile (user/proto/
 * profile.proto) for `go tool pprof`, Pyroscope and Parca.  Four profiles
 * from the goroutine state machine: offcpu (time waiting or in syscalls
 * per park stack), schedlat (time runnable), goroutine (who is alive at a
 * time) and lifetime (goroutine lifetimes by creation site).  Samples are
 * aggregated while streaming, so memory follows distinct (stack, labels,
 * state, goroutine) keys, never the event count; the profile is built and
 * written once at the end, as every pprof writer must.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "debug.h"
#include "export.h"
#include "gstate.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Mapping Mapping;

/* Aggregation key words. */
enum { K_STACK, K_LABELS, K_STATE, K_GOID, K_GOPC, K_STARTPC };

#define STATE_WORD(state, reason, cause) \
	((uint64_t)(state) | (uint64_t)(reason) << 8 | (uint64_t)(cause) << 16)
#define MAX_FRAMES 32

struct pp {
	struct gt_capture *cap;
	const struct gt_export_opts *o;
	struct gstate gs;
	struct gs_agg agg;
	uint64_t at_ts; /* goroutine profile: the time it describes */
	bool at_taken;
	/* profile tables */
	struct gs_strtab str;
	struct u64map locs;	/* pc-1 | 1<<62, or pseudo-frame name | 1<<63 -> location id */
	Location **loc;
	size_t nloc, caploc;
	struct gs_strtab fkeys; /* "func\nfile" -> function index */
	Function **fn;
	uint64_t lo_pc, hi_pc;
	/* labels every sample carries */
	const char *az, *host;
};

static int64_t S(struct pp *p, const char *s)
{
	int64_t i = gs_strtab__intern(&p->str, s ? s : "");

	return i < 0 ? 0 : i;
}

/* ---- collecting ---- */

static int add(struct pp *p, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3, uint64_t k4,
	       uint64_t k5, uint64_t v)
{
	uint64_t k[GS_AGG_WORDS] = { k0, k1, k2, k3, k4, k5 };

	return gs_agg__add(&p->agg, k, v) ? 0 : -ENOMEM;
}

static int on_interval(struct gstate *gs, const struct gs_interval *iv)
{
	struct pp *p = gs->arg;
	uint64_t d = iv->end - iv->start;

	switch (p->o->profile) {
	case GT_PROFILE_OFFCPU:
		/* pseudo-waits are the GC stopping a running goroutine: not blocking */
		if ((iv->state == GS_WAITING && !iv->pseudo) || iv->state == GS_SYSCALL)
			return add(p, iv->stack, iv->labels, STATE_WORD(iv->state, iv->reason, 0),
				   iv->goid, 0, 0, d);
		return 0;
	case GT_PROFILE_SCHEDLAT:
		if (iv->state == GS_RUNNABLE)
			return add(p, iv->start_ev == GT_EV_UNPARK ? iv->stack : 0, iv->labels,
				   STATE_WORD(iv->state, 0, iv->start_ev), iv->goid, 0, 0, d);
		return 0;
	default:
		return 0;
	}
}

/* One goroutine alive at the profile's time. */
static int take_alive(struct gstate *gs, struct gs_g *g, void *arg)
{
	struct pp *p = arg;
	bool waiting = g->state == GS_WAITING;

	if (g->state == GS_DEAD || g->state == GS_UNKNOWN)
		return 0;
	return add(p, waiting ? g->stack : 0, g->labels,
		   STATE_WORD(g->state, waiting ? g->reason : 0, 0), 0, g->gopc, g->startpc, 1);
}

static int on_event(struct gstate *gs, const struct gt_event_hdr *ev)
{
	struct pp *p = gs->arg;
	int err;

	if (p->o->profile != GT_PROFILE_GOROUTINE || !p->o->at_ns || p->at_taken ||
	    ev->ts <= (uint64_t)p->o->at_ns || !ev->goid)
		return 0;
	p->at_taken = true;
	p->at_ts = p->o->at_ns;
	err = gstate__foreach(gs, take_alive, p);
	return err ? err : -ECANCELED;
}

static int on_birth(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	g->priv[0] = g->labels; /* lifetime: labels at creation */
	return 0;
}

static int on_death(struct gstate *gs, struct gs_g *g, const struct gt_event_hdr *ev)
{
	struct pp *p = gs->arg;
	uint64_t end = ev ? ev->ts : gs->last_ts;

	if (p->o->profile == GT_PROFILE_GOROUTINE && !ev && !p->at_taken)
		return take_alive(gs, g, p);
	if (p->o->profile != GT_PROFILE_LIFETIME || !g->created)
		return 0; /* a lifetime needs its start */
	return add(p, 0, g->priv[0], STATE_WORD(ev ? GS_DEAD : g->state, 0, 0), 0, g->gopc,
		   g->startpc, end > g->created_ts ? end - g->created_ts : 0);
}

/* ---- profile tables ---- */

static int grow_locs(struct pp *p)
{
	size_t n = p->caploc ? p->caploc * 2 : 256;
	Location **l = realloc(p->loc, n * sizeof(*l));

	if (!l)
		return -ENOMEM;
	p->loc = l;
	p->caploc = n;
	return 0;
}

/* Function id for (name, file), added if new; 0 on ENOMEM. */
static uint64_t func_id(struct pp *p, const char *name, const char *file)
{
	char key[1024];
	int64_t i;

	snprintf(key, sizeof(key), "%s\n%s", name, file);
	i = gs_strtab__intern(&p->fkeys, key);
	if (i < 0)
		return 0;
	if ((size_t)i == p->fkeys.len - 1) { /* new */
		Function **fn = realloc(p->fn, p->fkeys.cap * sizeof(*fn));
		Function *f = malloc(sizeof(*f));

		if (fn)
			p->fn = fn;
		if (!fn || !f) {
			free(f);
			return 0;
		}
		perftools__profiles__function__init(f);
		f->id = i + 1;
		f->name = S(p, name);
		f->system_name = f->name;
		f->filename = S(p, file);
		p->fn[i] = f;
	}
	return i + 1;
}

static Location *new_loc(struct pp *p, uint64_t key, int nlines)
{
	Location *l;

	if (p->nloc == p->caploc && grow_locs(p))
		return NULL;
	l = calloc(1, sizeof(*l) + nlines * (sizeof(Line *) + sizeof(Line)));
	if (!l)
		return NULL;
	perftools__profiles__location__init(l);
	l->line = (Line **)(l + 1);
	for (int i = 0; i < nlines; i++) {
		l->line[i] = (Line *)(l->line + nlines) + i;
		perftools__profiles__line__init(l->line[i]);
	}
	l->n_line = nlines;
	l->id = p->nloc + 1;
	p->loc[p->nloc++] = l;
	if (u64map__put(&p->locs, key, (void *)(uintptr_t)l->id))
		return NULL;
	return l;
}

/*
 * Location of a return address: symbolized at pc-1 (inside the call), each
 * inlined frame its own Line, innermost first as pprof wants.  A park
 * stack's first PC is g.sched.pc, itself a return address: same rule.
 */
static uint64_t pc_loc(struct pp *p, uint64_t ret)
{
	uint64_t pc = ret ? ret - 1 : 0, id = (uintptr_t)u64map__get(&p->locs, pc | 1ULL << 62);
	struct gt_frame f[MAX_FRAMES];
	Location *l;
	int n;

	if (id)
		return id;
	n = capture__symbolize(p->cap, pc, f, MAX_FRAMES);
	if (n <= 0) {
		f[0] = (struct gt_frame){ "?", "?", 0 };
		n = 1;
	}
	l = new_loc(p, pc | 1ULL << 62, n);
	if (!l)
		return 0;
	l->mapping_id = 1;
	l->address = pc;
	for (int i = 0; i < n; i++) {
		l->line[i]->function_id = func_id(p, f[i].func, f[i].file);
		l->line[i]->line = f[i].line;
	}
	if (!p->lo_pc || pc < p->lo_pc)
		p->lo_pc = pc;
	if (pc + 1 > p->hi_pc)
		p->hi_pc = pc + 1;
	return l->id;
}

/* A pseudo-frame such as "[syscall]" where no stack exists; no mapping. */
static uint64_t synth_loc(struct pp *p, const char *name)
{
	uint64_t key = (uint64_t)S(p, name) | 1ULL << 63;
	uint64_t id = (uintptr_t)u64map__get(&p->locs, key);
	Location *l;

	if (id)
		return id;
	l = new_loc(p, key, 1);
	if (!l)
		return 0;
	l->line[0]->function_id = func_id(p, name, "");
	return l->id;
}

/* The function at an exact PC (a start PC): no return-address adjustment. */
static uint64_t func_loc(struct pp *p, uint64_t pc)
{
	return pc ? pc_loc(p, pc + 1) : synth_loc(p, "[unknown function]");
}

static int stack_locs(struct pp *p, uint64_t stack, uint64_t *ids, int max)
{
	const struct gt_stack *st = stack ? capture__stack(p->cap, stack) : NULL;
	int n = 0;

	for (uint32_t i = 0; st && i < st->nr && n < max; i++)
		if ((ids[n] = pc_loc(p, st->pcs[i])))
			n++;
	if (st && st->truncated && n < max)
		ids[n++] = synth_loc(p, "[truncated]");
	return n;
}

/* ---- samples ---- */

struct labels {
	Label *l;
	Label **lp;
	size_t n, cap;
};

static void lab_str(struct pp *p, struct labels *L, const char *k, const char *v)
{
	if (!v || !*v || L->n == L->cap)
		return; /* pprof drops empty strings anyway */
	perftools__profiles__label__init(&L->l[L->n]);
	L->l[L->n].key = S(p, k);
	L->l[L->n].str = S(p, v);
	L->n++;
}

static void lab_num(struct pp *p, struct labels *L, const char *k, int64_t v, const char *unit)
{
	if (L->n == L->cap)
		return;
	perftools__profiles__label__init(&L->l[L->n]);
	L->l[L->n].key = S(p, k);
	L->l[L->n].num = v;
	L->l[L->n].num_unit = S(p, unit); /* with a unit pprof keeps even num 0 */
	L->n++;
}

static void creation_site(struct pp *p, uint64_t gopc, char *buf, size_t len)
{
	struct gt_frame f[MAX_FRAMES];
	int n = gopc ? capture__symbolize(p->cap, gopc - 1, f, MAX_FRAMES) : 0;

	if (n > 0)
		snprintf(buf, len, "%s %s:%d", f[0].func, f[0].file, f[0].line);
	else
		snprintf(buf, len, gopc ? "0x%" PRIx64 : "runtime", gopc);
}

static int fill_labels(struct pp *p, const struct gs_agg_ent *e, struct labels *L, char *site,
		       size_t sitelen)
{
	uint64_t lid = e->k[K_LABELS];
	const struct gt_labelset *ls = lid ? capture__labelset(p->cap, lid) : NULL;
	unsigned state = e->k[K_STATE] & 0xff, reason = e->k[K_STATE] >> 8 & 0xff;
	unsigned cause = e->k[K_STATE] >> 16 & 0xff;

	L->cap = 8 + (ls ? ls->count : 0);
	/* one block: the pointer array first, so freeing sample.label frees both */
	L->lp = calloc(L->cap, sizeof(Label) + sizeof(Label *));
	if (!L->lp)
		return -ENOMEM;
	L->l = (Label *)(L->lp + L->cap);
	if (p->o->profile != GT_PROFILE_LIFETIME)
		lab_str(p, L, "state", gs_state_name(state));
	if (state == GS_WAITING)
		lab_str(p, L, "wait_reason", gs_reason_name(p->cap, reason));
	if (p->o->profile == GT_PROFILE_SCHEDLAT)
		lab_str(p, L, "cause", capture__event_name(cause));
	if (p->o->profile == GT_PROFILE_LIFETIME)
		lab_str(p, L, "exited", state == GS_DEAD ? "true" : "false");
	if (e->k[K_GOPC] || p->o->profile >= GT_PROFILE_GOROUTINE) {
		creation_site(p, e->k[K_GOPC], site, sitelen);
		lab_str(p, L, "created_by", site);
	}
	for (uint32_t i = 0; ls && i < ls->count; i++)
		lab_str(p, L, ls->keys[i], ls->values[i]);
	lab_str(p, L, "az", p->az);
	lab_str(p, L, "host", p->host);
	if (e->k[K_GOID])
		lab_num(p, L, "goid", e->k[K_GOID], "goid");
	for (size_t i = 0; i < L->n; i++)
		L->lp[i] = &L->l[i];
	return 0;
}

/* The locations of one sample, leaf first. */
static int sample_locs(struct pp *p, const struct gs_agg_ent *e, uint64_t *ids)
{
	unsigned state = e->k[K_STATE] & 0xff, cause = e->k[K_STATE] >> 16 & 0xff;
	char name[64];
	int n;

	if (p->o->profile == GT_PROFILE_LIFETIME) {
		ids[0] = func_loc(p, e->k[K_STARTPC]);
		ids[1] = e->k[K_GOPC] ? pc_loc(p, e->k[K_GOPC]) : synth_loc(p, "[runtime]");
		return 2;
	}
	n = stack_locs(p, e->k[K_STACK], ids, GT_STACK_MAX);
	if (n)
		return n;
	/* no park stack (syscall, running, preempted): say what we know */
	if (p->o->profile == GT_PROFILE_SCHEDLAT)
		snprintf(name, sizeof(name), "[runnable after %s]", capture__event_name(cause));
	else
		snprintf(name, sizeof(name), "[%s]", gs_state_name(state));
	ids[n++] = synth_loc(p, name);
	if (p->o->profile == GT_PROFILE_GOROUTINE)
		ids[n++] = func_loc(p, e->k[K_STARTPC]);
	return n;
}

static int build_sample(struct pp *p, const struct gs_agg_ent *e, Sample *s)
{
	uint64_t ids[GT_STACK_MAX + 2];
	struct labels L = { 0 };
	char site[512];
	int n, err;

	perftools__profiles__sample__init(s);
	n = sample_locs(p, e, ids);
	err = fill_labels(p, e, &L, site, sizeof(site));
	if (err)
		return err;
	s->location_id = malloc(n * sizeof(uint64_t));
	s->value = malloc(2 * sizeof(int64_t));
	if (!s->location_id || !s->value)
		return -ENOMEM;
	memcpy(s->location_id, ids, n * sizeof(uint64_t));
	s->n_location_id = n;
	s->value[0] = e->count;
	s->value[1] = e->sum;
	s->n_value = p->o->profile == GT_PROFILE_GOROUTINE ? 1 : 2;
	s->label = L.lp;
	s->n_label = L.n;
	return 0;
}

/* ---- profile header ---- */

struct comments {
	struct pp *p;
	int64_t *c;
	size_t n;
};

static void add_comment(struct comments *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_comment(struct comments *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (c->n >= 64)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->c[c->n++] = S(c->p, buf);
}

static void loss_comment(const char *k, const char *v, void *arg)
{
	if (!strncmp(k, "loss.", 5) && strcmp(k, "loss.total") && strcmp(v, "0"))
		add_comment(arg, "%s=%s", k, v);
}

static void header_comments(struct pp *p, struct comments *c)
{
	const char *err = capture__meta(p->cap, "clock.error_ns");
	const char *sync = capture__meta(p->cap, "clock.sync");
	const char *loss = capture__meta(p->cap, "loss.total");

	add_comment(c, "gtrace %s profile", p->o->profile == GT_PROFILE_OFFCPU ? "offcpu" :
			p->o->profile == GT_PROFILE_SCHEDLAT ? "schedlat" :
			p->o->profile == GT_PROFILE_GOROUTINE ? "goroutine" : "lifetime");
	add_comment(c, "clock.error_ns=%s clock.sync=%s", err ? err : "unknown",
		    sync ? sync : "unknown");
	if (p->az)
		add_comment(c, "az=%s", p->az);
	if (p->host)
		add_comment(c, "host=%s", p->host);
	add_comment(c, "loss.total=%s", loss ? loss : "0");
	capture__meta_foreach(p->cap, loss_comment, c);
	if (p->gs.lost)
		add_comment(c, "loss windows in events: %" PRIu64 " records", p->gs.lost);
	if (!capture__complete(p->cap))
		add_comment(c, "capture incomplete (no trailer): totals cover what was written");
}

static void value_type(struct pp *p, ValueType *v, const char *type, const char *unit)
{
	perftools__profiles__value_type__init(v);
	v->type = S(p, type);
	v->unit = S(p, unit);
}

static void set_types(struct pp *p, Profile *pr, ValueType *vt, ValueType **vtp,
		      ValueType *period)
{
	vtp[0] = &vt[0];
	vtp[1] = &vt[1];
	pr->sample_type = vtp;
	pr->n_sample_type = 2;
	pr->period = 1;
	pr->period_type = period;
	switch (p->o->profile) {
	case GT_PROFILE_GOROUTINE:
		value_type(p, &vt[0], "goroutine", "count");
		value_type(p, period, "goroutine", "count");
		pr->n_sample_type = 1;
		break;
	case GT_PROFILE_LIFETIME:
		value_type(p, &vt[0], "goroutines", "count");
		value_type(p, &vt[1], "lifetime", "nanoseconds");
		value_type(p, period, "goroutines", "count");
		pr->default_sample_type = S(p, "lifetime");
		break;
	default:
		value_type(p, &vt[0], "events", "count");
		value_type(p, &vt[1], "delay", "nanoseconds");
		value_type(p, period, "trace", "count");
		pr->default_sample_type = S(p, "delay");
		break;
	}
}

/* ---- writing ---- */

static int write_gzip(const uint8_t *buf, size_t len, FILE *out)
{
	uint8_t zout[1 << 16];
	z_stream z = { 0 };
	int zr;

	/* 15 + 16: a gzip wrapper; BestSpeed like Go's runtime/pprof */
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (uint8_t *)buf;
	z.avail_in = len;
	do {
		z.next_out = zout;
		z.avail_out = sizeof(zout);
		zr = deflate(&z, Z_FINISH);
		fwrite(zout, 1, sizeof(zout) - z.avail_out, out);
	} while (zr == Z_OK);
	deflateEnd(&z);
	if (zr != Z_STREAM_END)
		return -EIO;
	if (fflush(out) || ferror(out)) {
		pr_err("pprof: writing the profile failed: %s\n", strerror(errno));
		return -EIO;
	}
	return 0;
}

static void free_profile(struct pp *p, Sample *s, size_t ns)
{
	for (size_t i = 0; s && i < ns; i++) {
		free(s[i].location_id);
		free(s[i].value);
		free(s[i].label);
	}
	free(s);
	for (size_t i = 0; i < p->nloc; i++)
		free(p->loc[i]);
	free(p->loc);
	for (size_t i = 0; i < p->fkeys.len; i++)
		free(p->fn[i]);
	free(p->fn);
}

static int emit(struct pp *p, FILE *out)
{
	Profile pr = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType vt[2], *vtp[2], period;
	Mapping map = PERFTOOLS__PROFILES__MAPPING__INIT, *mapp = &map;
	int64_t comment[64];
	struct comments c = { p, comment, 0 };
	Sample *s = calloc(p->agg.len ? p->agg.len : 1, sizeof(*s));
	Sample **sp = calloc(p->agg.len ? p->agg.len : 1, sizeof(*sp));
	uint64_t t0 = p->gs.first_ts, t1 = p->gs.last_ts;
	uint8_t *buf = NULL;
	size_t len;
	int err = 0;

	if (!s || !sp) {
		err = -ENOMEM;
		goto out;
	}
	S(p, ""); /* string_table[0] must be "" */
	set_types(p, &pr, vt, vtp, &period);
	header_comments(p, &c);
	for (size_t i = 0; i < p->agg.len && !err; i++) {
		sp[i] = &s[i];
		err = build_sample(p, &p->agg.ents[i], &s[i]);
	}
	if (err)
		goto out;
	pr.sample = sp;
	pr.n_sample = p->agg.len;
	if (p->o->profile == GT_PROFILE_GOROUTINE && p->at_taken)
		t0 = t1 = p->at_ts;
	pr.time_nanos = t0 ? capture__wall_ns(p->cap, t0) : 0;
	pr.duration_nanos = t1 - t0;
	pr.comment = comment;
	pr.n_comment = c.n;
	/* one mapping for the target binary; frames are already symbolized */
	map.id = 1;
	map.memory_start = p->lo_pc;
	map.memory_limit = p->hi_pc;
	map.filename = S(p, capture__meta(p->cap, "target.exe") ?:
				    capture__meta(p->cap, "target.comm"));
	map.build_id = S(p, capture__meta(p->cap, "target.build_id"));
	map.has_functions = map.has_filenames = map.has_line_numbers = map.has_inline_frames = 1;
	pr.mapping = &mapp;
	pr.n_mapping = 1;
	pr.location = p->loc;
	pr.n_location = p->nloc;
	pr.function = p->fn;
	pr.n_function = p->fkeys.len;
	pr.string_table = p->str.strs;
	pr.n_string_table = p->str.len;
	len = perftools__profiles__profile__get_packed_size(&pr);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&pr, buf);
	err = write_gzip(buf, len, out);
out:
	free(buf);
	free(sp);
	free_profile(p, s, p->agg.len);
	return err;
}

int export_pprof(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	static const struct gs_ops ops = {
		.priv_size = sizeof(uint64_t),
		.event = on_event,
		.birth = on_birth,
		.interval = on_interval,
		.death = on_death,
	};
	struct pp p = { .cap = cap, .o = o };
	int err;

	p.az = capture__meta(cap, "az");
	p.host = capture__meta(cap, "host.name");
	gstate__init(&p.gs, cap, &ops, &p);
	err = gstate__process(&p.gs);
	if (!err)
		err = emit(&p, out);
	else
		pr_err("pprof: reading the capture failed: %s\n", strerror(-err));
	gstate__exit(&p.gs);
	gs_agg__free(&p.agg);
	gs_strtab__free(&p.str);
	gs_strtab__free(&p.fkeys);
	u64map__free(&p.locs);
	return err;
}

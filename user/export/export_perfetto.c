// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perfetto exporter: a stream of length-delimited TracePackets (the bytes
 * of a perfetto.protos.Trace, written one packet at a time) for
 * ui.perfetto.dev and trace_processor.  One process track, one child track
 * per goroutine with sibling merging off (same-named goroutines must not
 * collapse into one track), state slices, create/label instants, flows,
 * labels and park stacks as debug annotations.  Packets are stamped with
 * CLOCK_MONOTONIC, the clock BPF reads, and ClockSnapshots from the
 * capture's metadata let trace_processor map them to wall time.
 * Merged outputs (gtrace merge) hold one process per capture instead and
 * stamp every packet with the capture's own wall time (REALTIME, the
 * trace clock), since each host's MONOTONIC means nothing to the others.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/debug.h"
#include "export/export.h"
#include "perfetto_trace.pb-c.h"
#include "export/timeline.h"

typedef Perfetto__Protos__TracePacket Packet;
typedef Perfetto__Protos__TrackEvent TrackEvent;
typedef Perfetto__Protos__DebugAnnotation Annotation;

#define SEQ_ID 0x67747263 /* "gtrc": our one trusted sequence */
#define PROCESS_UUID 0x6774726300000000ULL
/* capture idx's process; goids stay far below 2^40 */
#define PROC_UUID(t) (PROCESS_UUID + ((uint64_t)(t)->idx << 40))
#define TRACK_UUID(t, goid) (PROC_UUID(t) + 1 + (goid))
/* merged outputs: the "clock uncertainty" group and one child per window */
#define WINDOWS_UUID 0x6774726d00000000ULL
#define SEQ_INCREMENTAL_STATE_CLEARED 1
#define MERGE_NONE \
	PERFETTO__PROTOS__TRACK_DESCRIPTOR__SIBLING_MERGE_BEHAVIOR__SIBLING_MERGE_BEHAVIOR_NONE
#define SLICE_BEGIN PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN
#define SLICE_END PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END
#define INSTANT PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT

struct pf {
	uint8_t *buf;
	size_t cap;
	bool first;
	unsigned nwindows; /* merged: windows written (their tracks) */
};

/* Writes one packet as Trace.packet (field 1, length-delimited). */
static int put_packet(struct tl *t, Packet *p)
{
	struct pf *pf = t->priv;
	size_t len, hl = 1;
	uint8_t hdr[11] = { 0x0a };

	p->has_trusted_packet_sequence_id = true;
	p->trusted_packet_sequence_id = SEQ_ID;
	if (pf->first) {
		p->has_sequence_flags = p->has_first_packet_on_sequence = true;
		p->sequence_flags = SEQ_INCREMENTAL_STATE_CLEARED;
		p->first_packet_on_sequence = true;
		pf->first = false;
	}
	len = perfetto__protos__trace_packet__get_packed_size(p);
	if (len > pf->cap) {
		uint8_t *b = realloc(pf->buf, len * 2);

		if (!b)
			return -ENOMEM;
		pf->buf = b;
		pf->cap = len * 2;
	}
	perfetto__protos__trace_packet__pack(p, pf->buf);
	for (size_t v = len; ; v >>= 7) {
		hdr[hl++] = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		if (v < 0x80)
			break;
	}
	if (fwrite(hdr, 1, hl, t->out) != hl || fwrite(pf->buf, 1, len, t->out) != len)
		return -EIO;
	return 0;
}

static void set_clock(Perfetto__Protos__ClockSnapshot__Clock *c, uint32_t id, uint64_t ts)
{
	perfetto__protos__clock_snapshot__clock__init(c);
	c->has_clock_id = c->has_timestamp = true;
	c->clock_id = id;
	c->timestamp = ts;
}

/* One snapshot of (MONOTONIC, REALTIME[, BOOTTIME]) from meta "<prefix>.*". */
static int clock_snapshot(struct tl *t, const char *prefix, bool fallback)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__ClockSnapshot cs = PERFETTO__PROTOS__CLOCK_SNAPSHOT__INIT;
	Perfetto__Protos__ClockSnapshot__Clock c[3], *cp[3] = { &c[0], &c[1], &c[2] };
	char key[64];
	const char *mono, *real, *boot;

	snprintf(key, sizeof(key), "%s.mono_ns", prefix);
	mono = capture__meta(t->cap, key);
	snprintf(key, sizeof(key), "%s.real_ns", prefix);
	real = capture__meta(t->cap, key);
	snprintf(key, sizeof(key), "%s.boot_ns", prefix);
	boot = capture__meta(t->cap, key);
	if (!mono || !real) {
		if (!fallback)
			return 1;
		/* no mapping recorded: the reader's guess at least keeps the file valid */
		set_clock(&c[0], PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC, t->t0);
		set_clock(&c[1], PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME,
		      capture__wall_ns(t->cap, t->t0));
		boot = NULL;
	} else {
		set_clock(&c[0], PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC,
		      strtoull(mono, NULL, 10));
		set_clock(&c[1], PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME,
		      strtoll(real, NULL, 10));
	}
	cs.clocks = cp;
	cs.n_clocks = 2;
	if (boot) {
		set_clock(&c[2], PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_BOOTTIME,
		      strtoull(boot, NULL, 10));
		cs.n_clocks = 3;
	} else {
		/* without BOOTTIME, the default trace clock could not be reached */
		cs.has_primary_trace_clock = true;
		cs.primary_trace_clock = PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC;
	}
	p.clock_snapshot = &cs;
	return put_packet(t, &p);
}

/*
 * Merged: packets carry wall time already, so REALTIME is made the trace
 * clock and needs no conversion; no capture's MONOTONIC is written.
 */
static int wall_snapshot(struct tl *t)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__ClockSnapshot cs = PERFETTO__PROTOS__CLOCK_SNAPSHOT__INIT;
	Perfetto__Protos__ClockSnapshot__Clock c, *cp = &c;

	set_clock(&c, PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME, tl_ts(t, t->t0));
	cs.clocks = &cp;
	cs.n_clocks = 1;
	cs.has_primary_trace_clock = true;
	cs.primary_trace_clock = PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME;
	p.clock_snapshot = &cs;
	return put_packet(t, &p);
}

static int pf_begin(struct tl *t)
{
	char prefix[32];
	int err;

	if (t->wall)
		return wall_snapshot(t);
	err = clock_snapshot(t, "clock", true);
	/* later mappings, after wall-clock steps: clock.1, clock.2, ... */
	for (int i = 1; !err && i < 1000; i++) {
		snprintf(prefix, sizeof(prefix), "clock.%d", i);
		err = clock_snapshot(t, prefix, false);
	}
	return err < 0 ? err : 0;
}

static int pf_process(struct tl *t)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
	const char *comm = tl_process_name(t);

	pd.has_pid = true;
	pd.pid = t->pid;
	pd.process_name = (char *)comm;
	td.has_uuid = true;
	td.uuid = PROC_UUID(t);
	td.process = &pd;
	td.description = (char *)t->proc_desc;
	/* goroutine tracks in goid order (sibling_order_rank), not by name */
	td.has_child_ordering = true;
	td.child_ordering = PERFETTO__PROTOS__TRACK_DESCRIPTOR__CHILD_TRACKS_ORDERING__EXPLICIT;
	p.track_descriptor = &td;
	return put_packet(t, &p);
}

static int pf_track(struct tl *t, const struct gs_g *g, const char *name)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	char desc[256];

	td.has_uuid = td.has_parent_uuid = true;
	td.uuid = TRACK_UUID(t, g->goid);
	td.parent_uuid = PROC_UUID(t);
	td.name = (char *)name;
	td.has_sibling_merge_behavior = true;
	td.sibling_merge_behavior = MERGE_NONE;
	td.has_sibling_order_rank = true;
	td.sibling_order_rank = g->goid > INT32_MAX ? INT32_MAX : (int32_t)g->goid;
	snprintf(desc, sizeof(desc), "goroutine %" PRIu64 "%s, parent G%" PRIu64, g->goid,
		 g->system ? " (runtime)" : "", g->parent);
	td.description = desc;
	p.track_descriptor = &td;
	return put_packet(t, &p);
}

static void annotations(Annotation *a, Annotation **ap, const struct tl_arg *args, int n)
{
	for (int i = 0; i < n; i++) {
		perfetto__protos__debug_annotation__init(&a[i]);
		a[i].name = (char *)args[i].key;
		if (args[i].str) {
			a[i].string_value = (char *)args[i].str;
		} else {
			a[i].has_uint_value = true;
			a[i].uint_value = args[i].num;
		}
		ap[i] = &a[i];
	}
}

static int packet_event(struct tl *t, uint64_t uuid, int64_t ts, int type, const char *name,
			const struct tl_arg *args, int n, uint64_t *flow_out, uint64_t *flow_in)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	TrackEvent te = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	Annotation a[TL_MAX_ARGS], *ap[TL_MAX_ARGS];
	static char *cat = "goroutine";

	p.has_timestamp = p.has_timestamp_clock_id = true;
	p.timestamp = ts;
	p.timestamp_clock_id = t->wall ? PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME :
					 PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC;
	te.has_type = te.has_track_uuid = true;
	te.type = type;
	te.track_uuid = uuid;
	te.name = (char *)name;
	if (type != SLICE_END) {
		te.categories = &cat;
		te.n_categories = 1;
	}
	annotations(a, ap, args, n);
	te.debug_annotations = ap;
	te.n_debug_annotations = n;
	if (flow_out && *flow_out) {
		te.flow_ids = flow_out;
		te.n_flow_ids = 1;
	}
	if (flow_in && *flow_in) {
		te.terminating_flow_ids = flow_in;
		te.n_terminating_flow_ids = 1;
	}
	p.track_event = &te;
	return put_packet(t, &p);
}

static int event(struct tl *t, uint64_t goid, uint64_t ts, int type, const char *name,
		 const struct tl_arg *args, int n, uint64_t *flow_out, uint64_t *flow_in)
{
	return packet_event(t, TRACK_UUID(t, goid), tl_ts(t, ts), type, name, args, n, flow_out,
			    flow_in);
}

static int pf_slice(struct tl *t, const struct gs_interval *iv, const char *name,
		    const struct tl_arg *args, int nargs, uint64_t flow_in)
{
	int64_t start = tl_ts(t, iv->start), end = tl_ts(t, iv->end);
	uint64_t uuid = TRACK_UUID(t, iv->goid);
	int err;

	/* a wall-clock step back inside the slice must not make it end first */
	if (end < start)
		end = start;
	err = packet_event(t, uuid, start, SLICE_BEGIN, name, args, nargs, NULL, &flow_in);
	if (err)
		return err;
	return packet_event(t, uuid, end, SLICE_END, NULL, NULL, 0, NULL, NULL);
}

static int pf_instant(struct tl *t, uint64_t goid, uint32_t tid, uint64_t ts, const char *name,
		      const struct tl_arg *args, int nargs, uint64_t flow_out)
{
	return event(t, goid, ts, INSTANT, name, args, nargs, &flow_out, NULL);
}

static int pf_end(struct tl *t)
{
	return 0;
}

static int declare_track(struct tl *t, uint64_t uuid, uint64_t parent, const char *name,
			 const char *desc, int rank)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;

	td.has_uuid = true;
	td.uuid = uuid;
	if (parent) {
		td.has_parent_uuid = true;
		td.parent_uuid = parent;
		td.has_sibling_merge_behavior = true;
		td.sibling_merge_behavior = MERGE_NONE;
		td.has_sibling_order_rank = true;
		td.sibling_order_rank = rank;
	}
	td.name = (char *)name;
	td.description = (char *)desc;
	p.track_descriptor = &td;
	return put_packet(t, &p);
}

/* Merged: one track per window (they may overlap) under one group track. */
static int pf_window(struct tl *t, const struct tl_window *w)
{
	struct pf *pf = t->priv;
	uint64_t uuid = WINDOWS_UUID + 1 + pf->nwindows;
	struct tl_arg a[3] = {
		{ "capture_a", NULL, w->a }, { "capture_b", NULL, w->b },
		{ "bound_ns", NULL, w->bound_ns },
	};
	int err = 0;

	if (!pf->nwindows)
		err = declare_track(t, WINDOWS_UUID, 0, "clock uncertainty",
				    "event order across these captures is not known closer than "
				    "the bound (docs/clock-and-az.md)", 0);
	if (!err)
		err = declare_track(t, uuid, WINDOWS_UUID, w->name, NULL, pf->nwindows);
	pf->nwindows++;
	if (!err)
		err = packet_event(t, uuid, w->start, SLICE_BEGIN, w->name, a, 3, NULL, NULL);
	if (!err)
		err = packet_event(t, uuid, w->end, SLICE_END, NULL, NULL, 0, NULL, NULL);
	return err;
}

static const struct tl_ops pf_ops = {
	.begin = pf_begin, .process = pf_process, .track = pf_track, .slice = pf_slice,
	.instant = pf_instant, .end = pf_end, .window = pf_window, .close = perfetto__close,
};

int perfetto__open(struct tl *t, const struct gt_export_opts *o, FILE *out)
{
	struct pf *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return -ENOMEM;
	pf->first = true;
	*t = (struct tl){ .o = o, .out = out, .format = "perfetto", .ops = &pf_ops, .priv = pf };
	return 0;
}

void perfetto__close(struct tl *t)
{
	struct pf *pf = t->priv;

	if (pf)
		free(pf->buf);
	free(pf);
	t->priv = NULL;
}

int export_perfetto(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return timeline__export(cap, o, out, perfetto__open);
}

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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "debug.h"
#include "export.h"
#include "perfetto_trace.pb-c.h"
#include "timeline.h"

typedef Perfetto__Protos__TracePacket Packet;
typedef Perfetto__Protos__TrackEvent TrackEvent;
typedef Perfetto__Protos__DebugAnnotation Annotation;

#define SEQ_ID 0x67747263 /* "gtrc": our one trusted sequence */
#define PROCESS_UUID 0x6774726300000000ULL
#define TRACK_UUID(goid) (PROCESS_UUID + 1 + (goid))
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

static int pf_begin(struct tl *t)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
	const char *comm = tl_process_name(t);
	char prefix[32];
	int err;

	err = clock_snapshot(t, "clock", true);
	/* later mappings, after wall-clock steps: clock.1, clock.2, ... */
	for (int i = 1; !err && i < 1000; i++) {
		snprintf(prefix, sizeof(prefix), "clock.%d", i);
		err = clock_snapshot(t, prefix, false);
	}
	if (err < 0)
		return err;
	pd.has_pid = true;
	pd.pid = t->pid;
	pd.process_name = (char *)comm;
	td.has_uuid = true;
	td.uuid = PROCESS_UUID;
	td.process = &pd;
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
	td.uuid = TRACK_UUID(g->goid);
	td.parent_uuid = PROCESS_UUID;
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

static int event(struct tl *t, uint64_t goid, uint64_t ts, int type, const char *name,
		 const struct tl_arg *args, int n, uint64_t *flow_out, uint64_t *flow_in)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	TrackEvent te = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	Annotation a[TL_MAX_ARGS], *ap[TL_MAX_ARGS];
	static char *cat = "goroutine";

	p.has_timestamp = p.has_timestamp_clock_id = true;
	p.timestamp = ts;
	p.timestamp_clock_id = PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC;
	te.has_type = te.has_track_uuid = true;
	te.type = type;
	te.track_uuid = TRACK_UUID(goid);
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

static int pf_slice(struct tl *t, const struct gs_interval *iv, const char *name,
		    const struct tl_arg *args, int nargs, uint64_t flow_in)
{
	int err = event(t, iv->goid, iv->start, SLICE_BEGIN, name, args, nargs, NULL, &flow_in);

	if (err)
		return err;
	return event(t, iv->goid, iv->end, SLICE_END, NULL, NULL, 0, NULL, NULL);
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

int export_perfetto(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	static const struct tl_ops ops = {
		.begin = pf_begin, .track = pf_track, .slice = pf_slice,
		.instant = pf_instant, .end = pf_end,
	};
	struct pf pf = { .first = true };
	struct tl t = { .cap = cap, .o = o, .out = out, .format = "perfetto", .ops = &ops,
			.priv = &pf };
	int err = timeline__run(&t);

	free(pf.buf);
	return err;
}

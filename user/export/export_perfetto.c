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
 *
 * Compact by the format's own means (docs/formats/perfetto.md): one
 * sequence whose first packet clears incremental state and sets the
 * timestamp clock as a default; every name, category, annotation name and
 * string value interned; track uuids of one or two bytes; track
 * descriptors once.  Track events are encoded by hand into one reused
 * buffer; protobuf-c writes only the rare descriptor and clock packets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/varint.h"
#include "lib/debug.h"
#include "lib/strtab.h"
#include "export/export.h"
#include "perfetto_trace.pb-c.h"
#include "export/timeline.h"

typedef Perfetto__Protos__TracePacket Packet;

#define SEQ_ID 0x67 /* our one trusted sequence ("g"); one byte on the wire */
#define PROCESS_UUID 0x6774726300000000ULL
/* capture idx's process: descriptors only, so a big number costs nothing */
#define PROC_UUID(t) (PROCESS_UUID + ((uint64_t)(t)->idx << 40))
/*
 * Goroutine tracks are named by every event: goid + 1 (one or two bytes),
 * or, merged, with the capture index in the low 10 bits.
 */
#define TRACK_UUID(t, goid) ((t)->wall ? ((goid) + 1) << 10 | ((t)->idx & 1023) : (goid) + 1)
/* merged outputs: the "clock uncertainty" group and one child per window */
#define WINDOWS_UUID 0x6774726d00000000ULL
#define SEQ_INCREMENTAL_STATE_CLEARED 1
#define SEQ_NEEDS_INCREMENTAL_STATE 2
#define MERGE_NONE \
	PERFETTO__PROTOS__TRACK_DESCRIPTOR__SIBLING_MERGE_BEHAVIOR__SIBLING_MERGE_BEHAVIOR_NONE
#define SLICE_BEGIN PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN
#define SLICE_END PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END
#define INSTANT PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT
#define OUT_FLUSH (1 << 20)

/* A growable byte buffer; the encoder reuses three of them for every event. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct pf {
	struct buf out;	 /* bytes not yet written to the FILE */
	struct buf te, ann, idata, pkt; /* one event's TrackEvent, annotation, interned data, packet */
	uint8_t *pk;	 /* protobuf-c packing scratch (descriptors, clocks) */
	size_t pkcap;
	bool first;
	unsigned nwindows; /* merged: windows written (their tracks) */
	/* interned per kind (each has its own iid space on the sequence) */
	struct strtab names, cats, anames, astrs;
	uint64_t cat_iid;
	int err;
};

static int reserve(struct pf *pf, struct buf *b, size_t more)
{
	if (b->len + more > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + more)
			cap *= 2;
		if (!(p = realloc(b->p, cap)))
			return pf->err = -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	return 0;
}

/* field key (field << 3 | wire type) then a varint value */
static inline void put_varint(struct pf *pf, struct buf *b, uint32_t field, uint64_t v)
{
	if (reserve(pf, b, 20))
		return;
	b->len += varint__put(b->p + b->len, (uint64_t)field << 3);
	b->len += varint__put(b->p + b->len, v);
}

static inline void put_bytes(struct pf *pf, struct buf *b, uint32_t field, const void *d, size_t n)
{
	if (reserve(pf, b, 20 + n))
		return;
	b->len += varint__put(b->p + b->len, (uint64_t)field << 3 | 2);
	b->len += varint__put(b->p + b->len, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void put_fixed64(struct pf *pf, struct buf *b, uint32_t field, uint64_t v)
{
	if (reserve(pf, b, 20))
		return;
	b->len += varint__put(b->p + b->len, (uint64_t)field << 3 | 1);
	for (int i = 0; i < 8; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static int flush_out(struct tl *t)
{
	struct pf *pf = t->priv;

	if (pf->out.len && fwrite(pf->out.p, 1, pf->out.len, t->out) != pf->out.len)
		pf->err = -EIO;
	pf->out.len = 0;
	return pf->err;
}

/* One packet's bytes as Trace.packet (field 1), into the output buffer. */
static int emit(struct tl *t, const uint8_t *pkt, size_t len)
{
	struct pf *pf = t->priv;

	put_bytes(pf, &pf->out, 1, pkt, len);
	if (pf->out.len >= OUT_FLUSH)
		flush_out(t);
	return pf->err;
}

/*
 * The sequence's first packet: clears incremental state and sets the
 * defaults every later packet leaves out (its timestamp clock).
 */
static int first_packet(struct tl *t)
{
	struct pf *pf = t->priv;
	struct buf *b = &pf->pkt;
	uint8_t def[8];
	size_t dl;
	uint32_t clock = t->wall ? PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME :
				   PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC;

	pf->first = false;
	b->len = 0;
	put_varint(pf, b, 10, SEQ_ID);		/* trusted_packet_sequence_id */
	put_varint(pf, b, 13, SEQ_INCREMENTAL_STATE_CLEARED); /* sequence_flags */
	put_varint(pf, b, 87, 1);		/* first_packet_on_sequence */
	dl = varint__put(def, 58 << 3);		/* TracePacketDefaults.timestamp_clock_id */
	dl += varint__put(def + dl, clock);
	put_bytes(pf, b, 59, def, dl);		/* trace_packet_defaults */
	return emit(t, b->p, b->len);
}

/* Writes a protobuf-c packet (descriptors, clock snapshots) on our sequence. */
static int put_packet(struct tl *t, Packet *p)
{
	struct pf *pf = t->priv;
	size_t len;

	if (pf->first && first_packet(t))
		return pf->err;
	p->has_trusted_packet_sequence_id = true;
	p->trusted_packet_sequence_id = SEQ_ID;
	len = perfetto__protos__trace_packet__get_packed_size(p);
	if (len > pf->pkcap) {
		uint8_t *b = realloc(pf->pk, len * 2);

		if (!b)
			return -ENOMEM;
		pf->pk = b;
		pf->pkcap = len * 2;
	}
	perfetto__protos__trace_packet__pack(p, pf->pk);
	return emit(t, pf->pk, len);
}

/* The iid of s in table tab; a first use adds {iid, s} to the packet's interned data. */
static uint64_t intern(struct pf *pf, struct strtab *tab, uint32_t idata_field, const char *s)
{
	size_t n = strlen(s);
	bool fresh;
	uint64_t iid = strtab__intern(tab, s, n, &fresh);
	struct buf *e = &pf->ann; /* free while the annotation is not being built */

	if (!iid) {
		pf->err = -ENOMEM;
		return 0;
	}
	if (fresh) {
		size_t save = e->len;

		put_varint(pf, e, 1, iid);
		put_bytes(pf, e, 2, s, n); /* name, or InternedString.str */
		put_bytes(pf, &pf->idata, idata_field, e->p + save, e->len - save);
		e->len = save;
	}
	return iid;
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

/*
 * A goroutine's track, encoded here: one per goroutine, so it must be small
 * (a spawn storm is mostly short goroutines).  The name says goid and start
 * function; the parent shows as the create flow.
 */
static int pf_track(struct tl *t, const struct gs_g *g, const char *name)
{
	struct pf *pf = t->priv;
	struct buf *td = &pf->te, *pkt = &pf->pkt;

	if (pf->first && first_packet(t))
		return pf->err;
	td->len = pkt->len = 0;
	put_varint(pf, td, 1, TRACK_UUID(t, g->goid));	/* uuid */
	put_bytes(pf, td, 2, name, strlen(name));	/* name */
	put_varint(pf, td, 5, PROC_UUID(t));		/* parent_uuid */
	put_varint(pf, td, 12, g->goid > INT32_MAX ? INT32_MAX : g->goid); /* sibling_order_rank */
	put_varint(pf, td, 15, MERGE_NONE);		/* sibling_merge_behavior */
	put_varint(pf, pkt, 10, SEQ_ID);
	put_bytes(pf, pkt, 60, td->p, td->len);		/* track_descriptor */
	if (pf->err)
		return pf->err;
	return emit(t, pkt->p, pkt->len);
}

/*
 * One TrackEvent packet, encoded here rather than through protobuf-c:
 * names, categories, annotation names and string values are interned (sent
 * once, then referred to by iid), the clock comes from the sequence
 * defaults, and nothing is allocated per event.
 */
static int packet_event(struct tl *t, uint64_t uuid, int64_t ts, int type, const char *name,
			const struct tl_arg *args, int n, uint64_t *flow_out, uint64_t *flow_in)
{
	struct pf *pf = t->priv;
	struct buf *te = &pf->te, *ann = &pf->ann, *pkt = &pf->pkt;

	if (pf->first && first_packet(t))
		return pf->err;
	te->len = pf->idata.len = pkt->len = 0;
	if (type != SLICE_END) {
		if (!pf->cat_iid)
			pf->cat_iid = intern(pf, &pf->cats, 1, "goroutine");
		put_varint(pf, te, 3, pf->cat_iid); /* category_iids */
	}
	put_varint(pf, te, 9, type);
	put_varint(pf, te, 11, uuid);
	if (name)
		put_varint(pf, te, 10, intern(pf, &pf->names, 2, name)); /* name_iid */
	for (int i = 0; i < n; i++) {
		uint64_t niid = intern(pf, &pf->anames, 3, args[i].key);
		uint64_t siid = args[i].str ? intern(pf, &pf->astrs, 29, args[i].str) : 0;

		ann->len = 0;
		put_varint(pf, ann, 1, niid); /* name_iid */
		if (args[i].str)
			put_varint(pf, ann, 17, siid); /* string_value_iid */
		else
			put_varint(pf, ann, 3, args[i].num); /* uint_value */
		put_bytes(pf, te, 4, ann->p, ann->len);
	}
	if (flow_out && *flow_out)
		put_fixed64(pf, te, 47, *flow_out);
	if (flow_in && *flow_in)
		put_fixed64(pf, te, 48, *flow_in);
	put_varint(pf, pkt, 8, (uint64_t)ts);
	put_varint(pf, pkt, 10, SEQ_ID);
	put_varint(pf, pkt, 13, SEQ_NEEDS_INCREMENTAL_STATE);
	if (pf->idata.len)
		put_bytes(pf, pkt, 12, pf->idata.p, pf->idata.len); /* interned_data */
	put_bytes(pf, pkt, 11, te->p, te->len);			    /* track_event */
	if (pf->err)
		return pf->err;
	return emit(t, pkt->p, pkt->len);
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
	return flush_out(t);
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

	if (pf) {
		free(pf->out.p);
		free(pf->te.p);
		free(pf->ann.p);
		free(pf->idata.p);
		free(pf->pkt.p);
		free(pf->pk);
		strtab__free(&pf->names);
		strtab__free(&pf->cats);
		strtab__free(&pf->anames);
		strtab__free(&pf->astrs);
	}
	free(pf);
	t->priv = NULL;
}

int export_perfetto(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return timeline__export(cap, o, out, perfetto__open);
}

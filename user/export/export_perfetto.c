// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perfetto exporter: a stream of length-delimited TracePackets (the bytes
 * of a perfetto.protos.Trace, written one packet at a time) for
 * ui.perfetto.dev and trace_processor.  One process track, under it a
 * group track per start function and in each one track per goroutine
 * ("G<goid>"), state slices, create/label instants, flows, labels and park
 * stacks as debug annotations.  Packets are stamped with CLOCK_MONOTONIC,
 * the clock BPF reads, and ClockSnapshots from the capture's metadata let
 * trace_processor map them to wall time.
 * Merged outputs (gtrace merge) hold one process per capture instead and
 * stamp every packet with the capture's own wall time (REALTIME, the
 * trace clock), since each host's MONOTONIC means nothing to the others.
 *
 * Compact by the format's own means (docs/formats/perfetto.md):
 * - a shared sequence (descriptors, clock snapshots, the rare packet no
 *   other sequence can take) whose first packet clears incremental state
 *   and sets the timestamp clock as a default;
 * - a pool of POOL sequences with incremental clocks for every other slice
 *   and instant, each packet on the one whose last timestamp fits best;
 * - a goroutine that has had PROMOTE slices gets a sequence of its own
 *   for the rest: its defaults name the goroutine's track, so its slices
 *   carry no track uuid, and a sequence-scoped incremental clock makes
 *   their timestamps deltas (a goroutine's slices are written in time
 *   order; nothing else is written on its sequence).  Short goroutines
 *   stay on the pool: a sequence costs ~50 bytes and its own copy of every
 *   interned string;
 * - every name, annotation name and string value interned, per sequence;
 *   flow ids reused once their flow has ended; small track uuids; no
 *   category and no SEQ_NEEDS_INCREMENTAL_STATE (both carried nothing).
 * Track events are encoded by hand straight into the output buffer;
 * protobuf-c writes only the rare descriptor and clock packets.
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

#define SEQ_ID 1 /* the shared sequence; the pool and goroutine sequences are SEQ_ID + their index */
#define PROCESS_UUID 0x6774726300000000ULL
/*
 * Track uuids are written by every event off a goroutine's own sequence,
 * so they are small: report's process is 1, the first 30 start-function
 * groups 2..31 and goroutine tracks goid + 32 (one to three bytes).
 * Merged: capture idx's process is a big number (descriptors only),
 * goroutine tracks carry the capture index in the low 10 bits.
 */
#define PROC_UUID(t) ((t)->wall ? PROCESS_UUID + ((uint64_t)(t)->idx << 40) : 1)
#define TRACK_UUID(t, goid) ((t)->wall ? ((goid) + 1) << 10 | ((t)->idx & 1023) : (goid) + GOID_BASE)
#define GROUP_UUID(t, n)                                                          \
	((t)->wall ? PROC_UUID(t) + (1ULL << 32) + (n) :                            \
	 (n) <= GROUP_SMALL ? 1 + (n) : GROUP_UUID_BIG + (n))
/* merged outputs: the "clock uncertainty" group and one child per window */
#define WINDOWS_UUID 0x6774726d00000000ULL
#define SEQ_INCREMENTAL_STATE_CLEARED 1
/*
 * SEQ_NEEDS_INCREMENTAL_STATE (2) is not written: trace_processor resolves
 * interned data, defaults and sequence clocks whether it is set or not; the
 * flag only tells a reader to drop a packet whose sequence lost data before
 * it (proto_trace_reader.cc), and a gtrace file is written whole.  Two
 * bytes a packet.
 */
#define CLOCK_MONOTONIC_ID PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_MONOTONIC
#define CLOCK_DELTA 64 /* sequence-scoped (64..127), incremental: our goroutine sequences */
/*
 * The shared sequence's clock (report): MONOTONIC - t0 + REL0, a
 * sequence-scoped clock too, so its timestamps take the capture's length
 * (4-5 bytes) rather than the machine's uptime (6-8).  The margin keeps
 * values before t0 positive.
 */
#define CLOCK_REL 64
#define REL0 1000000000ULL
/*
 * Slices a goroutine writes on the pool before it gets its own sequence:
 * a sequence pays its ~50-byte first packet and its interned strings back
 * at a few bytes a slice (no track uuid, 1-byte begin deltas).
 */
#define PROMOTE 16
/*
 * Report outputs: every packet that would go on the shared sequence with an
 * absolute timestamp (6 bytes) goes on one of POOL sequences whose clock is
 * incremental instead, the one whose last timestamp is the latest not after
 * the packet's (best fit), so the delta is small (2-3 bytes).  Packets are
 * not written in time order (a slice's BEGIN when the slice ends, an instant
 * when its flow's far end is), which is why one sequence is not enough; a
 * packet older than every pool sequence's last stays absolute on the shared
 * sequence.  Track uuids stay explicit on these.
 */
#define POOL 8
/*
 * Goroutine tracks are grouped by start function (a spawn storm is a
 * million "G<n> main.worker" tracks: the function spelt once, in the
 * group's descriptor).  Report: groups take uuids 2..GROUP_SMALL + 1 and
 * goroutine tracks goid + GOID_BASE above them; later groups a big range.
 */
#define GROUP_SMALL 30
#define GOID_BASE (GROUP_SMALL + 2)
#define GROUP_UUID_BIG 0x6774726700000000ULL
/*
 * Flow ids: trace_processor pairs a flow's two ends by id in time order (an
 * id in flow_ids begins a flow, the same id in terminating_flow_ids ends
 * it), so an id is free again once its flow has ended.  FLOW_LANES one-byte
 * ids are handed out again and again: the one free earliest, when its last
 * flow ended strictly before the new flow begins; else the timeline's own
 * id, above them.  The timeline writes a flow's source instant and then at
 * once the slice it ends in, so one pending flow is all there is to keep.
 */
#define FLOW_LANES 127
#define MERGE_NONE \
	PERFETTO__PROTOS__TRACK_DESCRIPTOR__SIBLING_MERGE_BEHAVIOR__SIBLING_MERGE_BEHAVIOR_NONE
#define SLICE_BEGIN PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN
#define SLICE_END PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END
#define INSTANT PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT
#define OUT_FLUSH (1 << 20)

/* Interned kinds: each has its own iid space; the InternedData field it goes in. */
enum { K_NAME, K_ANAME, K_ASTR, NKINDS };
static const uint8_t idata_field[NKINDS] = { 2, 3, 29 };

/* A growable byte buffer: the output not yet written to the FILE. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* Memo of string pointer -> iid (strings stay put for a capture, timeline.h). */
struct pcache {
	const char **k;
	uint64_t *v;
	size_t n, cap;
};

/* One sequence: its incremental clock and which (kind, iid) it has been sent. */
struct seq {
	uint64_t last;		/* the delta clock's current value (goroutine sequences) */
	uint64_t low[NKINDS];	/* iids 1..64 sent: bit iid - 1 (names, keys: nearly all) */
	uint32_t *sent;		/* larger ones: kind << 30 | iid, open addressing, 0 = empty */
	uint32_t n, cap;
};

/* A string to send as interned data with the packet being written. */
struct pend {
	uint8_t kind;
	uint64_t iid;
	const char *s;
	size_t n;
};

struct pf {
	struct buf out;
	uint8_t *pk; /* protobuf-c packing scratch (descriptors, clocks) */
	size_t pkcap;
	bool first;
	unsigned nwindows; /* merged: windows written (their tracks) */
	struct strtab tab[NKINDS];
	struct pcache pc[NKINDS];
	struct seq *seqs; /* [0] the shared sequence, [1..POOL] the pool, then promoted goroutines */
	uint8_t pool_ord[POOL]; /* started pool sequences (seqs[1 + i]) by last, ascending */
	uint64_t pool_last[POOL]; /* their lasts, in that order */
	unsigned pool_n;
	struct strtab groups; /* start function -> group number, this capture's */
	struct pcache gpc;    /* the same by address */
	const char *last_group_fn; /* and the last one looked up */
	uint64_t last_group_uuid;
	struct lane {
		uint64_t free; /* its last flow's end */
		uint16_t id;
	} lanes[FLOW_LANES]; /* a min-heap by free */
	unsigned nlanes, lanes_made;
	uint64_t pend_flow, pend_id; /* the flow whose source was just written */
	bool pend_lane;
	uint64_t base;	  /* MONOTONIC at CLOCK_REL's REL0 (report: t0) */
	size_t nseqs, seqcap;
	int err;
};

static int grow(struct pf *pf, size_t more)
{
	struct buf *b = &pf->out;
	size_t cap = b->cap ? b->cap : OUT_FLUSH + 4096;
	uint8_t *p;

	while (cap < b->len + more)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		return pf->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static inline int reserve(struct pf *pf, size_t more)
{
	return pf->out.len + more <= pf->out.cap ? 0 : grow(pf, more);
}

/* lib/varint.h's writer, returning where the next byte goes */
static inline uint8_t *varint(uint8_t *p, uint64_t v)
{
	return p + varint__put(p, v);
}

static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* field key (field << 3 | wire type 0) then a varint value */
static inline uint8_t *put_v(uint8_t *p, uint32_t field, uint64_t v)
{
	return varint(varint(p, (uint64_t)field << 3), v);
}

static inline uint8_t *put_s(uint8_t *p, uint32_t field, const void *s, size_t n)
{
	p = varint(varint(p, (uint64_t)field << 3 | 2), n);
	memcpy(p, s, n);
	return p + n;
}

/*
 * A length-delimited field is written with one byte kept for its length
 * (nearly every message here is under 128 bytes); the rare longer one is
 * moved up to make room.  lenp is that byte, end where the message ends;
 * returns the new end.
 */
static inline uint8_t *close_len(uint8_t *lenp, uint8_t *end)
{
	size_t n = end - (lenp + 1), k;

	if (n < 0x80) {
		*lenp = (uint8_t)n;
		return end;
	}
	k = varint_len(n);
	memmove(lenp + k, lenp + 1, n);
	varint(lenp, n);
	return end + k - 1;
}

static inline uint8_t *open_len(uint8_t *p, uint32_t field, uint8_t **lenp)
{
	p = varint(p, (uint64_t)field << 3 | 2);
	*lenp = p;
	return p + 1;
}

static int flush_out(struct tl *t)
{
	struct pf *pf = t->priv;

	if (pf->out.len && fwrite(pf->out.p, 1, pf->out.len, t->out) != pf->out.len)
		pf->err = -EIO;
	pf->out.len = 0;
	return pf->err;
}

/* After a packet was written at out.p + out.len up to end. */
static inline int done(struct tl *t, uint8_t *end)
{
	struct pf *pf = t->priv;

	pf->out.len = end - pf->out.p;
	if (pf->out.len >= OUT_FLUSH)
		flush_out(t);
	return pf->err;
}

/* Where the next packet goes (room for at least more bytes), its length byte in *lenp. */
static inline uint8_t *open_packet(struct pf *pf, size_t more, uint8_t **lenp)
{
	if (reserve(pf, more + 8))
		return NULL;
	return open_len(pf->out.p + pf->out.len, 1, lenp); /* Trace.packet */
}

/*
 * The shared sequence's first packet: clears incremental state and sets the
 * defaults every later packet leaves out (its timestamp clock).
 */
static int first_packet(struct tl *t)
{
	struct pf *pf = t->priv;
	uint8_t *p, *lp, *dl, *cl, *c1;
	uint32_t clock = t->wall ? PERFETTO__PROTOS__BUILTIN_CLOCK__BUILTIN_CLOCK_REALTIME :
				   CLOCK_REL;

	pf->first = false;
	pf->base = t->t0;
	if (!(p = open_packet(pf, 64, &lp)))
		return pf->err;
	p = put_v(p, 10, SEQ_ID);			 /* trusted_packet_sequence_id */
	p = put_v(p, 13, SEQ_INCREMENTAL_STATE_CLEARED); /* sequence_flags */
	p = put_v(p, 87, 1);				 /* first_packet_on_sequence */
	p = open_len(p, 59, &dl);			 /* trace_packet_defaults */
	p = put_v(p, 58, clock);			 /* .timestamp_clock_id */
	p = close_len(dl, p);
	if (!t->wall) { /* clock_snapshot: CLOCK_REL's REL0 is MONOTONIC base */
		p = open_len(p, 6, &cl);
		p = open_len(p, 1, &c1);
		p = put_v(p, 1, CLOCK_MONOTONIC_ID);
		p = put_v(p, 2, pf->base);
		p = close_len(c1, p);
		p = open_len(p, 1, &c1);
		p = put_v(p, 1, CLOCK_REL);
		p = put_v(p, 2, REL0);
		p = close_len(c1, p);
		p = close_len(cl, p);
	}
	return done(t, close_len(lp, p));
}

/* Writes a protobuf-c packet (descriptors, clock snapshots) on the shared sequence. */
static int put_packet(struct tl *t, Packet *p)
{
	struct pf *pf = t->priv;
	uint8_t *w, *lp;
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
	if (!(w = open_packet(pf, len + 8, &lp)))
		return pf->err;
	memcpy(w, pf->pk, len);
	return done(t, close_len(lp, w + len));
}

static inline size_t ptr_hash(const void *p)
{
	uint64_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 32);
}

static inline uint64_t pcache_get(const struct pcache *c, const char *s)
{
	if (!c->cap)
		return 0;
	for (size_t i = ptr_hash(s) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		if (c->k[i] == s)
			return c->v[i];
		if (!c->k[i])
			return 0;
	}
}

static int pcache_put(struct pcache *c, const char *s, uint64_t v)
{
	size_t i;

	if ((c->n + 1) * 2 > c->cap) {
		struct pcache g = { .cap = c->cap ? c->cap * 2 : 64 };

		g.k = calloc(g.cap, sizeof(*g.k));
		g.v = calloc(g.cap, sizeof(*g.v));
		if (!g.k || !g.v) {
			free(g.k);
			free(g.v);
			return -ENOMEM;
		}
		for (i = 0; i < c->cap; i++)
			if (c->k[i])
				pcache_put(&g, c->k[i], c->v[i]);
		free(c->k);
		free(c->v);
		*c = g;
	}
	for (i = ptr_hash(s) & (c->cap - 1); c->k[i]; i = (i + 1) & (c->cap - 1))
		;
	c->k[i] = s;
	c->v[i] = v;
	c->n++;
	return 0;
}

static void pcache_free(struct pcache *c)
{
	free(c->k);
	free(c->v);
	*c = (struct pcache){ 0 };
}

/* The iid of s among kind's strings; cached by pointer when its text cannot change. */
static uint64_t iid_of(struct pf *pf, int kind, const char *s, bool cache)
{
	bool fresh;
	uint64_t iid = cache ? pcache_get(&pf->pc[kind], s) : 0;

	if (iid)
		return iid;
	iid = strtab__intern(&pf->tab[kind], s, strlen(s), &fresh);
	if (!iid || iid >= (1u << 30) || (cache && pcache_put(&pf->pc[kind], s, iid))) {
		pf->err = -ENOMEM;
		return 0;
	}
	return iid;
}

/* True when sq has been sent key already; otherwise notes it as sent. */
static bool sent_before(struct pf *pf, struct seq *sq, uint32_t key)
{
	uint32_t i;

	if ((sq->n + 1) * 2 > sq->cap) {
		struct seq g = { .cap = sq->cap ? sq->cap * 2 : 16 };

		if (!(g.sent = calloc(g.cap, sizeof(*g.sent)))) {
			pf->err = -ENOMEM;
			return true;
		}
		for (i = 0; i < sq->cap; i++)
			if (sq->sent[i])
				sent_before(pf, &g, sq->sent[i]);
		free(sq->sent);
		sq->sent = g.sent;
		sq->cap = g.cap;
		sq->n = g.n;
	}
	for (i = (key * 0x9e3779b1u) >> 7 & (sq->cap - 1); sq->sent[i]; i = (i + 1) & (sq->cap - 1))
		if (sq->sent[i] == key)
			return true;
	sq->sent[i] = key;
	sq->n++;
	return false;
}

/* ref()'s path for a string that is not memoized or not yet sent on sq */
static uint64_t ref_slow(struct pf *pf, struct seq *sq, int kind, const char *s, bool cache,
			 struct pend *pend, int *np)
{
	uint64_t iid = iid_of(pf, kind, s, cache), bit;

	if (iid && iid <= 64) {
		bit = 1ULL << (iid - 1);
		if (sq->low[kind] & bit)
			return iid;
		sq->low[kind] |= bit;
	} else if (!iid || sent_before(pf, sq, (uint32_t)kind << 30 | (uint32_t)iid)) {
		return iid;
	}
	pend[(*np)++] = (struct pend){ kind, iid, s, strlen(s) };
	return iid;
}

/*
 * s's iid for a packet on sq; the first use on sq adds s to the packet's
 * interned data.  Inline for the case of nearly every reference (a name or
 * key memoized, with a small iid, already sent on sq): two to three a
 * packet.
 */
static inline uint64_t ref(struct pf *pf, struct seq *sq, int kind, const char *s, bool cache,
			   struct pend *pend, int *np)
{
	uint64_t iid = cache ? pcache_get(&pf->pc[kind], s) : 0;

	if (iid && iid <= 64 && sq->low[kind] >> (iid - 1) & 1)
		return iid;
	return ref_slow(pf, sq, kind, s, cache, pend, np);
}

/* One event's place: the sequence, and the track when not the sequence's default. */
struct where {
	struct seq *sq;
	uint32_t id;	/* trusted_packet_sequence_id */
	uint64_t track; /* 0: the sequence's default track */
	enum { AT_WALL, AT_REL, AT_DELTA } clock; /* merged, shared, a goroutine's */
};

/*
 * One TrackEvent packet, encoded here rather than through protobuf-c:
 * names, categories, annotation names and string values are interned per
 * sequence (sent once, then referred to by iid), the clock (and on a
 * goroutine's sequence the track) comes from the sequence defaults, and
 * the bytes go straight into the output buffer.  name_fixed: name's text
 * stays put for the capture (slice names), so its iid is memoized.
 */
static inline __attribute__((always_inline)) int
track_event_in(struct tl *t, const struct where *w, int64_t ts, int type, const char *name,
	       bool name_fixed, const struct tl_arg *args, int n, uint64_t flow_out,
	       uint64_t flow_in)
{
	struct pf *pf = t->priv;
	struct pend pend[2 + 2 * TL_MAX_ARGS];
	uint64_t niid[TL_MAX_ARGS], siid[TL_MAX_ARGS], nm = 0;
	size_t more = 64 + 24 * (size_t)n;
	uint8_t *p, *lp, *tl;
	int np = 0;

	if (pf->first && first_packet(t))
		return pf->err;
	/*
	 * No category: every event here is a goroutine's, so the one category
	 * there was told nothing, at 2 bytes a slice and an instant (Chrome JSON,
	 * whose events need one, keeps "goroutine").
	 */
	if (type != SLICE_END && name)
		nm = ref(pf, w->sq, K_NAME, name, name_fixed, pend, &np);
	for (int i = 0; i < n; i++) {
		niid[i] = ref(pf, w->sq, K_ANAME, args[i].key, true, pend, &np);
		siid[i] = args[i].str ? ref(pf, w->sq, K_ASTR, args[i].str, true, pend, &np) : 0;
	}
	for (int i = 0; i < np; i++)
		more += pend[i].n + 24;
	if (pf->err || !(p = open_packet(pf, more, &lp)))
		return pf->err;
	if (w->clock == AT_WALL) {
		p = put_v(p, 8, (uint64_t)ts);
	} else if (w->clock == AT_DELTA && (uint64_t)ts >= w->sq->last) {
		p = put_v(p, 8, (uint64_t)ts - w->sq->last); /* timestamp: a delta */
		w->sq->last = ts;
	} else if (w->clock == AT_REL && (uint64_t)ts + REL0 >= pf->base) {
		p = put_v(p, 8, (uint64_t)ts + REL0 - pf->base);
	} else {
		/* never seen (slices come in order, after t0), but stay exact */
		p = put_v(p, 58, CLOCK_MONOTONIC_ID);
		p = put_v(p, 8, (uint64_t)ts);
	}
	p = put_v(p, 10, w->id);
	if (np) {
		uint8_t *il;

		p = open_len(p, 12, &il); /* interned_data */
		for (int i = 0; i < np; i++) {
			size_t el = 1 + varint_len(pend[i].iid) + 1 + varint_len(pend[i].n) + pend[i].n;

			p = varint(p, (uint64_t)idata_field[pend[i].kind] << 3 | 2);
			p = varint(p, el);
			p = put_v(p, 1, pend[i].iid);		/* iid */
			p = put_s(p, 2, pend[i].s, pend[i].n); /* name, or InternedString.str */
		}
		p = close_len(il, p);
	}
	p = open_len(p, 11, &tl); /* track_event */
	p = put_v(p, 9, type);
	if (w->track)
		p = put_v(p, 11, w->track);
	if (nm)
		p = put_v(p, 10, nm); /* name_iid */
	for (int i = 0; i < n; i++) {
		uint8_t *al;

		p = open_len(p, 4, &al); /* debug_annotations */
		p = put_v(p, 1, niid[i]); /* name_iid */
		if (args[i].str)
			p = put_v(p, 17, siid[i]); /* string_value_iid */
		else
			p = put_v(p, 3, args[i].num); /* uint_value */
		p = close_len(al, p);
	}
	/*
	 * Flows by their varint fields (flow_ids_old, terminating_flow_ids_old):
	 * our ids are counters, 1-4 bytes, not the 8 of the fixed64 fields
	 * meant for hashed ids; trace_processor reads either.
	 */
	if (flow_out)
		p = put_v(p, 36, flow_out);
	if (flow_in)
		p = put_v(p, 42, flow_in);
	p = close_len(tl, p);
	return done(t, close_len(lp, p));
}

/*
 * track_event_in is expanded in its two hot callers (a slice's BEGIN, an
 * instant), each with its constant type and flow arguments and its own
 * copies of the branches on them, which go differently for the two; the
 * rare packets (merged windows, an END that cannot take the short path)
 * share this copy.
 */
static int track_event(struct tl *t, const struct where *w, int64_t ts, int type,
		       const char *name, bool name_fixed, const struct tl_arg *args, int n,
		       uint64_t flow_out, uint64_t flow_in)
{
	return track_event_in(t, w, ts, type, name, name_fixed, args, n, flow_out, flow_in);
}

/*
 * A SLICE_END, the most common packet (every slice has one): the same bytes
 * as track_event writes, without its interning and argument steps.
 */
static int slice_end(struct tl *t, const struct where *w, int64_t ts)
{
	struct pf *pf = t->priv;
	uint8_t *p, *lp, *tl;

	if (pf->first || (w->clock == AT_DELTA && (uint64_t)ts < w->sq->last) ||
	    (w->clock == AT_REL && (uint64_t)ts + REL0 < pf->base))
		return track_event(t, w, ts, SLICE_END, NULL, false, NULL, 0, 0, 0);
	if (!(p = open_packet(pf, 48, &lp)))
		return pf->err;
	if (w->clock == AT_DELTA) {
		p = put_v(p, 8, (uint64_t)ts - w->sq->last); /* timestamp: a delta */
		w->sq->last = ts;
	} else {
		p = put_v(p, 8, w->clock == AT_REL ? (uint64_t)ts + REL0 - pf->base : (uint64_t)ts);
	}
	p = put_v(p, 10, w->id);
	p = open_len(p, 11, &tl); /* track_event */
	p = put_v(p, 9, SLICE_END);
	if (w->track)
		p = put_v(p, 11, w->track);
	*tl = (uint8_t)(p - tl - 1);
	*lp = (uint8_t)(p - lp - 1);
	return done(t, p);
}

static struct where shared(struct tl *t, uint64_t track)
{
	struct pf *pf = t->priv;

	return (struct where){ &pf->seqs[0], SEQ_ID, track, t->wall ? AT_WALL : AT_REL };
}

/*
 * A sequence's first packet: clears its (new) incremental state, makes the
 * delta clock the default clock (and track, when not 0, the default track)
 * and defines that clock at ts MONOTONIC.
 */
static int seq_start(struct tl *t, uint32_t id, uint64_t track, uint64_t ts)
{
	struct pf *pf = t->priv;
	uint8_t *p, *lp, *dl, *el, *cl, *c1;

	if (pf->first && first_packet(t))
		return pf->err;
	if (!(p = open_packet(pf, 80, &lp)))
		return pf->err;
	p = put_v(p, 10, id);
	p = put_v(p, 13, SEQ_INCREMENTAL_STATE_CLEARED);
	p = put_v(p, 87, 1);	   /* first_packet_on_sequence */
	p = open_len(p, 59, &dl);  /* trace_packet_defaults */
	p = put_v(p, 58, CLOCK_DELTA); /* .timestamp_clock_id */
	if (track) {
		p = open_len(p, 11, &el); /* .track_event_defaults */
		p = put_v(p, 11, track);  /* ..track_uuid */
		p = close_len(el, p);
	}
	p = close_len(dl, p);
	p = open_len(p, 6, &cl); /* clock_snapshot: the delta clock starts at ts MONOTONIC */
	p = open_len(p, 1, &c1);
	p = put_v(p, 1, CLOCK_MONOTONIC_ID);
	p = put_v(p, 2, ts);
	p = close_len(c1, p);
	p = open_len(p, 1, &c1);
	p = put_v(p, 1, CLOCK_DELTA);
	p = put_v(p, 2, ts);
	p = put_v(p, 3, 1); /* is_incremental */
	p = close_len(c1, p);
	p = close_len(cl, p);
	return done(t, close_len(lp, p));
}

/* g's own sequence, from its PROMOTE-th slice on: g's track is its default. */
static int promote(struct tl *t, uint64_t *slot, uint64_t track, uint64_t ts)
{
	struct pf *pf = t->priv;
	struct seq *sq;

	if (pf->nseqs == pf->seqcap) {
		size_t cap = pf->seqcap * 2;
		struct seq *s = realloc(pf->seqs, cap * sizeof(*s));

		if (!s || pf->nseqs >= UINT32_MAX - SEQ_ID)
			return pf->err = -ENOMEM;
		pf->seqs = s;
		pf->seqcap = cap;
	}
	sq = &pf->seqs[pf->nseqs];
	*sq = (struct seq){ .last = ts };
	*slot = PROMOTE + pf->nseqs++;
	return seq_start(t, (uint32_t)(SEQ_ID + (*slot - PROMOTE)), track, ts);
}

/*
 * Where a packet at ts on track goes when it is not on a goroutine's own
 * sequence: the pool sequence with the latest last timestamp not after ts
 * (the pool is kept sorted by last; writing ts there keeps it sorted, since
 * the next one's last is after ts; the packet written next at ts sets the
 * sequence's own last), a new pool sequence while there are
 * fewer than POOL, else the shared sequence, absolute.
 */
static int place_rare(struct tl *t, uint64_t track, uint64_t ts, struct where *w);

/*
 * Inline, so that each caller (an instant, a slice's BEGIN, its END) has
 * its own copy of the search loop's exit branch: an END nearly always
 * stops at the latest, a BEGIN or an instant goes further back, and one
 * shared branch mispredicted about once a packet (place() was 7% of user
 * time on a spawn storm, a third of it that branch).
 */
static inline int place(struct tl *t, uint64_t track, uint64_t ts, struct where *w)
{
	struct pf *pf = t->priv;
	unsigned k = pf->pool_n, i;

	if (t->wall)
		return place_rare(t, track, ts, w);
	/* from the latest down: a slice's end is nearly always the latest */
	while (k && pf->pool_last[k - 1] > ts)
		k--;
	if (!k)
		return place_rare(t, track, ts, w);
	i = pf->pool_ord[k - 1];
	pf->pool_last[k - 1] = ts;
	*w = (struct where){ &pf->seqs[1 + i], SEQ_ID + 1 + i, track, AT_DELTA };
	return 0;
}

/* place() when no started pool sequence fits (or merged: the shared one) */
static int place_rare(struct tl *t, uint64_t track, uint64_t ts, struct where *w)
{
	struct pf *pf = t->priv;
	unsigned i;

	if (t->wall || pf->pool_n == POOL) {
		*w = shared(t, track);
		return 0;
	}
	i = pf->pool_n++;
	memmove(pf->pool_ord + 1, pf->pool_ord, i);
	memmove(pf->pool_last + 1, pf->pool_last, i * sizeof(pf->pool_last[0]));
	pf->pool_ord[0] = (uint8_t)i;
	pf->pool_last[0] = ts;
	pf->seqs[1 + i].last = ts;
	*w = (struct where){ &pf->seqs[1 + i], SEQ_ID + 1 + i, track, AT_DELTA };
	return seq_start(t, SEQ_ID + 1 + i, 0, ts);
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
	struct pf *pf = t->priv;
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
	const char *comm = tl_process_name(t);

	/* a new capture: the last one's strings (and so their addresses) are gone */
	for (int k = 0; k < NKINDS; k++)
		pcache_free(&pf->pc[k]);
	pcache_free(&pf->gpc);
	strtab__free(&pf->groups);
	pf->last_group_fn = NULL;
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
 * The group track of a start function (once per capture): under the
 * process, in order of first appearance; its goroutines under it in the
 * order of their first events.
 */
static int group_of(struct tl *t, const char *fn, uint64_t *uuid)
{
	struct pf *pf = t->priv;
	uint64_t n;
	uint8_t *p, *lp, *dl;
	size_t len;
	bool fresh = false;

	if (fn == pf->last_group_fn) { /* a spawn storm: the same function again and again */
		*uuid = pf->last_group_uuid;
		return 0;
	}
	n = pcache_get(&pf->gpc, fn);
	if (n) {
		pf->last_group_fn = fn;
		pf->last_group_uuid = GROUP_UUID(t, n);
		*uuid = GROUP_UUID(t, n);
		return 0;
	}
	len = strlen(fn);
	if (!(n = strtab__intern(&pf->groups, fn, len, &fresh)) || pcache_put(&pf->gpc, fn, n))
		return pf->err = -ENOMEM;
	*uuid = GROUP_UUID(t, n);
	if (!fresh)
		return 0;
	if (!(p = open_packet(pf, len + 48, &lp)))
		return pf->err;
	p = open_len(p, 60, &dl);		       /* track_descriptor */
	p = put_v(p, 1, *uuid);		       /* uuid */
	p = put_s(p, 2, fn, len);	       /* name */
	p = put_v(p, 5, PROC_UUID(t));	       /* parent_uuid */
	p = put_v(p, 11, PERFETTO__PROTOS__TRACK_DESCRIPTOR__CHILD_TRACKS_ORDERING__CHRONOLOGICAL);
	p = put_v(p, 12, n > INT32_MAX ? INT32_MAX : n); /* sibling_order_rank */
	p = put_v(p, 15, MERGE_NONE);	       /* sibling_merge_behavior */
	p = close_len(dl, p);
	return done(t, close_len(lp, p));
}

/*
 * A goroutine's track, encoded here: one per goroutine, so it must be small
 * (a spawn storm is mostly short goroutines).  Named "G<goid>" under its
 * start function's group (tl_track_name: "G<goid> <start function>"); a goroutine
 * first seen mid-life, whose start is not known, goes under the process.
 * The parent shows as the create flow.  Siblings' names are unique, so
 * merging by name (the default) never applies.  Goroutine and group
 * descriptors leave out trusted_packet_sequence_id: trace_processor reserves
 * a plain child track by uuid, parent and name alone (2 bytes a goroutine).
 */
/* "00" .. "99" */
static const char digits2[100][2] = {
#define D10(a) { a, '0' }, { a, '1' }, { a, '2' }, { a, '3' }, { a, '4' }, \
	       { a, '5' }, { a, '6' }, { a, '7' }, { a, '8' }, { a, '9' }
	D10('0'), D10('1'), D10('2'), D10('3'), D10('4'),
	D10('5'), D10('6'), D10('7'), D10('8'), D10('9'),
#undef D10
};

static int pf_track(struct tl *t, const struct gs_g *g)
{
	struct pf *pf = t->priv;
	bool grouped = tl_start_known(g); /* else under the process, by goid */
	uint64_t parent = PROC_UUID(t), v = g->goid;
	uint8_t *p, *lp, *dl, *d, dec[40];
	size_t n;

	if (pf->first && first_packet(t))
		return pf->err;
	if (grouped && group_of(t, g->start_func, &parent))
		return pf->err;
	if (!(p = open_packet(pf, 48, &lp)))
		return pf->err;
	p = open_len(p, 60, &dl);		 /* track_descriptor */
	p = put_v(p, 1, TRACK_UUID(t, g->goid)); /* uuid */
	/*
	 * name: "G<goid>" (up to 21 bytes: a 1-byte length).  The digits two at
	 * a time into dec, back to front, in one pass: a digit at a time, and
	 * once more to count them, was most of this function's time.
	 */
	d = dec + 20;
	while (v >= 100) {
		memcpy(d -= 2, digits2[v % 100], 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(d -= 2, digits2[v], 2);
	else
		*--d = (uint8_t)('0' + v);
	n = (size_t)(dec + 20 - d);
	*p++ = 2 << 3 | 2;
	*p++ = (uint8_t)(n + 1);
	*p++ = 'G';
	/*
	 * A copy of a constant size (a move or two, where n bytes was a libc
	 * call): dec has room past the digits, the packet past the name.
	 */
	if (n <= 8)
		memcpy(p, d, 8);
	else
		memcpy(p, d, 20);
	p += n;
	p = put_v(p, 5, parent); /* parent_uuid */
	if (!grouped) /* among the groups, by goid */
		p = put_v(p, 12, g->goid > INT32_MAX ? INT32_MAX : g->goid);
	p = close_len(dl, p);
	return done(t, close_len(lp, p));
}

static void lane_push(struct pf *pf, uint64_t free, uint16_t id)
{
	unsigned i = pf->nlanes++;

	while (i && pf->lanes[(i - 1) / 2].free > free) {
		pf->lanes[i] = pf->lanes[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	pf->lanes[i] = (struct lane){ free, id };
}

static uint16_t lane_pop(struct pf *pf)
{
	uint16_t id = pf->lanes[0].id;
	struct lane last = pf->lanes[--pf->nlanes];
	unsigned i = 0, c;

	if (!pf->nlanes)
		return id;
	/*
	 * Bottom-up: the hole goes down the path of smaller children to a leaf
	 * (the smaller child picked without a branch, a coin toss: lanes[c + 1]
	 * is inside the array even past nlanes, and not chosen then), then last
	 * climbs back while the parent is not earlier than it.  The same heap
	 * as sifting last down from the root, ties included (the path's lanes
	 * are in order, so those earlier than last are a prefix of it; checked
	 * against the sift-down on random pushes and pops), with one compare a
	 * level instead of two, and a descent as long as the heap is deep
	 * rather than one that stops at a depth the data decides.
	 */
	while ((c = 2 * i + 1) < pf->nlanes) {
		c += (c + 1 < pf->nlanes) & (pf->lanes[c + 1].free < pf->lanes[c].free);
		pf->lanes[i] = pf->lanes[c];
		i = c;
	}
	while (i && pf->lanes[(i - 1) / 2].free >= last.free) {
		pf->lanes[i] = pf->lanes[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	pf->lanes[i] = last;
	return id;
}

/* The id to write for timeline flow f, whose source is at ts. */
static uint64_t flow_begin(struct pf *pf, uint64_t f, uint64_t ts)
{
	pf->pend_flow = f;
	pf->pend_lane = true;
	if (pf->nlanes && pf->lanes[0].free < ts)
		pf->pend_id = lane_pop(pf);
	else if (pf->lanes_made < FLOW_LANES)
		pf->pend_id = ++pf->lanes_made;
	else
		pf->pend_lane = false, pf->pend_id = FLOW_LANES + f;
	return pf->pend_id;
}

/* The id to write for timeline flow f, ending at ts; its lane is free after ts. */
static uint64_t flow_end(struct pf *pf, uint64_t f, uint64_t ts)
{
	uint64_t id = FLOW_LANES + f;

	if (f == pf->pend_flow) {
		id = pf->pend_id;
		if (pf->pend_lane)
			lane_push(pf, ts, (uint16_t)id);
		pf->pend_flow = 0;
	}
	return id;
}

/*
 * A slice is a BEGIN and an END packet: on the pool for a goroutine's
 * first PROMOTE - 1 slices (each packet placed on its own), on the
 * goroutine's sequence after that (merged outputs: always the shared
 * sequence; their wall clock may step back).
 */
static int pf_slice(struct tl *t, const struct gs_interval *iv, const char *name,
		    const struct tl_arg *args, int nargs, uint64_t flow_in)
{
	struct pf *pf = t->priv;
	int64_t start = tl_ts(t, iv->start), end = tl_ts(t, iv->end);
	uint64_t uuid = TRACK_UUID(t, iv->goid);
	uint64_t *slot = &((struct gs_g *)iv->g)->priv[TL_PRIV_BACKEND];
	struct where w = shared(t, uuid);
	int err;

	/* a wall-clock step back inside the slice must not make it end first */
	if (end < start)
		end = start;
	if (!t->wall && *slot < PROMOTE && ++*slot == PROMOTE && promote(t, slot, uuid, start))
		return pf->err;
	if (*slot > PROMOTE - 1 && !t->wall) {
		size_t i = *slot - PROMOTE;

		w = (struct where){ &pf->seqs[i], (uint32_t)(SEQ_ID + i), 0, AT_DELTA };
	} else if (place(t, uuid, start, &w)) {
		return pf->err;
	}
	if (flow_in)
		flow_in = flow_end(pf, flow_in, start);
	err = track_event_in(t, &w, start, SLICE_BEGIN, name, true, args, nargs, 0, flow_in);
	if (err)
		return err;
	if (w.track && place(t, uuid, end, &w))
		return pf->err;
	return slice_end(t, &w, end);
}

/* strcmp(k, "goid") == 0 by hand: the libc call was ~1% of an export */
static inline bool is_goid(const char *k)
{
	return k[0] == 'g' && k[1] == 'o' && k[2] == 'i' && k[3] == 'd' && !k[4];
}

/*
 * Instants go on the pool, never on a goroutine's own sequence: a create or
 * wake instant is written when its flow's far end is, long after its time,
 * and on another goroutine's track.
 */
static int pf_instant(struct tl *t, uint64_t goid, uint32_t tid, uint64_t ts, const char *name,
		      const struct tl_arg *args, int nargs, uint64_t flow_out)
{
	struct pf *pf = t->priv;
	struct where w;

	if (place(t, TRACK_UUID(t, goid), tl_ts(t, ts), &w))
		return pf->err;

	/*
	 * A create or wake instant's goid argument names the goroutine its flow
	 * arrow lands on: the arrow shows it, so its 8 bytes (a quarter of the
	 * instant) are left out here.  Chrome JSON keeps it.
	 */
	if (flow_out && nargs == 1 && !args[0].str && is_goid(args[0].key))
		nargs = 0;
	if (flow_out)
		flow_out = flow_begin(pf, flow_out, tl_ts(t, ts));
	return track_event_in(t, &w, tl_ts(t, ts), INSTANT, name, true, args, nargs, flow_out, 0);
}

/* A goroutine is gone: its sequence's interning memo is not needed any more. */
static void pf_forget(struct tl *t, const struct gs_g *g)
{
	struct pf *pf = t->priv;
	uint64_t s = g->priv[TL_PRIV_BACKEND];

	if (s >= PROMOTE && s - PROMOTE < pf->nseqs && s - PROMOTE) {
		struct seq *sq = &pf->seqs[s - PROMOTE];

		free(sq->sent);
		sq->sent = NULL;
		sq->n = sq->cap = 0;
	}
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
	struct where at = shared(t, uuid);
	int err = 0;

	if (!pf->nwindows)
		err = declare_track(t, WINDOWS_UUID, 0, "clock uncertainty",
				    "event order across these captures is not known closer than "
				    "the bound (docs/clock-and-az.md)", 0);
	if (!err)
		err = declare_track(t, uuid, WINDOWS_UUID, w->name, NULL, pf->nwindows);
	pf->nwindows++;
	/* w->name is the caller's: interned by content */
	if (!err)
		err = track_event(t, &at, w->start, SLICE_BEGIN, w->name, false, a, 3, 0, 0);
	if (!err)
		err = track_event(t, &at, w->end, SLICE_END, NULL, false, NULL, 0, 0, 0);
	return err;
}

static const struct tl_ops pf_ops = {
	.begin = pf_begin, .process = pf_process, .track = pf_track, .slice = pf_slice,
	.instant = pf_instant, .end = pf_end, .window = pf_window, .forget = pf_forget,
	.close = perfetto__close,
};

int perfetto__open(struct tl *t, const struct gt_export_opts *o, FILE *out)
{
	struct pf *pf = calloc(1, sizeof(*pf));

	if (!pf || !(pf->seqs = calloc(2 * (1 + POOL), sizeof(*pf->seqs)))) {
		free(pf);
		return -ENOMEM;
	}
	pf->seqcap = 2 * (1 + POOL);
	pf->nseqs = 1 + POOL; /* [0]: the shared sequence, then the pool */
	pf->first = true;
	*t = (struct tl){ .o = o, .out = out, .format = "perfetto", .ops = &pf_ops, .priv = pf };
	return 0;
}

void perfetto__close(struct tl *t)
{
	struct pf *pf = t->priv;

	if (pf) {
		free(pf->out.p);
		free(pf->pk);
		for (int k = 0; k < NKINDS; k++) {
			strtab__free(&pf->tab[k]);
			pcache_free(&pf->pc[k]);
		}
		strtab__free(&pf->groups);
		pcache_free(&pf->gpc);
		for (size_t i = 0; i < pf->nseqs; i++)
			free(pf->seqs[i].sent);
		free(pf->seqs);
	}
	free(pf);
	t->priv = NULL;
}

int export_perfetto(struct gt_capture *cap, const struct gt_export_opts *o, FILE *out)
{
	return timeline__export(cap, o, out, perfetto__open);
}

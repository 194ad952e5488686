// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every exporter on the synthetic capture (synth.h), checked by decoding
 * what it wrote: pprof with the generated protobuf-c unpacker (exact
 * sample values, label sets, inlined lines, deduplicated tables), the
 * Perfetto packet stream (balanced slices per track, both ends of every
 * flow, clock snapshots, track descriptors), Chrome JSON through Python's
 * json module, and the text summary's numbers.  Writing to /dev/full must
 * fail with -EIO in every format.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "export/export.h"
#include "perfetto_trace.pb-c.h"
#include "profile.pb-c.h"
#include "helpers.h"
#include "synth.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;

/* Runs one exporter into memory; the bytes (caller frees) or NULL. */
static char *run_export(int (*fn)(struct gt_capture *, const struct gt_export_opts *, FILE *),
			const struct gt_export_opts *o, size_t *len, int *err)
{
	struct gt_capture *cap = t_synth_open();
	char *buf = NULL;
	FILE *f;

	*err = -EINVAL;
	if (!cap)
		return NULL;
	f = open_memstream(&buf, len);
	*err = fn(cap, o, f);
	fclose(f);
	capture__close(cap);
	return buf;
}

/* ---- pprof ---- */

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	int r;

	if (!out || inflateInit2(&z, 15 + 16) != Z_OK)
		return NULL;
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	r = inflate(&z, Z_FINISH);
	*out_len = z.total_out;
	inflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

static Profile *pprof_of(enum gt_profile_kind kind, int64_t at)
{
	struct gt_export_opts o = { .profile = kind, .at_ns = at };
	size_t len, rlen;
	int err;
	char *gz = run_export(export_pprof, &o, &len, &err);
	uint8_t *raw = gz && !err && len > 2 && (uint8_t)gz[0] == 0x1f && (uint8_t)gz[1] == 0x8b ?
			       gunzip((uint8_t *)gz, len, &rlen) : NULL;
	Profile *p = raw ? perftools__profiles__profile__unpack(NULL, rlen, raw) : NULL;

	free(gz);
	free(raw);
	return p;
}

static const char *str(const Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "<bad index>";
}

/* The string label key of s, or NULL. */
static const char *label(const Profile *p, const Sample *s, const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key) && s->label[i]->str)
			return str(p, s->label[i]->str);
	return NULL;
}

static int64_t goid_label(const Profile *p, const Sample *s)
{
	for (size_t i = 0; i < s->n_label; i++) {
		const Perftools__Profiles__Label *l = s->label[i];

		if (!strcmp(str(p, l->key), "goid"))
			return strcmp(str(p, l->num_unit), "goid") ? -2 : l->num;
	}
	return -1;
}

/* Whether s has the string label key=val. */
static bool label_is(const Profile *p, const Sample *s, const char *key, const char *val)
{
	const char *v = label(p, s, key);

	return v && !strcmp(v, val);
}

/* The sample of goid in state/reason, or NULL. */
static const Sample *find(const Profile *p, int64_t goid, const char *reason)
{
	for (size_t i = 0; i < p->n_sample; i++) {
		const char *r = label(p, p->sample[i], "wait_reason");

		if (goid_label(p, p->sample[i]) == goid &&
		    (reason ? r && !strcmp(r, reason) : !r))
			return p->sample[i];
	}
	return NULL;
}

static const Perftools__Profiles__Location *loc(const Profile *p, uint64_t id)
{
	return id && id <= p->n_location ? p->location[id - 1] : NULL;
}

static const char *func(const Profile *p, uint64_t id)
{
	return id && id <= p->n_function ? str(p, p->function[id - 1]->name) : "<bad function>";
}

static bool has_comment(const Profile *p, const char *c)
{
	for (size_t i = 0; i < p->n_comment; i++)
		if (!strcmp(str(p, p->comment[i]), c))
			return true;
	return false;
}

static void sums(const Profile *p, int64_t *count, int64_t *total)
{
	*count = *total = 0;
	for (size_t i = 0; i < p->n_sample; i++) {
		*count += p->sample[i]->value[0];
		*total += p->sample[i]->n_value > 1 ? p->sample[i]->value[1] : 0;
	}
}

/* Ids 1..N in order, names unique: what pprof's CheckValid and Parca demand. */
static bool tables_valid(const Profile *p)
{
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id != i + 1 || !p->location[i]->n_line)
			return false;
	for (size_t i = 0; i < p->n_function; i++) {
		if (p->function[i]->id != i + 1)
			return false;
		for (size_t j = 0; j < i; j++)
			if (p->function[j]->name == p->function[i]->name &&
			    p->function[j]->filename == p->function[i]->filename)
				return false;
	}
	for (size_t i = 0; i < p->n_sample; i++)
		for (size_t j = 0; j < p->sample[i]->n_location_id; j++)
			if (!loc(p, p->sample[i]->location_id[j]))
				return false;
	return p->n_string_table && !p->string_table[0][0];
}

TEST(pprof_offcpu)
{
	Profile *p = pprof_of(GT_PROFILE_OFFCPU, 0);
	const Perftools__Profiles__Location *l;
	const Sample *s;
	int64_t count, total;

	T_ASSERT(p, "pprof output did not gunzip and decode");
	T_CHECK(p->n_sample_type == 2 && !strcmp(str(p, p->sample_type[0]->type), "events") &&
			!strcmp(str(p, p->sample_type[1]->type), "delay") &&
			!strcmp(str(p, p->sample_type[1]->unit), "nanoseconds") &&
			!strcmp(str(p, p->default_sample_type), "delay"),
		"sample types");
	T_CHECK(tables_valid(p), "ids sequential, functions unique, string_table[0] empty");
	sums(p, &count, &total);
	T_CHECK(p->n_sample == 8 && count == 8 && total == 55700,
		"%zu samples, %lld waits, %lld ns; want 8, 8, 55700", p->n_sample,
		(long long)count, (long long)total);
	s = find(p, 10, "chan receive");
	T_ASSERT(s, "G10 chan receive sample");
	T_CHECK(s->value[0] == 1 && s->value[1] == 10000, "G10 wait 10000 ns");
	T_CHECK(label_is(p, s, "kind", "chanrecv") && label_is(p, s, "state", "waiting") &&
			label_is(p, s, "az", "us-east-1a") && label_is(p, s, "host", "testhost"),
		"G10 labels kind/state/az/host");
	T_ASSERT(s->n_location_id == 3, "G10 stack has %zu locations, want 3", s->n_location_id);
	l = loc(p, s->location_id[0]);
	T_CHECK(l->address == 0x40300f && l->n_line == 1 &&
			!strcmp(func(p, l->line[0]->function_id), "runtime.gopark"),
		"leaf is runtime.gopark at ret-1");
	l = loc(p, s->location_id[2]);
	T_CHECK(l->n_line == 2 && !strcmp(func(p, l->line[0]->function_id), "main.block") &&
			l->line[0]->line == 30 &&
			!strcmp(func(p, l->line[1]->function_id), "main.worker") &&
			l->line[1]->line == 40,
		"inlined main.block expanded into its own Line before main.worker");
	s = find(p, 11, "sync.Mutex.Lock");
	T_CHECK(s && s->value[1] == 10000 && label_is(p, s, "idx", "0"),
		"G11 mutex wait with its label set {idx=0, kind=mutex}");
	s = find(p, 11, NULL);
	T_CHECK(s && s->value[1] == 1000 && label_is(p, s, "state", "syscall") &&
			s->n_location_id == 1 &&
			!strcmp(func(p, loc(p, s->location_id[0])->line[0]->function_id),
				"[syscall]"),
		"G11 syscall 1000 ns under a [syscall] pseudo-frame");
	s = find(p, 12, "chan receive");
	T_CHECK(s && s->value[1] == 7000, "G12 wait open at the end counts to the end");
	s = find(p, 2, "GC sweep wait");
	T_CHECK(s && s->value[1] == 16000, "G2 snapshot wait");
	T_CHECK(!find(p, 11, "GC assist wait"), "GC pseudo-wait is not off-CPU time");
	T_CHECK(p->time_nanos == SY_REAL0 && p->duration_nanos == 16000,
		"time %lld duration %lld", (long long)p->time_nanos, (long long)p->duration_nanos);
	T_CHECK(has_comment(p, "clock.error_ns=1500 clock.sync=1") &&
			has_comment(p, "loss.total=5") && has_comment(p, "loss.park=5") &&
			has_comment(p, "az=us-east-1a"),
		"comments: clock bound, loss, az");
	T_CHECK(p->n_mapping == 1 && p->mapping[0]->has_functions, "one mapping, has_functions");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

TEST(pprof_schedlat)
{
	Profile *p = pprof_of(GT_PROFILE_SCHEDLAT, 0);
	int64_t count, total;
	int seen = 0;

	T_ASSERT(p, "decode");
	T_CHECK(tables_valid(p), "tables");
	sums(p, &count, &total);
	T_CHECK(count == 10 && total == 6100, "%lld runnable waits, %lld ns; want 10, 6100",
		(long long)count, (long long)total);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Sample *s = p->sample[i];

		if (goid_label(p, s) == 10 && label_is(p, s, "cause", "unpark")) {
			T_CHECK(s->value[1] == 1000 && s->n_location_id == 3,
				"G10 after unpark: 1000 ns at its park stack");
			seen |= 1;
		}
		if (goid_label(p, s) == 11 && label_is(p, s, "cause", "preempt")) {
			T_CHECK(s->value[1] == 500, "G11 after preempt: 500 ns");
			seen |= 2;
		}
	}
	/* without these the loop above checks nothing */
	T_CHECK(seen == 3, "samples found: G10 after unpark %s, G11 after preempt %s",
		seen & 1 ? "yes" : "no", seen & 2 ? "yes" : "no");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

static int64_t count_where(const Profile *p, const char *key, const char *val)
{
	int64_t n = 0;

	for (size_t i = 0; i < p->n_sample; i++) {
		/* key NULL counts every sample (UBSan: no strcmp with NULL) */
		const char *v = key ? label(p, p->sample[i], key) : NULL;

		if (!key || (v && !strcmp(v, val)))
			n += p->sample[i]->value[0];
	}
	return n;
}

TEST(pprof_goroutine)
{
	Profile *p = pprof_of(GT_PROFILE_GOROUTINE, 0);

	T_ASSERT(p, "decode");
	T_CHECK(tables_valid(p), "tables");
	T_CHECK(p->n_sample_type == 1 && !strcmp(str(p, p->sample_type[0]->type), "goroutine"),
		"goroutine/count");
	T_CHECK(count_where(p, NULL, NULL) == 3, "3 alive at the end, got %lld",
		(long long)count_where(p, NULL, NULL));
	T_CHECK(count_where(p, "state", "running") == 1 &&
			count_where(p, "wait_reason", "chan receive") == 1,
		"G1 running, G12 in chan receive");
	T_CHECK(count_where(p, "created_by", "main.main /src/main.go:20") == 1,
		"creation site label for G12");
	perftools__profiles__profile__free_unpacked(p, NULL);

	p = pprof_of(GT_PROFILE_GOROUTINE, SY_T(2600));
	T_ASSERT(p, "decode --at");
	T_CHECK(count_where(p, NULL, NULL) == 5, "5 alive at T+2600, got %lld",
		(long long)count_where(p, NULL, NULL));
	T_CHECK(count_where(p, "wait_reason", "sync.Mutex.Lock") == 2 &&
			count_where(p, "kind", "mutex") == 2,
		"G11 and G12 on the mutex");
	T_CHECK(p->time_nanos == SY_REAL0 + 2600, "time_nanos is --at in wall time");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

TEST(pprof_lifetime)
{
	Profile *p = pprof_of(GT_PROFILE_LIFETIME, 0);
	int64_t count, total;

	T_ASSERT(p, "decode");
	T_CHECK(tables_valid(p), "tables");
	sums(p, &count, &total);
	T_CHECK(count == 4 && total == 44600, "%lld goroutines, %lld ns; want 4, 44600",
		(long long)count, (long long)total);
	T_CHECK(count_where(p, "exited", "false") == 1, "G12 still alive");
	T_CHECK(!strcmp(str(p, p->default_sample_type), "lifetime"), "default lifetime");
	for (size_t i = 0; i < p->n_sample; i++) {
		const Sample *s = p->sample[i];

		T_CHECK(s->n_location_id == 2 &&
				!strcmp(func(p, loc(p, s->location_id[0])->line[0]->function_id),
					"main.worker") &&
				!strcmp(func(p, loc(p, s->location_id[1])->line[0]->function_id),
					"main.main"),
			"lifetime stack: start function under the go statement");
	}
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* ---- Perfetto ---- */

struct pf_check {
	int packets, slices, instants, tracks, clocks, flows_out, flows_in;
	int unbalanced, unknown_track, merge_wrong, backwards;
	bool boottime, realtime, monotonic;
	char names[16][96]; /* goroutine tracks as shown: "G<n>" and its group's name */
	/* flow ends in file order: MONOTONIC ns, id, 1 = begins */
	uint64_t fl_ts[128], fl_id[128];
	int fl_out[128], nfl;
};

#define MAX_TRACKS 64
#define MAX_SEQS 32

/*
 * Resolves what trace_processor resolves: per sequence, the default clock
 * (TracePacketDefaults) and sequence-scoped clocks defined against
 * MONOTONIC by a ClockSnapshot, incremental ones summed packet by packet;
 * goroutine tracks under start-function group tracks.
 */
static void check_packets(const uint8_t *b, size_t len, struct pf_check *c)
{
	uint64_t uuids[MAX_TRACKS], last_ts[MAX_TRACKS], guuid[MAX_TRACKS];
	char gname[MAX_TRACKS][64];
	int depth[MAX_TRACKS], nt = 0, ng = 0;
	struct {
		uint32_t id, defclk, clock; /* clock: its sequence clock (64..127) */
		bool incr;
		uint64_t at, mono, last;
	} sq[MAX_SEQS];
	int nsq = 0;
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	for (;;) {
		bool bad;
		Perfetto__Protos__TracePacket *p = t_pf_next(b, len, &off, &bad);
		int s;

		if (!p) {
			if (bad)
				c->unbalanced = 1000;
			break;
		}
		c->packets++;
		for (s = 0; s < nsq && sq[s].id != p->trusted_packet_sequence_id; s++)
			;
		if (s == nsq && nsq < MAX_SEQS) {
			memset(&sq[nsq], 0, sizeof(sq[0]));
			sq[nsq++].id = p->trusted_packet_sequence_id;
		}
		if (s == MAX_SEQS) {
			c->unbalanced = 1000;
			break;
		}
		if (p->trace_packet_defaults && p->trace_packet_defaults->has_timestamp_clock_id)
			sq[s].defclk = p->trace_packet_defaults->timestamp_clock_id;
		if (p->clock_snapshot) {
			c->clocks++;
			for (size_t i = 0; i < p->clock_snapshot->n_clocks; i++) {
				uint32_t id = p->clock_snapshot->clocks[i]->clock_id;
				uint64_t ts = p->clock_snapshot->clocks[i]->timestamp;

				c->monotonic |= id == 3 && ts == SY_T0;
				c->realtime |= id == 1 && ts == (uint64_t)SY_REAL0;
				c->boottime |= id == 6 && ts == SY_T0 + 500000;
			}
			for (size_t i = 0; i < p->clock_snapshot->n_clocks; i++) {
				Perfetto__Protos__ClockSnapshot__Clock *k = p->clock_snapshot->clocks[i];

				if (k->clock_id < 64 || k->clock_id >= 128)
					continue;
				sq[s].clock = k->clock_id;
				sq[s].incr = k->is_incremental;
				sq[s].at = sq[s].last = k->timestamp;
				for (size_t j = 0; j < p->clock_snapshot->n_clocks; j++)
					if (p->clock_snapshot->clocks[j]->clock_id == 3)
						sq[s].mono = p->clock_snapshot->clocks[j]->timestamp;
			}
		}
		if (p->track_descriptor && p->track_descriptor->has_parent_uuid &&
		    p->track_descriptor->has_child_ordering && ng < MAX_TRACKS) {
			guuid[ng] = p->track_descriptor->uuid; /* a start-function group */
			snprintf(gname[ng++], 64, "%s", p->track_descriptor->name);
		} else if (p->track_descriptor && p->track_descriptor->has_parent_uuid &&
			   nt < MAX_TRACKS) {
			Perfetto__Protos__TrackDescriptor *td = p->track_descriptor;
			int g;

			for (g = 0; g < ng && guuid[g] != td->parent_uuid; g++)
				;
			/* names are unique among siblings, else merging must be off */
			for (int i = 0; i < c->tracks && i < 16; i++)
				c->merge_wrong += td->sibling_merge_behavior != 2 &&
						  !strncmp(c->names[i], td->name, strlen(td->name)) &&
						  (c->names[i][strlen(td->name)] == ' ' ||
						   !c->names[i][strlen(td->name)]);
			if (c->tracks < 16)
				snprintf(c->names[c->tracks], 96, "%s%s%s", td->name, g < ng ? " " : "",
					 g < ng ? gname[g] : "");
			c->tracks++;
			uuids[nt] = td->uuid;
			depth[nt] = 0;
			last_ts[nt++] = 0;
		}
		if (p->track_event) {
			Perfetto__Protos__TrackEvent *te = p->track_event;
			uint32_t clk = p->has_timestamp_clock_id ? p->timestamp_clock_id : sq[s].defclk;
			int t;

			/* a sequence clock, back to MONOTONIC */
			if (clk == sq[s].clock && clk) {
				uint64_t v = p->timestamp;

				if (sq[s].incr)
					v = sq[s].last += p->timestamp;
				p->timestamp = v - sq[s].at + sq[s].mono;
				clk = 3;
			}

			for (t = 0; t < nt && uuids[t] != te->track_uuid; t++)
				;
			if (t == nt) {
				c->unknown_track++;
			} else {
				if (te->type == 1) {
					c->backwards += p->timestamp < last_ts[t];
					depth[t]++;
					c->slices++;
				} else if (te->type == 2) {
					c->backwards += p->timestamp < last_ts[t];
					c->unbalanced += --depth[t] < 0;
				} else {
					c->instants++;
				}
				if (te->type != 3)
					last_ts[t] = p->timestamp;
			}
			c->unbalanced += clk != 3;
			/* the varint fields, which we write, and the fixed64 ones (trace_processor reads both) */
			for (int dir = 1; dir >= 0; dir--) {
				size_t n = dir ? te->n_flow_ids_old : te->n_terminating_flow_ids_old;
				size_t n2 = dir ? te->n_flow_ids : te->n_terminating_flow_ids;

				for (size_t i = 0; i < n + n2 && c->nfl < 128; i++) {
					c->fl_ts[c->nfl] = p->timestamp;
					c->fl_out[c->nfl] = dir;
					c->fl_id[c->nfl++] =
						i < n ? (dir ? te->flow_ids_old : te->terminating_flow_ids_old)[i] :
							(dir ? te->flow_ids : te->terminating_flow_ids)[i - n];
					*(dir ? &c->flows_out : &c->flows_in) += 1;
				}
			}
		}
		perfetto__protos__trace_packet__free_unpacked(p, NULL);
	}
	for (int t = 0; t < nt; t++)
		c->unbalanced += depth[t] != 0;
}

/*
 * Every flow has both ends, paired as trace_processor pairs them: by id, in
 * time order (an id ending at t may begin another flow after t).
 */
static bool flows_paired(const struct pf_check *c)
{
	int order[128], n = c->nfl;
	bool open[128] = { 0 };

	if (c->flows_in != c->flows_out)
		return false;
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++) /* by time; at one instant, ends first */
		for (int j = i; j > 0; j--) {
			int a = order[j - 1], b = order[j];

			if (c->fl_ts[a] < c->fl_ts[b] ||
			    (c->fl_ts[a] == c->fl_ts[b] && c->fl_out[a] <= c->fl_out[b]))
				break;
			order[j - 1] = b;
			order[j] = a;
		}
	for (int i = 0; i < n; i++) {
		int e = order[i], k;

		for (k = 0; k < i && !(open[order[k]] && c->fl_id[order[k]] == c->fl_id[e]); k++)
			;
		if (c->fl_out[e]) {
			if (k < i)
				return false; /* begun again while open */
			open[e] = true;
		} else {
			if (k == i)
				return false; /* ends nothing */
			open[order[k]] = false;
		}
	}
	for (int i = 0; i < n; i++)
		if (open[i])
			return false;
	return true;
}

static bool has_track(const struct pf_check *c, const char *name)
{
	for (int i = 0; i < c->tracks && i < 16; i++)
		if (!strcmp(c->names[i], name))
			return true;
	return false;
}

TEST(perfetto_all)
{
	struct gt_export_opts o = { 0 };
	struct pf_check c;
	size_t len;
	int err;
	char *b = run_export(export_perfetto, &o, &len, &err);

	T_ASSERT(b && !err, "export_perfetto: %d", err);
	check_packets((uint8_t *)b, len, &c);
	free(b);
	T_CHECK(c.clocks >= 1 && c.monotonic && c.realtime && c.boottime,
		"clock snapshot with MONOTONIC, REALTIME, BOOTTIME from the metadata");
	T_CHECK(c.tracks == 7 && !c.merge_wrong,
		"%d goroutine tracks (want 7), none merging by name", c.tracks);
	T_CHECK(has_track(&c, "G10 main.worker") && has_track(&c, "G2 runtime.bgsweep"),
		"tracks named G<id> under their start function's group");
	T_CHECK(!c.unbalanced && !c.unknown_track && !c.backwards,
		"slices balanced per track, in order, on declared tracks, MONOTONIC stamps");
	/* intervals: G1 1, G2 1, G10 5, G11 13, G12 6, G13 3, G99 3 */
	T_CHECK(c.slices == 32, "%d slices, want 32", c.slices);
	T_CHECK(c.flows_out == 7 && flows_paired(&c),
		"%d flows out, %d in; want 7 creates+wakes, each with both ends", c.flows_out,
		c.flows_in);
	T_CHECK(c.instants == 8, "%d instants, want 8 (7 flow sources + 1 label change)",
		c.instants);
}

TEST(perfetto_filters)
{
	struct gt_export_opts o = { .goroutines = "label:kind=mutex" };
	struct pf_check c;
	size_t len;
	int err;
	char *b = run_export(export_perfetto, &o, &len, &err);

	T_ASSERT(b && !err, "export_perfetto filtered: %d", err);
	check_packets((uint8_t *)b, len, &c);
	free(b);
	T_CHECK(c.tracks == 2 && c.slices == 19 && !c.unbalanced,
		"kind=mutex: %d tracks (want 2: G11, G12), %d slices (want 19)", c.tracks,
		c.slices);
	T_CHECK(flows_paired(&c), "no flow left dangling when its source is filtered out");

	o = (struct gt_export_opts){ .goroutines = "10,99" };
	b = run_export(export_perfetto, &o, &len, &err);
	T_ASSERT(b && !err, "goid list");
	check_packets((uint8_t *)b, len, &c);
	free(b);
	T_CHECK(c.tracks == 2 && c.slices == 8, "goids 10,99: %d tracks %d slices", c.tracks,
		c.slices);

	o = (struct gt_export_opts){ .min_duration_ns = 5000 };
	b = run_export(export_perfetto, &o, &len, &err);
	T_ASSERT(b && !err, "min duration");
	check_packets((uint8_t *)b, len, &c);
	free(b);
	T_CHECK(c.slices == 7 && !c.unbalanced && flows_paired(&c),
		"min 5µs: %d slices (want 7), flows paired", c.slices);
}

/* ---- Chrome JSON ---- */

static const char chrome_check_py[] =
	"import json,sys,collections\n"
	"d=json.load(open(sys.argv[1]))\n"
	"ev=d['traceEvents']; depth=collections.Counter(); names={}; s={}; f={}; nb=0\n"
	"assert d['otherData']['wall_start_ns']==int(sys.argv[2]), d['otherData']\n"
	"for e in ev:\n"
	"  k=(e['pid'],e['tid'])\n"
	"  if e['ph']=='M' and e['name']=='thread_name': names[k]=e['args']['name']\n"
	"  elif e['ph']=='B': depth[k]+=1; nb+=1; assert k in names, k\n"
	"  elif e['ph']=='E': depth[k]-=1; assert depth[k]>=0, k\n"
	"  elif e['ph']=='s': s[e['id']]=e\n"
	"  elif e['ph']=='f': f[e['id']]=e\n"
	"assert all(v==0 for v in depth.values()), depth\n"
	"assert set(s)==set(f), (s,f)\n"
	"assert all(s[i]['ts']<=f[i]['ts'] for i in s)\n"
	"print(nb, len(s), len(names), names.get((4242,10)))\n";

TEST(chrome_json)
{
	struct gt_export_opts o = { 0 };
	char line[256];
	size_t len;
	int err, st;
	char *b = run_export(export_chrome, &o, &len, &err);

	T_ASSERT(b && !err, "export_chrome: %d", err);
	T_CHECK(strstr(b, "\"ts\":1.000,") && strstr(b, "\"name\":\"waiting: chan receive\""),
		"µs relative to the first event (G10 created at 1000 ns)");
	st = t_python(chrome_check_py, b, len, SY_REAL0, line, sizeof(line));
	free(b);
	if (st == T_PY_MISSING)
		T_SKIP("python3 not available");
	T_CHECK(!st && !strcmp(line, "32 7 7 G10 main.worker\n"),
		"JSON parses, B/E nest per tid, flows paired: got '%s'", line);
}

/* ---- text ---- */

TEST(text_summary)
{
	struct gt_export_opts o = { 0 };
	size_t len;
	int err;
	char *b = run_export(export_text, &o, &len, &err);

	T_ASSERT(b && !err, "export_text: %d", err);
	T_CHECK(strstr(b, "4 created, 4 exited, 3 alive at end; 2 found at attach, 1 first seen "
			  "mid-life; 1 runtime goroutines"),
		"goroutine counts");
	T_CHECK(strstr(b, "off-CPU time by wait reason (55.70µs in 8 waits"), "off-CPU total");
	T_CHECK(strstr(b, "   17.00µs        2    10.00µs  chan receive"),
		"chan receive: 17 µs in 2 waits");
	T_CHECK(strstr(b, "sync.(*Mutex).lockSlow") && strstr(b, "(inlined)"),
		"symbolized stacks with inlined frames");
	T_CHECK(strstr(b, "{kind=mutex}") && strstr(b, "{idx=0, kind=mutex}"), "label sets");
	T_CHECK(strstr(b, "5 records park=5"), "loss line");
	T_CHECK(strstr(b, "main.block /src/main.go:30 {kind=chanrecv}") &&
			strstr(b, "main.worker /src/main.go:45 {idx=0, kind=mutex}"),
		"longest waits point at the program's own frame");
	if (t_failed())
		fputs(b, stdout);
	free(b);
}

TEST(export_write_errors)
{
	int (*fns[])(struct gt_capture *, const struct gt_export_opts *, FILE *) = {
		export_text, export_pprof, export_perfetto, export_chrome,
	};
	struct gt_export_opts o = { 0 };

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		struct gt_capture *cap = t_synth_open();
		FILE *f = fopen("/dev/full", "w");
		int err;

		T_ASSERT(cap && f, "setup");
		err = fns[i](cap, &o, f);
		fclose(f);
		capture__close(cap);
		T_CHECK(err == -EIO, "exporter %zu on a full disk returned %d, want -EIO", i, err);
	}
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gtrace merge's pieces on the synthetic capture (synth.h) opened twice as
 * two captures: the pull iterator sees what capture__process sees; one
 * Perfetto output object holds both (two processes, their own goroutine
 * tracks, REALTIME stamps from each mapping, trace-global flow ids, the
 * window track); the Chrome one the same through Python's json; the
 * merged jsonl is in wall order with a capture field; and the pair bound,
 * window and bound formatting rules of docs/clock-and-az.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "export/merge.h"
#include "perfetto_trace.pb-c.h"
#include "helpers.h"
#include "synth.h"
#include "export/timeline.h"

/* Adjacent records of the synth capture's jsonl whose wall times go backwards. */
#define SYNTH_INVERSIONS 1

struct counter {
	struct gt_tool tool;
	int n;
	unsigned types;
};

static int count_event(struct gt_tool *tool, struct gt_capture *cap, const struct gt_event_hdr *h)
{
	struct counter *c = (struct counter *)tool;

	c->n++;
	c->types |= 1u << h->type;
	return 0;
}

TEST(merge_next_event)
{
	struct gt_capture *a = t_synth_open(), *b = t_synth_open();
	struct counter pushed = { .tool.event = count_event }, pulled = { 0 };
	const struct gt_event_hdr *ev;
	int got;

	T_ASSERT(a && b, "open synth");
	capture__process(a, &pushed.tool);
	while ((got = capture__next_event(b, &ev)) > 0) {
		pulled.n++;
		pulled.types |= 1u << ev->type;
	}
	T_CHECK(got == 0, "clean end: %d", got);
	/* both paths deliver exactly the records synth wrote (definitions and story) */
	T_CHECK(pulled.n == synth_nrecords && pushed.n == synth_nrecords &&
			pulled.types == pushed.types && synth_nrecords > 30,
		"pulled %d records, pushed %d, synth wrote %d", pulled.n, pushed.n, synth_nrecords);
	T_CHECK(capture__stack(b, SY_S_CHAN) && capture__labelset(b, SY_L_MUTEX),
		"definitions stored while pulling");
	T_CHECK(capture__next_event(b, &ev) == 0, "stays at the end");
	capture__close(a);
	capture__close(b);
}

/* Two synth captures as captures 0 and 1, the second 1 s later in wall time. */
static int two(struct merge_cap *c, struct gt_capture **caps)
{
	for (int i = 0; i < 2; i++) {
		caps[i] = t_synth_open();
		if (!caps[i])
			return -EINVAL;
		merge__describe(&c[i], caps[i], i, t_synth_path());
	}
	merge__unique_pids(c, 2);
	return 0;
}

static char *run_timeline(bool chrome, size_t *len, int *err)
{
	struct gt_export_opts eo = { 0 };
	struct merge_cap c[2];
	struct gt_capture *caps[2] = { 0 };
	char *buf = NULL, wname[128];
	FILE *f = open_memstream(&buf, len);
	struct tl t;

	*err = two(c, caps);
	if (!*err)
		*err = chrome ? chrome__open(&t, &eo, f) : perfetto__open(&t, &eo, f);
	if (*err)
		goto out;
	t.wall = true;
	for (int i = 0; i < 2 && !*err; i++) {
		t.idx = i;
		t.pid = c[i].pid;
		t.proc_name = c[i].name;
		t.proc_desc = c[i].desc;
		t.error_ns = c[i].error_ns;
		*err = timeline__add(&t, caps[i]);
		c[i].first = capture__wall_ns(caps[i], t.first_ts);
		c[i].last = capture__wall_ns(caps[i], t.last_ts);
	}
	if (!*err) {
		struct tl_window w;

		if (merge__window(&c[0], &c[1], &w, wname, sizeof(wname)))
			*err = timeline__window(&t, &w);
		else
			*err = -ENOENT;
	}
	if (!*err)
		*err = timeline__finish(&t);
	if (chrome)
		chrome__close(&t);
	else
		perfetto__close(&t);
out:
	fclose(f);
	for (int i = 0; i < 2; i++)
		capture__close(caps[i]);
	return buf;
}

struct mpf {
	int procs, tracks, slices, bad_clock, orphan, unbalanced, window_tracks;
	uint64_t proc_uuid[4];
	int32_t pid[4];
	char pname[4][128];
	uint64_t min_ts, max_ts;
	uint64_t flow_ids[64], flow_ts[64]; /* sources */
	uint64_t end_ids[64], end_ts[64];   /* terminations */
	int nflows, nends, groups;
	bool primary_realtime;
};

static void decode(const uint8_t *b, size_t len, struct mpf *m)
{
	uint64_t parent[64], uuid[64];
	int depth[64] = { 0 }, nt = 0;
	uint32_t defclk = 0; /* the sequence's default timestamp clock */
	size_t off = 0;

	memset(m, 0, sizeof(*m));
	m->min_ts = UINT64_MAX;
	for (;;) {
		bool bad;
		Perfetto__Protos__TracePacket *p = t_pf_next(b, len, &off, &bad);

		if (!p) {
			if (bad)
				m->unbalanced = 1000;
			break;
		}
		if (p->trace_packet_defaults && p->trace_packet_defaults->has_timestamp_clock_id)
			defclk = p->trace_packet_defaults->timestamp_clock_id;
		if (p->clock_snapshot)
			m->primary_realtime = p->clock_snapshot->has_primary_trace_clock &&
					      p->clock_snapshot->primary_trace_clock == 1;
		if (p->track_descriptor && p->track_descriptor->process && m->procs < 4) {
			m->proc_uuid[m->procs] = p->track_descriptor->uuid;
			m->pid[m->procs] = p->track_descriptor->process->pid;
			snprintf(m->pname[m->procs++], 128, "%s",
				 p->track_descriptor->process->process_name);
		} else if (p->track_descriptor && nt < 64) {
			Perfetto__Protos__TrackDescriptor *td = p->track_descriptor;

			uuid[nt] = td->uuid;
			parent[nt] = td->has_parent_uuid ? td->parent_uuid : 0;
			/* a goroutine's parent is its start function's group: the group's process */
			for (int g = 0; g < nt; g++)
				if (uuid[g] == parent[nt] && parent[g])
					for (int i = 0; i < m->procs; i++)
						if (parent[g] == m->proc_uuid[i])
							parent[nt] = parent[g];
			nt++;
			if (td->has_parent_uuid && td->has_child_ordering)
				m->groups++;
			else if (td->has_parent_uuid && td->name && !strncmp(td->name, "G", 1))
				m->tracks++;
			else if (td->has_parent_uuid)
				m->window_tracks++;
		}
		if (p->track_event) {
			Perfetto__Protos__TrackEvent *te = p->track_event;
			int t;
			bool parented = false;

			for (t = 0; t < nt && uuid[t] != te->track_uuid; t++)
				;
			for (int i = 0; t < nt && i < m->procs; i++)
				parented |= parent[t] == m->proc_uuid[i];
			m->orphan += t == nt || (!parented && parent[t] == 0);
			m->bad_clock += (p->has_timestamp_clock_id ? p->timestamp_clock_id : defclk) != 1;
			if (t < nt && te->type == 1) {
				depth[t]++;
				m->slices++;
			} else if (t < nt && te->type == 2) {
				m->unbalanced += --depth[t] < 0;
			}
			if (parented && p->timestamp < m->min_ts)
				m->min_ts = p->timestamp;
			if (parented && p->timestamp > m->max_ts)
				m->max_ts = p->timestamp;
			/* either flow id field (we write the varint one) */
			for (size_t i = 0; i < te->n_flow_ids && m->nflows < 64; i++)
				m->flow_ts[m->nflows] = p->timestamp,
				m->flow_ids[m->nflows++] = te->flow_ids[i];
			for (size_t i = 0; i < te->n_flow_ids_old && m->nflows < 64; i++)
				m->flow_ts[m->nflows] = p->timestamp,
				m->flow_ids[m->nflows++] = te->flow_ids_old[i];
			for (size_t i = 0; i < te->n_terminating_flow_ids_old && m->nends < 64; i++)
				m->end_ts[m->nends] = p->timestamp,
				m->end_ids[m->nends++] = te->terminating_flow_ids_old[i];
		}
		perfetto__protos__trace_packet__free_unpacked(p, NULL);
	}
	for (int t = 0; t < nt; t++)
		m->unbalanced += depth[t] != 0;
}

TEST(merge_perfetto_two_captures)
{
	struct mpf m;
	size_t len;
	int err, dup = 0;
	char *b = run_timeline(false, &len, &err);

	T_ASSERT(b && !err, "merged perfetto: %d", err);
	decode((uint8_t *)b, len, &m);
	free(b);
	T_CHECK(m.procs == 2 && m.proc_uuid[0] != m.proc_uuid[1], "%d processes, distinct", m.procs);
	T_CHECK(m.pid[0] == 4242 && m.pid[1] == 4242 + (2 << 22), "pids %d %d: the second made unique",
		m.pid[0], m.pid[1]);
	T_CHECK(!strcmp(m.pname[0], "testhost us-east-1a pid 4242 (±1.5 µs)") &&
		!strcmp(m.pname[1], "testhost us-east-1a pid 4242 (±1.5 µs)"),
		"process named host zone pid (bound): '%s'", m.pname[0]);
	T_CHECK(m.tracks == 14 && m.slices == 64 + 1 && !m.unbalanced,
		"%d goroutine tracks (want 2x7), %d slices (2x32 + the window)", m.tracks, m.slices);
	T_CHECK(!m.bad_clock && m.primary_realtime, "every event on REALTIME, the trace clock");
	T_CHECK(!m.orphan, "%d events on tracks outside both processes and the window group",
		m.orphan);
	T_CHECK(m.min_ts == (uint64_t)SY_REAL0 && m.max_ts == (uint64_t)SY_REAL0 + 16000,
		"wall span %llu..%llu from the capture's mapping", (unsigned long long)m.min_ts,
		(unsigned long long)m.max_ts);
	T_CHECK(m.window_tracks == 1, "one window track (%d)", m.window_tracks);
	/*
	 * An id may carry several flows (trace_processor pairs ends by id in time
	 * order), never two at once: each flow's id is not begun by another
	 * flow between its source and its end, whichever capture that one is in.
	 */
	for (int i = 0; i < m.nflows; i++) {
		uint64_t end = UINT64_MAX;

		for (int j = 0; j < m.nends; j++)
			if (m.end_ids[j] == m.flow_ids[i] && m.end_ts[j] >= m.flow_ts[i] &&
			    m.end_ts[j] < end)
				end = m.end_ts[j];
		dup += end == UINT64_MAX;
		for (int j = 0; j < m.nflows; j++)
			dup += j != i && m.flow_ids[j] == m.flow_ids[i] && m.flow_ts[j] >= m.flow_ts[i] &&
			       m.flow_ts[j] <= end;
	}
	T_CHECK(m.nflows == 14 && m.nends == 14 && !dup,
		"%d flows, %d ends, %d ids begun again while open or never ended", m.nflows,
		m.nends, dup);
}

static const char chrome_merge_py[] =
	"import json,sys,collections\n"
	"d=json.load(open(sys.argv[1]))\n"
	"o=d['otherData']; ev=d['traceEvents']; depth=collections.Counter(); pn={}; nb=0\n"
	"assert [c['pid'] for c in o['captures']]==[4242,4242+(2<<22)], o['captures']\n"
	"assert len(o['order_uncertain'])==1 and o['order_uncertain'][0]['bound_ns']==0, o\n"
	"assert o['wall_origin_ns']==int(sys.argv[2]), o\n"
	"for e in ev:\n"
	"  k=(e['pid'],e['tid'])\n"
	"  if e['ph']=='M' and e['name']=='process_name': pn[e['pid']]=e['args']['name']\n"
	"  elif e['ph']=='B': depth[k]+=1; nb+=1\n"
	"  elif e['ph']=='E': depth[k]-=1; assert depth[k]>=0, k\n"
	"assert all(v==0 for v in depth.values()), depth\n"
	"assert sorted(pn.values())[-1]=='testhost us-east-1a pid 4242 (±1.5 µs)', pn\n"
	"x=[e for e in ev if e['ph']=='X']\n"
	"assert len(x)==1 and x[0]['ts']==0 and x[0]['dur']==16.0, x\n"
	"print(nb, len(pn))\n";

TEST(merge_chrome_two_captures)
{
	char line[256];
	size_t len;
	int err, st;
	char *b = run_timeline(true, &len, &err);

	T_ASSERT(b && !err, "merged chrome: %d", err);
	st = t_python(chrome_merge_py, b, len, SY_REAL0, line, sizeof(line));
	free(b);
	if (st == T_PY_MISSING)
		T_SKIP("python3 not available");
	T_CHECK(!st && !strcmp(line, "64 3\n"), "python: %s", line);
}

TEST(merge_jsonl_order)
{
	struct merge_cap c[2];
	struct gt_capture *caps[2] = { 0 };
	char *buf = NULL, *l, *save;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	int err = two(c, caps), n = 0, per[2] = { 0 }, unsorted = 0, uncertain = 0;
	long long last = 0;

	if (!err)
		err = merge__jsonl(c, 2, f);
	fclose(f);
	for (int i = 0; i < 2; i++)
		capture__close(caps[i]);
	T_ASSERT(buf && !err, "merge__jsonl: %d", err);
	T_CHECK(!strncmp(buf, "{\"ev\":\"merge\",\"captures\":[{\"capture\":0,", 38),
		"merge line first");
	T_CHECK(strstr(buf, "\"pair_bounds\":[{\"a\":0,\"b\":1,\"bound_ns\":0,\"same_clock\":true}]"),
		"one host, equal offsets: the same clock, bound = the brackets (0)");
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
		char *t = strstr(l, ",\"t\":");
		int cap = -1;

		sscanf(l, "{\"capture\":%d", &cap);
		if (!t || cap < 0)
			continue;
		per[cap]++;
		unsorted += atoll(t + 5) < last;
		last = atoll(t + 5);
		uncertain += !!strstr(l, "\"order_uncertain\":true");
	}
	free(buf);
	T_CHECK(per[0] == per[1] && per[0] > 30, "events per capture %d %d", per[0], per[1]);
	/*
	 * Each stream keeps its file order (the synth capture has one record
	 * out of time order, as a ring buffer can), so only its inversions
	 * may show, once per copy.
	 */
	T_CHECK(unsorted <= 2 * SYNTH_INVERSIONS, "%d lines out of wall order", unsorted);
	/* identical copies: every event has a twin at the same instant */
	T_CHECK(uncertain >= per[0] * 2 - 2 * SYNTH_INVERSIONS, "%d of %d flagged order_uncertain",
		uncertain, per[0] * 2);
}

static struct merge_cap mc(const char *host, int64_t err, uint64_t bracket, int64_t off,
			   int64_t first, int64_t last, unsigned idx)
{
	return (struct merge_cap){ .host = host, .error_ns = err, .bracket_ns = bracket,
				   .offset_ns = off, .first = first, .last = last, .idx = idx };
}

TEST(merge_bounds)
{
	struct merge_cap a = mc("vm-a", 16000, 60, 1000000, 0, 1000000, 0);
	struct merge_cap b = mc("vm-a", 20000, 40, 1000030, 500000, 2000000, 1);
	struct merge_cap c = mc("vm-b", 20000, 40, 999999999, 0, 0, 1);
	struct merge_cap d = mc("vm-b", -1, 0, 0, 0, 0, 1);
	struct merge_cap pids[3] = { { .pid = 7 }, { .pid = 7 }, { .pid = 7 + (2 << 22) } };
	struct tl_window w;
	char name[128], s[32];
	bool same;

	T_CHECK(merge__pair_bound(&a, &b, &same) == 50 && same,
		"one host, offsets within the brackets: half-brackets (30+20)");
	T_CHECK(merge__pair_bound(&a, &c, &same) == 36000 && !same, "two hosts: sum of bounds");
	b.offset_ns += 5000; /* a step between them, or another boot */
	T_CHECK(merge__pair_bound(&a, &b, &same) == 36000 && !same,
		"one host name, offsets apart: treated as two clocks");
	T_CHECK(merge__pair_bound(&a, &d, &same) == MERGE_BOUND_UNKNOWN, "no mapping: unknown");

	b.offset_ns -= 5000;
	T_ASSERT(merge__window(&a, &b, &w, name, sizeof(name)) == 1, "overlapping spans");
	T_CHECK(w.start == 500000 - 50 && w.end == 1000000 + 50 && w.bound_ns == 50,
		"window = overlap widened by the bound: %lld..%lld", (long long)w.start,
		(long long)w.end);
	T_CHECK(!strcmp(name, "order uncertain ±50 ns: 0 / 1 (one host clock)"), "%s", name);
	b.first = 1000040;
	T_CHECK(merge__window(&a, &b, &w, name, sizeof(name)) == 1 && w.start == 1000040 - 50 &&
		w.end == 1000050, "a 40 ns gap is within the bound");
	b.first = 1000051;
	T_CHECK(merge__window(&a, &b, &w, name, sizeof(name)) == 0, "a 51 ns gap is not");
	c.first = 5000000000LL;
	c.last = 6000000000LL;
	T_CHECK(merge__window(&a, &c, &w, name, sizeof(name)) == 0, "5 s apart: no window");
	d.first = 5000000000LL;
	d.last = 6000000000LL;
	T_CHECK(merge__window(&a, &d, &w, name, sizeof(name)) == 1 && w.start == 0 &&
		w.end == 6000000000LL, "unknown bound: the whole union");

	T_CHECK(!strcmp(merge__fmt_ns(16000000020ULL, s, sizeof(s)), "16 s"), "%s", s);
	T_CHECK(!strcmp(merge__fmt_ns(12345, s, sizeof(s)), "12.4 µs"), "%s", s);
	T_CHECK(!strcmp(merge__fmt_ns(1250000, s, sizeof(s)), "1.25 ms"), "%s", s);
	T_CHECK(!strcmp(merge__fmt_ns(40, s, sizeof(s)), "40 ns"), "%s", s);
	T_CHECK(!strcmp(merge__fmt_ns(MERGE_BOUND_UNKNOWN, s, sizeof(s)), "unknown"), "%s", s);

	merge__unique_pids(pids, 3);
	T_CHECK(pids[0].pid == 7 && pids[1].pid != 7 && pids[1].pid != pids[2].pid &&
		pids[2].pid != 7, "pids made unique: %llu %llu %llu",
		(unsigned long long)pids[0].pid, (unsigned long long)pids[1].pid,
		(unsigned long long)pids[2].pid);
}

#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Checks a `gtrace merge` output of two script-fixture captures A and B
# whose scripts were started (SIGUSR1) at known wall times tA < tB:
#   merge_check.py perfetto|chrome|jsonl FILE PIDA ZONEA WORKERS_A TA PIDB ZONEB WORKERS_B TB
# WORKERS_* are comma-separated worker goids (the fixture's stdout).
# Per format: one process per capture named "<host> <zone> pid <pid> (±bound)";
# every event of A's workers comes before every event of B's workers (the
# scripts ran 1 s apart), unless flagged uncertain; the first worker event of
# each is after its signal (minus the bound) and within 1 s of it; and the gap
# between the two first worker events matches tB - tA within 150 ms + bound.
# Perfetto is decoded with the upstream protos of the `perfetto` package.
# Prints one summary line per format.
import collections
import json
import re
import sys

SLACK_NS = 150_000_000
# Both captures ran on this host: their pair bound is the two half-brackets
# (jsonl's header says how much; asserted below 1 ms), and `date` reads the
# same clock, so 1 ms covers the bound in every check.
PAIR_NS = 1_000_000


def parse_bound(name):
    m = re.search(r'\(±([0-9.]+) (ns|µs|ms|s)\)$', name)
    assert m, 'no bound in process name %r' % name
    mult = {'ns': 1, 'µs': 1e3, 'ms': 1e6, 's': 1e9}[m.group(2)]
    return float(m.group(1)) * mult


def check_alignment(first, last, t, bound_pair, what):
    (fa, fb), (la, lb), (ta, tb) = first, last, t
    # A's script ended long before B's began: order must show it
    assert la < fb, '%s: A worker event at %d after B first at %d' % (what, la, fb)
    for f, ts, name in ((fa, ta, 'A'), (fb, tb, 'B')):
        assert f >= ts - bound_pair, '%s: %s worker ran %d ns before its signal' % (what, name, ts - f)
        assert f - ts < 1e9, '%s: %s worker ran %d ns after its signal' % (what, name, f - ts)
    gap, real = fb - fa, tb - ta
    assert abs(gap - real) <= SLACK_NS + bound_pair, \
        '%s: merged gap %d ns, real gap %d ns' % (what, gap, real)
    return gap - real


def perfetto(path, a, b):
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace
    trace = Trace()
    trace.ParseFromString(open(path, 'rb').read())
    procs, parent, goid = {}, {}, {}
    first, last = {}, {}
    depth = collections.Counter()
    defclk = 0  # the sequence's default timestamp clock (TracePacketDefaults)
    for p in trace.packet:
        if p.HasField('trace_packet_defaults'):
            defclk = p.trace_packet_defaults.timestamp_clock_id
        if p.HasField('track_descriptor'):
            td = p.track_descriptor
            if td.HasField('process'):
                procs[td.uuid] = (td.process.pid, td.process.process_name)
            elif td.HasField('parent_uuid'):
                # a goroutine's parent is its start function's group, in the process
                parent[td.uuid] = parent.get(td.parent_uuid, td.parent_uuid)
                m = re.match(r'G(\d+)', td.name)
                if m:
                    goid[td.uuid] = int(m.group(1))
        if p.HasField('track_event'):
            te = p.track_event
            clock = p.timestamp_clock_id if p.HasField('timestamp_clock_id') else defclk
            assert clock == 1, 'merged packet not on REALTIME'
            if te.type == te.TYPE_SLICE_BEGIN:
                depth[te.track_uuid] += 1
            elif te.type == te.TYPE_SLICE_END:
                depth[te.track_uuid] -= 1
            pu = parent.get(te.track_uuid)
            if pu in procs and goid.get(te.track_uuid) in workers[pu]:
                first[pu] = min(first.get(pu, 1 << 63), p.timestamp)
                last[pu] = max(last.get(pu, 0), p.timestamp)
    assert not any(depth.values()), 'unbalanced slices'
    return procs, first, last


def chrome(path):
    d = json.load(open(path))
    names, first, last = {}, {}, {}
    for e in d['traceEvents']:
        if e['ph'] == 'M' and e['name'] == 'process_name':
            names[e['pid']] = e['args']['name']
    origin = d['otherData']['wall_origin_ns']
    for e in d['traceEvents']:
        if e['ph'] in 'BEi' and e['tid'] in workers.get(e['pid'], ()):
            t = origin + round(e['ts'] * 1000)
            first[e['pid']] = min(first.get(e['pid'], 1 << 63), t)
            last[e['pid']] = max(last.get(e['pid'], 0), t)
    assert len(d['otherData']['captures']) == 2, 'otherData lists %d captures' % len(d['otherData']['captures'])
    return {pid: (pid, n) for pid, n in names.items() if pid < 2000000000}, first, last


def jsonl(path):
    lines = [json.loads(l) for l in open(path)]
    head = lines[0]
    assert head['ev'] == 'merge' and len(head['captures']) == 2, 'no merge line'
    pb = head['pair_bounds'][0]
    assert pb['same_clock'] and pb['bound_ns'] < PAIR_NS, 'one host, yet pair bound %s' % pb
    procs = {c['capture']: (c['pid'], c['name']) for c in head['captures']}
    first, last, prev, order = {}, {}, None, []
    for e in lines[1:]:
        if e['ev'] == 'capture':
            continue
        c = e['capture']
        if e.get('goid') in workers_by_pid[procs[c][0]]:
            first.setdefault(c, e['t'])
            last[c] = e['t']
            order.append((c, e.get('order_uncertain', False)))
    # line order across captures: every A worker line before every B worker line
    ca = [k for k, v in procs.items() if v[0] == pida][0]
    seen_b = False
    for c, unc in order:
        seen_b = seen_b or c != ca
        assert not (seen_b and c == ca and not unc), 'A worker line after a B worker line'
    return procs, first, last


fmt, path, pida, zonea, wa, ta, pidb, zoneb, wb, tb = sys.argv[1:]
pida, pidb, ta, tb = int(pida), int(pidb), int(ta), int(tb)
workers_by_pid = {pida: {int(x) for x in wa.split(',')}, pidb: {int(x) for x in wb.split(',')}}
if fmt == 'perfetto':
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace
    t = Trace()
    t.ParseFromString(open(path, 'rb').read())
    pre = {td.uuid: td.process.pid for td in (p.track_descriptor for p in t.packet
           if p.HasField('track_descriptor')) if td.HasField('process')}
    workers = {u: workers_by_pid.get(pid, set()) for u, pid in pre.items()}
    procs, first, last = perfetto(path, pida, pidb)
elif fmt == 'chrome':
    workers = workers_by_pid
    procs, first, last = chrome(path)
else:
    procs, first, last = jsonl(path)
assert len(procs) == 2, '%d processes: %s' % (len(procs), procs)
key = {}
for k, (pid, name) in procs.items():
    for p, z, tag in ((pida, zonea, 'A'), (pidb, zoneb, 'B')):
        if pid == p:
            assert ' %s pid %d (±' % (z, p) in name, 'process name %r lacks zone/pid' % name
            key[tag] = (k, parse_bound(name))
assert set(key) == {'A', 'B'}, 'processes %s are not A and B' % procs
(ka, ba), (kb, bb) = key['A'], key['B']
off = check_alignment((first[ka], first[kb]), (last[ka], last[kb]), (ta, tb), PAIR_NS, fmt)
print('%s: processes=%s gap error=%.3f ms' % (fmt, sorted(n for _, n in procs.values()), off / 1e6))

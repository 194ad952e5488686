#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks gtrace's exporters against an independent replay of the capture's
own events (`gtrace report CAP -f jsonl`), never against another exporter.

    export_check.py JSONL offcpu|schedlat|goroutine|lifetime PPROF_RAW
    export_check.py JSONL slices     prints the number of state intervals
    export_check.py JSONL goroutines prints the number of distinct goids

The replay is the state machine of docs/formats.md, written again here: a
goroutine is running, runnable, waiting or syscall; each event ends the
current interval and starts the next; intervals still open end at the last
timestamp.  PPROF_RAW is `go tool pprof -raw` of the profile, i.e. the
profile as pprof itself decodes it.  Per profile:

  offcpu     per state (waiting, syscall): sample count and summed delay
             equal the replay's non-pseudo intervals of that state
  schedlat   state runnable: count and summed delay equal the replay's
  goroutine  the goroutines alive at the end, per state, equal the replay's
  lifetime   goroutines/count == goroutines created in the capture,
             lifetime/nanoseconds == sum of (exit or last) - create, and
             the exited:[true] samples count the created ones that exited
Prints the numbers compared; exits 1 (AssertionError) on a mismatch.
"""
import json
import re
import sys
from collections import Counter, defaultdict

PRIOR = {'start': 'runnable', 'park': 'running', 'unpark': 'waiting', 'preempt': 'running',
         'yield': 'running', 'syscall_enter': 'running', 'syscall_exit': 'syscall',
         'exit': 'running', 'wait_end': 'waiting', 'labels': 'running'}
SNAP = {'runnable': 'runnable', 'preempted': 'runnable', 'running': 'running',
        'copystack': 'running', 'syscall': 'syscall', 'waiting': 'waiting'}


def replay(path):
    evs = [json.loads(l) for l in open(path)]
    assert evs and evs[0].get('ev') == 'capture', 'first jsonl line is not the capture line'
    evs = evs[1:]
    monos = [e['mono'] for e in evs if 'mono' in e]
    assert monos, 'no timed events in the capture'
    first, last = min(monos), max(monos)
    g = {}
    acc = defaultdict(lambda: [0, 0])  # state ('pseudo' for GC pseudo-waits) -> [intervals, ns]
    created, ended = {}, {}

    def close(st, t):
        s, since, pseudo = st
        k = 'pseudo' if pseudo else s
        acc[k][0] += 1
        acc[k][1] += max(t, since) - since

    for e in evs:
        ev, goid, t = e['ev'], e.get('goid', 0), e.get('mono', 0)
        if not goid or ev in ('loss', 'stack', 'labelset'):
            continue
        if ev == 'create':
            g[goid] = ['waiting' if e.get('parked') else 'runnable', t, False]
            created[goid] = t
            continue
        if ev == 'snapshot':
            s = SNAP.get(e.get('status'))
            if s and goid not in g:
                g[goid] = [s, t, False]
            continue
        if ev not in PRIOR:
            continue
        if goid not in g:
            g[goid] = [PRIOR[ev], first, ev == 'wait_end']
        if ev == 'labels':
            continue
        st = g[goid]
        close(st, t)
        since = max(t, st[1])
        nxt = {'start': 'running', 'wait_end': 'running', 'park': 'waiting', 'unpark': 'runnable',
               'preempt': 'runnable', 'yield': 'runnable', 'syscall_enter': 'syscall',
               'syscall_exit': 'runnable' if e.get('to_runnable') else 'running', 'exit': None}[ev]
        if nxt is None:
            del g[goid]
            ended[goid] = t
        else:
            g[goid] = [nxt, since, ev == 'park' and bool(e.get('pseudo'))]
    alive = Counter(st[0] for st in g.values())
    for st in g.values():
        close(st, last)
    lifetime = sum(ended.get(k, last) - v for k, v in created.items())
    return {'acc': acc, 'alive': alive, 'created': len(created),
            'exited': sum(1 for k in created if k in ended), 'lifetime': lifetime,
            'goids': {e['goid'] for e in evs if e.get('goid') and e['ev'] != 'loss'}}


def raw_samples(path):
    """[(values, labels)] from `go tool pprof -raw`."""
    out, cur, on = [], None, False
    for line in open(path):
        if line.startswith('Samples:'):
            on = True
            continue
        if not on:
            continue
        if re.match(r'^\S', line):  # Locations, Mappings, the sample type header
            if line.startswith(('Locations', 'Mappings')):
                break
            continue
        m = re.match(r'^\s+(\d+(?:\s+\d+)*): ', line)
        if m:
            cur = ([int(x) for x in m.group(1).split()], {})
            out.append(cur)
            continue
        if cur is not None:
            cur[1].update(re.findall(r'([\w.]+):\[([^\]]*)\]', line))
    return out


def by_state(samples):
    got = defaultdict(lambda: [0, 0])
    for vals, lab in samples:
        assert 'state' in lab, 'sample without a state label: %r' % (lab,)
        got[lab['state']][0] += vals[0]
        got[lab['state']][1] += vals[1] if len(vals) > 1 else 0
    return got


def main():
    r = replay(sys.argv[1])
    mode = sys.argv[2]
    if mode == 'slices':
        print(sum(v[0] for v in r['acc'].values()))
        return
    if mode == 'goroutines':
        print(len(r['goids']))
        return
    samples = raw_samples(sys.argv[3])
    assert samples, 'no samples in the %s profile' % mode
    if mode in ('offcpu', 'schedlat'):
        states = ('waiting', 'syscall') if mode == 'offcpu' else ('runnable',)
        want = {s: r['acc'][s] for s in states}
        got = by_state(samples)
        got = {s: got.get(s, [0, 0]) for s in set(got) | set(states)}
        assert want[states[0]][0] > 0, 'the replay has no %s intervals' % states[0]
        assert got == want, '%s pprof %s != capture replay %s' % (mode, got, want)
        print(mode, want)
    elif mode == 'goroutine':
        got = Counter()
        for vals, lab in samples:
            got[lab.get('state')] += vals[0]
        assert sum(r['alive'].values()) > 0, 'the replay has no goroutine alive at the end'
        assert got == r['alive'], 'goroutine pprof %s != alive at the end %s' % (dict(got), dict(r['alive']))
        print('goroutine', dict(got))
    elif mode == 'lifetime':
        n = sum(v[0] for v, _ in samples)
        ns = sum(v[1] for v, _ in samples)
        ex = sum(v[0] for v, lab in samples if lab.get('exited') == 'true')
        want = (r['created'], r['lifetime'], r['exited'])
        assert r['created'] > 0, 'the capture has no creates'
        assert (n, ns, ex) == want, 'lifetime pprof (count, ns, exited) %s != capture replay %s' % ((n, ns, ex), want)
        print('lifetime', want)
    else:
        sys.exit('unknown mode %r' % mode)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Checks a `gtrace profile` pprof against what tests/fixtures/shares says it did.

The judge of the profile is `go tool pprof -raw` (Go's own reader); the
judge of the wait reasons is the fixture's runtime.Stack dump (Go's own
names, "[chan receive]").  Prints PASS/FAIL lines.

  profile_check.py shares PROFILE MANIFEST GO [TOL [RECV_S,SLEEP_S]]
  profile_check.py offcpu SAMPLED.pb.gz RECORDED.pb.gz GO
"""
import json
import re
import subprocess
import sys

LAB = re.compile(r'(\S+?):\[([^\]]*)\]')


def raw(go, path):
    out = subprocess.run([go, 'tool', 'pprof', '-raw', path], capture_output=True, text=True,
                         check=True).stdout
    types, samples, locs = [], [], {}
    sec = None
    cur = None
    for line in out.splitlines():
        if line.startswith('Samples:'):
            sec = 'types'
            continue
        if line.startswith('Locations'):
            sec = 'locs'
            cur = None
            continue
        if line.startswith('Mappings'):
            sec = None
            continue
        if sec == 'types':
            types = [t.split('/')[0] for t in line.split()]
            sec = 'samples'
            continue
        if sec == 'samples':
            m = re.match(r'^\s*([-\d ]+):\s*([\d ]*)$', line)
            if m:
                vals = [int(v) for v in m.group(1).split()]
                ids = [int(v) for v in m.group(2).split()]
                samples.append({'v': dict(zip(types, vals)), 'locs': ids, 'labels': {}})
            elif samples and line.strip():
                for k, v in LAB.findall(line):
                    samples[-1]['labels'][k] = v
        if sec == 'locs':
            m = re.match(r'^\s+(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(\S+)', line)
            if m:
                cur = int(m.group(1))
                locs[cur] = [m.group(2)]
            elif cur is not None and line.strip():
                locs[cur].append(line.split()[0])
    for s in samples:
        s['frames'] = [f for i in s['locs'] for f in locs.get(i, ['?'])]
    return samples


def say(ok, name, detail=''):
    if detail:
        print('  ' + detail)
    print(('PASS ' if ok else 'FAIL ') + name)


def reasons_from_dump(dump):
    """goid -> Go's own state word from runtime.Stack(all): '[chan receive, 2 minutes]'."""
    out = {}
    for m in re.finditer(r'^goroutine (\d+) \[([^\],]+)', dump, re.M):
        out[int(m.group(1))] = m.group(2)
    return out


def shares(prof, manifest, go, tol, window=None):
    m = json.load(open(manifest))
    ss = raw(go, prof)
    # Go's dump names a state the way gtrace's labels do: a wait reason, or running/runnable/syscall
    go_state = reasons_from_dump(m['dump'])
    ngo = len(go_state)
    cycle = set(m['goids'].get('cycle', []))
    spin = set(m['goids'].get('spin', []))
    # the cycle phases' split over the profile's own window when given, else over the run
    recv, slp = (window if window else (m['recv_s'], m['sleep_s']))
    fr = recv / (recv + slp)
    print('  cycle group: %.1f%% of its time in phase=recv (fixture\'s own clock)' % (100 * fr))
    expect, expect_lab = {}, {}
    for g, st in go_state.items():
        if g in cycle:
            expect['chan receive'] = expect.get('chan receive', 0) + fr
            expect['sleep'] = expect.get('sleep', 0) + 1 - fr
            continue
        if g in spin:
            st = 'running'
        if g == m['self']:
            st = m['self_state']
        expect[st] = expect.get(st, 0) + 1
    for kind, ids in m['goids'].items():
        expect_lab['kind=' + kind] = len(ids)
    expect_lab['phase=recv'] = len(cycle) * fr
    expect_lab['phase=sleep'] = len(cycle) * (1 - fr)
    tot = sum(s['v']['wall'] for s in ss)
    got, got_lab = {}, {}
    for s in ss:
        L = s['labels']
        key = L.get('wait_reason') if L.get('state') == 'waiting' else L.get('state')
        got[key] = got.get(key, 0) + s['v']['wall']
        for k in ('kind', 'phase'):
            if k in L:
                got_lab[k + '=' + L[k]] = got_lab.get(k + '=' + L[k], 0) + s['v']['wall']
    def compare(name, exp, gotd, n):
        bad = []
        rows = []
        for k in sorted(set(exp) | set(gotd)):
            e = exp.get(k, 0) / n
            g = gotd.get(k, 0) / tot if tot else 0
            lim = max(tol * e, 0.01)
            rows.append('%-20s expected %5.1f%%  profile %5.1f%%' % (k, 100 * e, 100 * g))
            if abs(g - e) > lim:
                bad.append(k)
        say(not bad and tot > 0, name, '\n  '.join(rows) + ('\n  off by more than %d%%: %s' % (tol * 100, bad) if bad else ''))
    compare('profile/wall-share-by-wait-reason', expect, got, ngo)
    compare('profile/wall-share-by-label', expect_lab, got_lab, ngo)
    count = sum(s['v']['goroutines'] for s in ss)
    say(count == m['num_goroutine'] == ngo, 'profile/goroutines-count-exact',
        'goroutines at the last pass %d, runtime.NumGoroutine %d, runtime.Stack dump %d' %
        (count, m['num_goroutine'], ngo))
    # running goroutines: a pseudo-frame and the start function, nothing made up
    run = [s for s in ss if s['labels'].get('state') == 'running']
    ok = bool(run) and all(len(s['frames']) == 2 and s['frames'][0].startswith('[running') for s in run)
    say(ok, 'profile/running-no-invented-frames',
        'running samples: %d, stacks %s' % (len(run), sorted({' < '.join(s['frames']) for s in run})[:3]))
    off = sum(s['v']['offcpu'] for s in ss if s['labels'].get('state') in ('waiting', 'syscall'))
    offall = sum(s['v']['offcpu'] for s in ss)
    say(offall == off and off > 0, 'profile/offcpu-is-waiting-and-syscall',
        'offcpu %d ns, of it in waiting/syscall samples %d' % (offall, off))


def stack_key(s):
    return tuple(s['frames'])


def system_stack(k):
    """A runtime goroutine (Go's isSystemGoroutine): its root function is in runtime, not runtime.main."""
    roots = [f for f in k if f != 'runtime.goexit']
    return bool(roots) and roots[-1].startswith('runtime.') and roots[-1] != 'runtime.main'


def offcpu(sampled, recorded, go):
    """Top-10 off-CPU stacks of the same process, sampled and recorded: same set, values within 15%.

    Values are compared as shares of the goroutines' off-CPU time over each
    run; runtime goroutines are left out of the recorded profile, as the
    sampled one leaves them out, and syscall time of both (record keeps no
    stack for it: one [syscall] frame)."""
    a = raw(go, sampled)
    b = raw(go, recorded)
    def agg(ss, typ):
        d = {}
        for s in ss:
            k = stack_key(s)
            if s['labels'].get('state') == 'syscall' or k == ('[syscall]',):
                sys_ns[typ] = sys_ns.get(typ, 0) + s['v'].get(typ, 0)
                continue
            if not system_stack(k) and s['v'].get(typ, 0):
                d[k] = d.get(k, 0) + s['v'][typ]
        return d
    sys_ns = {}
    da, db = agg(a, 'offcpu'), agg(b, 'delay')
    ta, tb = sum(da.values()), sum(db.values())
    top_a = sorted(da, key=lambda k: -da[k])[:10]
    top_b = sorted(db, key=lambda k: -db[k])[:10]
    rows, bad = [], []
    for k in top_a:
        sa, sb = da[k] / ta, (db.get(k, 0) / tb if tb else 0)
        rows.append('%5.1f%% sampled %5.1f%% recorded  %s' % (100 * sa, 100 * sb, ' < '.join(k[:4])))
        if sb == 0 or abs(sa - sb) > 0.15 * sb:
            bad.append(' < '.join(k[:3]))
    for k in top_b:
        if k not in da:
            rows.append('  only recorded: %5.1f%%  %s' % (100 * db[k] / tb, ' < '.join(k[:4])))
    # syscall time, compared as a whole: record keeps no stack for it (one [syscall] frame)
    sa = sys_ns.get('offcpu', 0) / (ta + sys_ns.get('offcpu', 0)) if ta else 0
    sb = sys_ns.get('delay', 0) / (tb + sys_ns.get('delay', 0)) if tb else 0
    rows.append('%5.1f%% sampled %5.1f%% recorded  syscall (all stacks)' % (100 * sa, 100 * sb))
    if sb == 0 or abs(sa - sb) > 0.15 * sb:
        bad.append('syscall')
    same = set(top_a) == set(top_b)
    say(same and not bad, 'profile/offcpu-agrees-with-record',
        '\n  '.join(rows) + ('' if same else '\n  top-10 differ: %d in common' % len(set(top_a) & set(top_b)))
        + ('\n  off by >15%%: %s' % bad if bad else ''))


def probes(target_pid, exe, tool_pid, tool_bpf=True):
    """What the kernel holds that would probe the target, and (tool_bpf) BPF objects of the tool.

    Two kinds of uprobe attachment exist: perf-event ones (`bpftool perf
    list`: fd_type uprobe, filename) and uprobe_multi links, which this
    bpftool lists without a path; their owners' fdinfo names pid and path,
    so every process's bpf_link fds are read."""
    import os
    names = {'/proc/%s/exe' % target_pid, exe}
    out = subprocess.run(['bpftool', '-j', 'perf', 'list'], capture_output=True, text=True).stdout
    n = sum(1 for e in json.loads(out or '[]') if e.get('fd_type') in ('uprobe', 'uretprobe') and
            (e.get('filename') in names or str(e.get('pid')) == str(tool_pid)))
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        d = '/proc/%s/fd' % pid
        try:
            fds = os.listdir(d)
        except OSError:
            continue
        for f in fds:
            try:
                link = os.readlink(os.path.join(d, f))
            except OSError:
                continue
            if tool_bpf and pid == str(tool_pid) and 'bpf' in link:
                n += 1  # the tool holds a BPF map, program or link
                continue
            if 'bpf_link' not in link:
                continue
            try:
                info = open('/proc/%s/fdinfo/%s' % (pid, f)).read()
            except OSError:
                continue
            kv = dict(l.split(':', 1) for l in info.splitlines() if ':' in l)
            kv = {k.strip(): v.strip() for k, v in kv.items()}
            if 'uprobe' in kv.get('link_type', '') and (kv.get('pid') == str(target_pid) or
                                                         kv.get('path') in names):
                n += 1
    print(n)


if __name__ == '__main__':
    if sys.argv[1] == 'shares':
        w = tuple(float(x) for x in sys.argv[6].split(',')) if len(sys.argv) > 6 else None
        shares(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 0.10, w)
    elif sys.argv[1] == 'offcpu':
        offcpu(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == 'probes':
        probes(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == 'uprobes':  # uprobes on the target only (a CPU sampler is BPF too)
        probes(sys.argv[2], sys.argv[3], sys.argv[4], tool_bpf=False)

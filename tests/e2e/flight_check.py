#!/usr/bin/env python3
"""Checks the captures `gtrace flight` wrote for tests/fixtures/flightgen.

    flight_check.py GTRACE DIR

Expects exactly one capture per trigger (goroutines>150, waiting[chan
receive]>150, blocked>1200ms, label:tenant=acme), one SIGUSR2 capture and
one target-exit capture.  Each must read cleanly and hold the events that
led to it: for the count triggers the 200 burst1 goroutines' creations,
for the label trigger the tenant=acme goroutine, all before the dump time.
Prints one line per failed check and exits 1 if any.
"""
import collections
import glob
import json
import os
import subprocess
import sys

gtrace, d = sys.argv[1], sys.argv[2]
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def load(path):
    out = subprocess.run([gtrace, "report", "-q", "-f", "jsonl", path], capture_output=True, text=True)
    check(out.returncode == 0, "%s: report failed: %s" % (path, out.stderr.strip()))
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    meta = lines[0] if lines and lines[0].get("ev") == "capture" else {}
    return meta, lines[1:]


files = sorted(glob.glob(os.path.join(d, "flight-*.gtr")))
by_kind = collections.defaultdict(list)
for f in files:
    name = os.path.basename(f)[len("flight-") + 16:-len(".gtr")]  # after the timestamp
    by_kind[name.split("-")[0]].append(f)

want = ["goroutines_150", "waiting_chan_receive__150", "blocked_1200ms", "label_tenant_acme", "sigusr2", "exit"]
for k in want:
    check(len(by_kind.get(k, [])) == 1, "%s: %d captures, want exactly 1 (%s)" % (k, len(by_kind.get(k, [])), sorted(by_kind)))

for k in want:
    for f in by_kind.get(k, []):
        meta, evs = load(f)
        dump_ns = int(meta.get("flight.dump_mono_ns", 0))
        late = [e for e in evs if e.get("mono", 0) > dump_ns and k not in ("exit",)]
        check(not late, "%s: %d events after the dump time" % (k, len(late)))
        creates = [e for e in evs if e.get("ev") == "create"]
        burst1 = [e for e in creates if e.get("labels", {}).get("phase") == "burst1"]
        acme = [e for e in evs if e.get("labels", {}).get("tenant") == "acme"]
        churn = [e for e in creates if e.get("labels", {}).get("kind") == "churn"]
        check(churn, "%s: no churn goroutine events in the window" % k)
        if k in ("goroutines_150", "waiting_chan_receive__150", "blocked_1200ms"):
            check(len(burst1) >= 150, "%s: %d burst1 creations in the window, want >= 150" % (k, len(burst1)))
        if k == "label_tenant_acme":
            check(acme, "%s: no tenant=acme event in the window" % k)
        if k == "exit":
            check(meta.get("record.stop") == "target exited", "exit: record.stop=%r" % meta.get("record.stop"))
for f in fails:
    print(f)
sys.exit(1 if fails else 0)

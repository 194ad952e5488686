#!/usr/bin/env python3
"""Compares `gtrace snapshot -f jsonl` with the parked fixture's own view.

    snapshot_check.py DUMP SNAPSHOT.jsonl GO_MINOR

DUMP is what tests/fixtures/parked wrote: manifest lines
"g <goid> <kind> <k=v;...|->", a line "dump", then runtime.Stack(buf, true).
Checks: the program's goroutines (non-runtime ones) are exactly the dump's;
for goroutines parked in the dump, the same wait reason and the same top
frame and first main.* frame (Go's dump hides runtime.* frames); parents
(1.21+) equal; labels equal the manifest's; the deep goroutine is cut at
the frame limit and says so; parked goroutines have a waitsince wait time.
Prints one line per failed check and exits 1 if any.
"""
import json
import re
import sys

dump_path, snap_path, minor = sys.argv[1], sys.argv[2], int(sys.argv[3])
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def parse_dump(path):
    manifest, dump, in_dump = {}, {}, False
    cur = None
    for line in open(path, errors="replace").read().split("\n"):
        if not in_dump:
            if line == "dump":
                in_dump = True
            elif line.startswith("g "):
                _, goid, kind, labels = line.split(" ", 3)
                lab = {} if labels == "-" else dict(kv.split("=", 1) for kv in labels.split(";"))
                manifest[int(goid)] = (kind, lab)
            continue
        m = re.match(r"^goroutine (\d+) \[([^\]]*)\]:$", line)
        if m:
            state = m.group(2).split(",")[0]
            cur = {"state": state, "frames": [], "parent": 0}
            dump[int(m.group(1))] = cur
            continue
        if cur is None or not line or line.startswith("\t"):
            continue
        m = re.match(r"^created by (\S+)(?: in goroutine (\d+))?", line)
        if m:
            cur["parent"] = int(m.group(2) or 0)
            cur = None  # frames end here
            continue
        if line.startswith("..."):
            continue
        m = re.match(r"^(.*)\(.*\)$", line)
        cur["frames"].append(m.group(1) if m else line)
    return manifest, dump


manifest, dump = parse_dump(dump_path)
snap = {}
for line in open(snap_path):
    g = json.loads(line)
    snap[g["goid"]] = g
user = {k: v for k, v in snap.items() if not v["system"]}

check(set(user) == set(dump),
      "goroutine sets differ: only in snapshot %s, only in dump %s"
      % (sorted(set(user) - set(dump)), sorted(set(dump) - set(user))))

for goid, d in dump.items():
    g = snap.get(goid)
    if g is None or d["state"] in ("running", "runnable", "syscall"):
        continue  # moving goroutines: state and stack legitimately differ
    check(g["state"] == d["state"], "goroutine %d: state %r, dump says %r" % (goid, g["state"], d["state"]))
    ours = [f["func"] for f in g["stack"]]
    shown = [f for f in ours if not f.startswith("runtime.")]
    check(shown and d["frames"] and shown[0] == d["frames"][0],
          "goroutine %d: top frame %r, dump's %r" % (goid, shown[:1], d["frames"][:1]))
    main_ours = [f for f in ours if f.startswith("main.")][:1]
    main_dump = [f for f in d["frames"] if f.startswith("main.")][:1]
    check(main_ours == main_dump, "goroutine %d: first main frame %r, dump's %r" % (goid, main_ours, main_dump))
    if minor >= 21:
        check(g["parent"] == d["parent"], "goroutine %d: parent %d, dump's %d" % (goid, g["parent"], d["parent"]))

for goid, (kind, labels) in manifest.items():
    g = snap.get(goid)
    if g is None:
        check(False, "manifest goroutine %d (%s) missing from the snapshot" % (goid, kind))
        continue
    check(g["labels"] == labels, "goroutine %d (%s): labels %r, expected %r" % (goid, kind, g["labels"], labels))
    if kind == "deep":
        check(g["stack_truncated"] and len(g["stack"]) >= 512,
              "deep goroutine %d: %d frames, truncated=%s" % (goid, len(g["stack"]), g["stack_truncated"]))
    if kind in ("chanrecv", "mutex", "sleep", "select", "child"):
        check(g["wait_source"] == "runtime.waitsince" and g["wait_ns"] > 0,
              "goroutine %d (%s): no wait time after a GC (%s)" % (goid, kind, g["wait_source"]))
    if kind == "spin":
        check(g["status"] in ("running", "runnable", "preempted"), "spinner %d is %s" % (goid, g["status"]))
        if g["status"] == "running":
            check(not g["stack_available"], "running goroutine %d claims a stack" % goid)
    if kind == "child" and minor >= 21:
        spawner = [k for k, (kd, _) in manifest.items() if kd == "spawner"]
        check(g["parent"] in spawner, "child %d: parent %d is not the spawner %s" % (goid, g["parent"], spawner))

check(not any(g["inconsistent"] for g in user.values()), "inconsistent goroutines in a quiet program")
for f in fails:
    print(f)
sys.exit(1 if fails else 0)

#!/usr/bin/env python3
"""Checks a gtrace capture (as `gtrace report CAP -f jsonl`) of the script
fixture against what the fixture says it did (its stdout).

    check_record.py JSONL FIXTURE_STDOUT NAME STOP

NAME prefixes every result line ("record/go1.26-plain"); STOP is the
record.stop value the trailer must carry (duration, interrupted, target
exited), or "-" for any.  Prints one "PASS NAME/GROUP" or "FAIL NAME/GROUP"
line per check group, with the mismatches indented above a FAIL:

  trailer  record.stop present (and as expected); for every event type X in
           the trailer produced.X == written.X + loss.X; loss.total == 0;
           the number of events of each type in the jsonl equals written.X
  create   every worker goid has exactly one create, whose parent is the
           main goroutine (goid 1: runScript runs on it and holds the go
           statement), whose func is the worker closure of runScript
           (main.runScript.funcN.M) and whose labels are exactly {kind: K}
  exit     every worker has exactly one exit, after its create
  park     every worker but the syscall kind has >= 1 non-pseudo park with
           the runtime's wait reason for its primitive, which depends on the
           Go version in NAME only (Go <= 1.21's sync primitives park as
           "semacquire", 1.25+ name them), not on the capture's own
           waitreason.N metadata, which must hold that name too; the syscall
           kind has >= 1 syscall_enter and >= 1 syscall_exit and no
           non-pseudo park
  stacks   every non-pseudo park of a worker has a non-empty stack that
           includes main.(*worker).block
  labels   every worker has a labels event whose set is {idx: I, kind: K}
"""
import json
import re
import sys
from collections import defaultdict

# kind -> candidate wait reasons, most specific first.  Go <= 1.21 expects
# the last one, Go >= 1.25 the first (runtime2.go of each); in between, the
# first one the capture's waitreason.N metadata defines.
REASONS = {
    "chanrecv": ["chan receive"],
    "chansend": ["chan send"],
    "select": ["select"],
    "mutex": ["sync.Mutex.Lock", "semacquire"],
    "rwmutex": ["sync.RWMutex.RLock", "semacquire"],
    "waitgroup": ["sync.WaitGroup.Wait", "semacquire"],
    "cond": ["sync.Cond.Wait"],
    "sleep": ["sleep"],
    "netio": ["IO wait"],
}
FUNC_RE = re.compile(r"^main\.runScript\.func\d+\.\d+ \S+main\.go:\d+$")
MAX_DETAILS = 12


def main():
    jsonl, fixture_out, name, want_stop = sys.argv[1:5]
    m = re.search(r"go1\.(\d+)", name)
    minor = int(m.group(1)) if m else None
    results = []

    def report(group, problems):
        if problems:
            for p in problems[:MAX_DETAILS]:
                print("  " + p)
            if len(problems) > MAX_DETAILS:
                print("  ... and %d more" % (len(problems) - MAX_DETAILS))
            print("FAIL %s/%s" % (name, group))
            results.append(False)
        else:
            print("PASS %s/%s" % (name, group))
            results.append(True)

    workers = {}  # goid -> (kind, idx)
    done = False
    for line in open(fixture_out):
        f = line.split()
        if len(f) == 4 and f[0] == "worker":
            workers[int(f[1])] = (f[2], f[3])
        elif f == ["done"]:
            done = True

    cap = None
    events = []
    bad_lines = 0
    for line in open(jsonl):
        try:
            e = json.loads(line)
        except ValueError:
            bad_lines += 1
            continue
        if e.get("ev") == "capture" and cap is None:
            cap = e
        else:
            events.append(e)
    if cap is None:
        report("capture", ["no capture line in the jsonl"])
        return 1
    if not done or len(workers) == 0:
        report("fixture", ["fixture did not finish: done=%s, %d worker lines" % (done, len(workers))])
        return 1

    # ---- trailer
    p = []
    if bad_lines:
        p.append("%d jsonl lines do not parse" % bad_lines)
    stop = cap.get("record.stop")
    if stop is None:
        p.append("no record.stop: trailer missing")
    elif want_stop != "-" and stop != want_stop:
        p.append("record.stop is %r, expected %r" % (stop, want_stop))
    types = {k.split(".", 1)[1] for k in cap if k.startswith("produced.") and k != "produced.total"}
    if not types and stop is not None:
        p.append("trailer has no produced.<type> keys")
    evcount = defaultdict(int)
    for e in events:
        evcount[e.get("ev")] += 1
    for t in sorted(types):
        try:
            pr, wr, lo = (int(cap["%s.%s" % (k, t)]) for k in ("produced", "written", "loss"))
        except (KeyError, ValueError) as ex:
            p.append("type %s: missing or bad trailer key %s" % (t, ex))
            continue
        if pr != wr + lo:
            p.append("type %s: produced %d != written %d + loss %d" % (t, pr, wr, lo))
        # definitions (stack, labelset) are folded into the events using them
        if t not in ("stack", "labelset") and evcount.get(t, 0) != wr:
            p.append("type %s: %d events in the jsonl, trailer says written %d" % (t, evcount.get(t, 0), wr))
    if cap.get("loss.total") != "0":
        p.append("loss.total is %r, expected 0" % cap.get("loss.total"))
    report("trailer", p)

    per = defaultdict(lambda: defaultdict(list))
    for e in events:
        g = e.get("goid")
        if g in workers:
            per[g][e["ev"]].append(e)

    # ---- create
    p = []
    for g, (kind, idx) in sorted(workers.items()):
        cr = per[g]["create"]
        if len(cr) != 1:
            p.append("goid %d (%s %s): %d create events, expected 1" % (g, kind, idx, len(cr)))
            continue
        c = cr[0]
        if c.get("parent") != 1:
            p.append("goid %d (%s %s): parent %r, expected 1 (main goroutine)" % (g, kind, idx, c.get("parent")))
        if not FUNC_RE.match(c.get("func", "")):
            p.append("goid %d (%s %s): func %r is not the worker closure main.runScript.funcN.M"
                     % (g, kind, idx, c.get("func")))
        if c.get("labels") != {"kind": kind}:
            p.append("goid %d (%s %s): create labels %r, expected {'kind': %r}" % (g, kind, idx, c.get("labels"), kind))
    report("create", p)

    # ---- exit
    p = []
    for g, (kind, idx) in sorted(workers.items()):
        ex = per[g]["exit"]
        if len(ex) != 1:
            p.append("goid %d (%s %s): %d exit events, expected 1" % (g, kind, idx, len(ex)))
        elif per[g]["create"] and ex[0]["mono"] < per[g]["create"][0]["mono"]:
            p.append("goid %d (%s %s): exit before create" % (g, kind, idx))
    report("exit", p)

    # ---- park
    names = {v for k, v in cap.items() if k.startswith("waitreason.")}
    p = []
    for g, (kind, idx) in sorted(workers.items()):
        parks = [e for e in per[g]["park"] if not e.get("pseudo")]
        if kind == "syscall":
            ne, nx = len(per[g]["syscall_enter"]), len(per[g]["syscall_exit"])
            if ne < 1 or nx < 1:
                p.append("goid %d (syscall %s): %d syscall_enter, %d syscall_exit, expected >= 1 each" % (g, idx, ne, nx))
            if parks:
                p.append("goid %d (syscall %s): parks %r, expected none" % (g, idx, [e.get("reason") for e in parks]))
            continue
        if minor is not None and minor <= 21:
            want = REASONS[kind][-1]
        elif minor is not None and minor >= 25:
            want = REASONS[kind][0]
        else:
            want = next((r for r in REASONS[kind] if r in names), None)
        if want is None or want not in names:
            p.append("goid %d (%s %s): expected reason %r (of %r) not in the capture's waitreason metadata"
                     % (g, kind, idx, want, REASONS[kind]))
            continue
        if not any(e.get("reason") == want for e in parks):
            p.append("goid %d (%s %s): no park with reason %r; parks: %r"
                     % (g, kind, idx, want, [e.get("reason") for e in parks]))
    report("park", p)

    # ---- stacks
    p = []
    for g, (kind, idx) in sorted(workers.items()):
        for e in per[g]["park"]:
            if e.get("pseudo"):
                continue
            st = e.get("stack") or []
            if not st:
                p.append("goid %d (%s %s): park %r has no stack%s" % (g, kind, idx, e.get("reason"),
                         " (stack_missing)" if e.get("stack_missing") else ""))
            elif not any(fr.startswith("main.(*worker).block ") for fr in st):
                p.append("goid %d (%s %s): park %r stack lacks main.(*worker).block: %r"
                         % (g, kind, idx, e.get("reason"), st[:8]))
    report("stacks", p)

    # ---- labels
    p = []
    for g, (kind, idx) in sorted(workers.items()):
        sets = [e.get("labels") for e in per[g]["labels"]]
        if {"idx": idx, "kind": kind} not in sets:
            p.append("goid %d (%s %s): labels events %r lack {'idx': %r, 'kind': %r}" % (g, kind, idx, sets, idx, kind))
    report("labels", p)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

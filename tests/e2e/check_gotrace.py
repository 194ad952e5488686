#!/usr/bin/env python3
"""Compares a `gtrace report -f gotrace` export, as golang.org/x/exp/trace
reads it back (build/tracecheck's JSON), with the capture it came from
(`gtrace report -f jsonl`), goroutine by goroutine.

    check_gotrace.py CAPTURE_JSONL TRACECHECK_JSON NAME [--lossy]

Prints the mismatches indented, then "PASS NAME" or "FAIL NAME".

The mapping (trace column = capture expression), docs/formats/gotrace.md:
  created   = #create          GoCreate / GoCreateBlocked
  blocked   = #park - #pseudo + #preempt{gc_suspend}
                               GoBlock; a GC/STW pseudo-wait is no block for
                               the runtime's tracer either, a GC suspension
                               (preemptPark) is, reason "preempted"
  unblocked = #unpark          GoUnblock
  ended     = #exit            GoDestroy
  stopped   = #preempt - #preempt{gc_suspend} + #yield  GoStop
  syscall   = #syscall_enter   GoSyscallBegin
  syscall_end + syscall_end_blocked = #syscall_exit
  started   = #start + (syscall_end_blocked - #syscall_exit{to_runnable})
      a syscall return the export could not give back its P (the goroutine
      was already in the syscall when the capture began) is written the way
      the runtime writes a syscall that lost its P: EndBlocked + GoStart.
  other     only "Undetermined->X", once, and only for a goroutine whose
            CREATE the capture does not have (its state at first sight).
  block_reasons: each park's wait reason mapped to the trace's block reason.
Label logs (category pprof.labels, message k=v,... sorted by key): one per
LABELS event of the goroutine, in order, preceded by one with the labels it
was born with (CREATE; without one, the attach snapshot when that is its first record)
when those are not empty and it ran.  With --lossy (the capture has loss windows) goroutines whose events
crossed a loss window are only required to exist, and the loss marker
goroutine must carry one region and one gtrace.loss log per window.
"""
import json
import sys
from collections import defaultdict

LOSS_GOID = str(1 << 40)

BLOCK = [  # prefix of the runtime's wait reason -> trace block reason
    ("chan receive (nil chan)", "forever"), ("chan send (nil chan)", "forever"),
    ("select (no cases)", "forever"), ("panicwait", "forever"),
    ("chan receive", "chan receive"), ("chan send", "chan send"), ("select", "select"),
    ("IO wait", "network"), ("sleep", "sleep"), ("sync.Cond.Wait", "sync.(*Cond).Wait"),
    ("semacquire", "sync"), ("sync.", "sync"),
]
RUNS = {"start", "park", "preempt", "yield", "syscall_enter", "exit", "wait_end", "labels"}


def block_reason(r):
    for p, b in BLOCK:
        if r.startswith(p):
            return b
    return None  # the rest (GC, system goroutines): not checked by name


def labels_msg(d):
    return ",".join("%s=%s" % (k, d[k]) for k in sorted(d))


def expected(events):
    per = defaultdict(list)
    for e in events:
        if e.get("goid"):
            per[str(e["goid"])].append(e)
    out = {}
    for g, evs in per.items():
        c = defaultdict(int)
        reasons, logs = [], []
        born = None
        first_run = None
        for i, e in enumerate(evs):
            k = e["ev"]
            # born labels: from its CREATE, or, without one, from the
            # snapshot when that is its first record.  The attach snapshot
            # is read after the probes are on and written before the ring
            # buffer's records of that time, so a goroutine created during
            # the read can have its snapshot first in the file, holding the
            # labels it set after its CREATE: the CREATE decides.
            if k == "create":
                born = labels_msg(e.get("labels", {}))
            elif born is None and k == "snapshot" and i == 0:
                born = labels_msg(e.get("labels", {}))
            if first_run is None and (k in RUNS or (k == "syscall_exit" and not e.get("to_runnable"))):
                first_run = k
            if k == "park":
                if e.get("pseudo"):
                    c["pseudo"] += 1
                    continue
                r = block_reason(e.get("reason", ""))
                reasons.append(r)
            if k == "preempt" and e.get("gc_suspend"):
                c["gc_suspend"] += 1
                reasons.append("preempted")
            if k == "syscall_exit" and e.get("to_runnable"):
                c["to_runnable"] += 1
            if k == "labels":
                logs.append(labels_msg(e.get("labels", {})))
            c[k] += 1
        if born and first_run and first_run != "labels":
            logs.insert(0, born)
        out[g] = (c, reasons, logs)
    return out


def main():
    jsonl, tcjson, name = sys.argv[1:4]
    lossy = "--lossy" in sys.argv[4:]
    lines = [json.loads(l) for l in open(jsonl)]
    events = [e for e in lines if e.get("ev") != "capture"]
    loss = [e for e in events if e.get("ev") in ("loss", "gap")]  # both are marked windows
    tr = json.load(open(tcjson))["goroutines"]
    want = expected(events)
    problems = []
    uncertain = set()
    if lossy:
        # goroutines with any event inside or after the first loss window may
        # have lost transitions: they only need to exist
        t0 = min(e["t"] for e in loss) if loss else None
        for e in events:
            if t0 is not None and e.get("goid") and e["t"] >= t0:
                uncertain.add(str(e["goid"]))
    checked = 0
    for g, (c, reasons, logs) in sorted(want.items(), key=lambda kv: int(kv[0])):
        t = tr.get(g)
        if t is None:
            if c["snapshot"] and len([1 for k in c if c[k]]) == 1:
                continue  # seen only in the snapshot in a state the trace has no status for
            problems.append("goid %s: in the capture %s, not in the trace" % (g, dict(c)))
            continue
        if g in uncertain:
            continue
        checked += 1
        fake = t["syscall_end_blocked"] - c["to_runnable"]
        got = {
            "created": t["created"], "blocked": t["blocked"], "unblocked": t["unblocked"],
            "ended": t["ended"], "stopped": t["stopped"], "syscall": t["syscall"],
            "syscall_exits": t["syscall_end"] + t["syscall_end_blocked"],
            "started": t["started"] - fake,
        }
        exp = {
            "created": c["create"], "blocked": c["park"] + c["gc_suspend"], "unblocked": c["unpark"],
            "ended": c["exit"], "stopped": c["preempt"] - c["gc_suspend"] + c["yield"],
            "syscall": c["syscall_enter"], "syscall_exits": c["syscall_exit"],
            "started": c["start"],
        }
        bad = [k for k in exp if exp[k] != got[k]]
        other = t.get("other") or {}
        if any(not k.startswith("Undetermined->") for k in other) or sum(other.values()) > 1 \
                or (c["create"] and other):
            bad.append("other=%s" % other)
        tb = t["block_reasons"]
        if len(tb) == len(reasons) and any(w is not None and w != r for w, r in zip(reasons, tb)):
            bad.append("block reasons: capture %s, trace %s" % (reasons, tb))
        tl = [l.split("=", 1)[1] for l in (t.get("logs") or []) if l.startswith("pprof.labels=")]
        if tl != logs:
            bad.append("label logs: capture %s, trace %s" % (logs[:6], tl[:6]))
        if bad:
            problems.append("goid %s: %s; capture %s, trace %s" % (
                g, ",".join(b if "=" in b or ":" in b else b for b in bad),
                {k: exp[k] for k in bad if k in exp}, {k: got[k] for k in bad if k in got}))
    if loss:
        m = tr.get(LOSS_GOID)
        nlogs = len([l for l in (m or {}).get("logs", []) if l.startswith("gtrace.loss=")])
        if not m or m.get("regions", 0) != len(loss) or nlogs != len(loss):
            problems.append("capture has %d loss windows; the marker goroutine has %s regions, %d logs"
                            % (len(loss), (m or {}).get("regions"), nlogs))
    elif LOSS_GOID in tr:
        problems.append("a loss marker without loss in the capture")
    if not checked:
        problems.append("no goroutine compared")
    for p in problems[:15]:
        print("  " + p)
    if len(problems) > 15:
        print("  ... and %d more" % (len(problems) - 15))
    print("  %d goroutines compared, %d uncertain (loss), %d loss windows" % (checked, len(uncertain), len(loss)))
    print("%s %s" % ("FAIL" if problems else "PASS", name))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

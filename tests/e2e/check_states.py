#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The documented goroutine state machine (docs/capture-format.md, "The
goroutine state machine"), checked over `gtrace report CAP -f jsonl`.

This is written from the documentation, not from user/capture/gstate.c, so it
judges the stream and the model independently.  Every event of a goroutine
must leave the state the previous one put it in; the first event seen of a
goroutine that was neither in the attach snapshot nor created may start it
anywhere (it existed before).  A transition that crosses a loss window is
excused and counted.  Exit 1 on any violation, or with --no-loss when the
capture lost anything.

  check_states.py CAP.jsonl [--no-loss] [--min-events N]
"""
import json
import sys
from collections import Counter

# event -> (state before, state after); None before = any (first sight)
MOVES = {
    "start": ("runnable", "running"),
    "park": ("running", "waiting"),
    "unpark": ("waiting", "runnable"),
    "preempt": ("running", "runnable"),
    "yield": ("running", "runnable"),
    "syscall_enter": ("running", "syscall"),
    "syscall_exit": ("syscall", "running"),
    "exit": ("running", "dead"),
    "wait_end": ("waiting", "running"),
    "labels": ("running", "running"),
}
SNAP = {"runnable": "runnable", "running": "running", "waiting": "waiting",
        "syscall": "syscall", "preempted": "runnable", "copystack": "running",
        "leaked": "waiting"}


def after(ev):
    """The state an event leaves its goroutine in, with the documented flags."""
    k = ev["ev"]
    if k == "preempt" and ev.get("gc_suspend"):
        return "waiting"  # suspendG parks it; resumeG's ready() unparks it
    if k == "syscall_exit" and ev.get("to_runnable"):
        return "runnable"
    return MOVES[k][1]


def main(argv):
    path = argv[1]
    no_loss = "--no-loss" in argv
    min_events = 0
    if "--min-events" in argv:
        min_events = int(argv[argv.index("--min-events") + 1])
    state, last_ts, pseudo = {}, {}, {}
    losses = []  # (start, end) mono windows
    bad, excused, firsts, gcs, races, n = [], 0, 0, 0, 0, Counter()
    unconfirmed = set()
    cap = {}
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            k = ev.get("ev")
            n[k] += 1
            if k == "capture":
                cap = ev
                continue
            if k in ("loss", "gap"):  # gap: record --budget paused the probes, by design
                losses.append((ev.get("t", 0), ev.get("end", ev.get("t", 0))))
                continue
            g = ev.get("goid")
            if not g:
                continue
            ts = ev.get("t", 0)
            if k == "snapshot":
                st = SNAP.get(ev.get("status"))
                if st and g not in state:
                    state[g] = st
                    pseudo[g] = False
                    last_ts[g] = ts
                    unconfirmed.add(g)
                continue
            if k == "create":
                if g in state and state[g] != "dead":
                    bad.append("goid %d: create while %s" % (g, state[g]))
                state[g] = "waiting" if ev.get("parked") else "runnable"
                pseudo[g] = False
                last_ts[g] = ts
                continue
            if k not in MOVES:
                continue
            want = MOVES[k][0]
            have = state.get(g)
            if have is None:
                firsts += 1  # existed before the capture saw it
            elif have != want or (k == "wait_end" and not pseudo.get(g)):
                crossed = any(a <= ts and b >= last_ts.get(g, 0) for a, b in losses)
                if crossed:
                    excused += 1
                elif g in unconfirmed:
                    # The attach snapshot reads each g while the program runs,
                    # after the probes went live: its status can be older or
                    # newer than the first event.  Only that first one may
                    # disagree (docs/capture-format.md).
                    races += 1
                else:
                    bad.append("goid %d: %s (%s) while %s%s" % (
                        g, k, ",".join(x for x in ("gc_suspend", "pseudo", "no_p", "to_runnable")
                                       if ev.get(x)) or "-",
                        have, " (pseudo)" if pseudo.get(g) else ""))
            unconfirmed.discard(g)
            gcs += k == "preempt" and bool(ev.get("gc_suspend"))
            state[g] = after(ev)
            if k == "park":
                pseudo[g] = bool(ev.get("pseudo"))
            elif k == "preempt" and ev.get("gc_suspend"):
                pseudo[g] = True
            else:
                pseudo[g] = False
            last_ts[g] = ts
    lost = int(cap.get("loss.total", "0") or 0)
    events = sum(v for k, v in n.items() if k in MOVES or k == "create")
    print("states: %d events, %d goroutines, %d first seen mid-life, %d violations, "
          "%d excused by loss windows, %d first events disagreeing with the attach snapshot, "
          "%d records lost; preempt gc_suspend %d" % (
              events, len(state), firsts, len(bad), excused, races, lost, gcs))
    for b in bad[:10]:
        print("  " + b)
    if bad:
        return 1
    if no_loss and lost:
        print("  the capture lost %d records" % lost)
        return 1
    if events < min_events:
        print("  only %d events (want >= %d)" % (events, min_events))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Compares gtrace's per-goroutine counts with Go's own runtime/trace of the
same run of the script fixture (build/tracecheck's JSON), for every worker
goroutine the fixture printed.

    check_judge.py GTRACE_JSONL TRACECHECK_JSON FIXTURE_STDOUT NAME

Prints the mismatches indented, then "PASS NAME" or "FAIL NAME".

The mapping (runtime/trace column = gtrace expression), and why:

  created   = #create
      NotExist->Runnable (GoCreate) vs newproc1's return: one each.
  ended     = #exit
      ->NotExist (GoDestroy) vs casgstatus(Running, Dead).
  blocked   = #park without pseudo  +  #preempt with gc_suspend
      Running->Waiting (GoBlock) is gopark, which gtrace sees as a park from
      park_m.  gtrace's pseudo parks (casgstatus Running->Waiting outside
      park_m: GC stack scans, STW waits) are not goroutine blocks and the
      runtime does not trace them.  preemptPark (the GC suspending a
      goroutine) is traced as GoBlock with reason "preempted"; gtrace reports
      it as preempt{gc_suspend}.
  unblocked = #unpark
      Waiting->Runnable (GoUnblock) vs casgstatus(Waiting, Runnable) in ready.
  syscall   = #syscall_enter
  syscall_end + syscall_end_blocked = #syscall_exit
  stopped   = #preempt without gc_suspend or no_p  +  #yield
      Running->Runnable (GoStop/GoPreempt/GoSched) vs casgstatus(Running,
      Runnable) classified by caller.  preempt{no_p} is Go 1.26+'s
      exitsyscallNoP (a syscall return that found no P), which the runtime
      traces as part of the syscall end, not as a stop.
  started   = #start + fake_starts
      Runnable->Running (GoStart) vs casgstatus(Runnable, Running) in
      execute, except: when a syscall returns after its P was taken (or its
      syscalltick was trashed) the runtime traces GoSyscallEndBlocked
      (Syscall->Runnable) and, when it gets a P back at once, an immediate
      GoStart, though the goroutine really went Syscall->Running
      (exitsyscall: "trace.GoSysExit(true); trace.GoStart()"; the 1.11-1.21
      format's GoSysBlock/GoSysExit converts the same way).  gtrace sees the
      real transition: a syscall_exit without to_runnable and no start.  So
          fake_starts = syscall_end_blocked - exits_via_runnable
      where exits_via_runnable counts gtrace's syscall_exit{to_runnable}
      (casgstatus(Syscall, Runnable), Go < 1.26) and preempt{no_p} (Go 1.26+
      exitsyscallNoP: Syscall->Running by CAS, then casgstatus(Running,
      Runnable)); those goroutines do get a real start later.

A worker still alive when the runtime/trace stopped (last_state not
NotExist: the fixture stops the trace as soon as every worker closed its
done channel, and one may not have reached goexit yet) has its last
transitions only in gtrace, which records until the process exits; for it
gtrace's counts must be >= the trace's, and the difference is reported as
a note, not a failure.
"""
import json
import sys
from collections import defaultdict

COUNTS = ("created", "started", "blocked", "unblocked", "ended", "stopped", "syscall", "syscall_exits")


def gtrace_counts(events):
    per = defaultdict(list)
    for e in events:
        per[e.get("goid")].append(e)
    out = {}
    for g, evs in per.items():
        evs.sort(key=lambda e: e.get("mono", 0))
        c = defaultdict(int)
        for i, e in enumerate(evs):
            k = e.get("ev")
            if k == "park" and e.get("pseudo"):
                c["pseudo_park"] += 1
            elif k == "preempt" and e.get("gc_suspend"):
                c["gc_suspend"] += 1
            elif k == "preempt" and e.get("no_p"):
                c["exit_via_runnable"] += 1
            elif k == "syscall_exit":
                c["syscall_exit"] += 1
                nxt = evs[i + 1] if i + 1 < len(evs) else None
                if e.get("to_runnable"):
                    c["exit_via_runnable"] += 1
                elif nxt and nxt.get("ev") == "preempt" and not nxt.get("no_p") \
                        and nxt.get("tid") == e.get("tid"):
                    c["exit_then_preempt"] += 1
            else:
                c[k] += 1
        out[g] = c
    return out


def main():
    jsonl, tcjson, fixture_out, name = sys.argv[1:5]
    workers = {}
    for line in open(fixture_out):
        f = line.split()
        if len(f) == 4 and f[0] == "worker":
            workers[int(f[1])] = (f[2], f[3])
    events = [json.loads(l) for l in open(jsonl)]
    events = [e for e in events if e.get("ev") != "capture"]
    tr = json.load(open(tcjson))["goroutines"]
    gt = gtrace_counts(events)

    problems = []
    notes = []
    if not workers:
        problems.append("the fixture printed no workers")
    for g, (kind, idx) in sorted(workers.items()):
        t = tr.get(str(g))
        c = gt.get(g, defaultdict(int))
        if t is None:
            problems.append("goid %d (%s %s): not in the runtime/trace" % (g, kind, idx))
            continue
        preempted = sum(1 for r in t["block_reasons"] if r == "preempted")
        fake = t["syscall_end_blocked"] - c["exit_via_runnable"]
        want = {  # runtime/trace's view
            "created": t["created"],
            "started": t["started"] - fake,
            "blocked": t["blocked"],
            "unblocked": t["unblocked"],
            "ended": t["ended"],
            "stopped": t["stopped"],
            "syscall": t["syscall"],
            "syscall_exits": t["syscall_end"] + t["syscall_end_blocked"],
        }
        got = {  # gtrace's, mapped as in the docstring
            "created": c["create"],
            "started": c["start"],
            "blocked": c["park"] + c["gc_suspend"],
            "unblocked": c["unpark"],
            "ended": c["exit"],
            "stopped": c["preempt"] + c["yield"],
            "syscall": c["syscall_enter"],
            "syscall_exits": c["syscall_exit"],
        }
        alive = t.get("last_state", "NotExist") != "NotExist"
        if alive:
            bad = [k for k in COUNTS if got[k] < want[k]]
            more = [k for k in COUNTS if got[k] > want[k]]
            if more:
                notes.append("note: goid %d (%s %s) outlived the runtime/trace (last state %s); gtrace has more %s"
                             % (g, kind, idx, t["last_state"], {k: (want[k], got[k]) for k in more}))
        else:
            bad = [k for k in COUNTS if want[k] != got[k]]
        if fake < 0:
            bad.append("fake_starts<0")
        if bad:
            why = ""
            if "stopped" in bad and c["exit_then_preempt"]:
                why = (" [gtrace reported %d syscall return(s) without a P as syscall_exit + preempt;"
                       " runtime/trace: Syscall->Runnable, no stop]" % c["exit_then_preempt"])
            if "blocked" in bad and c["pseudo_park"] and not c["park"]:
                why += " [every park of this goroutine is marked pseudo (%d)]" % c["pseudo_park"]
            problems.append("goid %d (%s %s): %s differ; runtime/trace %s, gtrace %s (pseudo parks %d, "
                            "trace block reasons %s, trace preempted %d)%s"
                            % (g, kind, idx, ",".join(bad),
                               {k: want[k] for k in bad if k in want}, {k: got[k] for k in bad if k in got},
                               c["pseudo_park"], t["block_reasons"], preempted, why))
    for p in notes:
        print("  " + p)
    for p in problems[:15]:
        print("  " + p)
    if len(problems) > 15:
        print("  ... and %d more" % (len(problems) - 15))
    print("%s %s" % ("FAIL" if problems else "PASS", name))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

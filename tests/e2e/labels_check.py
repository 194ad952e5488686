#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks `gtrace report --labels` of a labelpool capture against the
fixture's own account (tests/fixtures/labelpool/main.go prints it).

usage: labels_check.py NAME MAIN.GO FIXTURE.OUT LABELS.JSONL REPORT.TXT LABELS.RAW
Prints one PASS/FAIL line per check.  Shares of running time are compared in
percentage points: |report - fixture| <= 5.
"""
import collections, json, re, sys

name, src, fix_out, jsonl, report_txt, raw = sys.argv[1:7]
TOL = 5.0

lines = open(src).read().split("\n")
pool_line = next(i + 1 for i, l in enumerate(lines) if "POOL-SITE" in l)
handler_line = next(i + 1 for i, l in enumerate(lines) if "HANDLER-SITE" in l)
do_lines = {}  # handler func -> line of its pprof.Do call
cur = None
for i, l in enumerate(lines):
    m = re.match(r"func (handle\w+)\(", l)
    if m:
        cur = "main." + m.group(1)
    if cur and "pprof.Do(" in l:
        do_lines[cur] = i + 1

run = collections.Counter()    # (kind, route) -> ns running, as the fixture measured it
nrun = collections.Counter()
sends = collections.Counter()  # route -> jobs sent to the pool
routes = {}                    # route -> (func, labelled)
for l in open(fix_out):
    f = l.split()
    if len(f) == 5 and f[0] == "run":
        if f[2] == "send":
            sends[f[3]] += 1
        else:
            run[(f[2], f[3])] += int(f[4])
            nrun[(f[2], f[3])] += 1
    elif f and f[0] == "route":
        routes[f[1]] = (f[2], f[3] == "labelled")
spin, nspin = run, nrun  # measured running stretches
total_spin = sum(spin.values()) or 1
pool_spin = sum(v for (k, _), v in spin.items() if k == "job")
labelled_spin = sum(v for (k, r), v in spin.items() if k == "handler" and routes[r][1])
forgot = [r for r, (_, lab) in routes.items() if not lab]
forgot_func = routes[forgot[0]][0] if forgot else "(the fixture names no forgetful route)"
forgot_spin = sum(v for (k, r), v in spin.items() if k == "handler" and r in forgot)

rows = [json.loads(l) for l in open(jsonl)]
sites = [r for r in rows if r["section"] == "unlabelled"]
keys = {r["key"]: r for r in rows if r["section"] == "key"}
changes = [r for r in rows if r["section"] == "change"]
ok = True


def check(what, cond, detail):
    global ok
    if cond:
        if detail and not detail.startswith("!"):
            print("  " + detail)
        print("PASS %s/%s" % (name, what))
    else:
        ok = False
        print("  " + detail.lstrip("!"))
        print("FAIL %s/%s" % (name, what))


def near(a, b):
    return abs(a - b) <= TOL


pool = [s for s in sites if s["created_by"].endswith("main.go:%d" % pool_line)]
top = max(sites, key=lambda s: s["offcpu_ns"] + s["running_ns"]) if sites else None
top_run = max(sites, key=lambda s: s["running_ns"]) if sites else None
check("pool-site", top is not None and pool and top is pool[0] and top_run is pool[0],
      "largest unlabelled site %s (running: %s), pool is main.go:%d" %
      (top and top["created_by"], top_run and top_run["created_by"], pool_line))
if pool:
    p = pool[0]
    want = 100.0 * pool_spin / total_spin
    got = 100.0 * p["running_share"]
    check("pool-share", near(got, want),
          "pool running share %.1f%%, fixture's pool jobs %.1f%%" % (got, want))
    # who handed the pool its work: the routes' share of the jobs sent
    nsend = sum(sends.values())
    woke = {}
    for w in p["woken_by"]:
        woke[w["labels"].get("route", "(none)")] = 100.0 * w["share"]
    bad, seen = [], []
    for r, n in sends.items():
        want = 100.0 * n / nsend
        got = woke.get(r if routes[r][1] else "(none)", 0.0)
        seen.append("%s: woken %.1f%%, sent %.1f%%" % (r, got, want))
        if not near(got, want):
            bad.append(seen[-1])
    check("pool-wakeups", not bad and p["wakeups"] > 0 and sends,
          "; ".join(seen) or "no wake-ups")
else:
    check("pool-share", False, "no unlabelled row for main.go:%d" % pool_line)
    check("pool-wakeups", False, "no unlabelled row for main.go:%d" % pool_line)

fs = [s for s in sites if s["start_func"] == forgot_func and
      s["created_by"].endswith("main.go:%d" % handler_line)]
want = 100.0 * forgot_spin / total_spin
got = 100.0 * fs[0]["running_share"] if fs else -1
others = [s for s in sites if s["start_func"] in ("main.handleSearch", "main.handleCart")
          and s["running_share"] > 0.05]
check("forgotten-route", fs and near(got, want) and not others,
      "%s (route %s) running share %.1f%%, fixture %.1f%%; labelled handlers unlabelled: %s" %
      (forgot_func, forgot and forgot[0], got, want, [s["start_func"] for s in others]))

want = 100.0 * labelled_spin / total_spin
got = 100.0 * keys.get("route", {}).get("running_share", -1)
check("key-share", "route" in keys and near(got, want),
      "route running share %.1f%%, fixture's labelled handlers %.1f%%" % (got, want))

bad, seen = [], []
for func, line in do_lines.items():
    route = next(r for r, (f, _) in routes.items() if f == func)
    # One row per distinct stack: a site's pprof.Do exits are the sum of its rows
    # (a stack that differs below the site must not hide an exit).
    c = [x for x in changes if x["site"].endswith("main.go:%d" % line) and x["by"] == "pprof.Do"]
    n = nspin[("handler", route)]
    dropped = sum(x["dropped"] for x in c)
    seen.append("%s main.go:%d: dropped %d in %d row(s), fixture ran %d" %
                (func, line, dropped, len(c), n))
    if not c or dropped != n or any(sorted(x["keys"]) != ["route", "tenant"] for x in c):
        bad.append(seen[-1])
m = re.search(r"^\s*lost\s+(\d+) records", open(report_txt).read(), re.M)
seen.append("capture lost %s records" % (m.group(1) if m else "an unknown number of"))
check("changes", not bad and len(do_lines) == 2, "; ".join(seen) or "no pprof.Do in fixture")

txt = open(report_txt).read()
check("text", "\nlabels (user goroutines" in txt and
      "main.go:%d" % pool_line in txt and "woken" in txt and "by goroutines labelled {route=" in txt,
      "!text report lacks the labels section")

# the pprof form: each site's off-CPU and running values as in the jsonl
rawtxt = open(raw).read()
check("pprof", pool and re.search(r"^\s*%d\s+%d\s+\d+: " % (pool[0]["offcpu_ns"], pool[0]["running_ns"]),
                                  rawtxt, re.M) is not None and "main.go:%d" % pool_line in rawtxt,
      "!pprof -raw has no sample with the pool's values")
sys.exit(0)

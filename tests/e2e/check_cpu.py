#!/usr/bin/env python3
"""Judges a gtrace CPU profile of the cpuburn fixture with `go tool pprof`.

usage: check_cpu.py NAME GO PROFILE FIXTURE_OUT [--go-profile GOPROF] [--cgo]
                    [--cpu-column PERIOD_NS]

Every number comes from `go tool pprof -raw` (the tenant ratio from
`-tagfocus tenant=a` / `tenant=b`, so pprof itself does the filtering);
the truth is the fixture: its list of burning goroutines and the units of
work each does per round (hotA1 6, hotA2 5, hotA3 4, hotB1 3, hotB2 2,
hotC 5 in C).  Prints PASS/FAIL lines, with the numbers, for:
  ratio      cpu(tenant=a) / cpu(tenant=b) = 3 +- 15 % (3 sigma when fewer samples)
  top        the 5 hottest Go functions (flat) are the fixture's hot ones
  goids      every sample labelled with a tenant carries the goid the fixture
             printed for that function, and every burner is seen
  shares     each hot function's share of the hot functions' CPU matches its
             share of the work (10 %, widened to 3 sigma of sampling error)
  vs-go      with --go-profile: Go's own profile of the same run: same top-5,
             shares within 10 % (widened to 3 sigma of both profiles' error)
  cgo        with --cgo: tenant=c's time is C code (code=cgo, "[cgo]" leaf)
  --cpu-column PERIOD_NS: PROFILE is `gtrace profile --cpu`'s, whose last
             sample type is cpu: only rows with CPU time are judged, each
             counting value / PERIOD_NS samples
  wall       with --wall WALL.pb.gz: each burner's wall time (cpu + off-CPU +
             runnable + running-not-sampled) is the capture's duration, and
             the cpu column is the cpu profile's, per tenant
"""
import math
import re
import subprocess
import sys

UNITS = {"hotA1": 6, "hotA2": 5, "hotA3": 4, "hotB1": 3, "hotB2": 2}


def pprof_raw(go, path, *flags):
    out = subprocess.run([go, "tool", "pprof", "-raw", *flags, path], capture_output=True,
                         text=True, check=True).stdout
    return parse_raw(out)


def parse_raw(text):
    """Samples as dicts: count, value (last column), locs, labels {k: v}."""
    samples, locs = [], {}
    lines = text.splitlines()
    i, section = 0, None
    cur = None
    for line in lines:
        if line.startswith("Samples:"):
            section = "samples"
            continue
        if line.startswith("Locations"):
            section = "locs"
            continue
        if line.startswith("Mappings"):
            section = None
            continue
        if section == "samples":
            m = re.match(r"^\s+((?:\d+\s+)*\d+):\s*(.*)$", line)
            if m:
                vals = [int(x) for x in m.group(1).split()]
                cur = {"count": vals[0], "value": vals[-1], "values": vals,
                       "locs": [int(x) for x in m.group(2).split()], "labels": {}}
                samples.append(cur)
                continue
            for k, v in re.findall(r"(\S+?):\[([^\]]*)\]", line):
                if cur is not None:
                    cur["labels"][k] = v.split()[0] if v else v
        elif section == "locs":
            m = re.match(r"^\s+(\d+):\s+\S+\s+(?:M=\d+\s+)?(\S+)", line)
            if m:
                locs[int(m.group(1))] = m.group(2)
    for s in samples:
        s["leaf"] = locs.get(s["locs"][0], "?") if s["locs"] else "?"
        s["funcs"] = [locs.get(l, "?") for l in s["locs"]]
    return samples


def total(samples):
    return sum(s["value"] for s in samples)


def flat(samples):
    by = {}
    for s in samples:
        by[s["leaf"]] = by.get(s["leaf"], 0) + s["value"]
    return by


def owners(samples):
    """CPU per owning function: the first main.* function from the leaf up.
    Go's own profiler puts some samples in runtime.asyncPreempt (a tight
    loop being preempted) or runtime.cgocall (C code, no cgo traceback);
    the function they interrupted is the one that burned the CPU."""
    by = {}
    for s in samples:
        f = next((f for f in s["funcs"] if f.startswith("main.")), s["leaf"])
        by[f] = by.get(f, 0) + s["value"]
    return by


def report(ok, name, msg):
    print(("PASS" if ok else "FAIL") + f" {name}: {msg}")
    return ok


def sigma_rel(share, n):
    """Relative 1-sigma error of a share estimated from n samples."""
    return math.sqrt(max(share * (1 - share), 1e-9) / max(n, 1)) / max(share, 1e-9)


def main():
    name, go, prof, fixout = sys.argv[1:5]
    rest = sys.argv[5:]
    goprof = rest[rest.index("--go-profile") + 1] if "--go-profile" in rest else None
    cgo = "--cgo" in rest
    wall = rest[rest.index("--wall") + 1] if "--wall" in rest else None
    ok = True

    cpucol = int(rest[rest.index("--cpu-column") + 1]) if "--cpu-column" in rest else None

    def judged(path, *flags):
        got = pprof_raw(go, path, *flags)
        if cpucol:
            got = [s for s in got if s["value"] > 0]
            for s in got:
                s["count"] = round(s["value"] / cpucol)
        return got

    samples = judged(prof)
    nsamples = sum(s["count"] for s in samples)
    a = total(judged(prof, "-tagfocus=tenant=a"))
    b = total(judged(prof, "-tagfocus=tenant=b"))
    ratio = a / b if b else float("inf")
    # 15 %, widened to 3 sigma of the ratio of two sample counts when few
    # samples came (a starved machine schedules the burners little)
    na = sum(s["count"] for s in samples if s["labels"].get("tenant") == "a")
    nb = sum(s["count"] for s in samples if s["labels"].get("tenant") == "b")
    rtol = max(0.15, 3 * math.sqrt(1 / max(na, 1) + 1 / max(nb, 1)))
    ok &= report(abs(ratio / 3 - 1) <= rtol, f"{name}/ratio",
                 f"cpu tenant=a / tenant=b = {ratio:.3f} (want 3 +- {rtol:.0%}; "
                 f"{nsamples} samples, {na} a, {nb} b)")

    fl = flat(samples)
    gofuncs = sorted(((v, f) for f, v in fl.items() if f.startswith("main.") or
                      f.startswith("runtime.")), reverse=True)
    top5 = {f.split(".")[-1] for _, f in gofuncs[:5]}
    ok &= report(top5 == set(UNITS), f"{name}/top",
                 "top-5 flat: " + ", ".join(f"{f} {v / total(samples):.1%}" for v, f in gofuncs[:5]))

    want = {}
    for line in open(fixout):
        m = re.match(r"burner goid=(\d+) tenant=(\S+) fn=(\S+)", line)
        if m:
            want[m.group(3)] = m.group(1)
    bad, seen = 0, set()
    for s in samples:
        fn = s["labels"].get("fn")
        if fn is None:
            continue
        if s["labels"].get("goid") != want.get(fn):
            bad += s["count"]
        else:
            seen.add(fn)
    ok &= report(bad == 0 and seen == set(want), f"{name}/goids",
                 f"{len(want)} burners {sorted(want.items())}, seen {len(seen)}, "
                 f"{bad} samples with another goid")

    hot = {f: fl.get("main." + f, 0) for f in UNITS}
    hot_total = sum(hot.values()) or 1
    nhot = sum(s["count"] for s in samples if s["leaf"].split(".")[-1] in UNITS)
    units_total = sum(UNITS.values())
    worst = []
    for f, u in UNITS.items():
        want_share, got = u / units_total, hot[f] / hot_total
        tol = max(0.10, 3 * sigma_rel(want_share, nhot))
        worst.append((abs(got / want_share - 1) <= tol, f"{f} {got:.1%}/{want_share:.0%}"))
    ok &= report(all(w for w, _ in worst), f"{name}/shares",
                 "share of hot CPU vs share of work: " + ", ".join(m for _, m in worst))

    if goprof:
        gs = pprof_raw(go, goprof)
        gfl, fl = owners(gs), owners(samples)
        gn = sum(s["count"] for s in gs)
        gtot, tot = total(gs), total(samples)
        gtop = sorted(((v, f) for f, v in gfl.items()), reverse=True)[:5]
        mtop = sorted(((v, f) for f, v in fl.items()), reverse=True)[:5]
        ok &= report({f for _, f in gtop} == {f for _, f in mtop}, f"{name}/vs-go-top5",
                     "by owning function, Go's own: " +
                     ", ".join(f"{f} {v / gtot:.1%}" for v, f in gtop) + "; gtrace: " +
                     ", ".join(f"{f} {v / tot:.1%}" for v, f in mtop))
        rows = []
        for f in UNITS:
            mine, theirs = fl.get("main." + f, 0) / tot, gfl.get("main." + f, 0) / gtot
            tol = max(0.10, 3 * math.hypot(sigma_rel(theirs, gn), sigma_rel(mine, nsamples)))
            rows.append((theirs > 0 and abs(mine / theirs - 1) <= tol,
                         f"{f} {mine:.1%} vs {theirs:.1%} (tol {tol:.0%})"))
        ok &= report(all(r for r, _ in rows), f"{name}/vs-go-shares",
                     f"gtrace vs Go ({nsamples} vs {gn} samples): " +
                     ", ".join(m for _, m in rows))

    if cgo:
        c = [s for s in samples if s["labels"].get("tenant") == "c"]
        ccpu = total(c)
        incgo = sum(s["value"] for s in c if s["labels"].get("code") == "cgo" and
                    s["leaf"] == "[cgo]" and "main.hotC" in s["funcs"])
        othercgo = sum(s["value"] for s in samples if s["labels"].get("code") == "cgo" and
                       s["labels"].get("tenant") not in ("c", None))
        ok &= report(ccpu > 0 and incgo / ccpu >= 0.9 and othercgo == 0, f"{name}/cgo",
                     f"tenant=c: {incgo / max(ccpu, 1):.1%} of its CPU is [cgo] under main.hotC; "
                     f"cgo samples of other tenants: {othercgo} ns")
    if wall:
        out = subprocess.run([go, "tool", "pprof", "-raw", wall], capture_output=True,
                             text=True, check=True).stdout
        dur = float(re.search(r"^Duration: ([\d.]+)", out, re.M).group(1)) * 1e9
        ws = parse_raw(out)
        rows, good = [], True
        for fn, g in sorted(want.items()):
            mine = [s for s in ws if s["labels"].get("goid") == g]
            w = sum(s["values"][0] for s in mine)
            good &= abs(w / dur - 1) <= 0.05
            rows.append(f"G{g} {fn} {w / 1e9:.2f}s")
        ok &= report(good, f"{name}/wall-adds-up",
                     f"per burner wall (want the capture's {dur / 1e9:.2f}s +- 5%): " +
                     ", ".join(rows))
        for t in ("a", "b"):
            wc = sum(s["values"][1] for s in ws if s["labels"].get("tenant") == t)
            cc = total([s for s in samples if s["labels"].get("tenant") == t])
            ok &= report(wc == cc, f"{name}/wall-cpu-{t}",
                         f"tenant={t}: wall profile cpu {wc} ns, cpu profile {cc} ns")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

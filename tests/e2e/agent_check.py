#!/usr/bin/env python3
"""Judges what the e2e receivers got from `gtrace agent` (tests/e2e/agent.sh).

Inputs are the receivers' JSON lines (one per decoded profile: Pyroscope's
handler + google/pprof, and the collector's pdata), the --dir tree, two
/metrics scrapes and the agent's log.  Prints PASS/FAIL lines; exit 1 when
any check failed."""
import argparse, glob, json, os, re, sys

ap = argparse.ArgumentParser()
for k in ("pyro", "otlp", "dir", "metrics", "metrics2", "log", "log2", "run"):
    ap.add_argument("--" + k)
for k in ("window", "a-pid", "b-pid", "burn-pid", "c-pid", "c-start", "c-exit", "down", "up", "stop"):
    ap.add_argument("--" + k, type=int)
a = ap.parse_args()
W = a.window * 10**9
failed = 0


def check(name, ok, detail=""):
    global failed
    if ok:
        print("PASS agent: " + name)
    else:
        failed += 1
        if detail:
            print("  " + str(detail)[:600])
        print("FAIL agent: " + name)


SFX = "-" + (a.run or "")


def mine(name):
    """This run's service name without its run suffix; None for another run's."""
    return name[: -len(SFX)] if name and name.endswith(SFX) else None


def load(path):
    try:
        recs = [json.loads(l) for l in open(path) if l.strip()]
    except OSError:
        return []
    out = []
    for r in recs:  # another run on this host may push to no one but itself, but be sure
        if "service" in r:
            r["service"] = mine(r["service"])
            if r["service"] is None:
                continue
            r["labels"]["service_name"] = r["service"]
        else:
            n = mine(r["resource"].get("service.name"))
            if n is None:
                continue
            r["resource"]["service.name"] = n
        out.append(r)
    return out


pyro_all = load(a.pyro)
log0 = open(a.log).read() if os.path.exists(a.log) else ""
# what the first agent produced: windows that ended before it was SIGKILLed
pyro = [r for r in pyro_all if r["start_ns"] + r["duration_ns"] <= a.stop]
otlp = load(a.otlp)
TYPES = {"wall", "offcpu", "runnable", "goroutines", "cpu"}  # cpu: the host-wide CPU sampler
# the CPU sampling rate the run's config file sets (the default, 19 Hz, gives too few samples to rank)
CPU_HZ = 99
EXACT = {"offcpu_exact", "schedlat"}  # from capture slices (--budget 5% in the config file)
check("pyroscope receiver decoded profiles (google/pprof)", len(pyro) > 0, "nothing arrived")
by = {}
for r in pyro:
    by.setdefault(r["service"], []).append(r)
check("services named from OTEL_SERVICE_NAME / PYROSCOPE_APPLICATION_NAME",
      {"e2e-svc-a", "e2e-svc-ns", "e2e-svc-late"} <= set(by), sorted(by))


def windows(recs):
    w = {}
    for r in recs:
        w.setdefault((r["start_ns"], r["start_ns"] + r["duration_ns"]), set()).add(r["type"])
    return sorted(w.items())


def contiguous(ws):
    gaps = [(ws[i][0][1], ws[i + 1][0][0]) for i in range(len(ws) - 1) if ws[i][0][1] != ws[i + 1][0][0]]
    return gaps


# A and B: every window, no gap (across the receiver outage too), all types
for svc, pid in (("e2e-svc-a", a.a_pid), ("e2e-svc-ns", a.b_pid)):
    recs = by.get(svc, [])
    ws = windows(recs)
    span = (a.stop - ws[0][0][0]) if ws else 0
    check(f"{svc}: a window every {a.window}s ({len(ws)} windows over {span/1e9:.1f}s)",
          ws and len(ws) >= span // W, [w[0] for w in ws])
    check(f"{svc}: windows contiguous, none lost (receiver down {(a.up-a.down)/1e9:.1f}s)",
          ws and not contiguous(ws), contiguous(ws))
    full = [w for w in ws[1:-1]]
    check(f"{svc}: wall, offcpu, runnable, goroutines, cpu in every full window",
          full and all(TYPES <= t for _, t in full), [(w, sorted(t)) for w, t in full if not TYPES <= t])
    # a window in which no slice began (the agent's loop held up for over a second on a
    # loaded host) has no exact profile, by design: most windows must have them
    wex = [w for w, t in full if EXACT <= t]
    check(f"{svc}: offcpu_exact and schedlat in most full windows ({len(wex)}/{len(full)})",
          len(wex) >= 3 and len(wex) >= 0.75 * len(full),
          [(w, sorted(t)) for w, t in full if not EXACT <= t])
    check(f"{svc}: windows end on multiples of --window",
          all(w[0][1] % W == 0 for w in ws[:-1]), [w[0] for w in ws[:3]])
    sampled = [x for x in recs if x["type"] in TYPES]
    r = sampled[0] if sampled else {"labels": {}}
    L = r["labels"]
    want = {"service_name": svc, "process.pid": str(pid), "env": "e2e", "team": "gtrace",
            "cloud.availability_zone": "e2e-zone-1a", "process.runtime.name": "go"}
    check(f"{svc}: series labels (host pid, zone, --labels from the config file)",
          all(L.get(k) == v for k, v in want.items()) and L.get("process.runtime.version", "").startswith("go1.")
          and L.get("process.executable.build_id.go") and L.get("host.name") and L.get("gtrace.duty_cycle") == "1",
          {k: L.get(k) for k in list(want) + ["process.runtime.version", "host.name"]})
    off = [x for x in recs if x["type"] == "offcpu" and x["samples"]]
    check(f"{svc}: offcpu has the chan receive under its pprof labels",
          any("wait_reason=chan receive" in x["sample_labels"] and "worker=queue" in x["sample_labels"]
              and "main.waitOnChan" in x["functions"] for x in off),
          off[-1]["sample_labels"] if off else "no offcpu samples")
    gr = [x for x in recs if x["type"] == "goroutines"]
    check(f"{svc}: goroutines profile counts the fixture's goroutines (>= 6)",
          gr and all(x["totals"][-1] >= 6 for x in gr), [x["totals"] for x in gr[:3]])
    check(f"{svc}: duty cycle 1 stated in the sampled profiles' comments",
          sampled and all(any("duty cycle 1" in c for c in x["comments"]) for x in sampled))
    # the exact ones: a duty cycle in (0, 1] as a label, the same in a comment, and samples
    ex = [x for x in recs if x["type"] in EXACT]
    bad = []
    for x in ex:
        d = float(x["labels"].get("gtrace.duty_cycle", "nan"))
        cd = [float(c.split()[-1]) for c in x["comments"] if c.startswith("duty cycle ")]
        if not (0 < d <= 1) or not cd or abs(cd[0] - d) > 0.01 * d + 0.001:
            bad.append((x["type"], x["labels"].get("gtrace.duty_cycle"), cd))
    check(f"{svc}: exact profiles carry their duty cycle in (0,1] as label and comment "
          f"({sorted({x['labels'].get('gtrace.duty_cycle') for x in ex})[:6]})", ex and not bad, bad[:4])
    check(f"{svc}: the exact profiles' sample types are the report's (events/count, delay/nanoseconds)",
          ex and all(x["sample_types"] == ["events/count", "delay/nanoseconds"] for x in ex),
          [x["sample_types"] for x in ex[:2]])
    fullw = set(wex)
    for t in EXACT:
        n = [x for x in ex if x["type"] == t and (x["start_ns"], x["start_ns"] + x["duration_ns"]) in fullw]
        # off-CPU: every full window (the snapshot at each window's start shows the parked
        # goroutines); schedlat needs a wake-up inside a slice, so at least one window
        ok = n and (all(x["samples"] > 0 for x in n) if t == "offcpu_exact" else any(x["samples"] > 0 for x in n))
        check(f"{svc}: {t} has samples ({sum(1 for x in n if x['samples'])}/{len(n)} full windows)", ok,
              [(x["samples"], x["totals"]) for x in n[:4]])
    # ranking: the fixture blocks 3 goroutines on a chan receive (waitOnChan), one each
    # on time.Sleep (sleeper) and a mutex: the sampled and the exact off-CPU profiles,
    # summed over the full windows, must agree on the heaviest and roughly on the amounts
    def by_main(typ):
        tot = {}
        for x in recs:
            if x["type"] != typ or (x["start_ns"], x["start_ns"] + x["duration_ns"]) not in fullw:
                continue
            for sv in x.get("top") or []:
                k = next((f for f in sv["stack"] if f.startswith("main.")), None)
                if k:
                    tot[k] = tot.get(k, 0) + sv["value"]
        return tot
    samp, exa = by_main("offcpu"), by_main("offcpu_exact")
    ts = max(samp, key=samp.get) if samp else None
    te = max(exa, key=exa.get) if exa else None
    ratio = {k: round(exa.get(k, 0) / samp[k], 2) for k in ("main.waitOnChan", "main.sleeper") if samp.get(k)}
    check(f"{svc}: exact off-CPU ranks the sampled one's top stack first ({ts} / {te}), "
          f"amounts within 2x (exact/sampled {ratio})",
          ts == te == "main.waitOnChan" and len(ratio) == 2 and all(0.5 <= v <= 2 for v in ratio.values()),
          {"sampled": samp, "exact": exa})

# the burner (cpuburn, niced): the cpu profile from the host-wide CPU sampler
br = by.get("e2e-svc-burn", [])
bws = windows(br)
# whole windows only: the exec (below) cuts one into the old image's and the new one's parts
bfull = {w for w, _ in bws[1:-1] if w[0] % W == 0 and w[1] - w[0] == W}
bcpu = [x for x in br if x["type"] == "cpu" and (x["start_ns"], x["start_ns"] + x["duration_ns"]) in bfull]
check(f"e2e-svc-burn: a cpu profile with samples in every full window "
      f"({sum(1 for x in bcpu if x['totals'] and x['totals'][0] > 0)}/{len(bfull)}; "
      f"samples {[x['totals'][0] for x in bcpu][:12]})",
      len(bfull) >= 3 and len(bcpu) == len(bfull) and all(x["totals"][0] > 0 for x in bcpu),
      sorted((w, sorted(t)) for w, t in bws))
check("e2e-svc-burn: cpu sample types are Go's (samples/count, cpu/nanoseconds), cpu ns = samples x period",
      bcpu and all(x["sample_types"] == ["samples/count", "cpu/nanoseconds"] for x in bcpu)
      and all(x["totals"][1] == x["totals"][0] * (10**9 // CPU_HZ) for x in bcpu),
      [(x["sample_types"], x["totals"]) for x in bcpu[:3]])
bl = bcpu[0]["labels"] if bcpu else {}
check("e2e-svc-burn: cpu series labels are the process's identity (pid, zone, --labels, duty 1)",
      bl.get("service_name") == "e2e-svc-burn" and bl.get("process.pid") == str(a.burn_pid)
      and bl.get("cloud.availability_zone") == "e2e-zone-1a" and bl.get("env") == "e2e"
      and bl.get("gtrace.duty_cycle") == "1" and bl.get("process.executable.build_id.go"), bl)
check("e2e-svc-burn: cpu samples carry the goroutines' pprof labels (tenant, fn) and code=go",
      any({"tenant=a", "fn=hotA1", "code=go"} <= set(x["sample_labels"]) for x in bcpu),
      bcpu[-1]["sample_labels"] if bcpu else "no cpu profiles")
leaf = {}
for x in bcpu:
    for sv in x.get("top") or []:
        if sv["stack"] and sv["stack"][0].startswith("main.hot"):
            leaf[sv["stack"][0]] = leaf.get(sv["stack"][0], 0) + sv["value"]
top = max(leaf, key=leaf.get) if leaf else None
ta = sum(v for k, v in leaf.items() if k.startswith("main.hotA"))
tb = sum(v for k, v in leaf.items() if k.startswith("main.hotB"))
# the fixture's shares: hotA1 30 %, hotA2 25, hotA3 20, hotB1 15, hotB2 10 (tenant a 3x b)
check(f"e2e-svc-burn: cpu ranks the burner's hot functions: {top} on top, tenant a/b "
      f"{ta / tb if tb else 0:.2f} (3 expected), hotA1/hotB2 "
      f"{leaf.get('main.hotA1', 0) / leaf['main.hotB2'] if leaf.get('main.hotB2') else 0:.2f} (3 expected)",
      top in ("main.hotA1", "main.hotA2") and tb and ta > 2 * tb
      and leaf.get("main.hotA1", 0) > 1.5 * leaf.get("main.hotB2", 0),
      {k: v // 10**6 for k, v in sorted(leaf.items())})

# the exec at 6 s: the old image's last window ends off a boundary; after it, the
# same pid and binary again, whose stacks the sampler had marked sent for the old image
# (the kernel may report the exec as the old leader thread's exit: either way the agent
# retires the pid and profiles it anew, two "profiling pid" lines)
ex_end = min((x["start_ns"] + x["duration_ns"] for x in br
              if x["type"] == "cpu" and (x["start_ns"] + x["duration_ns"]) % W), default=None)
after = [x for x in br if x["type"] == "cpu" and ex_end and x["start_ns"] >= ex_end and x["totals"][0] > 0]
bad = [x["top"][0]["stack"][:1] for x in after if not x["top"] or not x["top"][0]["stack"][0].startswith("main.hot")]
check(f"e2e-svc-burn: exec'd itself (same pid): its new image's cpu profiles have its stacks "
      f"({len(after)} with samples after the exec, {len(bad)} topped by something else)",
      ex_end and len(after) >= 2 and not bad and log0.count("profiling pid %d:" % a.burn_pid) == 2,
      bad[:4] or [(x["start_ns"], x["top"][:1]) for x in after[:2]])

# the namespaced one: in its own PID namespace it is pid 1, the label is the host pid
nsr = by.get("e2e-svc-ns", [])
check("e2e-svc-ns: profiled through /proc/PID/exe from another mount namespace, host pid",
      nsr and nsr[0]["labels"].get("process.pid") == str(a.b_pid) and a.b_pid != 1)
ar = by.get("e2e-svc-a", [])
if ar and nsr:
    check("two binaries: different build ids",
          ar[0]["labels"]["process.executable.build_id.go"] != nsr[0]["labels"]["process.executable.build_id.go"])

# C: late, picked up within 2 s of exec, its last partial window flushed at exit
cr = by.get("e2e-svc-late", [])
cws = windows(cr)
if cws:
    first_start = cws[0][0][0]
    check(f"e2e-svc-late: profiled {(first_start - a.c_start)/1e9:.2f}s after exec (<= 2s), first window arrived",
          first_start - a.c_start <= 2 * 10**9 and TYPES - {"goroutines"} <= cws[0][1], cws[0])
    last_end = cws[-1][0][1]
    check(f"e2e-svc-late: last window ends at its exit ({(last_end - a.c_exit)/1e9:+.2f}s), not on a boundary",
          abs(last_end - a.c_exit) < 10**9 and last_end % W != 0, cws[-1][0])
    check("e2e-svc-late: windows contiguous from start to exit", not contiguous(cws), contiguous(cws))
    check("e2e-svc-late: shares A's binary (same build id)",
          ar and cr[0]["labels"]["process.executable.build_id.go"] == ar[0]["labels"]["process.executable.build_id.go"])
else:
    check("e2e-svc-late: profiled at all", False)

# OTLP: the collector's pdata decodes it all, resource attributes by OTel names
osvc = {}
for r in otlp:
    osvc.setdefault(r["resource"].get("service.name"), []).append(r)
check("otlp receiver decoded profiles (collector pdata)", len(otlp) > 0)
oa = osvc.get("e2e-svc-a", [])
check("otlp: resource attributes service.name, process.pid, cloud.availability_zone",
      oa and oa[0]["resource"].get("process.pid") == str(a.a_pid)
      and oa[0]["resource"].get("cloud.availability_zone") == "e2e-zone-1a" and oa[0]["scope"] == "gtrace")
check("otlp: every profile type, with samples and stacks",
      {x["attributes"].get("gtrace.profile.type") for x in oa} >= TYPES and any(x["frames"] > 0 for x in oa))
ows = sorted({(x["start_ns"], x["start_ns"] + x["duration_ns"]) for x in oa})
check(f"otlp: e2e-svc-a windows contiguous ({len(ows)})",
      ows and all(ows[i][1] == ows[i + 1][0] for i in range(len(ows) - 1)), ows[:4])

# --dir
files = glob.glob(os.path.join(a.dir, "e2e-svc-a" + SFX, "*", "*.pb.gz"))
types = {os.path.basename(os.path.dirname(f)) for f in files}
check(f"--dir: <service>/<type>/<start>.pb.gz ({len(files)} files)", TYPES <= types, sorted(types))

# metrics and log
m1 = open(a.metrics).read() if os.path.exists(a.metrics) else ""
m2 = open(a.metrics2).read() if os.path.exists(a.metrics2) else ""


def metric(text, name):
    mm = re.search(r"^" + re.escape(name) + r" ([0-9.e+-]+)$", text, re.M)
    return float(mm.group(1)) if mm else None


check(f"metrics: processes profiled, windows pushed, agent CPU and RSS, cpu samples at the config file's {CPU_HZ} Hz",
      (metric(m1, "gtrace_processes_profiled") or 0) >= 2
      and (metric(m1, 'gtrace_windows_pushed_total{sink="pyroscope"}') or 0) >= 1
      and metric(m1, "gtrace_agent_rss_bytes") and metric(m1, "gtrace_agent_cpu_seconds_total") is not None
      and "gtrace_budget_spent_ratio{pid=" in m1 and (metric(m1, "gtrace_cpu_samples_total") or 0) > 0
      and metric(m1, "gtrace_cpu_hz") == CPU_HZ,
      [l for l in m1.splitlines() if l.startswith(("gtrace_processes_profiled", "gtrace_windows_pushed", "gtrace_agent"))])
pm = re.search(r'^gtrace_duty_cycle\{pid="%d",[^}]*\} ([0-9.e+-]+)$' % a.a_pid, m1, re.M)
pe = re.search(r'^gtrace_probe_events_total\{pid="%d",[^}]*\} ([0-9.e+-]+)$' % a.a_pid, m1, re.M)
check("metrics: per process duty cycle in (0,1], probe events, lost, probe budget spent; trap cost, host cap",
      pm and 0 < float(pm.group(1)) <= 1 and pe and float(pe.group(1)) > 0
      and 'gtrace_probe_lost_total{pid="%d"' % a.a_pid in m1
      and 'gtrace_probe_spent_ratio{pid="%d"' % a.a_pid in m1
      and (metric(m1, "gtrace_trap_ns") or 0) > 0 and metric(m1, "gtrace_host_budget_cores") == 0.05,
      [l for l in m1.splitlines() if l.startswith(("gtrace_duty", "gtrace_probe", "gtrace_trap", "gtrace_host"))])
# the budget spent holds the agent's whole cost: never less than the probes' part of it
bs = re.search(r'^gtrace_budget_spent_ratio\{pid="%d",[^}]*\} ([0-9.e+-]+)$' % a.a_pid, m1, re.M)
ps = re.search(r'^gtrace_probe_spent_ratio\{pid="%d",[^}]*\} ([0-9.e+-]+)$' % a.a_pid, m1, re.M)
check("metrics: budget spent (reads + slice work + probes) > 0 and >= the probes' share",
      bs and ps and float(bs.group(1)) > 0 and float(bs.group(1)) >= float(ps.group(1)),
      [bs and bs.group(0), ps and ps.group(0)])
# the CPU sampler runs in the target (its program, each sample's interrupt): charged there.
# From the later scrape: the burner exec'd at 6 s and its new image has had whole windows since.
cs = re.search(r'^gtrace_cpu_sampler_spent_ratio\{pid="%d",[^}]*\} ([0-9.e+-]+)$' % a.burn_pid, m2, re.M)
bb = re.search(r'^gtrace_budget_spent_ratio\{pid="%d",[^}]*\} ([0-9.e+-]+)$' % a.burn_pid, m2, re.M)
irq = metric(m2, "gtrace_sample_interrupt_ns")
check(f"metrics: the CPU sampler's cost in the burner > 0 and < 1% of its CPU at {CPU_HZ} Hz, inside its "
      "budget spent; a sample's interrupt measured (100 ns - 100 us)",
      cs and bb and 0 < float(cs.group(1)) < 0.01 and float(bb.group(1)) >= float(cs.group(1))
      and irq and 100 < irq < 100000,
      [cs and cs.group(0), bb and bb.group(0), irq])
check("metrics: push errors counted while the receiver was down",
      (metric(m2, 'gtrace_push_errors_total{sink="pyroscope"}') or 0) >= 1, m2[-400:])
log = open(a.log).read() if os.path.exists(a.log) else ""
check("log: one line per lifecycle change (start, down, up, exit), none per window",
      "profiling pid %d" % a.c_pid in log and "exited" in log and "reachable again" in log
      and len(log.splitlines()) < 30, log[-600:])
# SIGKILL with a window in the spool: the next agent delivers it
got = {(r["service"], r["type"], r["start_ns"]) for r in pyro_all}
wrote = set()
for f in glob.glob(os.path.join(a.dir, "*", "*", "*.pb.gz")):
    svc, typ, start = f.split("/")[-3], f.split("/")[-2], os.path.basename(f).split(".")[0].split("-")[0]
    if mine(svc):
        wrote.add((mine(svc), typ, int(start)))
missing = sorted(wrote - got)
check(f"every window the SIGKILLed agent completed reached Pyroscope ({len(wrote)} profiles, "
      f"spool picked up by the next agent)", wrote and not missing, missing[:5])
log2 = open(a.log2).read() if a.log2 and os.path.exists(a.log2) else ""
check("the next agent said it found the earlier run's spool", "left in the spool" in log2, log2[-400:])
sys.exit(1 if failed else 0)

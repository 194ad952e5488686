#!/usr/bin/env python3
"""gtrace's fixed benchmark suite (`make bench`, issue 7).  Standard library only.

Runs the workloads of bench/fixtures under every tracing configuration,
interleaving the repetitions (rep 1 of every configuration, then rep 2, ...)
so a noisy machine disturbs all configurations alike, and reports medians as
ratios to "no tracing" measured in the same run.  Writes bench/out/bench.json
and bench/out/bench.md; docs/performance.md keeps a copy of the table.

Environment: BENCH_REPS (default 3), BENCH_SECS (timed part of the
ping-pong/spawn runs, default 1), BENCH_HTTP_SECS (wrk duration, default 2),
BENCH_BIG_EVENTS (size of the conversion capture, default 10500000),
BENCH_ONLY (comma-separated workload names to run; default all),
BENCH_CONFIGS (comma-separated configurations; "none", the baseline, always
runs; default all), BENCH_BASELINE (another gtrace binary, e.g. main's before
a change: adds the configuration "baseline", its default capture, to the same
interleaved run, so a change is judged by a ratio from one run).
"""
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GTRACE = os.path.join(ROOT, "build", "gtrace")
BIN = os.path.join(ROOT, "build", "bench")
OUT = os.path.join(ROOT, "bench", "out")
TMP = os.path.join(OUT, "tmp")
HZ = os.sysconf("SC_CLK_TCK")

REPS = int(os.environ.get("BENCH_REPS", "3"))
SECS = float(os.environ.get("BENCH_SECS", "1"))
HTTP_SECS = int(os.environ.get("BENCH_HTTP_SECS", "2"))
BIG_EVENTS = int(os.environ.get("BENCH_BIG_EVENTS", "10500000"))
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
CONFIGS_ONLY = [c for c in os.environ.get("BENCH_CONFIGS", "").split(",") if c]
BASELINE = os.environ.get("BENCH_BASELINE", "")

# name -> (kind, extra gtrace arguments); kind: none, gtrace, gotrace, bpftrace
CONFIGS = [
    ("none", "none", []),
    ("gtrace", "gtrace", []),
    ("lifecycle", "gtrace", ["--events", "create,exit"]),
    ("at-entry", "gtrace", ["--probe-at-entry"]),
    ("no-stacks", "gtrace", ["--no-stacks"]),
    ("bare-trap", "gtrace", ["--bare-trap"]),
    ("budget-2%", "gtrace", ["--budget", "2"]),
    ("go-trace", "gotrace", []),
    ("bpftrace", "bpftrace", []),
    ("profile-10hz", "profile", ["--hz", "10"]),
    # issue 11: on-CPU sampling alone (no uprobe) vs Go's own CPU profiler in-process
    ("cpu-99hz", "gtrace", ["--cpu=99", "--events", "none"]),
    ("go-pprof", "gopprof", []),
]
if BASELINE:
    if not os.access(BASELINE, os.X_OK):
        sys.exit(f"bench: BENCH_BASELINE={BASELINE} is not an executable gtrace (a build of it, e.g. from a worktree)")
    CONFIGS.append(("baseline", "gtrace", []))
CONFIG_TEXT = {
    "none": "no tracing",
    "gtrace": "gtrace, default events",
    "lifecycle": "gtrace --events create,exit",
    "at-entry": "gtrace --probe-at-entry",
    "no-stacks": "gtrace --no-stacks",
    "bare-trap": "gtrace --bare-trap",
    "budget-2%": "gtrace --budget 2 (probes on for slices of each second)",
    "go-trace": "Go runtime/trace in-process",
    "bpftrace": "bpftrace count on casgstatus entry",
    "profile-10hz": "gtrace profile --hz 10 (sampled, no probes)",
    "cpu-99hz": "gtrace record --cpu=99 --events none (CPU samples, no transition events)",
    "go-pprof": "Go pprof.StartCPUProfile in-process (100 Hz)",
    "baseline": f"BENCH_BASELINE's default capture ({BASELINE})",
}

# name, fixture binary, fixture args, kind of measurement
WORKLOADS = [
    ("pingpong-p1-go1.26", "pingpong-go1.26", ["-procs", "1"], "pingpong"),
    ("pingpong-p2-go1.26", "pingpong-go1.26", ["-procs", "2"], "pingpong"),
    ("pingpong-p1-go1.19", "pingpong-go1.19", ["-procs", "1"], "pingpong"),
    ("spawn-go1.26", "spawn-go1.26", [], "spawn"),
    ("spawn-go1.19", "spawn-go1.19", [], "spawn"),
    ("http-hello-go1.26", "httpserver-go1.26", [], "http"),
    ("http-1ms-go1.26", "httpserver-go1.26", ["-rounds", "@1ms"], "http"),
    # issue 16: the sampled profile at 10 Hz on a target holding 10,000 more goroutines
    ("pingpong-p2-idle10k-go1.26", "pingpong-go1.26", ["-procs", "2", "-idle", "10000"], "pingpong"),
    ("http-hello-idle10k-go1.26", "httpserver-go1.26", ["-idle", "10000"], "http"),
]
# Which configurations run on which workloads: the sampled profile only on the
# idle10k ones (and they get the baseline, the default recording and its floor).
IDLE_CONFIGS = {"none", "profile-10hz", "gtrace", "bare-trap"}


def runs_on(wl, cfg):
    if CONFIGS_ONLY and cfg != "none" and cfg not in CONFIGS_ONLY:
        return False
    if cfg == "go-pprof" and wl.startswith("spawn"):
        return False  # the spawn fixture has no -cpuprofile
    return cfg in IDLE_CONFIGS if "idle10k" in wl else cfg != "profile-10hz"
# wrk: fixed threads, connections; the 1 ms server gets fewer connections
WRK = {"http-hello-go1.26": ["-t2", "-c32"], "http-1ms-go1.26": ["-t1", "-c8"],
       "http-hello-idle10k-go1.26": ["-t2", "-c32"]}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cpu_ticks(pid):
    """utime + stime of a process (all its threads) in clock ticks, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


class Lines:
    """Reads a pipe line by line in a thread; wait_for() blocks on a pattern."""

    def __init__(self, pipe):
        self.lines, self.cv = [], threading.Condition()
        self.closed = False
        self.t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.t.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            with self.cv:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """First line matching pattern at index >= start: (index, match) or (None, None)."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                left = end - time.monotonic()
                if self.closed or left <= 0:
                    return None, None
                self.cv.wait(left)

    def text(self):
        with self.cv:
            return "\n".join(self.lines)


def kv(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[0-9.]+)", line)}


def capture_meta(path):
    """The capture's metadata and trailer (first line of the jsonl export)."""
    p = subprocess.Popen([GTRACE, "report", path, "-f", "jsonl", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    p.stdout.close()
    p.kill()
    p.wait()
    try:
        return json.loads(line)
    except ValueError:
        return {}


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Tracer:
    """One tracing configuration attached to a running target."""

    def __init__(self, cfg, kind, args, pid, exe, tag):
        self.cfg, self.kind, self.pid, self.tag = cfg, kind, pid, tag
        self.p = self.out = None
        self.capture = os.path.join(TMP, f"{tag}.gtr")
        if kind == "gtrace":
            # Not -q: the "recording pid" line says the probes are live.
            binary = BASELINE if cfg == "baseline" else GTRACE
            cmd = [binary, "record", "-p", str(pid), "-d", "600", "-o", self.capture,
                   "--no-az-detect"] + args
            self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.out = Lines(self.p.stderr)
            i, _ = self.out.wait_for(r"recording pid", 30)
            if i is None:
                stop(self.p, signal.SIGINT)
                raise RuntimeError(f"gtrace did not attach: {self.out.text()[-400:]}")
        elif kind == "profile":
            self.capture = os.path.join(TMP, f"{tag}.pb.gz")
            cmd = [GTRACE, "profile", "-p", str(pid), "-d", "600", "-o", self.capture,
                   "--no-az-detect"] + args
            self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.out = Lines(self.p.stderr)
            time.sleep(1.5)  # opened the binary and took the first, full pass
        elif kind == "bpftrace":
            prog = f"uprobe:{exe}:runtime.casgstatus {{ @ = count(); }}"
            self.p = subprocess.Popen(["bpftrace", "-p", str(pid), "-e", prog],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.out = Lines(self.p.stdout)
            i, _ = self.out.wait_for(r"Attaching", 60)
            if i is None:
                stop(self.p, signal.SIGINT)
                raise RuntimeError(f"bpftrace did not attach: {self.out.text()[-400:]}")
            time.sleep(0.3)  # it prints "Attaching" just before attaching
        if self.p is not None:
            time.sleep(0.1)

    @property
    def tpid(self):
        return self.p.pid if self.p else None

    def finish(self, target):
        """Stops the target and the tracer; returns events/loss/bytes figures."""
        r = {}
        if self.kind == "bpftrace":
            stop(self.p, signal.SIGINT)
            self.out.t.join(5)
            m = re.search(r"@: (\d+)", self.out.text())
            r["events"] = int(m.group(1)) if m else None
            r["lost"] = None
            stop(target)
        elif self.kind == "profile":
            stop(self.p, signal.SIGINT)  # writes the profile and its summary line
            stop(target)
            self.out.t.join(5)
            m = re.search(r"reader ([0-9.]+) ms per pass, ([0-9.]+) us CPU per 1000 goroutines per pass",
                          self.out.text())
            m2 = re.search(r"(\d+) passes at ([0-9.]+) Hz", self.out.text())
            if m:
                r["pass_ms"] = float(m.group(1))
                r["reader_cpu_us_per_1000g"] = float(m.group(2))
            if m2:
                r["passes"] = int(m2.group(1))
                r["hz"] = float(m2.group(2))
            try:
                os.unlink(self.capture)
            except OSError:
                pass
        elif self.kind == "gtrace":
            stop(target)  # gtrace stops by itself when the target exits
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                stop(self.p, signal.SIGINT)
            meta = capture_meta(self.capture)
            size = os.path.getsize(self.capture) if os.path.exists(self.capture) else 0
            ev = int(meta.get("record.events", 0) or 0)
            r["events"] = ev
            r["lost"] = int(meta.get("loss.total", 0) or 0)
            r["probe_hits"] = int(meta.get("record.probe_hits", 0) or 0)
            r["stack_events"] = int(meta.get("written.stack", 0) or 0)
            r["cpu_samples"] = int(meta.get("written.cpu_sample", 0) or 0)
            r["capture_bytes"] = size
            r["bytes_per_event"] = size / ev if ev else None
            if self.cfg in TOP10_CFGS and self.tag.startswith(TOP10_WL + "-") and size:
                r["offcpu_top10"] = offcpu_top10(self.capture, self.tag)
            if self.cfg != "gtrace" or os.environ.get("BENCH_KEEP") != "1":
                try:
                    os.unlink(self.capture)
                except OSError:
                    pass
        else:
            stop(target)
        return r


# issue 13: does --budget 2's off-CPU profile rank the same ten stacks as a full capture?
TOP10_WL = "http-hello-go1.26"
TOP10_CFGS = ("gtrace", "budget-2%")
GO = "/usr/local/go/bin/go"


def offcpu_top10(cap, tag):
    """The ten heaviest off-CPU stacks of a capture, [[frames, share], ...] (go tool pprof -raw)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import profile_check
    pb = os.path.join(TMP, f"{tag}.pb.gz")
    try:
        subprocess.run([GTRACE, "report", cap, "-f", "pprof", "-o", pb, "-q"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        d = {}
        for smp in profile_check.raw(GO, pb):
            v = smp["v"].get("delay", 0)
            if v:
                k = tuple(smp["frames"])
                d[k] = d.get(k, 0) + v
    except (subprocess.SubprocessError, OSError) as e:
        log(f"  {tag}: no off-CPU profile: {e}")
        return None
    finally:
        if os.path.exists(pb):
            os.unlink(pb)
    tot = sum(d.values()) or 1
    # 30 kept: the other capture's top 10 is looked up in them (top10_agreement)
    return [[list(k), d[k] / tot] for k in sorted(d, key=lambda k: -d[k])[:30]]


def top10_agreement(runs):
    """Per repetition: the budget run's top-10 against the full capture's of the same repetition,
    and, as the yardstick, one full capture's against the next repetition's."""
    full = [r.get("offcpu_top10") for r in runs.get((TOP10_WL, "gtrace"), [])]
    bud = [r.get("offcpu_top10") for r in runs.get((TOP10_WL, "budget-2%"), [])]
    keys = lambda t: {tuple(k) for k, _ in t[:10]}
    pairs = [(keys(f), keys(b)) for f, b in zip(full, bud) if f and b]
    ctrl = [(keys(a), keys(b)) for a, b in zip(full, full[1:]) if a and b]
    if not pairs:
        return None
    # The sets are decided by ties at the 10th place (runtime goroutines
    # parked all the time, ~4.5% each): the ranking is judged on the pairs
    # of one capture's top 10 whose shares differ by 1.25x or more, which
    # the other must order the same way.
    def concordant(a, b):
        a = {tuple(k): v for k, v in a}
        b = {tuple(k): v for k, v in b}
        ks = sorted(a, key=lambda k: -a[k])[:10]
        pp = [(x, y) for i, x in enumerate(ks) for y in ks[i + 1:] if a[x] >= 1.25 * a[y]]
        return [sum(b.get(x, 0) > b.get(y, 0) for x, y in pp), len(pp)]
    return {"reps": len(pairs), "common": [len(a & b) for a, b in pairs],
            "of": [len(a) for a, _ in pairs], "same": sum(a == b for a, b in pairs),
            "full_vs_full_common": [len(a & b) for a, b in ctrl],
            "full_vs_full_same": sum(a == b for a, b in ctrl),
            "concordant": [concordant(f, b) for f, b in zip(full, bud) if f and b],
            "full_vs_full_concordant": [concordant(a, b) for a, b in zip(full, full[1:]) if a and b]}


def start_fixture(binary, args):
    p = subprocess.Popen([os.path.join(BIN, binary)] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out = Lines(p.stdout)
    i, m = out.wait_for(r"^ready (\d+)", 120)
    if i is None:
        p.kill()
        raise RuntimeError(f"{binary} did not start: {p.stderr.read().decode()[-400:]}")
    return p, out, int(m.group(1))


def run_timed(wl, binary, fargs, kind, cfg, ckind, cargs, rep):
    """One run of a ping-pong or spawn fixture: returns a dict of figures."""
    tag = f"{wl}-{cfg}-{rep}"
    gotrace = os.path.join(TMP, f"{tag}.trace")
    args = fargs + ["-dur", f"{SECS}s"] + (["-trace", gotrace] if ckind == "gotrace" else []) + \
        (["-cpuprofile", gotrace] if ckind == "gopprof" else [])
    p, out, _ = start_fixture(binary, args)
    tr = None
    try:
        tr = Tracer(cfg, ckind, cargs, p.pid, os.path.join(BIN, binary), tag)
        c0, g0, t0 = cpu_ticks(p.pid), cpu_ticks(tr.tpid), time.monotonic()
        p.send_signal(signal.SIGUSR1)
        i, m = out.wait_for(r"^result ", SECS * 200 + 60)
        t1 = time.monotonic()
        c1, g1 = cpu_ticks(p.pid), cpu_ticks(tr.tpid)
        if i is None:
            raise RuntimeError(f"{binary} gave no result")
        res = kv(out.lines[i])
    finally:
        fin = tr.finish(p) if tr else (stop(p) or {})
    wall = t1 - t0
    r = {"wall": wall, "target_cpu": (c1 - c0) / HZ / wall}
    if g0 is not None and g1 is not None:
        r["tracer_cpu"] = (g1 - g0) / HZ / wall
    if kind == "pingpong":
        r["ns_per_op"] = res["ns_per_op"]
    else:
        r["per_sec"] = res["per_sec"]
    r["ops"] = res["ops"]
    r["secs"] = res["secs"]
    r.update(fin)
    if ckind in ("gotrace", "gopprof") and os.path.exists(gotrace):
        r["trace_bytes"] = os.path.getsize(gotrace)
        os.unlink(gotrace)
    return r


def parse_wrk(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)\b", text, re.M)
    if m:
        r["p99_ms"] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    m = re.search(r"(\d+) requests in", text)
    r["requests"] = int(m.group(1)) if m else None
    return r


ROUNDS = {}


def calibrated(binary, work):
    """Rounds of the fixture's work loop for `work`, measured once per suite."""
    if (binary, work) not in ROUNDS:
        vals = []
        for _ in range(3):
            o = subprocess.run([os.path.join(BIN, binary), "-work", work, "-calibrate"],
                               stdout=subprocess.PIPE, check=True).stdout.decode()
            vals.append(int(o.split()[1]))
        ROUNDS[(binary, work)] = max(vals)  # the least disturbed calibration
        log(f"  {binary}: {work} of work = {max(vals)} rounds (calibrations {vals})")
    return ROUNDS[(binary, work)]


def run_http(wl, binary, fargs, kind, cfg, ckind, cargs, rep):
    tag = f"{wl}-{cfg}-{rep}"
    fargs = [str(calibrated(binary, a[1:])) if a.startswith("@") else a for a in fargs]
    gotrace = os.path.join(TMP, f"{tag}.trace")
    args = fargs + (["-trace", gotrace] if ckind == "gotrace" else []) + \
        (["-cpuprofile", gotrace] if ckind == "gopprof" else [])
    p, out, port = start_fixture(binary, args)
    url = f"http://127.0.0.1:{port}/"
    # Warm up (connections, heap, page cache) before any tracer attaches.
    subprocess.run(["wrk"] + WRK[wl] + ["-d1s", url], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    tr = None
    try:
        tr = Tracer(cfg, ckind, cargs, p.pid, os.path.join(BIN, binary), tag)
        c0, g0, t0 = cpu_ticks(p.pid), cpu_ticks(tr.tpid), time.monotonic()
        w = subprocess.run(["wrk"] + WRK[wl] + [f"-d{HTTP_SECS}s", "--latency", "--timeout", "2s", url],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=HTTP_SECS + 30)
        t1 = time.monotonic()
        c1, g1 = cpu_ticks(p.pid), cpu_ticks(tr.tpid)
    finally:
        fin = tr.finish(p) if tr else (stop(p) or {})
    wall = t1 - t0
    r = {"wall": wall, "target_cpu": (c1 - c0) / HZ / wall}
    if g0 is not None and g1 is not None:
        r["tracer_cpu"] = (g1 - g0) / HZ / wall
    r.update(parse_wrk(w.stdout.decode()))
    if r.get("rps") and r.get("requests"):
        r["target_cpu_us_per_req"] = (c1 - c0) / HZ / r["requests"] * 1e6
    r.update(fin)
    if ckind in ("gotrace", "gopprof") and os.path.exists(gotrace):
        r["trace_bytes"] = os.path.getsize(gotrace)
        os.unlink(gotrace)
    return r


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run_matrix():
    runs = {}  # (workload, config) -> [result]
    wls = [w for w in WORKLOADS if not ONLY or w[0] in ONLY]
    for rep in range(REPS):
        for wl, binary, fargs, kind in wls:
            # rotate the order each repetition: no configuration always runs first
            order = CONFIGS[rep % len(CONFIGS):] + CONFIGS[:rep % len(CONFIGS)]
            for cfg, ckind, cargs in order:
                if not runs_on(wl, cfg):
                    continue
                fn = run_http if kind == "http" else run_timed
                t = time.monotonic()
                try:
                    r = fn(wl, binary, fargs, kind, cfg, ckind, cargs, rep)
                except Exception as e:  # a failed run is reported, not fatal
                    r = {"error": str(e)[:300]}
                    log(f"  {wl} {cfg} rep {rep}: FAILED: {e}")
                runs.setdefault((wl, cfg), []).append(r)
                main_fig = r.get("ns_per_op") or r.get("per_sec") or r.get("rps")
                log(f"  rep {rep} {wl:20s} {cfg:10s} {main_fig!s:>12} "
                    f"ev={r.get('events')} lost={r.get('lost')} ({time.monotonic() - t:.1f}s)")
    return runs, wls


def summarize(runs, wls):
    summary = {}
    for wl, _, _, kind in wls:
        base = None
        for cfg, _, _ in CONFIGS:
            rs = [r for r in runs.get((wl, cfg), []) if "error" not in r]
            s = {"n": len(rs)}
            for key in ("ns_per_op", "per_sec", "rps", "p99_ms", "target_cpu", "tracer_cpu",
                        "events", "lost", "bytes_per_event", "probe_hits", "trace_bytes",
                        "target_cpu_us_per_req", "ops", "secs", "requests", "stack_events", "cpu_samples",
                        "pass_ms", "reader_cpu_us_per_1000g", "passes", "hz"):
                v = median([r.get(key) for r in rs])
                if v is not None:
                    s[key] = v
            errs = [r["error"] for r in runs.get((wl, cfg), []) if "error" in r]
            if errs:
                s["errors"] = errs
            # events per second of timed part
            if s.get("events") and kind != "http" and s.get("secs"):
                s["events_per_sec"] = s["events"] / s["secs"]
            elif s.get("events") and kind == "http":
                s["events_per_sec"] = s["events"] / HTTP_SECS
            if cfg == "none":
                base = s
            if base:
                if kind == "pingpong" and s.get("ns_per_op") and base.get("ns_per_op"):
                    s["ratio"] = s["ns_per_op"] / base["ns_per_op"]
                    s["added_ns_per_op"] = s["ns_per_op"] - base["ns_per_op"]
                elif kind == "spawn" and s.get("per_sec") and base.get("per_sec"):
                    s["ratio"] = base["per_sec"] / s["per_sec"]
                    s["added_ns_per_op"] = 1e9 / s["per_sec"] - 1e9 / base["per_sec"]
                elif kind == "http" and s.get("rps") and base.get("rps"):
                    s["ratio"] = base["rps"] / s["rps"]
                    s["added_ns_per_op"] = 1e9 / s["rps"] - 1e9 / base["rps"]
            summary.setdefault(wl, {})[cfg] = s
    agree = top10_agreement(runs)
    if agree:
        summary[TOP10_WL]["budget-2%"]["offcpu_top10"] = agree
    return summary


def snapshot_bench():
    """The 100,000-goroutine parked set: gtrace snapshot vs the in-process dump."""
    r = {}
    helptext = subprocess.run([GTRACE, "--help"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout.decode()
    r["snapshot_available"] = bool(re.search(r"^\s+snapshot\s", helptext, re.M))
    for ver in ("go1.26", "go1.19"):
        if ONLY and f"parked-{ver}" not in ONLY:
            continue
        p, out, _ = start_fixture(f"parked-{ver}", ["-n", "100000"])
        res = {}
        try:
            idx = len(out.lines)
            p.send_signal(signal.SIGUSR1)
            i, _ = out.wait_for(r"^result ", 120, idx)
            if i is not None:
                res.update({"pprof_" + k: v for k, v in kv(out.lines[i]).items()})
            if r["snapshot_available"]:
                for mode, extra in (("snapshot", []), ("snapshot_stop", ["--stop"])):
                    times, gaps = [], []
                    for _ in range(3):
                        idx = len(out.lines)
                        p.send_signal(signal.SIGUSR2)  # start a heartbeat window
                        out.wait_for(r"^gap ", 10, idx)
                        t = time.monotonic()
                        # to stdout: -o takes regular files only
                        s = subprocess.run([GTRACE, "snapshot", "-p", str(p.pid), "-q", "-f", "jsonl"] + extra,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                        times.append((time.monotonic() - t) * 1e3)
                        time.sleep(0.01)
                        idx = len(out.lines)
                        p.send_signal(signal.SIGUSR2)
                        i, m = out.wait_for(r"^gap gap_ms=([0-9.]+)", 10, idx)
                        gaps.append(float(m.group(1)) if m else None)
                        if s.returncode:
                            res[mode + "_error"] = s.stderr.decode()[-300:]
                    res[mode + "_ms"] = median(times)
                    res[mode + "_gap_ms"] = median(gaps)
        finally:
            stop(p)
        r[ver] = res
        log(f"  parked {ver}: {res}")
    return r


CONV_REPS = int(os.environ.get("BENCH_CONV_REPS", "3"))


def time_formats(res, cap, ev, formats):
    """Times `gtrace report CAP -f FMT` for each format into res[FMT]: CONV_REPS runs, the
    formats interleaved, the run of median CPU kept (one run on a shared VM moves by ~10%)."""
    runs = {fmt: [] for fmt in formats}
    for _ in range(CONV_REPS):
        for fmt in formats:
            runs[fmt].append(time_format(cap, fmt))
    for fmt in formats:
        wall, cpu, ru, rc, err, out_bytes = sorted(runs[fmt], key=lambda x: x[1])[len(runs[fmt]) // 2]
        r = {"wall_s": wall, "cpu_s": cpu, "maxrss_mb": ru.ru_maxrss / 1024,
             "events_per_sec": ev / wall if wall else None,
             "events_per_cpu_sec": ev / cpu if cpu else None,
             "out_bytes": out_bytes, "runs": len(runs[fmt]),
             "cpu_s_all": [round(x[1], 3) for x in runs[fmt]]}
        r["out_bytes_per_event"] = r["out_bytes"] / ev if ev else None
        if rc:
            r["error"] = err
        res[fmt] = r
        log(f"  report -f {fmt}: {wall:.2f}s wall, {cpu:.2f}s cpu (median of {len(runs[fmt])}), "
            f"{r['events_per_cpu_sec'] or 0:,.0f} events/cpu-s")


def time_format(cap, fmt):
    """One `gtrace report CAP -f FMT`: wall, CPU, rusage, exit code, stderr tail, output bytes."""
    # Outputs go to memory: the disk is not what is measured.  Removed after
    # each run: overwriting would charge the next run for freeing its pages.
    dst = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else TMP, f"gtrace-bench.{fmt}")
    t = time.monotonic()
    q = subprocess.Popen([GTRACE, "report", cap, "-f", fmt, "-q", "-o", dst],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(q.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t
    cpu = ru.ru_utime + ru.ru_stime
    err = q.stderr.read().decode()[-300:] if rc else ""
    out_bytes = os.path.getsize(dst) if os.path.exists(dst) else 0
    try:
        os.unlink(dst)
    except OSError:
        pass
    return wall, cpu, ru, rc, err, out_bytes


def conversion_bench(summary):
    """Records a capture of >= BIG_EVENTS events and times each report format."""
    if ONLY and "convert" not in ONLY:
        return {}
    # The fastest event source measured above (the spawn storm), default
    # events, a big buffer so nothing is lost.
    rate = summary.get("spawn-go1.26", {}).get("gtrace", {}).get("events_per_sec") or 300000
    secs = min(60, max(3, BIG_EVENTS / rate * 1.4 + 1))
    cap = os.path.join(TMP, "big.gtr")
    res = {"source": "spawn storm, Go 1.26, default events, --buffer 256M"}
    for attempt in range(3):
        p, out, _ = start_fixture("spawn-go1.26", ["-dur", f"{secs + 60:.0f}s"])
        p.send_signal(signal.SIGUSR1)
        g = subprocess.run([GTRACE, "record", "-p", str(p.pid), "-d", f"{secs:.1f}", "-o", cap,
                            "-q", "--no-az-detect", "--buffer", "256M"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stop(p)
        meta = capture_meta(cap)
        ev = int(meta.get("record.events", 0) or 0)
        log(f"  conversion capture: {ev} events in {secs:.1f}s ({os.path.getsize(cap)} bytes)")
        if ev >= BIG_EVENTS or attempt == 2:
            break
        secs = min(90, secs * BIG_EVENTS / max(ev, 1) * 1.2 + 1)
    res["events"] = ev
    res["lost"] = int(meta.get("loss.total", 0) or 0)
    res["capture_bytes"] = os.path.getsize(cap)
    res["bytes_per_event"] = res["capture_bytes"] / ev if ev else None
    time_formats(res, cap, ev, ("pprof", "perfetto", "gotrace", "text"))
    os.unlink(cap)
    # The other shape: a few long-lived goroutines (ping-pong on 2 Ps), where
    # Perfetto's per-goroutine sequences apply; a third of the events suffice.
    want = max(BIG_EVENTS // 3, 100000)
    rate = summary.get("pingpong-p2-go1.26", {}).get("gtrace", {}).get("events_per_sec") or 1000000
    secs = min(30, max(2, want / rate * 1.3 + 1))
    p, out, _ = start_fixture("pingpong-go1.26", ["-procs", "2", "-dur", f"{secs + 60:.0f}s"])
    p.send_signal(signal.SIGUSR1)
    subprocess.run([GTRACE, "record", "-p", str(p.pid), "-d", f"{secs:.1f}", "-o", cap,
                    "-q", "--no-az-detect", "--buffer", "256M"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop(p)
    meta = capture_meta(cap)
    ev = int(meta.get("record.events", 0) or 0)
    pp = {"source": "ping-pong, 2 goroutines, Go 1.26, -procs 2, --buffer 256M", "events": ev,
          "lost": int(meta.get("loss.total", 0) or 0), "capture_bytes": os.path.getsize(cap)}
    log(f"  conversion capture (ping-pong): {ev} events in {secs:.1f}s")
    time_formats(pp, cap, ev, ("perfetto", "text"))
    res["pingpong"] = pp
    os.unlink(cap)
    return res


def machine():
    def cmd(*a):
        try:
            return subprocess.run(a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode().strip()
        except OSError:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "kernel": platform.release(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "go": {"go1.26": cmd("/usr/local/go/bin/go", "version"),
               "go1.19": cmd("/usr/lib/go-1.19/bin/go", "version")},
        "gtrace": cmd(GTRACE, "--version"),
        "bpftrace": cmd("bpftrace", "--version"),
        "wrk": cmd("wrk", "-v").splitlines()[0] if cmd("wrk", "-v") else "?",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": open("/proc/loadavg").read().split()[0],
    }


def main():
    os.makedirs(TMP, exist_ok=True)
    t0 = time.monotonic()
    log(f"bench: {REPS} repetitions, {SECS}s timed part, wrk {HTTP_SECS}s")
    load0 = open("/proc/loadavg").read().split()[0]
    runs, wls = run_matrix()
    summary = summarize(runs, wls)
    log("bench: parked set / snapshot")
    snap = snapshot_bench()
    log("bench: conversion speed")
    conv = conversion_bench(summary)
    mach = machine()
    mach["loadavg"] = f"{load0} at start, {mach['loadavg']} at end"
    result = {"machine": mach, "reps": REPS, "secs": SECS, "http_secs": HTTP_SECS,
              "wrk": WRK, "configs": CONFIG_TEXT, "summary": summary, "snapshot": snap,
              "conversion": conv,
              "runs": {f"{k[0]}/{k[1]}": v for k, v in runs.items()},
              "elapsed_s": time.monotonic() - t0}
    with open(os.path.join(OUT, "bench.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import table
    md = table.render(result)
    with open(os.path.join(OUT, "bench.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"bench: done in {time.monotonic() - t0:.0f}s: bench/out/bench.md, bench/out/bench.json")


if __name__ == "__main__":
    main()

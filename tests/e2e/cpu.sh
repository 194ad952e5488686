#!/bin/bash
# On-CPU samples (record --cpu): the cpuburn fixture's tenant=a goroutines
# burn three times the CPU of tenant=b in five known functions.  Judged by
# `go tool pprof` (tests/e2e/check_cpu.py): the tagfocus ratio, the top
# functions, the goids against the fixture's own list, the shares against
# the work the fixture does, and, in one run, against Go's own CPU profiler
# running in the fixture at the same time.  Every Go version (plain),
# stripped and PIE on one version (PIE with no uprobe: --events none), and
# the cgo build (its C time is cgo).
# Plus: the wall profile adds up, jsonl and Perfetto carry the samples.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

GO=${GO:-/usr/local/go/bin/go}
# One P for the fixtures: cpuburn runs its burners one at a time, so with a
# second P each hand-off wakes a spinning M (futex) on the other core. On a
# quiet 2-core VM that runtime time reached 8-10% of the samples, tying
# runtime.futex with main.hotB2 (the smallest burner, ~9%) for fifth place
# and putting runtime frames on the burners' tracks: a fact of Go's
# scheduler, not what these checks judge (attribution to goroutines).
export GOMAXPROCS=1
[ -x "$GTRACE" ] || { skip cpu "no $GTRACE (run make)"; exit 0; }
[ -x "$GO" ] || { skip cpu "no $GO for go tool pprof"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip cpu "no fixtures in $FIX"; exit 0; }
main_ver=$(echo "$vers" | grep -x go1.26 || echo "$vers" | tail -1)

# run NAME BIN SECONDS HZ [fixture args...]: fixture + record --cpu, then
# the cpu profile in $d/cpu.pb.gz; returns non-zero (after a FAIL) if any
# step failed.
run() {
	local name=$1 bin=$2 secs=$3 hz=$4
	shift 4
	d=$TMP/${name//\//_}
	mkdir -p "$d"
	start_fixture "$name" "$d/fix.out" "$bin" "$@" || return 1
	fpid=$FPID
	"$GTRACE" record -q -p "$fpid" -d "$secs" --cpu="$hz" --no-az-detect \
		${GARGS:-} -o "$d/cap" 2> "$d/rec.err" &
	local rpid=$!
	if [[ ${GARGS:-} == *"--events none"* ]]; then
		# no uprobe on the target while it records, seen from the kernel's side
		# (profile_check.py: perf-event uprobes and every uprobe_multi link)
		sleep 2
		local probes
		probes=$(python3 tests/e2e/profile_check.py uprobes "$fpid" "$(readlink -f "$bin")" "$rpid")
		if [ "${probes:-1}" -eq 0 ] && kill -0 "$rpid" 2>/dev/null; then
			pass "$name/no-uprobe"
		else
			fail "$name/no-uprobe: $probes uprobe(s) on $bin with --events none (or record ended early)"
		fi
	fi
	if ! wait "$rpid"; then
		indent "$d/rec.err"; fail "$name: gtrace record --cpu failed"; return 1
	fi
	kill -TERM "$fpid"
	wait_exit "$fpid" 10
	if ! "$GTRACE" report "$d/cap" -f pprof --profile cpu -o "$d/cpu.pb.gz" 2> "$d/rep.err"; then
		indent "$d/rep.err"; fail "$name: report --profile cpu failed"; return 1
	fi
}

# The main run: Go's own profiler in the fixture over the same seconds, at
# about the same rate (Go's SetCPUProfileRate; gtrace's is per CPU).
bin=$FIX/cpuburn-$main_ver-plain
if [ -x "$bin" ]; then
	name=cpu/$main_ver-plain
	if run "$name" "$bin" 10 499 -cpuprofile "$TMP/go.prof" -cpuprofile-hz 500; then
		wall=()
		if "$GTRACE" report "$d/cap" -f pprof --profile wall -o "$d/wall.pb.gz" \
			2> "$d/wall.err"; then
			wall=(--wall "$d/wall.pb.gz")
		else
			indent "$d/wall.err"; fail "$name: report --profile wall failed"
		fi
		python3 tests/e2e/check_cpu.py "$name" "$GO" "$d/cpu.pb.gz" "$d/fix.out" \
			--go-profile "$TMP/go.prof" "${wall[@]}"
		main_d=$d
	fi
else
	skip "cpu/$main_ver-plain" "no $bin"
fi

# gtrace profile --cpu: the no-probe sampled profile gains a cpu sample type
# (the CPU sampler, no uprobe); judged like record's, on the cpu column only,
# with Go's own profiler over the same seconds.
bin=$FIX/cpuburn-$main_ver-plain
if [ -x "$bin" ]; then
	name=cpu/profile-$main_ver
	d=$TMP/profile
	mkdir -p "$d"
	if start_fixture "$name" "$d/fix.out" "$bin" -cpuprofile "$d/go.prof" -cpuprofile-hz 500; then
		fpid=$FPID
		if "$GTRACE" profile -q -p "$fpid" -d 10 --cpu=499 --no-az-detect \
			-o "$d/prof.pb.gz" 2> "$d/prof.err"; then
			kill -TERM "$fpid"; wait_exit "$fpid" 10
			python3 tests/e2e/check_cpu.py "$name" "$GO" "$d/prof.pb.gz" "$d/fix.out" \
				--cpu-column $((1000000000 / 499)) --go-profile "$d/go.prof"
			# the sampled types are still there, cpu beside them
			check "$name-types" sh -c "'$GO' tool pprof -raw '$d/prof.pb.gz' 2>/dev/null |
				grep -qE '^wall/nanoseconds.* goroutines/count cpu/nanoseconds$'"
		else
			kill -TERM "$fpid"; wait_exit "$fpid" 10
			indent "$d/prof.err"; fail "$name: gtrace profile --cpu failed"
		fi
	fi
	"$GTRACE" profile -p 1 --cpu -f text > /dev/null 2> "$d/err"; rc=$?
	check cpu/profile-cpu-text-usage sh -c "[ $rc -eq 2 ] && [ \$(wc -l < '$d/err') -eq 1 ]"
	"$GTRACE" profile -p 1 --cpu=0 > /dev/null 2> "$d/err"; rc=$?
	check cpu/profile-bad-cpu-hz sh -c "[ $rc -eq 2 ] && [ \$(wc -l < '$d/err') -eq 1 ]"
fi

# --kernel-stacks: samples taken in the kernel carry real kernel frames,
# named in the capture from this boot's /proc/kallsyms; every named kernel
# location lies inside the symbol of that name (judged against kallsyms).
if [ -x "$FIX/cpuburn-$main_ver-plain" ]; then
	GARGS=--kernel-stacks
	if run cpu/kernel-stacks "$FIX/cpuburn-$main_ver-plain" 3 999; then
		check cpu/kernel-stacks python3 -c '
import bisect, re, subprocess, sys
raw = subprocess.run([sys.argv[1], "tool", "pprof", "-raw", sys.argv[2]], capture_output=True,
                     text=True, check=True).stdout
# BPF programs (module [bpf]) leave kallsyms when unloaded: not judged
locs = [(a, n) for a, n, m in
        re.findall(r"^\s+\d+: 0x([0-9a-f]+) M=\d+ (\S+)( \[[^\]]*\])? \[kernel\]", raw, re.M)
        if m != " [bpf]"]
anon = re.findall(r"^\s+\d+: 0x(ffff[0-9a-f]+) M=\d+ \? ", raw, re.M)
syms = []
for l in open("/proc/kallsyms"):
    a, t, n = l.split()[:3]
    if t in "tTwW" and int(a, 16):
        syms.append((int(a, 16), n))
syms.sort()
addrs = [a for a, _ in syms]
bad = [(a, n) for a, n in locs if syms[bisect.bisect_right(addrs, int(a, 16)) - 1][1] != n]
assert len(locs) >= 3, f"{len(locs)} named kernel locations, {len(anon)} unnamed"
assert not bad, f"names not matching kallsyms: {bad[:5]}"
assert len(anon) <= len(locs) // 10, f"{len(anon)} kernel locations without a name"
print(len(locs), "kernel locations, each inside its kallsyms symbol, e.g.",
      ", ".join(n for _, n in locs[:4]), f"; {len(anon)} unnamed")
' "$GO" "$d/cpu.pb.gz"
	fi
	GARGS=
fi

for v in $vers; do
	for var in plain stripped pie cgo; do
		[ $v = $main_ver ] && [ $var = plain ] && continue
		[ $v != $main_ver ] && [ $var != plain ] && continue
		name=cpu/$v-$var
		bin=$FIX/cpuburn-$v-$var
		[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
		# PIE also runs with no uprobe at all: labels and goids come from the g alone
		GARGS=
		[ $var = pie ] && GARGS="--events none" && name="$name-no-probes"
		run "$name" "$bin" 5 999 || continue
		extra=()
		[ $var = cgo ] && extra=(--cgo)
		python3 tests/e2e/check_cpu.py "$name" "$GO" "$d/cpu.pb.gz" "$d/fix.out" "${extra[@]}"
	done
done

if [ -n "${main_d:-}" ]; then
	# Chrome (and Perfetto: the same timeline driver) put each sample on its
	# goroutine's track, named after the function it was in.
	"$GTRACE" report "$main_d/cap" -f chrome -o "$main_d/trace.json" 2> "$main_d/chrome.err"
	check cpu/chrome-samples-on-tracks python3 -c '
import json, re, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
fix = dict(re.findall(r"burner goid=(\d+) tenant=\S+ fn=(\S+)", open(sys.argv[2]).read()))
cpu = [e for e in ev if e.get("ph") == "i" and e["name"].startswith("cpu")]
on = [e for e in cpu if str(e["tid"]) in fix]
right = [e for e in on if e["name"] == "cpu: main." + fix[str(e["tid"])]]
assert len(on) > 100 and len(right) >= 0.95 * len(on), (len(cpu), len(on), len(right))
print(len(cpu), "cpu instants,", len(right), "of", len(on), "on burner tracks name their function")
' "$main_d/trace.json" "$main_d/fix.out"

	"$GTRACE" report "$main_d/cap" -f jsonl > "$main_d/cap.jsonl" 2> "$main_d/jsonl.err"
	check cpu/jsonl python3 -c '
import json, sys
n = [json.loads(l) for l in open(sys.argv[1])]
s = [e for e in n if e.get("ev") == "cpu_sample"]
assert len(s) > 100, f"{len(s)} cpu_sample lines"
assert all("goid" in e and "code" in e and "period_ns" in e for e in s), s[0]
assert any(e.get("labels", {}).get("tenant") == "a" for e in s), s[0]
' "$main_d/cap.jsonl"

	# report --labels: the CPU column is the sampled CPU of the goroutines
	# carrying each key, replayed here from the jsonl sample lines.
	"$GTRACE" report "$main_d/cap" --labels -f jsonl > "$main_d/labels.jsonl" 2> "$main_d/labels.err"
	check cpu/labels-cpu-share python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
want = sum(e["period_ns"] for e in ev if e.get("ev") == "cpu_sample" and "tenant" in e.get("labels", {}))
rep = [json.loads(l) for l in open(sys.argv[2])]
win = [r for r in rep if r["section"] == "window"][0]
key = [r for r in rep if r["section"] == "key" and r["key"] == "tenant"]
assert win["cpu_samples"] is True and win["cpu_ns"] > 0, win
assert key and key[0]["cpu_ns"] == want, (key, want)
assert key[0]["cpu_share"] > 0.5, key
print("tenant: cpu", want, "ns,", key[0]["cpu_share"], "of sampled user-goroutine CPU")
' "$main_d/cap.jsonl" "$main_d/labels.jsonl"
fi

#!/bin/bash
# gtrace profile and gtrace top against tests/fixtures/shares (goroutines
# with known shares of time in chan receive, select, sleep, Mutex, IO wait,
# syscall and running, under known labels), judged by `go tool pprof -raw`
# and the fixture's own runtime.Stack dump (profile_check.py):
#  - wall shares per wait reason and per label within 10% of the fixture's;
#  - the goroutines count equals runtime.NumGoroutine;
#  - running goroutines have a pseudo-frame and their start function only;
#  - while profile runs the kernel holds no uprobe for the target and
#    gtrace holds no BPF object (bpftool perf list, every bpf_link fdinfo,
#    /proc/PID/fd); the
#    same check sees record's uprobes (so it can fail);
#  - the sampled offcpu top-10 stacks equal record's, shares within 15%;
#  - top --once shows the states and labels; top runs under tmux (keys, pane);
#  - --goid-labels, -f text/jsonl, usage and errors.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
CHECK=tests/e2e/profile_check.py

[ -x "$GTRACE" ] || { skip profile "no $GTRACE (run make)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { skip profile "needs root (process_vm_readv of another process)"; exit 0; }
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || GO=/usr/lib/go-1.19/bin/go
last=$(go_versions | tail -1)
BIN=$FIX/shares-$last-plain
[ -x "$BIN" ] || { skip profile "no $BIN (tests/fixtures/build.sh)"; exit 0; }

"$GTRACE" profile --help > "$TMP/help" 2>&1; rc=$?
check profile/help sh -c "[ $rc -eq 0 ] && grep -q '^usage: gtrace profile' '$TMP/help'"
"$GTRACE" profile > /dev/null 2>&1; rc=$?
check profile/usage-exit-2 test $rc -eq 2
"$GTRACE" profile -p 1 --hz 0 > /dev/null 2>"$TMP/err"; rc=$?
check profile/bad-hz sh -c "[ $rc -eq 2 ] && [ \$(wc -l < '$TMP/err') -eq 1 ]"

"$BIN" -manifest "$TMP/manifest.json" > "$TMP/fix.out" 2>&1 &
pid=$!
BG_PIDS="$BG_PIDS $pid"
for _ in $(seq 100); do grep -q '^ready' "$TMP/fix.out" && break; sleep 0.1; done
grep -q '^ready' "$TMP/fix.out" || { fail profile/fixture-start; exit 0; }
exe=$(readlink -f "$BIN")

# probes_during CMD...: runs CMD in the background, polls what the kernel holds, prints the max.
probes_during() {
	"$@" &
	local t=$! max=0 n
	while kill -0 $t 2>/dev/null; do
		n=$(python3 $CHECK probes "$pid" "$exe" "$t" 2>/dev/null || echo 0)
		[ "${n:-0}" -gt "$max" ] && max=$n
		sleep 0.2
	done
	wait $t
	echo "$max" > "$TMP/probes"
}

# phases: the fixture's cycle-phase seconds so far (it prints them on SIGUSR1)
phases() {
	local n; n=$(grep -c '^phases' "$TMP/fix.out")
	kill -USR1 "$pid"
	for _ in $(seq 50); do [ "$(grep -c '^phases' "$TMP/fix.out")" -gt "$n" ] && break; sleep 0.1; done
	grep '^phases' "$TMP/fix.out" | tail -1 | cut -d' ' -f2,3
}
p0=$(phases)
# 50 passes a second, not the default 10: at 10 Hz the 20 cycle goroutines give
# 600 samples in 3 s, a 1-sd sampling error of 1.0 point on phase=recv's 21%
# share, so the 10% bound (2.1 points) was two sd and failed about one run in
# twenty (it did in CI). At 50 Hz, ~3000 samples (consecutive ones of a
# goroutine correlated: phases average 25 ms) put the bound past three sd.
if ! command -v bpftool >/dev/null; then
	skip profile/no-uprobe-during-profile "no bpftool to ask the kernel"
	"$GTRACE" profile -p "$pid" -d 3 --hz 50 -o "$TMP/p.pb.gz" -q --no-az-detect
	p1=$(phases)
else
	probes_during "$GTRACE" profile -p "$pid" -d 3 --hz 50 -o "$TMP/p.pb.gz" -q --no-az-detect
	p1=$(phases)
	nprof=$(cat "$TMP/probes")
	probes_during "$GTRACE" record -p "$pid" -d 6 -o "$TMP/cap.gtr" -q --no-az-detect
	nrec=$(cat "$TMP/probes")
	echo "  uprobes/BPF objects seen: during profile $nprof, during record $nrec"
	check profile/no-uprobe-during-profile test "$nprof" -eq 0
	check profile/uprobe-check-sees-record test "$nrec" -gt 0
fi
window=$(echo "$p0 $p1" | awk '{printf "%f,%f", $3-$1, $4-$2}')
if [ -s "$TMP/p.pb.gz" ] && [ -s "$TMP/manifest.json" ]; then
	python3 $CHECK shares "$TMP/p.pb.gz" "$TMP/manifest.json" "$GO" 0.10 "$window"
else
	fail profile/profile-written
fi
if [ -s "$TMP/cap.gtr" ] && "$GTRACE" report "$TMP/cap.gtr" -f pprof -o "$TMP/rec.pb.gz" -q; then
	python3 $CHECK offcpu "$TMP/p.pb.gz" "$TMP/rec.pb.gz" "$GO"
else
	skip profile/offcpu-agrees-with-record "no capture from record"
fi

# --goid-labels: one sample per goroutine, each with a numeric goid label
"$GTRACE" profile -p "$pid" -d 1 --goid-labels -o "$TMP/g.pb.gz" -q --no-az-detect
n=$("$GO" tool pprof -raw "$TMP/g.pb.gz" 2>/dev/null | grep -o 'goid:\[[0-9]* goid\]' | sort -u | wc -l)
want=$(python3 -c "import json;print(json.load(open('$TMP/manifest.json'))['num_goroutine'])")
check profile/goid-labels test "$n" -eq "$want"
"$GTRACE" profile -p "$pid" -d 1 -f text -q --no-az-detect > "$TMP/p.txt"
check profile/text sh -c "grep -q 'waiting: chan receive' '$TMP/p.txt' && grep -q 'kind=\"cycle\"' '$TMP/p.txt'"
"$GTRACE" profile -p "$pid" -d 1 -f jsonl -q --no-az-detect > "$TMP/p.jsonl"
check profile/jsonl python3 -c "
import json,sys
rows=[json.loads(l) for l in open('$TMP/p.jsonl')]
assert rows and all('wall_ns' in r and 'state' in r for r in rows)
assert any(r['state']=='syscall' for r in rows) and any(r['wait_reason']=='IO wait' for r in rows)"
# Ctrl-C: stops early, still writes
"$GTRACE" profile -p "$pid" -d 60 -o "$TMP/int.pb.gz" -q --no-az-detect & t=$!
sleep 1.5; kill -INT $t; wait $t; rc=$?
check profile/ctrl-c-writes sh -c "[ $rc -eq 0 ] && '$GO' tool pprof -raw '$TMP/int.pb.gz' >/dev/null 2>&1"

# top
if "$GTRACE" top --help >/dev/null 2>&1; then
	"$GTRACE" top -p "$pid" --once > "$TMP/top.txt" 2>"$TMP/top.err"; rc=$?
	check profile/top-once sh -c "[ $rc -eq 0 ] && grep -q 'chan receive' '$TMP/top.txt' && grep -q 'sync.Mutex.Lock\|semacquire' '$TMP/top.txt' && grep -q 'IO wait' '$TMP/top.txt' && grep -q 'syscall' '$TMP/top.txt' && grep -q 'running' '$TMP/top.txt' && grep -q 'kind=cycle' '$TMP/top.txt'"
	if command -v tmux >/dev/null; then
		sock=$TMP/tmux.sock
		tmux -S "$sock" new-session -d -x 160 -y 50 "$GTRACE top -p $pid; echo TOP-EXITED \$?; sleep 30"
		ok=0
		for _ in $(seq 50); do tmux -S "$sock" capture-pane -p > "$TMP/pane1" 2>/dev/null; grep -q 'chan receive' "$TMP/pane1" && { ok=1; break; }; sleep 0.2; done
		tmux -S "$sock" send-keys l; sleep 1.5
		tmux -S "$sock" capture-pane -p > "$TMP/pane2"
		tmux -S "$sock" send-keys q; sleep 1
		tmux -S "$sock" capture-pane -p > "$TMP/pane3"
		tmux -S "$sock" kill-server 2>/dev/null
		check profile/top-tmux-shows-states sh -c "[ $ok -eq 1 ] && grep -q 'IO wait' '$TMP/pane1'"
		check profile/top-tmux-key-labels grep -q 'kind=cycle' "$TMP/pane2"
		check profile/top-tmux-quit grep -q 'TOP-EXITED 0' "$TMP/pane3"
	else
		skip profile/top-tmux "no tmux (make deps installs it)"
	fi
else
	fail profile/top-command
fi
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
exit 0

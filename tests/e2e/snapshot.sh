#!/bin/bash
# gtrace snapshot against tests/fixtures/parked, for every Go version and
# variant (plain, stripped: allgs found by disassembly, pie: load bias):
# the goroutines, states, top frames, parents and labels equal the
# fixture's own runtime.Stack dump and manifest (snapshot_check.py); text
# output groups with counts; --stop reports how long the process was
# stopped and leaves it running; -f pprof opens with `go tool pprof -raw`
# and its counts equal the snapshot's; bad inputs give one line and exit 1;
# a process holding 100,000 parked goroutines is read completely (the wall
# time is printed, not asserted: see tools/bench notes in docs/forensics.md).
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

[ -x "$GTRACE" ] || { skip snapshot "no $GTRACE (run make)"; exit 0; }
"$GTRACE" snapshot --help >/dev/null 2>&1 || { skip snapshot "this gtrace has no snapshot command"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip snapshot "no fixtures in $FIX"; exit 0; }
[ "$(id -u)" -eq 0 ] || { skip snapshot "needs root (process_vm_readv of another process)"; exit 0; }
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || GO=/usr/lib/go-1.19/bin/go

# start_fixture BIN DUMP [ARGS...]: runs it, waits for "ready", sets $pid.
start_fixture() {
	local bin=$1 dump=$2; shift 2
	"$bin" -dump "$dump" "$@" > "$TMP/fix.out" 2>&1 &
	pid=$!
	BG_PIDS="$BG_PIDS $pid"
	for _ in $(seq 300); do grep -q '^ready' "$TMP/fix.out" && return 0; sleep 0.1; done
	return 1
}

# pprof_total FILE: sum of sample values from `go tool pprof -raw`.
pprof_total() {
	"$GO" tool pprof -raw "$1" 2>/dev/null |
		awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && /^ *[0-9]+:/{sub(":","",$1); t+=$1} END{print t+0}'
}

for v in $vers; do
	minor=${v#go1.}
	for var in plain stripped pie; do
		bin=$FIX/parked-$v-$var
		name=snapshot/$v-$var
		[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
		if ! start_fixture "$bin" "$TMP/dump"; then
			cat "$TMP/fix.out" | tail -3; fail "$name-start"; continue
		fi
		if ! "$GTRACE" snapshot -p "$pid" -f jsonl -o "$TMP/s.jsonl" 2>"$TMP/err"; then
			sed 's/^/  /' "$TMP/err"; fail "$name-jsonl"; kill "$pid"; continue
		fi
		check "$name-matches-runtime-dump" python3 tests/e2e/snapshot_check.py "$TMP/dump" "$TMP/s.jsonl" "$minor"
		n=$(wc -l < "$TMP/s.jsonl")
		"$GTRACE" snapshot -p "$pid" > "$TMP/s.txt" 2>/dev/null
		check "$name-text-groups" sh -c "grep -q '^[0-9]* goroutines \[chan receive\]:' '$TMP/s.txt' &&
			grep -q 'labels {idx=\"0\", kind=\"mutex\"}' '$TMP/s.txt' && grep -q '^created by main.start' '$TMP/s.txt'"
		"$GTRACE" snapshot -p "$pid" --stop -f jsonl -o "$TMP/stop.jsonl" 2>"$TMP/stop.err"
		sleep 0.2 # SIGCONT takes effect asynchronously
		check "$name-stop" sh -c "cat '$TMP/stop.err'; grep State /proc/$pid/status;
			grep -q 'process stopped for [0-9.]* ms' '$TMP/stop.err' &&
			[ \$(wc -l < '$TMP/stop.jsonl') -eq $n ] &&
			! grep -q '^State:.*stopped' /proc/$pid/status"
		if [ "$var" = plain ]; then
			"$GTRACE" snapshot -p "$pid" -f pprof -o "$TMP/g.pb.gz" 2>/dev/null
			total=$(pprof_total "$TMP/g.pb.gz")
			check "$name-pprof" sh -c "echo 'pprof total $total, snapshot $n'; [ '$total' -eq '$n' ]"
			check "$name-pprof-labels" sh -c "'$GO' tool pprof -raw '$TMP/g.pb.gz' 2>/dev/null | grep -q 'kind:\[chanrecv\]'"
		fi
		kill "$pid"; wait "$pid" 2>/dev/null
	done
done

# Bad inputs: exit 1 and exactly one line on stderr.
bad() {
	local name=$1; shift
	local rc
	"$GTRACE" snapshot "$@" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q '^gtrace: ' "$TMP/err"; then
		pass "snapshot/bad-$name"
	else
		echo "  exit $rc, stderr:"; sed 's/^/  /' "$TMP/err"; fail "snapshot/bad-$name"
	fi
}
bad no-pid -p $(( $(cat /proc/sys/kernel/pid_max) + 1 )) # can never exist
sleep 30 & sp=$!; BG_PIDS="$BG_PIDS $sp"
bad not-go -p $sp
kill $sp
"$GTRACE" snapshot --help > "$TMP/help" 2>&1; rc=$?
check snapshot/help sh -c "[ $rc -eq 0 ] && grep -q '^usage: gtrace snapshot' '$TMP/help'"
"$GTRACE" snapshot > /dev/null 2>&1; rc=$?
check snapshot/usage-exit-2 test $rc -eq 2

# Not root: setpriv drops to nobody, whose ptrace of a root process is refused.
first=$(echo "$vers" | head -1)
if ! command -v setpriv >/dev/null; then
	skip snapshot/not-root "no setpriv to drop root"
elif start_fixture "$FIX/parked-$first-plain" "$TMP/dump"; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$GTRACE" snapshot -p "$pid" >/dev/null 2>"$TMP/err"; rc=$?
	check snapshot/not-root sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/err') -eq 1 ] && grep -q 'root' '$TMP/err'"
	kill "$pid"; wait "$pid" 2>/dev/null
else
	tail -3 "$TMP/fix.out" | sed 's/^/  /'; fail snapshot/not-root-start
fi

# The process exits mid-snapshot: what was read is printed, with a clear line.
last=$(echo "$vers" | tail -1)
if start_fixture "$FIX/parked-$last-plain" "$TMP/dump" -many 100000; then
	"$GTRACE" snapshot -p "$pid" -f jsonl -o "$TMP/many.jsonl" 2>"$TMP/many.err" &
	sn=$!
	# gtrace spends ~0.1 s opening the binary before it reads: kill during the read
	sleep 0.4; kill -9 "$pid"; wait "$sn"; rc=$?
	if grep -q 'exited during the snapshot' "$TMP/many.err"; then
		echo "  $(grep -c . "$TMP/many.jsonl") goroutines printed; $(head -1 "$TMP/many.err")"
		check snapshot/target-exits sh -c "[ $rc -eq 1 ] && [ -s '$TMP/many.jsonl' ]"
	elif [ $rc -eq 0 ]; then
		echo "  (the snapshot finished before the process died)"; pass snapshot/target-exits
	elif [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/many.err")" -eq 1 ] && grep -q 'PID [0-9]* exited' "$TMP/many.err"; then
		echo "  (the process died before the read began)"; pass snapshot/target-exits
	else
		sed 's/^/  /' "$TMP/many.err"; fail snapshot/target-exits
	fi
else
	tail -3 "$TMP/fix.out" | sed 's/^/  /'; fail snapshot/target-exits-start
fi

# 100,000 parked goroutines: complete and counted right; the time is printed only.
for v in $vers; do
	start_fixture "$FIX/parked-$v-plain" "$TMP/dump" -many 100000 || { fail "snapshot/100k-$v-start"; continue; }
	t0=$(date +%s.%N)
	"$GTRACE" snapshot -p "$pid" -f jsonl -o "$TMP/many.jsonl" 2>"$TMP/many.err"; rc=$?
	t1=$(date +%s.%N)
	many=$(grep -c '"kind":"many"' "$TMP/many.jsonl")
	echo "  100k goroutines ($v): snapshot wall time $(echo "$t1 - $t0" | bc) s; $(tail -1 "$TMP/many.err")"
	check "snapshot/100k-$v" sh -c "[ $rc -eq 0 ] && [ $many -eq 100000 ]"
	"$GTRACE" snapshot -p "$pid" --stop -f pprof -o "$TMP/many.pb.gz" 2>"$TMP/many.err"
	echo "  100k goroutines ($v) with --stop, pprof: $(tail -1 "$TMP/many.err")"
	kill "$pid"; wait "$pid" 2>/dev/null
done

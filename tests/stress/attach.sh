#!/bin/bash
# Attach/detach cycles: GTRACE_STRESS_CYCLES (default 1000) times per Go
# version, `gtrace record` attaches every probe to a busy fixture
# (stressd: ping-pong pairs that check their sequence numbers, a mutex,
# sleepers), then is stopped with SIGINT as soon as it says "recording".
# Every cycle must exit 0 with the target alive; at the end the target's
# own output must be right (no BAD line, "done rounds=R", exit 0), and the last
# capture must read.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash
. tests/stress/stress_lib.bash
N=${GTRACE_STRESS_CYCLES:-1000}
[ -x "$GTRACE" ] || { skip stress/attach "no $GTRACE (run make)"; exit 0; }
for v in go1.19 go1.26 go1.27; do
	name=stress/attach/$v
	bin=$(SFIX $v)
	[ -x "$bin" ] || { skip "$name" "no $bin (no $v toolchain?)"; continue; }
	d=$TMP/$v; mkdir -p "$d"
	start_fixture "$name" "$d/fix.out" "$bin" -mode busy || continue
	fpid=$FPID bad="" t0=$SECONDS
	for i in $(seq 1 "$N"); do
		spawn "$d/rec.err" "$GTRACE" record -p "$fpid" -o "$d/cap" --no-az-detect
		gpid=$SPAWN_PID
		if ! wait_line "$d/rec.err" 'recording' 30; then bad="cycle $i: no 'recording' in 30 s"; kill -KILL "$gpid"; break; fi
		kill -INT "$gpid"; wait_exit "$gpid" 30
		[ "$EXIT_RC" -eq 0 ] || { bad="cycle $i: record exited $EXIT_RC"; break; }
		kill -0 "$fpid" 2>/dev/null || { bad="cycle $i: target died"; break; }
		grep -q '^BAD' "$d/fix.out" && { bad="cycle $i: target printed BAD"; break; }
	done
	secs=$((SECONDS - t0))
	if [ -n "$bad" ]; then indent "$d/rec.err"; indent "$d/fix.out" 3; fail "$name: $bad"; kill -KILL "$fpid"; continue; fi
	if ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
		indent "$d/rep.err"; fail "$name: last capture unreadable"; kill -KILL "$fpid"; continue
	fi
	fixture_ok "$name" "$fpid" "$d/fix.out" || continue
	echo "  $v: $N cycles in $secs s, target $(tail -1 "$d/fix.out")"
	pass "$name"
done

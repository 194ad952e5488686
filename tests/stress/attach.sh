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
		# emptied here: spawn's own redirect runs in the child, after wait_line may
		# have seen the last cycle's "recording" and sent SIGINT too early (lost
		# while bash still has SIGINT ignored in the background child)
		: > "$d/rec.err"
		spawn "$d/rec.err" "$GTRACE" record -p "$fpid" -o "$d/cap" --no-az-detect
		gpid=$SPAWN_PID
		if ! wait_line "$d/rec.err" 'recording' 30; then bad="cycle $i: no 'recording' in 30 s"; kill -KILL "$gpid"; break; fi
		kill -INT "$gpid"
		for _ in $(seq 600); do kill -0 "$gpid" 2>/dev/null && [ "$(ps -o stat= -p "$gpid" | cut -c1)" != Z ] || break; sleep 0.05; done
		if kill -0 "$gpid" 2>/dev/null && [ "$(ps -o stat= -p "$gpid" | cut -c1)" != Z ]; then
			# hung after SIGINT: where, before it is killed
			for t in /proc/$gpid/task/*; do echo "  thread $(cat $t/comm) wchan $(cat $t/wchan) $(head -3 $t/stack 2>/dev/null | tr '\n' ' ')"; done
			command -v eu-stack >/dev/null && eu-stack -p "$gpid" 2>&1 | head -40 | sed 's/^/  /'
		fi
		wait_exit "$gpid" 1
		[ "$EXIT_RC" -eq 0 ] || { bad="cycle $i: record exited $EXIT_RC (124: still running 30 s after SIGINT)"; break; }
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
exit 0 # the results are the PASS/FAIL lines

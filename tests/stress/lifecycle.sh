#!/bin/bash
# `gtrace record` while the target forks, execs, exits or is SIGKILLed.
#  fork:  the target runs /bin/true in a loop for the whole recording:
#         record runs its -d, exits 0, the capture reads, the target is fine.
#  exec:  the target execs /bin/sleep (a new image), then its own binary
#         again: the probes belong to the old image, so record must stop by
#         itself within seconds (long before its -d), say so on one line,
#         exit 0, and the capture must read.
#  exit, sigkill: record stops ("target exited"), the capture reads.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash
. tests/stress/stress_lib.bash
[ -x "$GTRACE" ] || { skip stress/lifecycle "no $GTRACE (run make)"; exit 0; }
# readable CAP: report -f jsonl exits 0 and has the capture line and events
readable() {
	"$GTRACE" report "$1" -f jsonl > "$1.jsonl" 2> "$1.rep" &&
		head -1 "$1.jsonl" | grep -q '"ev":"capture"' && [ "$(wc -l < "$1.jsonl")" -gt 1 ]
}
for v in go1.19 go1.26 go1.27; do
	bin=$(SFIX $v)
	[ -x "$bin" ] || { skip "stress/lifecycle/$v" "no $bin (no $v toolchain?)"; continue; }
	d=$TMP/$v; mkdir -p "$d"

	name=stress/lifecycle/fork/$v
	if start_fixture "$name" "$d/fork.out" "$bin" -mode fork; then
		fpid=$FPID
		"$GTRACE" record -p "$fpid" -o "$d/fork.gtr" --no-az-detect -q -d 3 2> "$d/fork.err"; rc=$?
		if [ $rc -ne 0 ] || ! readable "$d/fork.gtr"; then
			indent "$d/fork.err"; indent "$d/fork.gtr.rep"; fail "$name: record exit $rc or capture unreadable"
			kill -KILL "$fpid"
		elif ! grep -q '^forks' "$d/fork.out"; then
			indent "$d/fork.out"; fail "$name: the target did not fork"; kill -KILL "$fpid"
		elif fixture_ok "$name" "$fpid" "$d/fork.out"; then
			pass "$name"
		fi
	fi

	for into in sleep self; do
		name=stress/lifecycle/exec-$into/$v
		if [ $into = sleep ]; then args=(/bin/sleep 60); else args=("$bin" -mode busy); fi
		start_fixture "$name" "$d/exec-$into.out" "$bin" -mode exec -after 4s "${args[@]}" || continue
		fpid=$FPID t0=$SECONDS
		"$GTRACE" record -p "$fpid" -o "$d/exec-$into.gtr" --no-az-detect -q -d 40 2> "$d/exec-$into.err"; rc=$?
		secs=$((SECONDS - t0))
		if [ $rc -ne 0 ] || [ $secs -ge 30 ] || ! grep -q '^exec' "$d/exec-$into.out"; then
			indent "$d/exec-$into.err"; fail "$name: record exit $rc after $secs s (want 0, well before -d 40)"
		elif ! grep -q "exec" "$d/exec-$into.err" || ! one_line "$d/exec-$into.err"; then
			indent "$d/exec-$into.err"; fail "$name: no one-line message naming the exec"
		elif ! readable "$d/exec-$into.gtr"; then
			indent "$d/exec-$into.gtr.rep"; fail "$name: capture unreadable"
		elif ! kill -0 "$fpid" 2>/dev/null; then
			fail "$name: the new image died"
		else
			echo "  $(cat "$d/exec-$into.err") (after $secs s)"
			pass "$name"
		fi
		kill -KILL "$fpid" 2>/dev/null
	done

	for how in exit sigkill; do
		name=stress/lifecycle/$how/$v
		start_fixture "$name" "$d/$how.out" "$bin" -mode exit -after "$([ $how = exit ] && echo 4s || echo 1h)" || continue
		fpid=$FPID
		spawn "$d/$how.err" "$GTRACE" record -p "$fpid" -o "$d/$how.gtr" --no-az-detect -d 40; gpid=$SPAWN_PID
		[ $how = sigkill ] && { sleep 4; kill -KILL "$fpid"; }
		wait_exit "$gpid" 30; rc=$EXIT_RC
		if [ $rc -ne 0 ] || ! grep -q 'target exited' "$d/$how.err"; then
			indent "$d/$how.err"; fail "$name: record exit $rc, want 0 and 'target exited'"
		elif ! readable "$d/$how.gtr"; then
			indent "$d/$how.gtr.rep"; fail "$name: capture unreadable"
		else
			pass "$name"
		fi
		kill -KILL "$fpid" 2>/dev/null
	done
done
exit 0 # the results are the PASS/FAIL lines

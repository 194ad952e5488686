#!/bin/bash
# gtrace SIGKILLed at random points: GTRACE_STRESS_KILLS (default 50) times,
# `gtrace record` of the busy fixture is killed after a random 0-3 s (during
# attach, the attach snapshot, or recording).  Whatever it left must read:
# an empty or absent file is allowed only for a kill before the header;
# otherwise `gtrace report -f jsonl` exits 0.  The target must be unharmed.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash
. tests/stress/stress_lib.bash
[ -x "$GTRACE" ] || { skip stress/kill "no $GTRACE (run make)"; exit 0; }
N=${GTRACE_STRESS_KILLS:-50}
v=$(go_versions | tail -1)
bin=$(SFIX "$v")
[ -x "$bin" ] || { skip stress/kill "no $bin"; exit 0; }
start_fixture stress/kill "$TMP/fix.out" "$bin" -mode busy || exit 0
fpid=$FPID bad="" empty=0 read=0
for i in $(seq 1 "$N"); do
	rm -f "$TMP/cap"
	spawn "$TMP/rec.err" "$GTRACE" record -p "$fpid" -o "$TMP/cap" --no-az-detect -q; gpid=$SPAWN_PID
	sleep "$(awk -v s="$RANDOM" 'BEGIN { printf "%.2f", s % 300 / 100 }')"
	kill -KILL "$gpid"; wait_exit "$gpid" 10
	if [ ! -s "$TMP/cap" ]; then empty=$((empty + 1)); continue; fi
	if ! "$GTRACE" report "$TMP/cap" -f jsonl > "$TMP/cap.jsonl" 2> "$TMP/rep.err"; then
		cp "$TMP/cap" "/tmp/gtrace-stress-kill-$i.gtr"
		bad="kill $i: report failed ($(head -1 "$TMP/rep.err")); kept /tmp/gtrace-stress-kill-$i.gtr"; break
	fi
	read=$((read + 1))
done
if [ -n "$bad" ]; then fail "stress/kill: $bad"; kill -KILL "$fpid"; exit 0; fi
fixture_ok stress/kill "$fpid" "$TMP/fix.out" || exit 0
echo "  $N kills: $read captures read, $empty killed before the header"
pass stress/kill
exit 0 # the results are the PASS/FAIL lines

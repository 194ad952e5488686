#!/bin/bash
# A full disk during record and flight: the output on a 2 MB tmpfs.
#  record: the busy fixture with stacks fills it within seconds; record must
#          exit non-zero with one line on stderr naming the full disk, the
#          capture so far must read, the target must be unharmed.
#  flight: the tmpfs is filled up first, then SIGUSR2 asks for a dump: one
#          line naming the full disk, no partial capture left behind as if
#          whole, flight keeps running (the next dump may succeed), target fine.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash
. tests/stress/stress_lib.bash
[ -x "$GTRACE" ] || { skip stress/fulldisk "no $GTRACE (run make)"; exit 0; }
v=$(go_versions | tail -1)
bin=$(SFIX "$v")
[ -x "$bin" ] || { skip stress/fulldisk "no $bin"; exit 0; }
M=$TMP/full; mkdir -p "$M"
mount -t tmpfs -o size=2m gtrace-stress-full "$M" 2>/dev/null || { skip stress/fulldisk "cannot mount a tmpfs (not root?)"; exit 0; }
trap 'umount "$M" 2>/dev/null; for p in $SPAWNED; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

start_fixture stress/fulldisk/record "$TMP/fix.out" "$bin" -mode busy -n 32 || exit 0
fpid=$FPID
spawn "$TMP/rec.err" "$GTRACE" record -p "$fpid" -o "$M/cap" --no-az-detect -q -d 60; gpid=$SPAWN_PID
wait_exit "$gpid" 70; rc=$EXIT_RC
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
	indent "$TMP/rec.err"; fail "stress/fulldisk/record: exit $rc, want an error exit"
elif ! one_line "$TMP/rec.err" || ! grep -qi 'space\|full' "$TMP/rec.err"; then
	indent "$TMP/rec.err"; fail "stress/fulldisk/record: want one line naming the full disk"
elif ! "$GTRACE" report "$M/cap" -f jsonl > "$TMP/cap.jsonl" 2> "$TMP/rep.err" || [ "$(wc -l < "$TMP/cap.jsonl")" -lt 2 ]; then
	indent "$TMP/rep.err"; fail "stress/fulldisk/record: the capture so far does not read"
else
	echo "  record: $(cat "$TMP/rec.err"); $(wc -l < "$TMP/cap.jsonl") events read back"
	pass stress/fulldisk/record
fi
rm -f "$M/cap"*

spawn "$TMP/fl.err" "$GTRACE" flight -p "$fpid" -w 5 -o "$M" --no-az-detect -q; flpid=$SPAWN_PID
sleep 3
dd if=/dev/zero of="$M/filler" bs=64k 2>/dev/null # fill what is left
kill -USR2 "$flpid"; sleep 2
kill -0 "$flpid" 2>/dev/null; alive=$?
kill -INT "$flpid"; wait_exit "$flpid" 20
if [ $alive -ne 0 ]; then
	indent "$TMP/fl.err"; fail "stress/fulldisk/flight: flight died on the full disk"
elif ! grep -qi 'space\|full' "$TMP/fl.err" || [ "$(grep -ci "space\|full" "$TMP/fl.err")" -gt 2 ]; then
	indent "$TMP/fl.err"; fail "stress/fulldisk/flight: want one line naming the full disk per failed dump"
else
	echo "  flight: $(grep -i 'space\|full' "$TMP/fl.err" | head -1); exit $EXIT_RC"
	pass stress/fulldisk/flight
fi
fixture_ok stress/fulldisk "$fpid" "$TMP/fix.out" && pass stress/fulldisk/target
exit 0 # the results are the PASS/FAIL lines

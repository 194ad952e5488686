#!/bin/bash
# A target that execs a new program while recorded: the probes belong to the
# old image, so `gtrace record -q` must stop by itself within seconds (not at
# its -d 40), exit 0, print one line naming the exec even with -q, and leave
# a readable capture.  (tests/stress/lifecycle.sh runs this and more per Go
# version.)
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash
[ -x "$GTRACE" ] || { skip exec "no $GTRACE (run make)"; exit 0; }
v=$(go_versions | tail -1)
bin=$FIX/stressd-$v-plain
[ -x "$bin" ] || { skip exec "no $bin"; exit 0; }
start_fixture exec "$TMP/fix.out" "$bin" -mode exec -after 4s /bin/sleep 60 || exit 0
t0=$SECONDS
"$GTRACE" record -p "$FPID" -o "$TMP/cap" --no-az-detect -q -d 40 2> "$TMP/rec.err"; rc=$?
secs=$((SECONDS - t0))
if [ $rc -ne 0 ] || [ $secs -ge 30 ]; then
	indent "$TMP/rec.err"; fail "exec: record exit $rc after $secs s (want 0, long before -d 40)"
elif [ "$(grep -c . "$TMP/rec.err")" -ne 1 ] || ! grep -q "exec'd" "$TMP/rec.err"; then
	indent "$TMP/rec.err"; fail "exec: want one line naming the exec"
else
	check exec "$GTRACE" report "$TMP/cap" -f text
fi

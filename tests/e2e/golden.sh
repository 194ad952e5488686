#!/bin/bash
# Golden captures (tests/data/golden, written by regen.sh with the real
# capture writer): the reader's output for each must stay byte for byte what
# is committed beside it (jsonl, and the text report of synth.gtr), so a
# reader or exporter change that alters output is seen; synth.gtr is format
# version 1, synth-vN.gtr later versions, so old captures must keep reading;
# record-go1.26.gtr is a real `gtrace record` of the script fixture (regen.sh
# --record), so what the probes really write is pinned too.  Malformed captures
# (truncated, bad CRC in META or EVENTS, bad magic, a future version, a
# 10-byte file) must give their one-line error and exit status, and no
# format may crash on them.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

[ -x "$GTRACE" ] || { skip golden "no $GTRACE (run make)"; exit 0; }
d=tests/data/golden
ls $d/*.gtr >/dev/null 2>&1 || { fail "golden: no captures in $d"; exit 0; }

for f in $d/*.gtr; do
	b=${f%.gtr} n=$(basename "$b")
	"$GTRACE" report -f jsonl "$f" > "$TMP/out" 2> "$TMP/err"; rc=$?
	sed -i "s|$f|CAPTURE|g" "$TMP/err"
	why=""
	[ "$rc" = "$(cat "$b.rc")" ] || why="exit $rc, expected $(cat "$b.rc")"
	if [ -f "$b.jsonl" ]; then
		cmp -s "$TMP/out" "$b.jsonl" || { why="$why; jsonl differs"; diff "$b.jsonl" "$TMP/out" | head -6 | sed 's/^/    /'; }
	elif [ -s "$TMP/out" ]; then
		why="$why; printed output, expected none"
	fi
	cmp -s "$TMP/err" "$b.err" || why="$why; stderr '$(head -c 200 "$TMP/err")', expected '$(cat "$b.err")'"
	[ "$(wc -l < "$TMP/err")" -le 1 ] || why="$why; more than one stderr line"
	if [ -z "$why" ]; then pass "golden/$n-jsonl"; else echo "  $why"; fail "golden/$n-jsonl"; fi
done

for f in $d/synth*.gtr $d/record*.gtr; do
	b=${f%.gtr} n=$(basename "$b")
	if "$GTRACE" report "$f" > "$TMP/txt" 2>/dev/null && cmp -s "$TMP/txt" "$b.txt"; then
		pass "golden/$n-text"
	else
		diff "$b.txt" "$TMP/txt" | head -6 | sed 's/^/  /'; fail "golden/$n-text"
	fi
done

# No format crashes or hangs on a malformed capture: exit 0 or 1, never a signal.
for f in $d/*.gtr; do
	n=$(basename "${f%.gtr}")
	case $n in synth* | record*) continue ;; esac
	bad=""
	for fmt in text pprof perfetto chrome; do
		timeout 20 "$GTRACE" report -f $fmt -o "$TMP/o" "$f" >/dev/null 2>&1; rc=$?
		[ $rc -le 1 ] || bad="$bad $fmt:exit$rc"
	done
	if [ -z "$bad" ]; then pass "golden/$n-no-crash"; else echo "  $bad"; fail "golden/$n-no-crash"; fi
done

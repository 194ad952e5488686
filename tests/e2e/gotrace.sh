#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `gtrace report -f gotrace` judged by Go's own tools.  For the script
# fixture built with each Go version, the flood fixture recorded with a tiny
# buffer (so the capture has loss windows), and the demo service (a real
# program):
#   gotrace/<v>/parse-go1.26, parse-go1.27  `go tool trace -d=parsed` of
#       Go 1.26 and Go 1.27 reads the export to the end without an error;
#   gotrace/<v>/transitions  build/tracecheck (golang.org/x/exp/trace)
#       reads it and every goroutine's transitions, block reasons and
#       pprof.labels logs equal the capture's (check_gotrace.py);
#   gotrace/<v>/pprof-sync, pprof-sched  `go tool trace -pprof=...` writes a
#       profile that `go tool pprof -raw` reads with at least one sample.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip gotrace "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip gotrace "no fixtures in $FIX"; exit 0; }
GO=${GO:-/usr/local/go/bin/go}
[ -x "$GO" ] || { skip gotrace "no Go toolchain at $GO"; exit 0; }
export GOCACHE=${GOCACHE:-$PWD/build/gocache} GOFLAGS=-mod=mod GOWORK=off

TC=build/tracecheck
if [ ! -x $TC ] || [ -n "$(find tests/tracecheck -newer $TC -type f 2>/dev/null)" ]; then
	if ! (cd tests/tracecheck && GOTOOLCHAIN=local "$GO" build -o ../../$TC .) > "$TMP/build" 2>&1; then
		indent "$TMP/build"; fail "gotrace/build-tracecheck"; exit 0
	fi
fi
# the readers that must accept the export: Go 1.26 (local) and Go 1.27
readers="local go1.27.3"

# record NAME BIN ARGS...: the fixture at -wait, gtrace attached, then released.
record() {
	local d=$1 bin=$2; shift 2
	# no name: the caller FAILs the run
	start_recording "" "$d" "$bin" -wait "$@" -- -d 30 $RECORD_OPTS || return 1
	fpid=$FPID gpid=$GPID
	wait_exit "$fpid" 20
	wait_exit "$gpid" 15; [ $EXIT_RC -eq 0 ] || { indent "$d/rec.err"; return 1; }
	"$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err" || { indent "$d/rep.err"; return 1; }
}

# judge NAME DIR [--lossy]: export, then every reader and check.
judge() {
	local name=$1 d=$2 lossy=${3:-}
	if ! "$GTRACE" report "$d/cap" -f gotrace -o "$d/trace.out" 2> "$d/gt.err"; then
		indent "$d/gt.err"; fail "$name/export"; return
	fi
	for r in $readers; do
		rv=go1.26; [ $r = local ] || rv=${r%.*}
		if GOTOOLCHAIN=$r "$GO" tool trace -d=parsed "$d/trace.out" > "$d/parsed-$rv" 2> "$d/parsed-$rv.err" &&
		   ! grep -qi 'error\|broken trace' "$d/parsed-$rv.err" && [ -s "$d/parsed-$rv" ]; then
			pass "$name/parse-$rv"
		else
			indent "$d/parsed-$rv.err"; fail "$name/parse-$rv"
		fi
	done
	if $TC "$d/trace.out" > "$d/tc.json" 2> "$d/tc.err"; then
		python3 tests/e2e/check_gotrace.py "$d/cap.jsonl" "$d/tc.json" "$name/transitions" $lossy
	else
		indent "$d/tc.err"; fail "$name/transitions"
	fi
	for k in sync sched; do
		if "$GO" tool trace -pprof=$k "$d/trace.out" > "$d/$k.pb" 2> "$d/$k.err" &&
		   "$GO" tool pprof -raw "$d/$k.pb" > "$d/$k.raw" 2>> "$d/$k.err" &&
		   awk '/^Samples/{s=1; next} /^Locations/{s=0} s && $1 ~ /^[0-9]+$/ && $1 > 0 {n++} END {exit !(n > 0)}' "$d/$k.raw"; then
			pass "$name/pprof-$k"
		else
			indent "$d/$k.err"; head -5 "$d/$k.raw" 2>/dev/null | sed 's/^/  /'; fail "$name/pprof-$k"
		fi
	done
}

for v in $vers; do
	bin=$FIX/script-$v-plain
	[ -x "$bin" ] || { skip "gotrace/$v" "no $bin"; continue; }
	d=$TMP/$v; mkdir -p "$d"
	if ! record "$d" "$bin"; then fail "gotrace/$v/record"; continue; fi
	if ! grep -q '"ev":"labels","[^}]*"labels":{"' "$d/cap.jsonl"; then
		fail "gotrace/$v: the capture has no label sets to check"; continue
	fi
	judge "gotrace/$v" "$d"
done

# a capture with loss windows still parses, and marks them
v=go1.26
bin=$FIX/flood-$v-plain
if [ -x "$bin" ]; then
	d=$TMP/loss; mkdir -p "$d"
	if RECORD_OPTS="--buffer 8K" record "$d" "$bin" -d 1; then
		if grep -q '"ev":"loss"' "$d/cap.jsonl"; then
			judge "gotrace/loss-$v" "$d" --lossy
		else
			fail "gotrace/loss-$v: an 8 KiB buffer lost nothing (no loss window to check)"
		fi
	else
		fail "gotrace/loss-$v/record"
	fi
else
	skip "gotrace/loss-$v" "no $bin"
fi

# a real program: the demo service (tools/demo: HTTP on 127.0.0.1, labels
# per endpoint, a GC that suspends goroutines), recorded for 2 s while it runs
d=$TMP/demo; mkdir -p "$d"
if (cd tools/demo && GOTOOLCHAIN=local "$GO" build -o "$d/demo" .) > "$d/build" 2>&1; then
	spawn "$d/fix.out" "$d/demo"; dpid=$SPAWN_PID
	if wait_line "$d/fix.out" '^ready ' 10 &&
	   "$GTRACE" record -p "$dpid" -d 2 -o "$d/cap" --no-az-detect -q 2> "$d/rec.err" &&
	   "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
		kill -KILL "$dpid" 2>/dev/null
		judge "gotrace/demo" "$d"
		if [ -n "${GOTRACE_KEEP:-}" ]; then cp "$d/cap" "$d/cap.jsonl" "$GOTRACE_KEEP/"; fi
	else
		indent "$d/rec.err"; fail "gotrace/demo/record"
	fi
	# already gone on the success path: its status must not become the suite's
	kill -KILL "$dpid" 2>/dev/null || true
else
	indent "$d/build"; fail "gotrace/demo/build"
fi

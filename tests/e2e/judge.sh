#!/bin/bash
# The judge: Go's own runtime/trace of the script fixture (-trace FILE) taken
# while gtrace records the same run.  build/tracecheck (tests/tracecheck,
# golang.org/x/exp/trace, which also converts the Go 1.11-1.21 format) counts
# each goroutine's transitions; tests/e2e/check_judge.py compares them with
# gtrace's create/start/park/unpark/exit/preempt/yield/syscall events for
# every worker, under the mapping documented there.  One line per Go version
# x variant.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip judge "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip judge "no fixtures in $FIX"; exit 0; }

TC=build/tracecheck
GO=${GO:-/usr/local/go/bin/go}
if [ ! -x $TC ] || [ -n "$(find tests/tracecheck -newer $TC -type f 2>/dev/null)" ]; then
	if [ ! -x "$GO" ]; then
		skip judge "no Go toolchain at $GO to build $TC"; exit 0
	fi
	if ! (cd tests/tracecheck && GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local \
		GOCACHE=${GOCACHE:-$PWD/../../build/gocache} "$GO" build -o ../../$TC .) > "$TMP/build" 2>&1; then
		indent "$TMP/build"; fail "judge/build-tracecheck"; exit 0
	fi
fi

for v in $vers; do
	for var in plain stripped pie; do
		name=judge/$v-$var
		bin=$FIX/script-$v-$var
		[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
		d=$TMP/$v-$var
		mkdir -p "$d"
		start_recording "$name" "$d" "$bin" -wait -trace "$d/go.trace" -- -d 30 || continue
		fpid=$FPID gpid=$GPID
		wait_exit "$fpid" 20; frc=$EXIT_RC
		wait_exit "$gpid" 15; grc=$EXIT_RC # stops when the fixture exits
		if [ $frc -ne 0 ] || ! grep -q '^done$' "$d/fix.out"; then
			indent "$d/fix.out"; fail "$name: fixture exited $frc"; continue
		fi
		if [ $grc -ne 0 ]; then
			indent "$d/rec.err"; fail "$name: gtrace record exited $grc"; continue
		fi
		if ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
			indent "$d/rep.err"; fail "$name: gtrace report -f jsonl failed"; continue
		fi
		if ! $TC "$d/go.trace" > "$d/trace.json" 2> "$d/tc.err"; then
			# x/exp/trace reads every format from Go 1.11 on; a newer one it
			# does not know yet is a skip, anything else a failure.
			if grep -q 'unknown or unsupported version' "$d/tc.err"; then
				skip "$name" "x/exp/trace cannot read this trace: $(head -1 "$d/tc.err")"
			else
				indent "$d/tc.err"; fail "$name: tracecheck could not read the runtime/trace"
			fi
			continue
		fi
		python3 tests/e2e/check_judge.py "$d/cap.jsonl" "$d/trace.json" "$d/fix.out" "$name"
	done
done

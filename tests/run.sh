#!/bin/bash
# Runs every test of gtrace and ends with "N passed, N failed[, N skipped]".
# Each suite prints lines "PASS name", "FAIL name" or "SKIP name" (with the
# reason on the line before); this script counts them.  A suite that dies
# without printing its results counts as one failure.
#   tests/run.sh [FILTER...]   run only suites whose file name contains a FILTER
# GTRACE_BUILD names the build to test (build/san for make test SANITIZE=1).
cd "$(dirname "$0")/.."
B=${GTRACE_BUILD:-build}
export GTRACE=$PWD/$B/gtrace
export GTRACE_FIXTURES=$PWD/build/fixtures
log=$B/test.log
: > "$log"
filters=("$@")
# wanted NAME: true when no filter is given or one of them is in NAME
wanted() {
	[ ${#filters[@]} -eq 0 ] && return 0
	for f in "${filters[@]}"; do [[ $1 == *"$f"* ]] && return 0; done
	return 1
}

run_suite() {
	local name=$1; shift
	local out rc t0=$SECONDS
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | tee -a "$log"
	echo "  ($name: $((SECONDS - t0)) s)" # keeps make test's time visible per suite
	if ! printf '%s\n' "$out" | grep -qE '^(PASS|FAIL|SKIP) '; then
		echo "FAIL $name: suite printed no result (exit $rc)" | tee -a "$log"
	elif [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		echo "FAIL $name: suite exited $rc" | tee -a "$log"
	fi
}

echo "== building fixtures"
if ! tests/fixtures/build.sh >>"$log" 2>&1; then
	echo "FAIL fixtures: tests/fixtures/build.sh failed (see $log)" | tee -a "$log"
fi

if wanted unit; then
	echo "== unit"
	run_suite unit $B/unit_tests
fi
for t in tests/lint/*.sh; do # source checks: seconds, no build needed
	wanted "$t" || continue
	echo "== $t"
	run_suite "$t" bash "$t"
done
for t in tests/e2e/*.sh; do
	[ "$t" = tests/e2e/lib.sh ] && continue # sourced by the suites, not one itself
	wanted "$t" || continue
	echo "== $t"
	run_suite "$t" bash "$t"
done

pass=$(grep -c '^PASS ' "$log")
fail=$(grep -c '^FAIL ' "$log")
skip=$(grep -c '^SKIP ' "$log")
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$fail" -eq 0 ]

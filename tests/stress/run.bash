#!/bin/bash
# Runs the stress suites, tests/stress/*.sh (docs/stress.md), as tests/run.sh
# runs the others: each prints PASS/FAIL/SKIP lines; the end is
# "N passed, N failed[, N skipped]".  Not part of make test (it takes long).
#   tests/stress/run.bash [FILTER...]   only suites whose file name contains a FILTER
# Knobs: GTRACE_STRESS_CYCLES (attach/detach cycles per Go version, 1000),
# GTRACE_STRESS_KILLS (50), GTRACE_STRESS_CHURN (100000), GTRACE_STRESS_MANY
# (1000000), GTRACE_STRESS_RSS_MB (snapshot peak RSS bound, 1024).
cd "$(dirname "$0")/../.."
B=${GTRACE_BUILD:-build}
export GTRACE=$PWD/$B/gtrace GTRACE_FIXTURES=$PWD/build/fixtures
log=$B/stress.log
: > "$log"
echo "== building fixtures"
tests/fixtures/build.sh >>"$log" 2>&1 || echo "FAIL fixtures: tests/fixtures/build.sh failed (see $log)" | tee -a "$log"
for t in tests/stress/*.sh; do
	if [ $# -gt 0 ]; then m=""; for f in "$@"; do [[ $t == *"$f"* ]] && m=1; done; [ -n "$m" ] || continue; fi
	echo "== $t"
	t0=$SECONDS
	out=$(bash "$t" 2>&1); rc=$?
	printf '%s\n' "$out" | tee -a "$log"
	echo "  ($t: $((SECONDS - t0)) s)" | tee -a "$log"
	if ! printf '%s\n' "$out" | grep -qE '^(PASS|FAIL|SKIP) '; then
		echo "FAIL $t: suite printed no result (exit $rc)" | tee -a "$log"
	elif [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		echo "FAIL $t: suite exited $rc" | tee -a "$log"
	fi
done
pass=$(grep -c '^PASS ' "$log") fail=$(grep -c '^FAIL ' "$log") skip=$(grep -c '^SKIP ' "$log")
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$fail" -eq 0 ]

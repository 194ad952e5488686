#!/bin/bash
# gtrace flight against tests/fixtures/flightgen (every Go version, plain;
# the last version also stripped): each trigger writes exactly one capture
# holding the events that led to it, SIGUSR2 and the target's exit each
# write one (flight_check.py); bad triggers are usage errors; and the
# recorder's RSS stays bounded and flat while a busy fixture runs ~20 s
# (the measured RSS is printed).
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

[ -x "$GTRACE" ] || { skip flight "no $GTRACE (run make)"; exit 0; }
"$GTRACE" flight --help >/dev/null 2>&1 || { skip flight "this gtrace has no flight command"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip flight "no fixtures in $FIX"; exit 0; }
[ "$(id -u)" -eq 0 ] || { skip flight "needs root (BPF)"; exit 0; }

# start_pair BIN DIR FLIGHT-ARGS...: starts the fixture and the recorder, releases the fixture.
start_pair() {
	local bin=$1 dir=$2; shift 2
	start_fixture "" "$TMP/fix.out" "$bin" "${FIXARGS[@]}" || return 1
	fpid=$FPID
	start_gtrace "" "$TMP/flight.log" 'flight recorder on' 20 \
		flight -p "$fpid" --no-az-detect -o "$dir" "$@" || return 1
	gpid=$GPID
	kill -USR1 "$fpid"
}

last=$(echo "$vers" | tail -1)
runs=""
for v in $vers; do runs="$runs $v-plain"; done
runs="$runs $last-stripped"
FIXARGS=()
for run in $runs; do
	bin=$FIX/flightgen-$run
	name=flight/$run
	[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
	dir=$TMP/$run; mkdir -p "$dir"
	if ! start_pair "$bin" "$dir" --window 5 -t 'goroutines>150' -t 'waiting[chan receive]>150' \
		-t 'blocked>1200ms' -t 'label:tenant=acme'; then
		tr '\r' '\n' < "$TMP/flight.log" | tail -3 | sed 's/^/  /'; fail "$name-start"; continue
	fi
	sleep 5.5
	kill -USR2 "$gpid"
	# the fixture exits at ~6 s: the recorder must notice, dump and stop by itself
	for _ in $(seq 100); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$gpid" 2>/dev/null; then
		kill -INT "$gpid"; fail "$name-stops-on-target-exit"
	fi
	wait "$gpid"; rc=$?
	check "$name-exit-0" test $rc -eq 0
	check "$name-captures" python3 tests/e2e/flight_check.py "$GTRACE" "$dir"
	check "$name-progress" grep -q 'dumps (last: target exited)' "$TMP/flight.log"
done

# Usage errors: exit 2 with one line.
usage_err() {
	local name=$1; shift
	"$GTRACE" flight "$@" >/dev/null 2>"$TMP/err"; rc=$?
	check "flight/usage-$name" sh -c "[ $rc -eq 2 ] && [ \$(wc -l < '$TMP/err') -eq 1 ]"
}
usage_err no-window -p 1
usage_err bad-trigger -p 1 --window 5 -t 'cpu>5'
usage_err bad-duration -p 1 --window 5 -t 'blocked>5parsecs'
"$GTRACE" flight -p $(( $(cat /proc/sys/kernel/pid_max) + 1 )) --window 5 >/dev/null 2>"$TMP/err"; rc=$?
check flight/no-pid sh -c "[ $rc -eq 1 ] && grep -q 'no process' '$TMP/err'"

# Memory: a busy fixture for ~20 s, a 2 s / 8 MB window; RSS sampled every second.
FIXARGS=(-busy 20s)
dir=$TMP/rss; mkdir -p "$dir"
if start_pair "$FIX/flightgen-$last-plain" "$dir" --window 2 --window-mb 8 --buffer 4M; then
	samples=""
	for _ in $(seq 22); do
		sleep 1
		r=$(awk '/^VmRSS/{print $2}' /proc/$gpid/status 2>/dev/null) || break
		[ -n "$r" ] && samples="$samples $r"
	done
	for _ in $(seq 100); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
	kill -INT "$gpid" 2>/dev/null; wait "$gpid"
	events=$(ls "$dir"/*.gtr 2>/dev/null | head -1 | xargs -r "$GTRACE" report -q -f jsonl 2>/dev/null | wc -l)
	set -- $samples
	n=$#
	max=$(printf '%s\n' $samples | sort -n | tail -1)
	at5=$(echo $samples | cut -d' ' -f5)
	end=$(echo $samples | awk '{print $NF}')
	echo "  flight RSS (KB) over $n s: max $max, at 5 s $at5, at end $end; last dump $events lines"
	# bound: window 8 MB + ring buffer 4 MB + state, libs and symbols
	# the recorder must have lived through the busy run: with fewer samples
	# there is nothing to call flat (an empty list would make end - at5 = 0)
	check flight/rss-samples test "$n" -ge 15
	check flight/rss-bounded test "${max:-999999}" -lt 81920
	check flight/rss-flat test "$n" -ge 15 -a $(( ${end:-0} - ${at5:-0} )) -lt 8192
else
	fail flight/rss-start
fi

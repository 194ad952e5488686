#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Every stream of a real program follows the documented goroutine state
# machine (docs/capture-format.md): the script fixture (every event class)
# and the flood fixture under GOGC=1 (ping-pong at ~100k transitions/s with
# the GC always on) on each Go version, recorded and checked by
# tests/e2e/check_states.py, which is written from the docs, not from
# gstate.c.  Nothing may be lost and no transition may be unexpected.  (The
# preempt{gc_suspend} case comes from Debian's etcd in `make corpus`.)  The
# checker itself must reject a stream that breaks the table.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip states "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip states "no fixtures in $FIX"; exit 0; }

# the checker can fail: a park of a runnable goroutine, and gc_suspend read as plain preempt
printf '%s\n' '{"ev":"capture"}' '{"ev":"create","t":1,"goid":5}' '{"ev":"park","t":2,"goid":5}' > "$TMP/bad1.jsonl"
printf '%s\n' '{"ev":"capture"}' '{"ev":"create","t":1,"goid":5}' '{"ev":"start","t":2,"goid":5}' \
	'{"ev":"preempt","t":3,"goid":5}' '{"ev":"unpark","t":4,"goid":5,"by":18}' > "$TMP/bad2.jsonl"
sed 's/"preempt","t":3,"goid":5/"preempt","t":3,"goid":5,"gc_suspend":true/' "$TMP/bad2.jsonl" > "$TMP/good2.jsonl"
check states/checker-rejects bash -c '! python3 tests/e2e/check_states.py "$1" >/dev/null &&
	! python3 tests/e2e/check_states.py "$2" >/dev/null &&
	python3 tests/e2e/check_states.py "$3" >/dev/null' _ "$TMP/bad1.jsonl" "$TMP/bad2.jsonl" "$TMP/good2.jsonl"

for v in $vers; do
	for prog in script flood; do
		name=states/$prog-$v
		bin=$FIX/$prog-$v-plain
		[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
		if [ $prog = script ]; then
			spawn "$TMP/$prog-$v.out" "$bin" -loop -n 2
		else
			spawn "$TMP/$prog-$v.out" env GOGC=1 "$bin" -pairs 4 -d 30
		fi
		fpid=$SPAWN_PID
		sleep 0.3
		"$GTRACE" record -p "$fpid" -d 2 -q --no-az-detect -o "$TMP/$prog-$v.gtr" \
			2> "$TMP/$prog-$v.err" ||
			{ indent "$TMP/$prog-$v.err"; fail "$name: record failed"; kill -KILL "$fpid"; continue; }
		kill -KILL "$fpid"; wait_exit "$fpid" 10
		"$GTRACE" report "$TMP/$prog-$v.gtr" -f jsonl > "$TMP/$prog-$v.jsonl" 2>/dev/null
		check "$name" python3 tests/e2e/check_states.py "$TMP/$prog-$v.jsonl" --no-loss \
			--min-events 200
		grep -h '^states:' <(python3 tests/e2e/check_states.py "$TMP/$prog-$v.jsonl") | sed 's/^/  /'
	done
done

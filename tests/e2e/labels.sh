#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gtrace report --labels on the labelpool fixture (tests/fixtures/labelpool),
# for every Go version built: the fixture spins for known times in labelled
# handlers, in a pool created at start-up and in a handler that forgot
# pprof.Do, and prints its own account; tests/e2e/labels_check.py holds the
# report (jsonl, text, the pprof `labels` profile read back by
# `go tool pprof -raw`) against that account: the pool's creation site is
# the largest unlabelled share, the forgetful route is named, running
# shares and wake-up shares within 5 points, pprof.Do exits counted exactly.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip labels "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip labels "no fixtures in $FIX"; exit 0; }
GO=/usr/local/go/bin/go
src=tests/fixtures/labelpool/main.go

for v in $vers; do
	name=labels/$v
	bin=$FIX/labelpool-$v-plain
	[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
	d=$TMP/$v
	mkdir -p "$d"
	start_recording "$name" "$d" "$bin" -wait -d 2.5s -- -d 30 || continue
	fpid=$FPID gpid=$GPID
	wait_exit "$fpid" 30
	wait_exit "$gpid" 30
	if [ $EXIT_RC -ne 0 ] || ! grep -q '^done$' "$d/fix.out"; then
		indent "$d/rec.err"; indent "$d/fix.out"; fail "$name: recording failed"; continue
	fi
	if ! "$GTRACE" report "$d/cap" --labels -f jsonl -o "$d/labels.jsonl" 2>"$d/err" ||
	   ! "$GTRACE" report "$d/cap" > "$d/report.txt" 2>>"$d/err" ||
	   ! "$GTRACE" report "$d/cap" --labels -f pprof -o "$d/labels.pb.gz" 2>>"$d/err" ||
	   ! "$GO" tool pprof -raw "$d/labels.pb.gz" > "$d/labels.raw" 2>>"$d/err"; then
		indent "$d/err"; fail "$name: report failed"; continue
	fi
	[ -n "${KEEP_LABELS:-}" ] && cp -r "$d" "$KEEP_LABELS/"
	python3 tests/e2e/labels_check.py "$name" "$src" "$d/fix.out" "$d/labels.jsonl" \
		"$d/report.txt" "$d/labels.raw"
done

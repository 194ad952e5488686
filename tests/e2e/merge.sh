#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gtrace merge on two real captures: two script fixtures (Go 1.26), each
# recorded with its own zone (--az), their scripts started by SIGUSR1 1 s
# apart at wall times the test notes.  The merged Perfetto (decoded with the
# upstream protos, tools/py-venv.sh), Chrome JSON and jsonl must each show
# two processes named "<host> <zone> pid <pid> (±bound)", put every event of
# A's workers before B's, and place both scripts where and when they ran:
# first worker event after its signal, the gap between the two within
# 150 ms of the real 1 s (tests/e2e/merge_check.py).  The three outputs
# agree on event counts; a missing capture fails with exit 1.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

bin=$FIX/script-go1.26-plain
[ -x "$GTRACE" ] || { skip merge "no $GTRACE (run make)"; exit 0; }
[ -x "$bin" ] || { skip merge "no fixture $bin (tests/fixtures/build.sh)"; exit 0; }

# start NAME ZONE: a waiting fixture and a recorder on it, not released yet;
# sets pid_NAME, rec_NAME
start() {
	mkdir -p "$TMP/$1"
	start_recording "" "$TMP/$1" "$bin" -wait --hold -d 4 --az "$2"
	eval "pid_$1=$FPID rec_$1=$GPID"
	ln -sf "$TMP/$1/cap" "$TMP/$1.gtr"
	ln -sf "$TMP/$1/rec.err" "$TMP/$1.rec"
	ln -sf "$TMP/$1/fix.out" "$TMP/$1.out"
}
start a e2e-zone-a
start b e2e-zone-b
ta=$(date +%s%N); kill -USR1 "$pid_a"
sleep 1
tb=$(date +%s%N); kill -USR1 "$pid_b"
ok=1
for p in $rec_a $rec_b; do wait "$p" || ok=0; done
wait "$pid_a" "$pid_b" 2>/dev/null
BG_PIDS=
if [ $ok = 0 ] || [ ! -s "$TMP/a.gtr" ] || [ ! -s "$TMP/b.gtr" ]; then
	tail -3 "$TMP/a.rec" "$TMP/b.rec" | sed 's/^/  /'
	for t in record perfetto chrome jsonl counts errors; do fail "merge/$t"; done
	exit 0
fi
pass merge/record
workers() { awk '$1 == "worker" {print $2}' "$TMP/$1.out" | paste -sd, -; }
args=("$pid_a" e2e-zone-a "$(workers a)" "$ta" "$pid_b" e2e-zone-b "$(workers b)" "$tb")

# merged FORMAT PYTHON OUT: merge A and B, then check OUT with merge_check.py
merged() {
	"$GTRACE" merge "$TMP/a.gtr" "$TMP/b.gtr" -f "$1" -o "$3" &&
		"$2" tests/e2e/merge_check.py "$1" "$3" "${args[@]}"
}
if ! py=$(tools/py-venv.sh 2>"$TMP/venv.err"); then
	sed 's/^/  /' "$TMP/venv.err" | tail -3; fail merge/perfetto
else
	check merge/perfetto merged perfetto "$py" "$TMP/m.pftrace"
fi
check merge/chrome merged chrome python3 "$TMP/m.json"
check merge/jsonl merged jsonl python3 "$TMP/m.jsonl"

# the merged jsonl holds exactly each capture's own events; the merged
# chrome has one slice per state interval of the two captures, counted by
# replaying each capture's own events (export_check.py), not by an exporter
check merge/counts python3 - "$GTRACE" "$TMP" <<'PY'
import json, subprocess, sys
g, tmp = sys.argv[1:]
merged = [json.loads(l) for l in open(tmp + '/m.jsonl')]
intervals = 0
for i, name in enumerate(('a', 'b')):
    own = subprocess.run([g, 'report', '%s/%s.gtr' % (tmp, name), '-f', 'jsonl', '-q'],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    open('%s/%s.jsonl' % (tmp, name), 'w').write('\n'.join(own) + '\n')
    intervals += int(subprocess.run(['python3', 'tests/e2e/export_check.py', '%s/%s.jsonl' % (tmp, name), 'slices'],
                                    capture_output=True, text=True, check=True).stdout)
    mine = [e for e in merged if e.get('capture') == i and e['ev'] != 'capture']
    assert len(mine) == len(own) - 1, 'capture %d: %d merged events, %d own' % (i, len(mine), len(own) - 1)
    strip = lambda e: {k: v for k, v in e.items() if k not in ('capture', 'order_uncertain')}
    assert sorted(map(json.dumps, map(strip, mine))) == sorted(map(json.dumps, map(json.loads, own[1:]))), \
        'capture %d: merged events differ from its own jsonl' % i
ch = json.load(open(tmp + '/m.json'))
nb = sum(1 for e in ch['traceEvents'] if e['ph'] == 'B')
ne = sum(1 for e in ch['traceEvents'] if e['ph'] == 'E')
assert nb == ne and nb > 0, 'chrome B %d E %d' % (nb, ne)
assert nb == intervals, 'merged chrome has %d slices, the two captures %d state intervals' % (nb, intervals)
print('%d slices' % nb)
PY

check merge/errors sh -c '! "$0" merge "$1" /nonexistent.gtr -o "$2" 2>"$2.err" && [ $(wc -l < "$2.err") -ge 1 ] &&
	grep -q "cannot open /nonexistent.gtr" "$2.err" && ! "$0" merge -o "$2" 2>/dev/null' \
	"$GTRACE" "$TMP/a.gtr" "$TMP/x.out"

#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exporters on a real capture: records the script fixture (Go 1.26) for a
# few seconds, then checks each output format against the capture itself
# (`gtrace report -f jsonl`, replayed through an independent state machine
# below): pprof sample counts and summed delays per state equal the jsonl
# replay (read back with `go tool pprof -raw`), -tagfocus on kind selects
# exactly the fixture's goroutines of that kind; Perfetto decodes with the
# upstream protos of the `perfetto` Python package (tools/py-venv.sh) with
# balanced slices and paired flows, one track per goroutine; Chrome JSON
# nests and pairs its flows and has the same slices; text summary counts.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

bin=$FIX/script-go1.26-plain
[ -x "$GTRACE" ] || { skip export "no $GTRACE (run make)"; exit 0; }
[ -x "$bin" ] || { skip export "no fixture $bin (tests/fixtures/build.sh)"; exit 0; }
GO=$(command -v go || echo /usr/local/go/bin/go)

# ---- record ----
cap=$TMP/script.gtr
"$bin" -wait > "$TMP/fixture.out" 2>&1 &
fix_pid=$!
BG_PIDS="$fix_pid"
for _ in $(seq 50); do grep -q '^ready' "$TMP/fixture.out" && break; sleep 0.1; done
"$GTRACE" record -p "$fix_pid" -d 3 -o "$cap" --no-az-detect --az e2e-zone-1 > "$TMP/record.out" 2>&1 &
rec_pid=$!
BG_PIDS="$fix_pid $rec_pid"
# signal the fixture once the probes are attached
for _ in $(seq 100); do grep -q 'recording pid' "$TMP/record.out" && break; sleep 0.1; done
kill -USR1 "$fix_pid" 2>/dev/null
wait "$rec_pid"; rec_rc=$?
wait "$fix_pid" 2>/dev/null
BG_PIDS=
if [ $rec_rc -ne 0 ] || [ ! -s "$cap" ]; then
	sed 's/^/  /' "$TMP/record.out" | tail -5
	for t in record jsonl pprof-offcpu pprof-tagfocus perfetto chrome text; do fail "export/$t"; done
	exit 0
fi
pass export/record

check export/jsonl sh -c '"$0" report "$1" -f jsonl -o "$2"' "$GTRACE" "$cap" "$TMP/cap.jsonl"

# ---- pprof ----
if "$GTRACE" report "$cap" -f pprof -o "$TMP/offcpu.pb.gz" 2>"$TMP/err" &&
   "$GO" tool pprof -raw "$TMP/offcpu.pb.gz" > "$TMP/offcpu.raw" 2>"$TMP/err"; then
	check export/pprof-offcpu python3 - "$TMP/cap.jsonl" "$TMP/offcpu.raw" <<'PY'
import json, re, sys
# Replay the capture: what every goroutine did, from the events alone.
evs = [json.loads(l) for l in open(sys.argv[1])][1:]
prior = {'start': 'runnable', 'park': 'running', 'unpark': 'waiting', 'preempt': 'running',
         'yield': 'running', 'syscall_enter': 'running', 'syscall_exit': 'syscall',
         'exit': 'running', 'wait_end': 'waiting', 'labels': 'running'}
first = min(e['mono'] for e in evs if 'mono' in e)
last = max(e['mono'] for e in evs if 'mono' in e)
g = {}
want = {'waiting': [0, 0], 'syscall': [0, 0]}
def close(st, t):
    s, since, pseudo = st
    if s in want and not pseudo:
        want[s][0] += 1
        want[s][1] += max(t, since) - since
for e in evs:
    ev, goid, t = e['ev'], e.get('goid', 0), e.get('mono', 0)
    if not goid or ev in ('loss', 'stack', 'labelset'):
        continue
    if ev == 'create':
        g[goid] = ['waiting' if e.get('parked') else 'runnable', t, False]
        continue
    if ev == 'snapshot':
        s = {'runnable': 'runnable', 'preempted': 'runnable', 'running': 'running',
             'copystack': 'running', 'syscall': 'syscall', 'waiting': 'waiting'}.get(e.get('status'))
        if s and goid not in g:
            g[goid] = [s, t, False]
        continue
    if ev not in prior:
        continue
    if goid not in g:
        g[goid] = [prior[ev], first, ev == 'wait_end']
    if ev == 'labels':
        continue
    st = g[goid]
    close(st, t)
    since = max(t, st[1])
    nxt = {'start': 'running', 'wait_end': 'running', 'park': 'waiting', 'unpark': 'runnable',
           'preempt': 'runnable', 'yield': 'runnable', 'syscall_enter': 'syscall',
           'syscall_exit': 'runnable' if e.get('to_runnable') else 'running', 'exit': None}[ev]
    if nxt is None:
        del g[goid]
    else:
        g[goid] = [nxt, since, ev == 'park' and bool(e.get('pseudo'))]
for st in g.values():
    close(st, last)
# Read the profile back as pprof itself decodes it.
got = {'waiting': [0, 0], 'syscall': [0, 0]}
cur = None
for line in open(sys.argv[2]):
    m = re.match(r'^\s+(\d+)\s+(\d+): ', line)
    if m:
        cur = [int(m.group(1)), int(m.group(2))]
        continue
    m = re.search(r'state:\[(\w+)\]', line)
    if m and cur:
        got[m.group(1)][0] += cur[0]
        got[m.group(1)][1] += cur[1]
        cur = None
assert want['waiting'][0] > 0, 'no waits recorded'
assert got == want, 'pprof %s != capture %s' % (got, want)
print(want)
PY
else
	sed 's/^/  /' "$TMP/err" | tail -3; fail export/pprof-offcpu
fi

# -tagfocus on a label selects exactly the goroutines the fixture ran with it
check export/pprof-tagfocus sh -c '
	want=$(awk "\$1 == \"worker\" && \$3 == \"mutex\" {print \$2}" "$1" | sort -n | tr "\n" " ")
	got=$("$2" tool pprof -raw -tagfocus="kind=^mutex\$" "$3" 2>/dev/null |
		sed -n "s/.*goid:\[\([0-9]*\) goid\].*/\1/p" | sort -nu | tr "\n" " ")
	[ -n "$want" ] && [ "$want" = "$got" ] || { echo "fixture: $want pprof: $got"; exit 1; }' \
	sh "$TMP/fixture.out" "$GO" "$TMP/offcpu.pb.gz"

for kind in schedlat goroutine lifetime; do
	check "export/pprof-$kind" sh -c '"$0" report "$1" -f pprof --profile "$2" -o "$3" &&
		"$4" tool pprof -raw "$3" | grep -q "^Samples:"' \
		"$GTRACE" "$cap" "$kind" "$TMP/$kind.pb.gz" "$GO"
done

# ---- Perfetto ----
ngor=$(python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])][1:]
print(len({e["goid"] for e in evs if e.get("goid") and e["ev"] not in ("loss",)}))' "$TMP/cap.jsonl")
if ! py=$(tools/py-venv.sh 2>"$TMP/venv.err"); then
	sed 's/^/  /' "$TMP/venv.err" | tail -3; fail export/perfetto
elif "$GTRACE" report "$cap" -f perfetto -o "$TMP/trace.pftrace" 2>"$TMP/err" &&
     out=$("$py" tests/e2e/perfetto_check.py "$TMP/trace.pftrace" 2>&1); then
	pf_slices=$(printf '%s\n' "$out" | sed -n 's/.*slices=\([0-9]*\).*/\1/p')
	pf_tracks=$(printf '%s\n' "$out" | sed -n 's/^tracks=\([0-9]*\).*/\1/p')
	if [ "$pf_tracks" = "$ngor" ]; then pass export/perfetto
	else echo "  $out (capture has $ngor goroutines)"; fail export/perfetto; fi
else
	printf '%s\n' "${out:-$(cat "$TMP/err")}" | tail -5 | sed 's/^/  /'; fail export/perfetto
fi

# ---- Chrome JSON ----
check export/chrome sh -c '"$0" report "$1" -f chrome -o "$2" && python3 - "$2" "$3" <<"PY"
import collections, json, sys
d = json.load(open(sys.argv[1]))
depth, names, s, f, nb = collections.Counter(), {}, {}, {}, 0
for e in d["traceEvents"]:
    k = (e["pid"], e["tid"])
    if e["ph"] == "M" and e["name"] == "thread_name":
        names[k] = e["args"]["name"]
    elif e["ph"] == "B":
        assert k in names, "slice before thread_name on %s" % (k,)
        depth[k] += 1
        nb += 1
    elif e["ph"] == "E":
        depth[k] -= 1
        assert depth[k] >= 0, "E without B on %s" % (k,)
    elif e["ph"] == "s":
        s[e["id"]] = e
    elif e["ph"] == "f":
        f[e["id"]] = e
assert not any(depth.values()), "unbalanced"
assert set(s) == set(f), "unpaired flows"
assert all(s[i]["ts"] <= f[i]["ts"] for i in s), "flow goes back in time"
assert "wall_start_ns" in d["otherData"]
assert not sys.argv[2] or nb == int(sys.argv[2]), "chrome %d slices, perfetto %s" % (nb, sys.argv[2])
PY' "$GTRACE" "$cap" "$TMP/trace.json" "${pf_slices:-}"

# ---- text ----
ncreated=$(grep -c '"ev":"create"' "$TMP/cap.jsonl")
check export/text sh -c '"$0" report "$1" > "$2" && grep -q "^goroutines" "$2" &&
	grep -q "  $3 created" "$2" && grep -q "^top blocking stacks" "$2" &&
	grep -q "{idx=[0-9], kind=[a-z]*}" "$2" || { head -30 "$2"; exit 1; }' \
	"$GTRACE" "$cap" "$TMP/report.txt" "$ncreated"

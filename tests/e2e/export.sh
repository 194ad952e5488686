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
d=$TMP/rec; mkdir -p "$d"
cap=$d/cap
# released once the probes are attached
if start_recording "" "$d" "$bin" -wait -- -d 3 --az e2e-zone-1; then
	wait "$GPID"; rec_rc=$?
	wait "$FPID" 2>/dev/null
else
	rec_rc=1
fi
if [ $rec_rc -ne 0 ] || [ ! -s "$cap" ]; then
	indent "$d/rec.err" 5
	for t in record jsonl pprof-offcpu pprof-schedlat pprof-goroutine pprof-lifetime pprof-tagfocus perfetto chrome text; do fail "export/$t"; done
	exit 0
fi
pass export/record

check export/jsonl sh -c '"$0" report "$1" -f jsonl -o "$2"' "$GTRACE" "$cap" "$TMP/cap.jsonl"

# ---- pprof ----
# every profile against the replay of the capture's events (export_check.py)
for kind in offcpu schedlat goroutine lifetime; do
	if "$GTRACE" report "$cap" -f pprof --profile "$kind" -o "$TMP/$kind.pb.gz" 2>"$TMP/err" &&
	   "$GO" tool pprof -raw "$TMP/$kind.pb.gz" > "$TMP/$kind.raw" 2>"$TMP/err"; then
		check "export/pprof-$kind" python3 tests/e2e/export_check.py "$TMP/cap.jsonl" "$kind" "$TMP/$kind.raw"
	else
		sed 's/^/  /' "$TMP/err" | tail -3; fail "export/pprof-$kind"
	fi
done

# -tagfocus on a label selects exactly the goroutines the fixture ran with it
check export/pprof-tagfocus sh -c '
	want=$(awk "\$1 == \"worker\" && \$3 == \"mutex\" {print \$2}" "$1" | sort -n | tr "\n" " ")
	got=$("$2" tool pprof -raw -tagfocus="kind=^mutex\$" "$3" 2>/dev/null |
		sed -n "s/.*goid:\[\([0-9]*\) goid\].*/\1/p" | sort -nu | tr "\n" " ")
	[ -n "$want" ] && [ "$want" = "$got" ] || { echo "fixture: $want pprof: $got"; exit 1; }' \
	sh "$d/fix.out" "$GO" "$TMP/offcpu.pb.gz"

# ---- Perfetto ----
# expected from the replay of the capture: one track per goroutine, one
# slice per state interval (export_check.py)
ngor=$(python3 tests/e2e/export_check.py "$TMP/cap.jsonl" goroutines)
nslices=$(python3 tests/e2e/export_check.py "$TMP/cap.jsonl" slices)
if ! py=$(tools/py-venv.sh 2>"$TMP/venv.err"); then
	sed 's/^/  /' "$TMP/venv.err" | tail -3; fail export/perfetto
elif "$GTRACE" report "$cap" -f perfetto -o "$TMP/trace.pftrace" 2>"$TMP/err" &&
     out=$("$py" tests/e2e/perfetto_check.py "$TMP/trace.pftrace" --summary "$TMP/pf.json" --stats 2>&1); then
	pf_slices=$(printf '%s\n' "$out" | sed -n 's/^tracks=.* slices=\([0-9]*\).*/\1/p')
	pf_tracks=$(printf '%s\n' "$out" | sed -n 's/^tracks=\([0-9]*\).*/\1/p')
	# the fixture's main goroutine has hundreds of slices: it must have got a
	# sequence of its own (its track the default: only such sequences have
	# one), and delta timestamps (those and the pool's), resolved above
	pf_seqs=$(printf '%s\n' "$out" | sed -n 's/^sequences=\([0-9]*\).*/\1/p')
	pf_delta=$(printf '%s\n' "$out" | sed -n 's/.* delta_ts=\([0-9]*\).*/\1/p')
	pf_deftrack=$(printf '%s\n' "$out" | sed -n 's/.* default_track=\([0-9]*\).*/\1/p')
	if [ -n "$ngor" ] && [ "$pf_tracks" = "$ngor" ] && [ -n "$nslices" ] && [ "$pf_slices" = "$nslices" ] &&
	   [ "${pf_seqs:-0}" -ge 2 ] && [ "${pf_delta:-0}" -gt 0 ] && [ "${pf_deftrack:-0}" -gt 0 ]; then
		pass export/perfetto
	else echo "  $out (capture has $ngor goroutines, $nslices state intervals)"; fail export/perfetto; fi
else
	printf '%s\n' "${out:-$(cat "$TMP/err")}" | tail -5 | sed 's/^/  /'; fail export/perfetto
fi

# ---- Chrome JSON ----
check export/chrome sh -c '"$0" report "$1" -f chrome -o "$2" && python3 - "$2" "$3" "$4" <<"PY"
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
assert nb == int(sys.argv[2]), "chrome %d slices, capture has %s state intervals" % (nb, sys.argv[2])
assert len(names) == int(sys.argv[3]), "chrome %d threads, capture has %s goroutines" % (len(names), sys.argv[3])
PY' "$GTRACE" "$cap" "$TMP/trace.json" "${nslices:--1}" "${ngor:--1}"

# ---- text ----
ncreated=$(grep -c '"ev":"create"' "$TMP/cap.jsonl")
check export/text sh -c '"$0" report "$1" > "$2" && grep -q "^goroutines" "$2" &&
	grep -q "  $3 created" "$2" && grep -q "^top blocking stacks" "$2" &&
	grep -q "{idx=[0-9], kind=[a-z]*}" "$2" || { head -30 "$2"; exit 1; }' \
	"$GTRACE" "$cap" "$TMP/report.txt" "$ncreated"

# ---- Perfetto compaction: the UI shows what the plain rendering shows ----
# Perfetto interns names, annotation names and values, puts short-lived
# goroutines' events on a pool of delta-clock sequences and long-lived
# goroutines on sequences of their own (default track, delta clock), groups
# goroutine tracks by start function and reuses flow ids; Chrome JSON
# spells everything out.  Both render the same timeline,
# so with every interned name, default and clock resolved
# (perfetto_check.py --summary) the slices by name, the label and stack
# arguments, the flows and the instants must be equal, and so must every
# track's events, at the same nanosecond, in the same order.
check export/perfetto-vs-chrome python3 - "$TMP/pf.json" "$TMP/trace.json" <<'PY'
import collections, json, sys
pf = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
names, args, flows, inst, tracks = collections.Counter(), collections.Counter(), 0, 0, set()
for e in d["traceEvents"]:
    if e["ph"] == "B":
        names[e["name"]] += 1
        for k, v in (e.get("args") or {}).items():
            args["%s=%s" % (k, v)] += 1
    elif e["ph"] == "s":
        flows += 1
    elif e["ph"] == "i":
        inst += 1
    elif e["ph"] == "M" and e["name"] == "thread_name":
        tracks.add(e["tid"])
bad = []
if collections.Counter(pf["slice_names"]) != names:
    bad.append("slice names differ: %s" % ((collections.Counter(pf["slice_names"]) - names) + (names - collections.Counter(pf["slice_names"]))))
if collections.Counter(pf["args"]) != args:
    a = collections.Counter(pf["args"])
    bad.append("arguments differ: perfetto-only %s chrome-only %s" % (list((a - args).items())[:3], list((args - a).items())[:3]))
for k, want in (("flows", flows), ("instants", inst), ("tracks", len(tracks))):
    if pf[k] != want:
        bad.append("%s: perfetto %d, chrome %d" % (k, pf[k], want))
# each track's events where and when Chrome has them: tracks, timestamps
# (sequence clocks and deltas resolved) and order, relative to the first slice
tl, ctl, cname = {}, collections.defaultdict(list), {}
for e in d["traceEvents"]:
    if e["ph"] == "M" and e["name"] == "thread_name":
        cname[e["tid"]] = e["args"]["name"]
for e in d["traceEvents"]:
    if e["ph"] in "BEi":
        ctl[cname.get(e["tid"], e["tid"])].append((round(e["ts"] * 1000), {"B": "S", "E": "E", "i": "I"}[e["ph"]], e.get("name", "")))
for k, evs in pf["timeline"].items():
    tl[k] = [(t, c, n if c != "E" else "") for t, c, n in evs]
ctl = {k: [(t, c, n if c != "E" else "") for t, c, n in v] for k, v in ctl.items()}
def norm(m):
    t0 = min((t for v in m.values() for t, c, _ in v if c == "S"), default=0)
    return {k: sorted((t - t0, c, n) for t, c, n in v) for k, v in m.items()}
tl, ctl = norm(tl), norm(ctl)
if tl != ctl:
    diff = [k for k in set(tl) | set(ctl) if tl.get(k) != ctl.get(k)]
    k = diff[0]
    bad.append("%d tracks' events differ from Chrome's, e.g. %s: perfetto %s chrome %s" %
               (len(diff), k, [x for x in tl.get(k, []) if x not in ctl.get(k, [])][:2],
                [x for x in ctl.get(k, []) if x not in tl.get(k, [])][:2]))
if not names or not flows or not any(k.startswith("kind=") for k in args):
    bad.append("nothing to compare (slices %d, flows %d, label args %s)" % (sum(names.values()), flows, [k for k in args if k.startswith("kind=")][:1]))
print("\n".join(bad) or "%d slices, %d flows, %d instants, %d tracks, %d argument values, every track's timeline equal" % (sum(names.values()), flows, inst, len(tracks), sum(args.values())))
sys.exit(1 if bad else 0)
PY

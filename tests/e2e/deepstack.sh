#!/bin/bash
# The probes' stack walk on a deep stack, for every Go version: the parked
# fixture's deep goroutine parks again and again 600 frames down
# (-deep-wake), so each park's stack spans many pages of the goroutine's
# stack, more than the walker copies at once (GT_WALK_CHUNK) and more frames
# than a record holds (GT_STACK_MAX).  Every park of it must carry the same
# stack as the snapshot's user-space walk of it (the same frames, in order,
# cut at the record's limit and marked truncated).
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip deepstack "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip deepstack "no fixtures in $FIX"; exit 0; }
for v in $vers; do
	name=deepstack/$v
	bin=$FIX/parked-$v-plain
	[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
	d=$TMP/$v
	mkdir -p "$d"
	start_fixture "$name" "$d/fix.out" "$bin" -deep-wake || continue
	fpid=$FPID
	if ! start_gtrace "$name" "$d/rec.err" recording 15 record -p "$fpid" -o "$d/cap" --no-az-detect -d 1.5; then
		kill -KILL "$fpid" 2>/dev/null; continue
	fi
	gpid=$GPID
	wait_exit "$gpid" 30; grc=$EXIT_RC
	kill -TERM "$fpid"; wait_exit "$fpid" 10
	if [ $grc -ne 0 ] || ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
		indent "$d/rec.err"; indent "$d/rep.err"; fail "$name: record exited $grc or report failed"; continue
	fi
	check "$name" python3 - "$d/cap.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])][1:]
fn = lambda f: f.split(" ")[0]
snap = [e for e in events if e["ev"] == "snapshot" and sum(fn(f) == "main.deep" for f in e.get("stack", [])) > 100]
assert len(snap) == 1, f"{len(snap)} deep goroutines in the attach snapshot"
s = snap[0]
assert s["status"] == "waiting", f"the deep goroutine was {s['status']} at attach"
parks = [e for e in events if e["ev"] == "park" and e["goid"] == s["goid"]]
assert len(parks) >= 20, f"{len(parks)} parks of the deep goroutine in 1.5 s (one per 10 ms expected)"
for p in parks:
    st = p.get("stack", [])
    assert len(st) >= 100 and p.get("stack_truncated"), \
        f"a park's stack has {len(st)} frames, truncated={p.get('stack_truncated')}"
    assert st == s["stack"][:len(st)], \
        "a park's stack differs from the snapshot's: " + next(f"frame {i}: {a} vs {b}" for i, (a, b) in enumerate(zip(st, s["stack"])) if a != b)
PY
done

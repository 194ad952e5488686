#!/bin/bash
# Loss accounting under overload: the flood fixture (goroutine pairs doing
# channel ping-pong flat out) recorded with an 8 KiB ring buffer must lose
# records, and say so exactly: loss.total > 0; for every event type
# produced == written + loss; the jsonl holds written.<type> events of each
# type; and the LOSS events' "lost" fields add up to loss.total.  Then the
# same flood with the default buffer: nothing lost, and the reader woke about
# ten times a second (record.reader_turns), not once per handful of records.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip loss "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip loss "no fixtures in $FIX"; exit 0; }

for v in $vers; do
	name=loss/$v
	bin=$FIX/flood-$v-plain
	[ -x "$bin" ] || { skip "$name" "no $bin (tests/fixtures/build.sh)"; continue; }
	d=$TMP/$v
	mkdir -p "$d"
	start_recording "$name" "$d" "$bin" -wait -d 1 -- --buffer 8K -d 30 || continue
	fpid=$FPID gpid=$GPID
	wait_exit "$fpid" 20; frc=$EXIT_RC
	wait_exit "$gpid" 20; grc=$EXIT_RC
	if [ $frc -ne 0 ] || ! grep -q '^done$' "$d/fix.out"; then
		indent "$d/fix.out"; fail "$name: fixture exited $frc"; continue
	fi
	if [ $grc -ne 0 ]; then
		indent "$d/rec.err"; fail "$name: gtrace record exited $grc"; continue
	fi
	if ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
		indent "$d/rep.err"; fail "$name: gtrace report -f jsonl failed"; continue
	fi
	check "$name" python3 - "$d/cap.jsonl" <<'PY'
import json, sys
from collections import Counter
lines = [json.loads(l) for l in open(sys.argv[1])]
cap, events = lines[0], lines[1:]
assert cap.get("ev") == "capture", "first line is not the capture line"
assert "record.stop" in cap, "no trailer (record.stop)"
total = int(cap["loss.total"])
assert total > 0, "loss.total is 0 with an 8K buffer: the flood did not overflow it (produced.total %s)" % cap.get("produced.total")
evs = Counter(e["ev"] for e in events)
probs = []
types = sorted(k.split(".", 1)[1] for k in cap if k.startswith("produced.") and k != "produced.total")
lost_sum = 0
for t in types:
    p, w, l = (int(cap["%s.%s" % (k, t)]) for k in ("produced", "written", "loss"))
    lost_sum += l
    if p != w + l:
        probs.append("%s: produced %d != written %d + loss %d" % (t, p, w, l))
    if t not in ("stack", "labelset") and evs.get(t, 0) != w:
        probs.append("%s: %d events in the jsonl, written.%s is %d" % (t, evs.get(t, 0), t, w))
if lost_sum != total:
    probs.append("sum of loss.<type> %d != loss.total %d" % (lost_sum, total))
loss_events = sum(e.get("lost", 0) for e in events if e["ev"] == "loss")
if loss_events != total:
    probs.append("LOSS events (%d of them) sum to %d lost, loss.total is %d" % (evs.get("loss", 0), loss_events, total))
print("loss.total %d of produced.total %s, %d LOSS events" % (total, cap.get("produced.total"), evs.get("loss", 0)))
assert not probs, "; ".join(probs)
PY
done

# The reader takes records in batches (tracer__poll waits for the programs'
# wake-up, an eighth of the buffer): with the default 32 MiB buffer the same
# flood, ~1 M records a second, costs it about 10 loop turns a second and
# loses nothing.  The level-triggered wait this replaced turned ~1,700 times
# a second (docs/performance.md).
v=$(echo $vers | tr ' ' '\n' | tail -1)
name=loss/batched-reader-$v
bin=$FIX/flood-$v-plain
d=$TMP/batch-$v
mkdir -p "$d"
if [ ! -x "$bin" ]; then
	skip "$name" "no $bin (tests/fixtures/build.sh)"
elif start_recording "$name" "$d" "$bin" -wait -d 2 -- -d 30; then
	wait_exit "$FPID" 20
	wait_exit "$GPID" 20; grc=$EXIT_RC
	if [ $grc -ne 0 ]; then
		indent "$d/rec.err"; fail "$name: gtrace record exited $grc"
	elif ! "$GTRACE" report "$d/cap" -f jsonl 2>"$d/rep.err" | head -1 > "$d/cap.json"; then
		indent "$d/rep.err"; fail "$name: gtrace report -f jsonl failed"
	else
		check "$name" python3 - "$d/cap.json" <<'PY'
import json, sys
cap = json.load(open(sys.argv[1]))
ev, turns = int(cap["record.events"]), int(cap["record.reader_turns"])
secs = (int(cap["record.end_mono_ns"]) - int(cap["record.start_mono_ns"])) / 1e9
print("%d events in %.2f s (%.0f k/s), %d reader turns (%.1f a second), %s lost"
      % (ev, secs, ev / secs / 1e3, turns, turns / secs, cap.get("loss.total")))
assert ev / secs > 200e3, "the flood ran at only %.0f events/s: nothing to batch" % (ev / secs)
assert int(cap.get("loss.total", 0)) == 0, "records lost with the default buffer"
assert turns <= 40 * secs + 10, "%d turns in %.1f s: the reader is not batching" % (turns, secs)
PY
	fi
fi

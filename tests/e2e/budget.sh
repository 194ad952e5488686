#!/bin/bash
# record --budget on a busy target (the flood fixture: goroutine pairs doing
# channel ping-pong flat out), for the oldest and the default Go:
#  - the target runs to the end correctly (exit 0, "done", its round count);
#  - the capture has slices and gaps: >= 2 gap events, in time order, not
#    overlapping, and no recorded event lies inside a gap (the probes were
#    really off); the trailer's duty cycle is between 0 and 50% and agrees
#    with the gaps; the traps really stopped between slices (every probe hit
#    of the run falls inside the slices' accounting, not ~4 s of attached
#    probes);
#  - every report says so: `report` prints the sliced line, pprof's comments
#    say the values are scaled (read back with `go tool pprof -raw`);
#  - each slice began with a snapshot of the goroutines, so the pairs born
#    while the probes were off are known from then on: none "first seen
#    mid-life", no off-CPU time without a stack.
# And a target idle when the capture starts (budget/idle-at-attach): while
# idle the probes stay off but for a short slice each period; when its
# work begins 2 s in, the capture picks it up within a period and slices
# it, never probing it whole.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip budget "no $GTRACE (run make)"; exit 0; }
GO=/usr/local/go/bin/go
for v in go1.19 go1.26; do
	name=budget/$v
	bin=$FIX/flood-$v-plain
	[ -x "$bin" ] || { skip "$name" "no $bin (tests/fixtures/build.sh)"; continue; }
	d=$TMP/$v
	mkdir -p "$d"
	start_recording "$name" "$d" "$bin" -wait -pairs 8 -d 5 -- --budget 2 -d 4 || continue
	fpid=$FPID gpid=$GPID
	wait_exit "$gpid" 30; grc=$EXIT_RC
	wait_exit "$fpid" 30; frc=$EXIT_RC
	if [ $frc -ne 0 ] || ! grep -q '^done$' "$d/fix.out" || ! grep -qE '^rounds [1-9]' "$d/fix.out"; then
		indent "$d/fix.out"; fail "$name: the target did not run correctly (exit $frc)"; continue
	fi
	if [ $grc -ne 0 ]; then
		indent "$d/rec.err"; fail "$name: gtrace record exited $grc"; continue
	fi
	if ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err" ||
	   ! "$GTRACE" report "$d/cap" > "$d/cap.txt" 2>> "$d/rep.err" ||
	   ! "$GTRACE" report "$d/cap" -f pprof -o "$d/off.pb" 2>> "$d/rep.err"; then
		indent "$d/rep.err"; fail "$name: gtrace report failed"; continue
	fi
	check "$name/slices" python3 - "$d/cap.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
cap, events = lines[0], lines[1:]
gaps = [e for e in events if e["ev"] == "gap"]
assert len(gaps) >= 2, f"{len(gaps)} gap events in a 4 s budget capture"
for a, b in zip(gaps, gaps[1:]):
    assert a["end"] <= b["t"], f"gaps overlap or are out of order: {a} {b}"
for g in gaps:
    assert g["end"] > g["t"], f"empty gap {g}"
    assert 0 < g["duty"] < 1, f"gap duty {g['duty']}"
# the probes were off in the gaps: nothing recorded inside one (1 ms slack for
# a probe that passed the on/off check just before it was turned off)
win = [(g["mono"], g["mono"] + (g["end"] - g["t"])) for g in gaps]
inside = [e for e in events if e["ev"] not in ("gap", "loss", "snapshot")
          and any(s + 1_000_000 < e["mono"] < t - 1_000_000 for s, t in win)]
assert not inside, f"{len(inside)} events inside gaps, e.g. {inside[0]}"
duty = float(cap["record.slice.duty"])
assert 0 < duty < 0.5, f"duty cycle {duty} with --budget 2 on a busy target"
on, off = int(cap["record.slice.on_ns"]), int(cap["record.slice.off_ns"])
gap_ns = sum(g["end"] - g["t"] for g in gaps)
assert abs(gap_ns - off) <= 0.05 * off + 2_000_000, f"gap events {gap_ns} ns vs trailer off {off} ns"
assert int(cap["record.slice.count"]) >= len(gaps), "fewer slices than gaps"
assert int(cap["record.slice.gap_est_events"]) == sum(g["est_events"] for g in gaps)
# the traps stopped between slices: all hits are accounted to the slices
# (plus the moments between attach and the first slice); attached for the
# whole 4 s they would be many times more
hits, slice_hits = int(cap["record.probe_hits"]), int(cap["record.slice.hits"])
assert slice_hits > 0, "no probe hits in the slices"
assert hits - slice_hits <= 0.25 * hits + 5000, f"{hits} hits, only {slice_hits} in slices"
assert int(cap["record.events"]) > 0 and cap["record.stop"] == "duration"
# the budget is a ceiling: the planned slices aim under it (a period that
# went over is counted, never hidden)
periods = int(cap["record.slice.count"])
over = int(cap["record.slice.over_budget"])
assert 0 <= over <= periods, f"{over} periods over the budget of {periods}"
aim = float(cap["record.slice.aim_pct"])
assert aim >= 0, f"aim {aim}"
# the trap the slicer charged per hit was measured on this host (a VM's
# trap is 0.5-3 us: an assumed 1 us over- or under-spends the budget)
trap = float(cap["record.slice.trap_ns"])
assert 50 <= trap <= 50_000, f"trap measured as {trap} ns"
PY
	# every slice begins with a snapshot of the goroutines: the flood pairs,
	# born once the capture runs, are known from the first slice that sees
	# them, never guessed from a later event (without it: "first seen
	# mid-life", waiting since the capture began, a stackless [waiting])
	check "$name/resync" sh -c 'grep -qE "^  [1-9][0-9]* corrected or first seen by the snapshots taken as slices began" "$1" &&
		grep -qE " 0 first seen mid-life;" "$1" || { grep -E "goroutines|corrected|created" "$1"; exit 1; }' sh "$d/cap.txt"
	check "$name/report" grep -qE '^  sliced +budget 2%: probes on [0-9.]+% of .*; [0-9]+ gaps of .* \(not recorded: ~[0-9]+ events, estimated\)' "$d/cap.txt"
	if [ -x "$GO" ]; then
		check "$name/pprof" bash -c "'$GO' tool pprof -raw '$d/off.pb' 2>&1 | grep -q 'sliced capture (record --budget.*probes off in [0-9]* gaps.*values scaled x'"
		check "$name/pprof-stacks" bash -c "'$GO' tool pprof -top -sample_index=delay '$d/off.pb' > '$d/off.top' 2>&1 && grep -q runtime.gopark '$d/off.top' && ! grep -q '\[waiting\]' '$d/off.top' || { grep -E 'waiting|gopark' '$d/off.top'; exit 1; }"
	else
		skip "$name/pprof" "no $GO to read the profile back"
	fi
done

# idle at attach, busy 2 s later
name=budget/idle-at-attach-go1.26
bin=$FIX/flood-go1.26-plain
d=$TMP/idle
mkdir -p "$d"
if [ ! -x "$bin" ]; then
	skip "$name" "no $bin (tests/fixtures/build.sh)"
elif start_recording "$name" "$d" "$bin" -wait -pairs 8 -d 4 --hold --budget 2 -d 6; then
	fpid=$FPID gpid=$GPID
	sleep 2
	tw=$(date +%s%N)
	kill -USR1 "$fpid"
	wait_exit "$gpid" 30; grc=$EXIT_RC
	wait_exit "$fpid" 30; frc=$EXIT_RC
	if [ $frc -ne 0 ] || ! grep -q '^done$' "$d/fix.out"; then
		indent "$d/fix.out"; fail "$name: the target did not run correctly (exit $frc)"
	elif [ $grc -ne 0 ]; then
		indent "$d/rec.err"; fail "$name: gtrace record exited $grc"
	elif ! "$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; then
		indent "$d/rep.err"; fail "$name: gtrace report failed"
	else
		check "$name" python3 - "$d/cap.jsonl" "$tw" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
cap, events = lines[0], lines[1:]
gaps = [e for e in events if e["ev"] == "gap"]
work = [e for e in events if e["ev"] not in ("gap", "loss", "snapshot")]
# the work began at the SIGUSR1 (wall clock, as the capture's "t")
t_work = int(sys.argv[2])
t_end = max(e["t"] for e in work)
# while idle the probes were off (a gap began before the work did)
assert any(g["t"] < t_work for g in gaps), "no gap while the target was idle"
# the work was captured: events after it began
after = sum(e["t"] >= t_work for e in work)
assert after > 1000, f"only {after} events after the work began"
# ... in slices: the probes were off for most of the busy part
span = t_end - t_work
off = sum(max(0, min(g["end"], t_end) - max(g["t"], t_work)) for g in gaps)
assert span > 1e9, f"busy part {span / 1e9:.2f} s"
assert off >= 0.5 * span, f"probes off {off / span:.0%} of the busy part (--budget 2)"
duty = float(cap["record.slice.duty"])
assert 0 < duty < 0.5, f"duty cycle {duty}"
print(f"  {len(gaps)} gaps, {after} events after the work began, probes off {off / span:.0%} of the busy part")
PY
	fi
fi

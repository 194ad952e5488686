#!/bin/bash
# Snapshots at scale and at the limits, each under /usr/bin/time for the peak
# RSS (bounded: GTRACE_STRESS_RSS_MB, default 1024):
#  churn:  100,000 goroutines alive, each replaced microseconds after it
#          starts (GTRACE_STRESS_CHURN): snapshot (with and without --stop)
#          exits 0, prints about that many, the target keeps churning.
#  many:   1,000,000 parked goroutines (GTRACE_STRESS_MANY): all listed.
#  deep:   a 10,000-frame stack: cut at the frame limit, stack_truncated.
#  labels: 1,000 labels on one goroutine and a 1 MB label value on another:
#          no crash, labels_truncated where cut, the rest intact.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash
. tests/stress/stress_lib.bash
[ -x "$GTRACE" ] || { skip stress/snapshot "no $GTRACE (run make)"; exit 0; }
MAXKB=$(( ${GTRACE_STRESS_RSS_MB:-1024} * 1024 ))
v=$(go_versions | tail -1)
bin=$(SFIX "$v")
[ -x "$bin" ] || { skip stress/snapshot "no $bin"; exit 0; }
# snap NAME OUT ARGS...: snapshot -f jsonl into OUT; FAILs NAME on exit != 0 or RSS too big
snap() {
	local name=$1 out=$2; shift 2
	maxrss_kb "$GTRACE" snapshot -q -f jsonl -o "$out" "$@" 2> "$out.err"
	if [ "$RUN_RC" -ne 0 ]; then indent "$out.err"; fail "$name: snapshot exited $RUN_RC"; return 1; fi
	if [ "$RSS_KB" -gt "$MAXKB" ]; then fail "$name: peak RSS $RSS_KB KB > $MAXKB KB"; return 1; fi
	echo "  $name: $(wc -l < "$out") goroutines, peak RSS $((RSS_KB / 1024)) MB"
}
d=$TMP

N=${GTRACE_STRESS_CHURN:-100000}
if start_fixture stress/snapshot/churn "$d/churn.out" "$bin" -mode churn -n "$N"; then
	ok=1 end=$((SECONDS + 60)) # until the churn has ramped up to half of N alive
	while [ $SECONDS -lt $end ] && [ "$(awk '/^churned/ { a = $4 } END { print a + 0 }' "$d/churn.out")" -lt $((N / 2)) ]; do sleep 0.5; done
	for stop in "" --stop; do
		snap "stress/snapshot/churn$stop" "$d/churn$stop.jsonl" -p "$FPID" $stop || { ok=""; break; }
		got=$(wc -l < "$d/churn$stop.jsonl")
		alive=$(awk '/^churned/ { a = $4 } END { print a + 0 }' "$d/churn.out") # the target's last count
		[ "$got" -ge $((alive / 2)) ] && [ "$got" -le $((N + 100)) ] ||
			{ fail "stress/snapshot/churn$stop: $got goroutines, the target last counted $alive (at most $N)"; ok=""; break; }
	done
	a=$(grep -c '^churned' "$d/churn.out"); sleep 1.5
	[ -n "$ok" ] && { [ "$(grep -c '^churned' "$d/churn.out")" -gt "$a" ] && kill -0 "$FPID" && pass stress/snapshot/churn ||
		fail "stress/snapshot/churn: the target stopped churning"; }
	kill -KILL "$FPID"
fi

N=${GTRACE_STRESS_MANY:-1000000}
if start_fixture stress/snapshot/many "$d/many.out" "$bin" -mode many -n "$N"; then
	if snap stress/snapshot/many "$d/many.jsonl" -p "$FPID"; then
		got=$(wc -l < "$d/many.jsonl")
		[ "$got" -ge "$N" ] && pass stress/snapshot/many || fail "stress/snapshot/many: $got goroutines, want >= $N"
	fi
	kill -KILL "$FPID"
fi

if start_fixture stress/snapshot/deep "$d/deep.out" "$bin" -mode deep -n 10000; then
	snap stress/snapshot/deep "$d/deep.jsonl" -p "$FPID" &&
		check stress/snapshot/deep python3 -c '
import json, sys
gs = [json.loads(l) for l in open(sys.argv[1])]
d = [g for g in gs if any("main.deep" in json.dumps(f) for f in g.get("stack", []))]
assert d, "no goroutine in main.deep"
assert d[0]["stack_truncated"] is True, "10,000 frames and not flagged truncated"
print(len(d[0]["stack"]), "frames kept")' "$d/deep.jsonl"
	kill -KILL "$FPID"
fi

if start_fixture stress/snapshot/labels "$d/labels.out" "$bin" -mode labels -n 1000 -bigval 1048576; then
	snap stress/snapshot/labels "$d/labels.jsonl" -p "$FPID" &&
		check stress/snapshot/labels python3 -c '
import json, sys
gs = [json.loads(l) for l in open(sys.argv[1])]
lab = [g for g in gs if g.get("labels")]
many = [g for g in lab if any(k.startswith("key") for k in g["labels"])]
big = [g for g in lab if "big" in g["labels"]]
assert many, "the 1,000-label goroutine has no labels"
m = many[0]
assert len(m["labels"]) == 1000 or m["labels_truncated"], "labels cut (%d) and not flagged" % len(m["labels"])
for k, val in m["labels"].items():
    assert val == "value" + k[3:], "label %s=%r wrong" % (k, val)
assert big, "the 1 MB label is missing"
b = big[0]["labels"]["big"]
assert set(b) <= {"v"} and (len(b) == 1 << 20 or big[0]["labels_truncated"]), "1 MB value: %d bytes, not flagged" % len(b)
print("labels kept: %d (truncated %s); big value %d bytes (truncated %s)" % (len(m["labels"]), m["labels_truncated"], len(b), big[0]["labels_truncated"]))' "$d/labels.jsonl"
	kill -KILL "$FPID"
fi
exit 0 # the results are the PASS/FAIL lines

#!/bin/bash
# A recording killed with SIGKILL mid-capture (no trailer, possibly a torn
# last chunk) must still be readable: `gtrace report CAP -f jsonl` exits 0
# (a warning about the missing trailer is fine), prints the capture line
# (without record.stop) and the events flushed before the kill, which must
# include creates, starts and exits of the busy fixture's workers.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip sigkill "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip sigkill "no fixtures in $FIX"; exit 0; }

for v in $vers; do
	name=sigkill/$v
	bin=$FIX/script-$v-plain
	[ -x "$bin" ] || { skip "$name" "no $bin"; continue; }
	d=$TMP/$v
	mkdir -p "$d"
	spawn "$d/fix.out" "$bin" -loop -n 2; fpid=$SPAWN_PID
	spawn "$d/rec.err" "$GTRACE" record -p "$fpid" -o "$d/cap" --no-az-detect -d 60
	gpid=$SPAWN_PID
	if ! wait_line "$d/rec.err" 'recording' 15; then
		indent "$d/rec.err"; fail "$name: gtrace did not start recording in 15 s"
		kill -KILL "$fpid" "$gpid" 2>/dev/null; continue
	fi
	sleep 1.5 # several 100 ms flushes, a few script iterations
	kill -KILL "$gpid"
	wait_exit "$gpid" 10
	kill -KILL "$fpid"; wait_exit "$fpid" 10
	"$GTRACE" report "$d/cap" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"; rc=$?
	if [ $rc -ne 0 ]; then
		indent "$d/rep.err"; fail "$name: gtrace report exited $rc on the killed capture"; continue
	fi
	check "$name" python3 - "$d/cap.jsonl" "$d/rep.err" "$d/fix.out" <<'PY'
import json, sys
from collections import Counter
lines = [json.loads(l) for l in open(sys.argv[1])]
err = open(sys.argv[2]).read()
# the workers the fixture printed (it prints each once it was created)
workers = {int(l.split()[1]) for l in open(sys.argv[3]) if l.startswith("worker ")}
assert lines and lines[0].get("ev") == "capture", "no capture line"
assert "record.stop" not in lines[0], "a killed recording has a trailer?"
c = Counter(e["ev"] for e in lines[1:])
assert sum(c.values()) > 0, "no events; stderr: %r" % err
for k in ("create", "start", "exit"):
    assert c[k] > 0, "no %s events: %r" % (k, dict(c))
    # ...and of the fixture's own workers, not just of any goroutine
    mine = {e.get("goid") for e in lines[1:] if e["ev"] == k} & workers
    assert mine, "no %s event of any of the fixture's %d workers" % (k, len(workers))
for l in err.splitlines():
    assert "warning" in l or not l.strip(), "unexpected stderr line %r" % l
print("events %r; stderr %r" % (dict(c), err.strip()))
PY
done

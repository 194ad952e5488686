#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Executables that changed on disk after start, and processes in their own
# namespaces.  Probes, symbols and offsets must come from the file the
# process mapped (/proc/PID/exe), never from what its path names now:
#  - deleted: the binary is removed after start;
#  - replaced: a Go 1.27 binary is moved over the path of a running Go 1.19
#    one (as deploys do); the capture must say go1.19, its stacks must
#    symbolize, and the stream must follow the state machine;
#  - unshare -pfm --mount-proc: a new PID and mount namespace; the capture
#    records the host pid and the namespace pid (target.ns_pid = 1);
#  - the CPU sampler on a target in its own PID namespace (profile --cpu):
#    its threads' m.procid are namespace tids, and the samples must still
#    carry the burners' goids and labels (check_cpu.py on the cpu column).
# Each target must also keep running and print its own output.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip containers "no $GTRACE (run make)"; exit 0; }
old=$FIX/script-go1.19-plain
new=$FIX/script-go1.27-plain
[ -x "$old" ] && [ -x "$new" ] || { skip containers "no go1.19/go1.27 script fixtures"; exit 0; }

# recorded NAME PID WANTVER [NSPID]: record 2 s, then judge the capture
recorded() {
	local name=$1 pid=$2 want=$3 nspid=${4:-}
	"$GTRACE" record -p "$pid" -d 2 --no-az-detect -o "$TMP/$name.gtr" 2> "$TMP/$name.err" ||
		{ indent "$TMP/$name.err"; fail "containers/$name: record failed"; return; }
	"$GTRACE" report "$TMP/$name.gtr" -f jsonl > "$TMP/$name.jsonl" 2>/dev/null
	check "containers/$name" python3 - "$TMP/$name.jsonl" "$want" "$nspid" "$pid" <<'PY'
import json, sys
path, want, nspid, pid = sys.argv[1:]
evs = [json.loads(l) for l in open(path)]
cap = evs[0]
assert cap["target.go_version"].startswith(want + "."), \
    "capture says %s, the running binary is %s" % (cap["target.go_version"], want)
assert cap["target.pid"] == pid, cap["target.pid"]
if nspid:
    assert cap.get("target.ns_pid") == nspid, "target.ns_pid %r, want %s" % (cap.get("target.ns_pid"), nspid)
parks = [e for e in evs if e["ev"] == "park" and e.get("stack")]
assert len(evs) > 100 and parks, "%d events, %d parks with stacks" % (len(evs), len(parks))
frames = [f for e in parks for f in e["stack"]]
known = [f for f in frames if not f.startswith("?")]
assert len(known) > 0.9 * len(frames), "%d of %d frames symbolized" % (len(known), len(frames))
assert any(f.startswith("main.") for f in known), "no main.* frame in any park stack"
print("%s, %d events, %d frames symbolized" % (cap["target.go_version"], len(evs), len(known)))
PY
	python3 tests/e2e/check_states.py "$TMP/$name.jsonl" --no-loss > "$TMP/$name.states" ||
		{ cat "$TMP/$name.states" | sed 's/^/  /'; fail "containers/$name-states"; return; }
	pass "containers/$name-states"
}

# deleted after start
cp "$old" "$TMP/app-deleted"
spawn "$TMP/deleted.out" "$TMP/app-deleted" -loop -n 2; p=$SPAWN_PID
sleep 0.3; rm -f "$TMP/app-deleted"
recorded deleted "$p" go1.19
grep -q "(deleted)" "$TMP/deleted.err" && pass containers/deleted-named || {
	indent "$TMP/deleted.err"; fail "containers/deleted-named: the progress line does not say (deleted)"; }
kill -0 "$p" 2>/dev/null && pass containers/deleted-alive || fail containers/deleted-alive
kill -KILL "$p"

# replaced by another Go version at the same path
cp "$old" "$TMP/app"
spawn "$TMP/replaced.out" "$TMP/app" -loop -n 2; p=$SPAWN_PID
sleep 0.3; cp "$new" "$TMP/app.new"; mv -f "$TMP/app.new" "$TMP/app"
recorded replaced "$p" go1.19
"$GTRACE" info -p "$p" --json > "$TMP/info.json" 2>&1
check containers/replaced-info python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["go_version"].startswith("go1.19."), d["go_version"]' "$TMP/info.json"
n0=$(grep -c . "$TMP/replaced.out"); sleep 1; n1=$(grep -c . "$TMP/replaced.out")
kill -0 "$p" 2>/dev/null && [ "$n1" -gt "$n0" ] && pass containers/replaced-alive ||
	fail "containers/replaced-alive: target stopped printing ($n0 -> $n1 lines)"
kill -KILL "$p"

# a new PID + mount namespace
if unshare -pfm --mount-proc true 2>/dev/null; then
	spawn "$TMP/ns.out" unshare -pfm --mount-proc "$new" -loop -n 2; u=$SPAWN_PID
	end=$((SECONDS + 10)); c=
	while [ -z "$c" ] && [ $SECONDS -le $end ]; do c=$(pgrep -P "$u" | head -1); sleep 0.1; done
	if [ -z "$c" ]; then
		fail "containers/namespace: no child of unshare"
	else
		sleep 0.3
		recorded namespace "$c" go1.27 1
		grep -q "pid 1 in its namespace" "$TMP/namespace.err" && pass containers/namespace-pid-shown ||
			{ indent "$TMP/namespace.err"; fail containers/namespace-pid-shown; }
	fi
	kill -KILL "$c" "$u" 2>/dev/null
else
	skip containers/namespace "unshare -pfm --mount-proc does not work here"
fi

# the CPU sampler in a PID namespace
burn=$(ls "$FIX"/cpuburn-go1.2[0-9]-plain 2>/dev/null | tail -1)
GO=${GO:-/usr/local/go/bin/go}
if ! unshare -pfm --mount-proc true 2>/dev/null; then
	skip containers/cpu-namespace "unshare -pfm --mount-proc does not work here"
elif [ -z "$burn" ] || [ ! -x "$GO" ]; then
	skip containers/cpu-namespace "no cpuburn fixture or no $GO for go tool pprof"
else
	# one P, as in cpu.sh: no spinning-M futex time tying with the smallest burner
	spawn "$TMP/nscpu.out" env GOMAXPROCS=1 unshare -pfm --mount-proc "$burn"; u=$SPAWN_PID
	wait_line "$TMP/nscpu.out" '^ready' 10; c=$(pgrep -P "$u" | head -1)
	if [ -z "$c" ]; then
		indent "$TMP/nscpu.out"; fail "containers/cpu-namespace: no cpuburn child of unshare"
	elif "$GTRACE" profile -q -p "$c" -d 5 --cpu=499 --no-az-detect -o "$TMP/nscpu.pb.gz" \
		2> "$TMP/nscpu.err"; then
		python3 tests/e2e/check_cpu.py containers/cpu-namespace "$GO" "$TMP/nscpu.pb.gz" \
			"$TMP/nscpu.out" --cpu-column $((1000000000 / 499))
	else
		indent "$TMP/nscpu.err"; fail "containers/cpu-namespace: profile --cpu failed"
	fi
	kill -KILL "$c" "$u" 2>/dev/null
fi

#!/bin/bash
# gtrace agent, a target that execs with the probes attached.  The agent
# keeps its probes on all the time (--slice-min-duty 1) on the cpuburn
# fixture, which re-execs its own binary after 4 s: same pid, same inode, so
# a pid-filtered uprobe_multi link of the old image would still fire in the
# new one, on goroutine state the agent no longer knows.  Asserted:
#  - the target lives through the exec and runs on (its second "ready", its
#    burners, still alive at the end);
#  - the agent saw the exec with probes attached ("exec'd a new program ...
#    (mid-slice: its probes detached)"), and the kernel no longer has the old
#    image's links (bpftool by id);
#  - it attached again to the new image (new links, none of the old ids), and
#    the new image's windows in --dir hold its stacks: the sampled wall
#    profile has the burners with their labels, the exact offcpu profile has
#    samples (from the new probes);
#  - the agent exits 0 on SIGTERM and warned of nothing (a window cut a
#    moment after the last, at the stop, once left a capture with no header).
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

GO=/usr/local/go/bin/go
RUN=r$$
BURN_BIN=$(ls "$FIX"/cpuburn-go1.2[0-9]-plain 2>/dev/null | tail -1)
[ -x "$GTRACE" ] || { skip agent-exec "no $GTRACE (run make)"; exit 0; }
[ -n "$BURN_BIN" ] || { skip agent-exec "no cpuburn fixture in $FIX (tests/fixtures/build.sh)"; exit 0; }
command -v bpftool >/dev/null || { skip agent-exec "no bpftool to look links up by id"; exit 0; }
[ -x "$GO" ] || { skip agent-exec "no $GO to read the profiles back"; exit 0; }
now() { date +%s%N; }
# the agent's uprobe_multi link ids, one line
links_of() {
	grep -ls 'link_type:.uprobe_multi' /proc/$1/fdinfo/* 2>/dev/null | xargs -r grep -h '^link_id:' |
		awk '{print $2}' | sort -n | tr '\n' ' '
}

SVC=e2e-xslice-$RUN
# niced: the burner takes only what the host leaves idle
OTEL_SERVICE_NAME=$SVC nice -n 19 "$BURN_BIN" -exec-after 4s >"$TMP/burn.out" 2>&1 & BURN=$!
BG_PIDS=$BURN
if ! wait_line "$TMP/burn.out" '^ready' 10; then
	indent "$TMP/burn.out"; fail "agent-exec: cpuburn not ready in 10 s"; exit 0
fi
"$GTRACE" agent --include "^$SVC\$" --window 2s --slice-min-duty 1 --cpu-hz 0 --dir "$TMP/dir" \
	--spool "$TMP/spool" --no-az-detect >/dev/null 2>"$TMP/agent.log" & AG=$!
BG_PIDS="$BG_PIDS $AG"
old=""
for i in $(seq 40); do
	old=$(links_of $AG)
	[ -n "$old" ] && break
	sleep 0.1
done
# the exec: the second "ready" comes from the new image
wait_line_n() { local end=$((SECONDS + $3)); while [ $SECONDS -le $end ]; do
	[ "$(grep -c "$2" "$1")" -ge 2 ] && return 0; sleep 0.05; done; return 1; }
wait_line_n "$TMP/burn.out" '^ready' 10; execd=$?
EXEC=$(now)
wait_line "$TMP/agent.log" "pid $BURN \\($SVC\\) exec'd a new program" 5
new=""
for i in $(seq 50); do
	new=$(links_of $AG)
	if [ -n "$new" ]; then
		fresh=1
		for l in $new; do case " $old " in *" $l "*) fresh=0 ;; esac; done
		[ $fresh = 1 ] && break
	fi
	new=""
	sleep 0.1
done
still=""
for l in $old; do bpftool link show id "$l" >/dev/null 2>&1 && still="$still $l"; done
# two full windows of the new image
sleep 5
alive=0; kill -0 $BURN 2>/dev/null && alive=1
kill -TERM $AG; wait $AG; AG_RC=$?
kill -TERM $BURN; wait $BURN 2>/dev/null

check "agent-exec: the target exec'd (second ready) and runs on after it" \
	bash -c "test $execd = 0 && test $alive = 1 || { tail -3 '$TMP/burn.out'; false; }"
check "agent-exec: the agent had probes on the old image (links: ${old:-none}) and saw the exec mid-slice" \
	bash -c "test -n '$old' && grep -q \"pid $BURN ($SVC) exec'd a new program after [0-9]* windows (mid-slice: its probes detached)\" '$TMP/agent.log' ||
		{ tail -5 '$TMP/agent.log'; false; }"
check "agent-exec: the old image's links (${old:-none seen}) are gone from the kernel (left: ${still:-none})" \
	bash -c "test -n '$old' && test -z '$still'"
check "agent-exec: it attached again to the new image with new links (${new:-none})" test -n "$new"
check "agent-exec: the new image's windows hold its stacks (wall: the burners and their labels; offcpu_exact: samples)" \
	python3 - "$TMP/dir/$SVC" "$EXEC" "$GO" <<'PY'
import os, subprocess, sys
d, exec_ns, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def after(typ):
    fs = sorted(f for f in os.listdir(os.path.join(d, typ)) if f.endswith(".pb.gz"))
    # the new image's windows: those starting after EXEC (taken at its
    # "ready"), and its first one, which starts when the agent took the new
    # image on, a little before EXEC and off the 2 s grid; the old image's
    # last window starts on the grid before the exec, and is not one of them
    def new(f):
        t = int(f.split(".")[0].split("-")[0])
        return t >= exec_ns or (t >= exec_ns - 1_000_000_000 and t % 2_000_000_000)
    return [os.path.join(d, typ, f) for f in fs if new(f)]
def top(path):
    return subprocess.run([go, "tool", "pprof", "-raw", path], capture_output=True, text=True).stdout
wall = after("wall")
assert wall, f"no wall window after the exec in {sorted(os.listdir(os.path.join(d, 'wall')))}"
# (a running goroutine's stack cannot be read from outside: the burners show
# where they wait for their turn, in their closure, with their labels)
assert any("main.main.func" in t and "fn:[hotA1]" in t for t in map(top, wall)), \
    "no burner (main.main.func*, label fn=hotA1) in the new image's wall profiles"
exact = after("offcpu_exact")
assert exact, "no offcpu_exact window after the exec"
def samples(path):
    out = top(path)
    body = out.split("Samples:", 1)[1].split("Locations", 1)[0] if "Samples:" in out else ""
    return [l for l in body.splitlines()[2:] if l.strip() and l.strip()[0].isdigit() and ":" in l]
assert any(samples(p) for p in exact), "the new image's offcpu_exact profiles are empty"
print(f"{len(wall)} wall, {len(exact)} offcpu_exact windows after the exec")
PY
check "agent-exec: the agent exits 0 on SIGTERM (rc $AG_RC), its log without a warning or an error" \
	bash -c "test '$AG_RC' -eq 0 && ! grep -iE 'warn|error|damaged|cannot|failed' '$TMP/agent.log'"

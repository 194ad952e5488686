#!/bin/bash
# gtrace agent end to end: three Go fixtures (two binaries; one started
# after the agent, one exiting mid-window, one in its own PID+mount
# namespace) profiled with a 2 s window and pushed to two real receivers
# built from the stores' own Go code (tests/receivers: Pyroscope's
# pushv1connect handler + google/pprof, the collector's pdata pprofile),
# one of them killed for two windows and restarted, then the agent
# SIGKILLed while a window waits in its spool and a new agent started.  agent_check.py judges
# what arrived.  --budget 5% (from the config file): probes in slices, the
# exact offcpu_exact and schedlat profiles beside the sampled ones.  A second
# agent keeps its probes on the late process all the time (--slice-min-duty
# 1), so that process exits mid-slice: it must exit normally, and the agent
# detach and still ship the last window.  A fourth fixture (cpuburn, niced:
# it only takes what the host leaves idle) burns CPU in known functions for
# the cpu profile of the host-wide CPU sampler, and execs itself once; the
# second agent runs with
# --cpu-hz 0 and must ship no cpu profile.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

W=2
GO=/usr/local/go/bin/go
# service names unique to this run: another run of this suite on the same host (another
# worktree) must not be profiled into this one's results
RUN=r$$
RCV=build/receivers
A_BIN=$FIX/agentsvc-go1.26-plain
B_BIN=$FIX/agentsvc-go1.19-stripped
BURN_BIN=$(ls "$FIX"/cpuburn-go1.2[0-9]-plain 2>/dev/null | tail -1)
[ -x "$B_BIN" ] || B_BIN=$FIX/agentsvc-go1.26-pie
if [ ! -x "$A_BIN" ]; then
	skip agent "fixture $A_BIN missing (tests/fixtures/build.sh)"
	exit 0
fi
if [ -z "$BURN_BIN" ]; then
	skip agent "no cpuburn fixture in $FIX (tests/fixtures/build.sh)"
	exit 0
fi
if ! command -v unshare >/dev/null; then
	skip agent "unshare (util-linux) missing"
	exit 0
fi
if [ ! -x $RCV/pyroscope ] || [ ! -x $RCV/otlp ] || [ -n "$(find tests/receivers -newer $RCV/otlp -type f 2>/dev/null)" ]; then
	mkdir -p $RCV
	if ! (cd tests/receivers && GOWORK=off GOFLAGS=-mod=mod /usr/local/go/bin/go build -o ../../$RCV/pyroscope ./pyroscope &&
		GOWORK=off GOFLAGS=-mod=mod /usr/local/go/bin/go build -o ../../$RCV/otlp ./otlp) >"$TMP/rcvbuild.log" 2>&1; then
		tail -5 "$TMP/rcvbuild.log"
		fail "agent: receivers build (tests/receivers)"
		exit 0
	fi
fi
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PP=$(port); OP=$(port); MP=$(port)
now() { date +%s%N; }

$RCV/pyroscope -addr 127.0.0.1:$PP -out "$TMP/pyro.jsonl" 2>"$TMP/rpyro.log" & RP=$!
$RCV/otlp -addr 127.0.0.1:$OP -out "$TMP/otlp.jsonl" 2>"$TMP/rotlp.log" & RO=$!
BG_PIDS="$RP $RO"
# A: runs throughout; B: its own PID and mount namespace, another binary
OTEL_SERVICE_NAME=e2e-svc-a-$RUN $A_BIN >"$TMP/a.out" & A=$!
PYROSCOPE_APPLICATION_NAME=e2e-svc-ns-$RUN unshare -pfm --mount-proc $B_BIN >"$TMP/b.out" & BU=$!
# the burner execs itself after 6 s (same pid, same binary): its new image's cpu profile
# must have its stacks, which the old image's had already sent
OTEL_SERVICE_NAME=e2e-svc-burn-$RUN nice -n 19 $BURN_BIN -exec-after 6s >"$TMP/burn.out" & BURN=$!
BG_PIDS="$BG_PIDS $A $BU $BURN"
for i in $(seq 50); do grep -q ready "$TMP/a.out" && grep -q ready "$TMP/b.out" && grep -q ready "$TMP/burn.out" && break; sleep 0.1; done
B=$(pgrep -P $BU | head -1)
cat > "$TMP/agent.conf" <<CONF
# flags win over this file: --window is given on the command line too
window = 9s
budget = 5%
# the burner's shares are checked from its samples: at the agent's default
# 19 Hz a run has too few to rank five functions 10-30% apart every time
cpu-hz = 99
include = ^e2e-svc-[a-z]+-$RUN\$
labels = env=e2e,team=gtrace
pyroscope-tenant = e2e-tenant
CONF
$GTRACE agent --config "$TMP/agent.conf" --window ${W}s --pyroscope http://127.0.0.1:$PP \
	--otlp http://127.0.0.1:$OP --dir "$TMP/dir" --spool "$TMP/spool" --metrics 127.0.0.1:$MP \
	--no-az-detect --az e2e-zone-1a >"$TMP/agent.out" 2>"$TMP/agent.log" & AG=$!
BG_PIDS="$BG_PIDS $AG"
# the always-attached one, only for the late process
$GTRACE agent --include "^e2e-svc-late-$RUN\$" --window ${W}s --slice-min-duty 1 --cpu-hz 0 --dir "$TMP/dirslice" \
	--spool "$TMP/spool3" --no-az-detect >/dev/null 2>"$TMP/agent3.log" & AG3=$!
BG_PIDS="$BG_PIDS $AG3"
sleep 3
# C: the late one (same binary as A), exits 3.1 s after it starts: mid-window
C_START=$(now)
OTEL_SERVICE_NAME=e2e-svc-late-$RUN $A_BIN -exit-after 3100ms >"$TMP/c.out" & C=$!
wait $C; C_RC=$?; C_EXIT=$(now)
kill -TERM $AG3; wait $AG3; AG3_RC=$?
curl -s --max-time 2 http://127.0.0.1:$MP/metrics >"$TMP/metrics.txt"
# the store goes away for two windows, then comes back on the same port
kill $RP; wait $RP 2>/dev/null
DOWN=$(now)
sleep $((2 * W + 1))
UP=$(now)
$RCV/pyroscope -addr 127.0.0.1:$PP -out "$TMP/pyro.jsonl" 2>>"$TMP/rpyro.log" & RP=$!
BG_PIDS="$BG_PIDS $RP"
sleep $((2 * W + 2))
curl -s --max-time 2 http://127.0.0.1:$MP/metrics >"$TMP/metrics2.txt"
# the store goes away again and the agent is SIGKILLed with a window spooled;
# a new agent on the same spool must deliver it
kill $RP; wait $RP 2>/dev/null
sleep $((W + 1))
# SIGKILL with probes attached: wait (up to 8 s) for a slice, note its
# multi-uprobe links and kill at once.  Under the budget a slice can be 5 ms
# a second, so the watch is a tight loop that kills from where it looks (a
# 100 ms shell poll missed them).
links=$(python3 - "$AG" <<'PY'
import os, signal, sys, time
pid = int(sys.argv[1])
end = time.monotonic() + 8
links = []
while time.monotonic() < end and not links:
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        break
    for fd in fds:
        try:
            info = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        if "link_type:\tuprobe_multi" in info or "link_type: uprobe_multi" in info:
            links += [l.split()[1] for l in info.splitlines() if l.startswith("link_id:")]
    if not links:
        time.sleep(0.002)
os.kill(pid, signal.SIGKILL)
print(" ".join(links))
PY
)
wait $AG 2>/dev/null
KILLED=$(now)
# the kernel drops them with the agent's fds; the targets run on
gone=1
for i in $(seq 20); do
	gone=1
	for l in $links; do bpftool link show id "$l" >/dev/null 2>&1 && gone=0; done
	[ $gone = 1 ] && break
	sleep 0.1
done
links=$(echo $links)
# and their breakpoints with them: no int3 left at any probe site (a link
# closed while the kernel failed to unregister leaves them, dmesg "leaking uprobe")
KILL_BYTES="A $(python3 tests/e2e/probe_bytes.py $GTRACE $A 2>&1), B $(python3 tests/e2e/probe_bytes.py $GTRACE $B 2>&1)"
check "agent: after the SIGKILL no breakpoint is left in the targets (int3 at probe sites: $KILL_BYTES)" \
	bash -c "echo '$KILL_BYTES' | grep -qE '^A 0 of [1-9][0-9]*, B 0 of [1-9][0-9]*\$'"
if ! command -v bpftool >/dev/null; then
	skip "agent: SIGKILL drops the probes" "no bpftool to look links up by id"
else
	check "agent: SIGKILLed with probes attached (links ${links:-none seen}): the kernel dropped them, the targets run on" \
		bash -c "test -n '$links' && test $gone = 1 && kill -0 $A && kill -0 $B"
fi
$RCV/pyroscope -addr 127.0.0.1:$PP -out "$TMP/pyro.jsonl" 2>>"$TMP/rpyro.log" & RP=$!
BG_PIDS="$BG_PIDS $RP"
$GTRACE agent --config "$TMP/agent.conf" --window ${W}s --pyroscope http://127.0.0.1:$PP \
	--dir "$TMP/dir2" --spool "$TMP/spool" --no-az-detect --az e2e-zone-1a >/dev/null 2>"$TMP/agent2.log" & AG=$!
BG_PIDS="$BG_PIDS $AG"
sleep $((W + 1))
kill -TERM $AG; wait $AG; AG_RC=$?
STOP=$(now)
# SIGTERM with probes attached (always, --slice-min-duty 1): the agent
# detaches before it exits, breakpoints and all.  (It closed links on
# threads that its exit then killed mid-unregister: the kernel leaked the
# uprobes, int3 left at every site of a target that lives on.)
# (No --cpu-hz: its start line shows the sampler's default rate.)
$GTRACE agent --include "^e2e-svc-a-$RUN\$" --window ${W}s --slice-min-duty 1 \
	--dir "$TMP/dirterm" --spool "$TMP/spool4" --no-az-detect >/dev/null 2>"$TMP/agent4.log" & AG4=$!
BG_PIDS="$BG_PIDS $AG4"
for i in $(seq 50); do
	grep -qs 'link_type:.uprobe_multi' /proc/$AG4/fdinfo/* && break
	sleep 0.1
done
TERM_ON=$(python3 tests/e2e/probe_bytes.py $GTRACE $A 2>&1)
kill -TERM $AG4; wait $AG4; AG4_RC=$?
TERM_OFF=$(python3 tests/e2e/probe_bytes.py $GTRACE $A 2>&1)
check "agent: the CPU sampler's default rate is 19 Hz (start line)" \
	bash -c "grep -q 'cpu sampled at 19 Hz' '$TMP/agent4.log' || { head -3 '$TMP/agent4.log'; false; }"
check "agent: SIGTERM with probes attached: exits $AG4_RC, breakpoints at probe sites before '$TERM_ON', after '$TERM_OFF'" \
	bash -c "test $AG4_RC -eq 0 && echo '$TERM_ON' | grep -qE '^([1-9][0-9]*) of \1\$' && echo '$TERM_OFF' | grep -qE '^0 of [1-9]'"
# unshare waits for its child: end the child (host pid $B), then unshare
kill $A $B $BURN $RP $RO 2>/dev/null
wait 2>/dev/null

check "agent: exits 0 on SIGTERM" test $AG_RC -eq 0
# exit mid-slice: the process ran to its end, the agent detached and shipped its last window
check "agent: a process exiting with probes attached exits normally (rc $C_RC)" test "$C_RC" -eq 0
check "agent: its probes were attached at the exit, and detached" \
	bash -c "grep -q 'pid $C (e2e-svc-late-$RUN) exited after [0-9]* windows (mid-slice: its probes detached)' '$TMP/agent3.log' ||
		{ tail -5 '$TMP/agent3.log'; ls -R '$TMP/dirslice' | head -20; false; }"
last=$(ls -d "$TMP"/dirslice/e2e-svc-late-$RUN/offcpu_exact/*.pb.gz 2>/dev/null | tail -1)
check "agent: its last window's exact profile shipped, duty 1, the agent exits 0 after (rc $AG3_RC)" \
	bash -c "test $AG3_RC -eq 0 && test -n '$last' && '$GO' tool pprof -raw '$last' 2>&1 | grep -E 'duty cycle|Duration' |
		tee /dev/stderr | grep -qx 'Comment: duty cycle 1'"
check "agent: --cpu-hz 0: no cpu profile, the other types there (start line: no cpu profile)" \
	bash -c "test -d '$TMP/dirslice/e2e-svc-late-$RUN/offcpu' && test ! -e '$TMP/dirslice/e2e-svc-late-$RUN/cpu' &&
		grep -q 'no cpu profile' '$TMP/agent3.log' || { ls '$TMP/dirslice/e2e-svc-late-$RUN'; head -2 '$TMP/agent3.log'; false; }"
python3 tests/e2e/agent_check.py --pyro "$TMP/pyro.jsonl" --otlp "$TMP/otlp.jsonl" --dir "$TMP/dir" \
	--metrics "$TMP/metrics.txt" --metrics2 "$TMP/metrics2.txt" --log "$TMP/agent.log" --window $W \
	--a-pid $A --b-pid "$B" --burn-pid $BURN --c-pid $C --c-start $C_START --c-exit $C_EXIT --down $DOWN --up $UP --stop $KILLED \
	--log2 "$TMP/agent2.log" --run $RUN
rc=$?
if [ $rc -ne 0 ]; then
	grep -E "agent:|warning" "$TMP/agent.log" | sed 's/^/  agent log: /' | tail -15
	grep -E "^gtrace_(events|lost|processes|windows)" "$TMP/metrics.txt" | sed 's/^/  metrics: /'
	echo "  late pid $C"
fi

# usage errors: exit 2, one line
"$GTRACE" agent >/dev/null 2>"$TMP/e1"; rc1=$?
"$GTRACE" agent --dir "$TMP/x" --budget 200% >/dev/null 2>"$TMP/e2"; rc2=$?
"$GTRACE" agent --dir "$TMP/x" --pyroscope-token secret >/dev/null 2>"$TMP/e3"; rc3=$?
"$GTRACE" agent --dir "$TMP/x" --cpu-hz 10001 >/dev/null 2>"$TMP/e4"; rc4=$?
check "agent: no sink, bad budget, secret on argv, bad --cpu-hz are usage errors (2)" test "$rc1$rc2$rc3$rc4" = 2222

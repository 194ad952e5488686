#!/bin/bash
# Attach/detach robustness: ATTACH_TARGETS (default 5) busy script fixtures
# (-loop -n 2), mixing Go versions and variants, and gtrace attached and
# detached ATTACH_CYCLES (default 100) times in all, split over them (one
# sequential loop per target, the loops in parallel): even cycles end by
# -d 0.2, odd ones by SIGINT once gtrace is recording.  Every gtrace run
# must exit 0 and its capture end with the matching record.stop (duration,
# interrupted).  Then SIGTERM each fixture: it must exit 0,
# print "done", and every other line must be a well-formed
# "worker GOID KIND IDX" line, 20 per script iteration: the probes going in
# and out never broke the target.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip attach "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip attach "no fixtures in $FIX"; exit 0; }
cycles=${ATTACH_CYCLES:-100}

# ATTACH_TARGETS fixtures (default 5), taken in turn from every version x
# variant, so each version and each variant gets some.
ntargets=${ATTACH_TARGETS:-5}
vs=($vers) variants=(plain pie stripped)
targets=() pids=() runs=()
for ((i = 0; i < ntargets && i < ${#vs[@]} * 3; i++)); do
	# (version i mod n, variant (i + i/n) mod 3): all distinct, all mixed
	t=${vs[i % ${#vs[@]}]}-${variants[(i + i / ${#vs[@]}) % 3]}
	bin=$FIX/script-$t
	[ -x "$bin" ] || { skip "attach/$t" "no $bin"; continue; }
	spawn "$TMP/$t.out" "$bin" -loop -n 2
	targets+=("$t") pids+=("$SPAWN_PID")
done
[ ${#pids[@]} -gt 0 ] || exit 0
sleep 0.3

# cycles TARGET PID FIRST COUNT: attach/detach COUNT times, one after the
# other; problems go to $TMP/TARGET.bad.  Cycle numbers are global, so even
# ones use -d 0.2 and odd ones SIGINT (with -d 10 as a backstop).  Each
# capture must end with the right record.stop.
cycles() {
	local t=$1 pid=$2 c n=0 g want stop
	: > "$TMP/$t.bad"
	: > "$TMP/$t.done"
	for ((c = $3; n < $4; c += ${#pids[@]}, n++)); do
		kill -0 "$pid" 2>/dev/null || { echo "target gone before cycle $c" >> "$TMP/$t.bad"; return; }
		if ((c % 2 == 0)); then
			spawn "$TMP/$t.err" "$GTRACE" record -p "$pid" -o "$TMP/$t.gtr" -q --no-az-detect -d 0.2
			want=duration
		else
			spawn "$TMP/$t.err" "$GTRACE" record -p "$pid" -o "$TMP/$t.gtr" --no-az-detect -d 10
			wait_line "$TMP/$t.err" recording 15 || echo "cycle $c: no recording line" >> "$TMP/$t.bad"
			kill -INT "$SPAWN_PID"
			want=interrupted
		fi
		g=$SPAWN_PID
		echo "$g" > "$TMP/$t.gpid" # for the parent, should this loop time out
		wait_exit "$g" 20
		echo "$c" >> "$TMP/$t.done" # this cycle's gtrace has run and ended
		if [ $EXIT_RC -ne 0 ]; then
			echo "cycle $c: gtrace exited $EXIT_RC: $(grep -v warning "$TMP/$t.err" | head -2 | tr '\n' ' ')" >> "$TMP/$t.bad"
			continue
		fi
		stop=$("$GTRACE" report "$TMP/$t.gtr" -f jsonl 2>/dev/null | head -1 |
			python3 -c 'import json,sys; print(json.loads(sys.stdin.readline() or "{}").get("record.stop"))' 2>&1)
		if [ "$stop" != "$want" ]; then
			echo "cycle $c: record.stop '$stop', expected '$want'" >> "$TMP/$t.bad"
			"$GTRACE" report "$TMP/$t.gtr" -f jsonl 2>&1 >/dev/null | head -3 | sed 's/^/  report: /' >> "$TMP/$t.bad"
			[ -n "${KEEP_FAILED:-}" ] && cp "$TMP/$t.gtr" "$KEEP_FAILED/$t-$c.gtr" && cp "$TMP/$t.err" "$KEEP_FAILED/$t-$c.err"
		fi
	done
}

# One sequential loop per target, the loops in parallel: detaching waits on
# the kernel (each uprobe link's close takes ~130 ms here), not on the CPU.
loops=()
for k in "${!pids[@]}"; do
	n=$(( (cycles - k + ${#pids[@]} - 1) / ${#pids[@]} ))
	runs[$k]=$n
	cycles "${targets[k]}" "${pids[k]}" "$k" "$n" &
	loops+=($!)
done
# A loop that hangs is killed and reported (with its gtrace, which the
# subshell's spawn did not add to our SPAWNED); each loop must have run
# every one of its cycles, or the target would pass on fewer.
for k in "${!loops[@]}"; do
	t=${targets[k]}
	if ! wait_exit "${loops[k]}" 150; then
		echo "attach loop timed out after 150 s" >> "$TMP/$t.bad"
		gp=$(cat "$TMP/$t.gpid" 2>/dev/null)
		[ -n "$gp" ] && kill -KILL "$gp" 2>/dev/null
	fi
	ran=$(grep -c . "$TMP/$t.done" 2>/dev/null)
	[ "${ran:-0}" -eq "${runs[k]}" ] || echo "ran ${ran:-0} of ${runs[k]} cycles" >> "$TMP/$t.bad"
done

for k in "${!pids[@]}"; do
	t=${targets[k]} pid=${pids[k]} out=$TMP/${targets[k]}.out
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid" 15
	rc=$EXIT_RC
	msg=$(python3 - "$out" "$rc" <<'PY'
import re, sys
out, rc = sys.argv[1], int(sys.argv[2])
lines = open(out).read().splitlines()
probs = []
if rc != 0:
    probs.append("fixture exited %d" % rc)
if not lines or lines[-1] != "done":
    probs.append("last line is %r, not done" % (lines[-1] if lines else None))
kinds = "chanrecv chansend select mutex rwmutex waitgroup cond sleep netio syscall".split()
work = [l for l in lines[:-1]]
pat = re.compile(r"^worker [0-9]+ (%s) [01]$" % "|".join(kinds))
badl = [l for l in work if not pat.match(l)]
if badl:
    probs.append("%d malformed lines, e.g. %r" % (len(badl), badl[:3]))
elif len(work) % 20 or not work:
    probs.append("%d worker lines, not a positive multiple of 20" % len(work))
print("; ".join(probs) if probs else "ok %d iterations" % (len(work) // 20))
PY
)
	if [ ! -s "$TMP/$t.bad" ] && [[ $msg == ok* ]]; then
		pass "attach/$t (${runs[k]} attach/detach cycles, $msg)"
	else
		indent "$TMP/$t.bad" 10; echo "  $msg"; indent "$out" 3
		fail "attach/$t"
	fi
done

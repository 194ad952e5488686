#!/bin/bash
# gtrace record's bad inputs: usage errors exit 2, a PID that is not there
# or not a Go process exits 1 with exactly one "gtrace: " line, and --help
# exits 0 with the usage.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip record-errors "no $GTRACE (run make)"; exit 0; }

# expect NAME RC ONE_LINE(1|0) GREP CMD...: exit status RC; with ONE_LINE,
# stderr is exactly one line starting "gtrace: "; GREP (if not empty) must
# match the combined output.
expect() {
	local name=$1 want=$2 one=$3 pat=$4 rc; shift 4
	timeout 20 "$GTRACE" record "$@" > "$TMP/out" 2> "$TMP/err"; rc=$?
	local why=""
	[ $rc -eq "$want" ] || why="exit $rc, expected $want"
	if [ "$one" = 1 ] && ! { [ "$(grep -c . "$TMP/err")" -eq 1 ] && grep -q '^gtrace: ' "$TMP/err"; }; then
		why="$why; stderr is not one 'gtrace: ' line"
	fi
	if [ -n "$pat" ] && ! cat "$TMP/out" "$TMP/err" | grep -qiE "$pat"; then
		why="$why; output lacks /$pat/"
	fi
	if [ -z "$why" ]; then
		pass "record-errors/$name"
	else
		echo "  $why"; indent "$TMP/err" 4; fail "record-errors/$name"
	fi
}

expect no-pid 2 0 'which process' -d 1
expect bad-pid-text 2 0 'invalid PID' -p abc
# a PID above pid_max can never exist
expect nonexistent-pid 1 1 'no process' -p $(( $(cat /proc/sys/kernel/pid_max) + 1 )) -o "$TMP/x.gtr"
spawn "$TMP/sleep.out" sleep 100
expect not-go 1 1 'not a Go' -p "$SPAWN_PID" -o "$TMP/x.gtr"
kill -KILL "$SPAWN_PID" 2>/dev/null
expect buffer-not-pow2 2 0 'buffer' -p 1 --buffer 1000
expect buffer-too-small 2 0 'buffer' -p 1 --buffer 1024
expect events-bogus 2 0 'bogus' -p 1 --events bogus
expect bad-duration 2 0 'duration' -p 1 -d -3
expect extra-arg 2 0 'unexpected' -p 1 extra
expect help 0 0 '^usage: gtrace record' --help
[ ! -e "$TMP/x.gtr" ] && pass record-errors/no-capture-left || { fail "record-errors/no-capture-left: a failed record left $TMP/x.gtr"; }

# Process helpers for the record e2e scripts (sourced after lib.sh; not a
# suite itself, hence not *.sh).  Every wait has a timeout, and every process
# started through spawn is SIGKILLed on exit: the fixtures catch SIGTERM and
# SIGINT (signal.Notify), so a plain `kill` does not end one waiting at -wait.
SPAWNED=""
# bash reports each background job killed by a signal ("line N: PID Killed
# ..."); those kills are on purpose, so drop the notices from stderr.
exec 2> >(grep --line-buffered -vE '^[^ ]+: line [0-9]+: +[0-9]+ (Killed|Terminated|Aborted)' >&2)
trap 'for p in $SPAWNED; do kill -KILL "$p" 2>/dev/null; done; for p in $SPAWNED; do wait "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# spawn OUTFILE CMD...: runs CMD in the background (stdout+stderr to
# OUTFILE) and sets SPAWN_PID.
spawn() {
	local out=$1; shift
	"$@" > "$out" 2>&1 &
	SPAWN_PID=$!
	SPAWNED="$SPAWNED $SPAWN_PID"
}

# wait_line FILE REGEX SECONDS: until a line of FILE matches (grep -E).
wait_line() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -le $end ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_exit PID SECONDS: waits for our child PID; sets EXIT_RC (124: timed
# out and killed).
wait_exit() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		if [ $SECONDS -gt $end ]; then
			kill -KILL "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			EXIT_RC=124
			return 1
		fi
		# a zombie child still answers kill -0: reap it when it is done
		if [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		sleep 0.05
	done
	wait "$1" 2>/dev/null
	EXIT_RC=$?
	return 0
}

# indent FILE: shows a file's tail, indented, for failure details.
indent() { tail -n "${2:-8}" "$1" 2>/dev/null | sed 's/^/  /'; }

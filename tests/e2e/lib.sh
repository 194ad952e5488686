# Helpers for end-to-end test scripts (sourced).  Each check prints one
# PASS/FAIL/SKIP line; tests/run.sh counts them.
GTRACE=${GTRACE:-build/gtrace}
FIX=${GTRACE_FIXTURES:-build/fixtures}
TMP=$(mktemp -d /tmp/gtrace-test.XXXXXX)
SPAWNED=""
trap 'rm -rf "$TMP"; [ -n "${BG_PIDS:-}$SPAWNED" ] && kill -9 ${BG_PIDS:-} $SPAWNED 2>/dev/null' EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
skip() { echo "  skipped: $2"; echo "SKIP $1"; }
# check NAME CMD...: PASS when CMD succeeds, else FAIL with its output.
check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then pass "$name"; else printf '%s\n' "$out" | tail -5 | sed 's/^/  /'; fail "$name"; fi
}
# The Go versions fixtures were built with (tests/fixtures/build.sh writes the list).
go_versions() { cat "$FIX/versions" 2>/dev/null; }

# ---- processes.  Every wait has a timeout, and every process started
# through spawn is SIGKILLed on exit: the fixtures catch SIGTERM and SIGINT
# (signal.Notify), so a plain `kill` does not end one waiting at -wait.

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

# indent FILE [N]: shows a file's last N (8) lines, indented, for failure details.
indent() { tail -n "${2:-8}" "$1" 2>/dev/null | sed 's/^/  /'; }

# start_fixture NAME OUT CMD...: spawns a fixture (output to OUT) and waits
# up to 10 s for its "ready" line; sets FPID.  On a timeout it shows OUT
# and FAILs NAME (says nothing when NAME is empty); returns 1.
start_fixture() {
	local name=$1 out=$2; shift 2
	spawn "$out" "$@"; FPID=$SPAWN_PID
	wait_line "$out" '^ready' 10 && return 0
	indent "$out"
	[ -n "$name" ] && fail "$name: fixture not ready in 10 s"
	return 1
}

# start_gtrace NAME OUT LINE SECONDS GTRACE-ARGS...: spawns gtrace (output
# to OUT) and waits SECONDS for a line matching LINE (it has attached); sets
# GPID.  On a timeout it shows OUT, FAILs NAME (unless empty), kills gtrace
# and returns 1.
start_gtrace() {
	local name=$1 out=$2 line=$3 secs=$4; shift 4
	spawn "$out" "$GTRACE" "$@"; GPID=$SPAWN_PID
	wait_line "$out" "$line" "$secs" && return 0
	indent "$out"
	[ -n "$name" ] && fail "$name: gtrace did not start recording in $secs s"
	kill -KILL "$GPID" 2>/dev/null
	return 1
}

# start_recording NAME DIR FIXTURE-CMD... --|--hold RECORD-ARGS...: the
# start-up the recording suites share.  The fixture (started with -wait by
# the caller; output DIR/fix.out) until "ready", then `gtrace record -p
# FPID -o DIR/cap --no-az-detect RECORD-ARGS` (output DIR/rec.err) until it
# prints "recording", then SIGUSR1 releases the fixture (--hold: the caller
# does).  Sets FPID and GPID.  On a timeout: the log shown, NAME FAILed
# (unless empty), what it started killed, 1.
start_recording() {
	local name=$1 d=$2 fix=() hold=""
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ] && [ "$1" != --hold ]; do fix+=("$1"); shift; done
	[ "${1:-}" = --hold ] && hold=1
	shift
	start_fixture "$name" "$d/fix.out" "${fix[@]}" || return 1
	if ! start_gtrace "$name" "$d/rec.err" recording 15 record -p "$FPID" -o "$d/cap" \
		--no-az-detect "$@"; then
		kill -KILL "$FPID" 2>/dev/null
		return 1
	fi
	[ -n "$hold" ] || kill -USR1 "$FPID"
}

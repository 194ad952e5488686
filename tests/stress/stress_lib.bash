# Shared by the stress suites (sourced after tests/e2e/lib.sh and
# proc_lib.bash; not a suite itself, hence not *.sh).
SFIX() { echo "$FIX/stressd-$1-plain"; }
# maxrss_kb CMD...: runs CMD (stdout/stderr as given by the caller) and sets
# RSS_KB to its peak resident set and RUN_RC to its exit code.
maxrss_kb() {
	local f=$TMP/time.$$
	/usr/bin/time -f '%M' -o "$f" "$@"; RUN_RC=$?
	RSS_KB=$(tail -1 "$f" 2>/dev/null)
	case $RSS_KB in ''|*[!0-9]*) RSS_KB=0 ;; esac
}
# fixture_ok NAME FPID OUT: the busy fixture is still running; SIGTERM ends it
# and it must print "done rounds=R" with R > 0, exit 0 and never "BAD".
fixture_ok() {
	local name=$1 pid=$2 out=$3
	if ! kill -0 "$pid" 2>/dev/null; then indent "$out"; fail "$name: target died"; return 1; fi
	kill -TERM "$pid"; wait_exit "$pid" 20
	if [ "$EXIT_RC" -ne 0 ] || grep -q '^BAD' "$out" || ! grep -qE '^done rounds=[1-9]' "$out"; then
		indent "$out"; fail "$name: target exit $EXIT_RC or output wrong"; return 1
	fi
	return 0
}
# one_line FILE: FILE holds exactly one non-empty line starting "gtrace" or "error".
one_line() { [ "$(grep -c . "$1")" -eq 1 ]; }

# Helpers for end-to-end test scripts (sourced).  Each check prints one
# PASS/FAIL/SKIP line; tests/run.sh counts them.
GTRACE=${GTRACE:-build/gtrace}
FIX=${GTRACE_FIXTURES:-build/fixtures}
TMP=$(mktemp -d /tmp/gtrace-test.XXXXXX)
trap 'rm -rf "$TMP"; [ -n "${BG_PIDS:-}" ] && kill -9 $BG_PIDS 2>/dev/null' EXIT

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

#!/bin/bash
# gtrace info on every fixture (each Go version, plain/stripped/pie): exit 0,
# --json parses and every variant's offsets equal those gtrace reads from the
# DWARF of the plain twin (whose offsets_source must be "dwarf"; the unit
# tests compare that DWARF reading with the generated table);
# bad inputs give one clear line and exit 1; --help exits 0.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

[ -x "$GTRACE" ] || { skip info "no $GTRACE (run make)"; exit 0; }
vers=$(go_versions)
[ -n "$vers" ] || { skip info "no fixtures in $FIX"; exit 0; }

# json_get FILE EXPR: evaluates a python expression over d = the JSON.
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

for v in $vers; do
	plain=$FIX/script-$v-plain
	"$GTRACE" info --json "$plain" > "$TMP/$v-plain.json" 2>"$TMP/err" ||
		{ cat "$TMP/err"; fail "info/$v-plain"; continue; }
	check "info/$v-plain-source-dwarf" test "$(json_get "$TMP/$v-plain.json" 'd["offsets_source"]')" = dwarf
	for var in plain stripped pie; do
		bin=$FIX/script-$v-$var
		out=$TMP/$v-$var.json
		if ! "$GTRACE" info --json "$bin" > "$out" 2>"$TMP/err"; then
			sed 's/^/  /' "$TMP/err"; fail "info/$v-$var"; continue
		fi
		check "info/$v-$var-json" python3 - "$out" "$TMP/$v-plain.json" "$v" "$var" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))
ver, var = sys.argv[3], sys.argv[4]
minor = int(ver.split(".")[1])
assert d["go_version"].startswith(ver), d["go_version"]
assert d["stripped"] == (var == "stripped"), d["stripped"]
assert d["pie"] == (var == "pie"), d["pie"]
assert d["offsets_source"] == ("table" if var == "stripped" else "dwarf"), d["offsets_source"]
# the DWARF of the plain twin is the truth for every variant
assert d["offsets"] == ref["offsets"], (d["offsets"], ref["offsets"])
assert d["label_format"] == ("slice" if minor >= 24 else "map"), d["label_format"]
funcs = {p["func"] for p in d["probes"]}
need = {"runtime.casgstatus", "runtime.preemptPark"}
# newproc1's RETs (single-stepped) are in no default plan: before 1.24 the
# create is taken at casgstatus and its goid at the first start
assert "runtime.newproc1" not in funcs, "newproc1 probed on %s" % ver
if minor >= 26:
    need |= {"runtime.reentersyscall", "runtime.entersyscallblock", "runtime.exitsyscall"}
assert need <= funcs, need - funcs
for p in d["probes"]:
    for k in ("func", "address", "file_offset", "instruction", "emulated"):
        assert k in p, k
    assert p["file_offset"] > 0 and p["address"] > 0, p
    if p["kind"] == "entry":
        assert p["emulated"], p
    else:
        assert p["instruction"] == "ret", p
PY
	done
	check "info/$v-text" sh -c "'$GTRACE' info '$plain' | grep -q '^go version: *$v'"
done

# Bad inputs: exit 1 and exactly one line on stderr.
bad() {
	local name=$1; shift
	local rc
	"$GTRACE" info "$@" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q '^gtrace: ' "$TMP/err"; then
		pass "info/bad-$name"
	else
		echo "  exit $rc, stderr:"; sed 's/^/  /' "$TMP/err"; fail "info/bad-$name"
	fi
}
first=$(echo "$vers" | head -1)
head -c 200000 "$FIX/script-$first-plain" > "$TMP/truncated"
bad passwd /etc/passwd
[ -x /bin/ls ] && bad not-go /bin/ls
bad truncated "$TMP/truncated"
bad nonexistent "$TMP/does-not-exist"
bad no-pid -p $(( $(cat /proc/sys/kernel/pid_max) + 1 )) # can never exist
bad empty /dev/null

"$GTRACE" info --help > "$TMP/help" 2>&1; rc=$?
check info/help sh -c "[ $rc -eq 0 ] && grep -q '^usage: gtrace info' '$TMP/help'"
"$GTRACE" info > /dev/null 2>&1; rc=$?
check info/usage-exit-2 test $rc -eq 2

# A live process: -p must give what the file gives.
"$FIX/script-$first-plain" -wait > "$TMP/live.out" 2>&1 &
pid=$!
BG_PIDS="$pid"
for _ in $(seq 50); do grep -q '^ready' "$TMP/live.out" && break; sleep 0.1; done
"$GTRACE" info --json -p "$pid" > "$TMP/live.json" 2>"$TMP/err"
check info/pid python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a["offsets"] == b["offsets"] and a["go_version"] == b["go_version"], (a, b)
' "$TMP/live.json" "$TMP/$first-plain.json"
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true  # its 137 is not the suite's

#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gtrace on third-party Go binaries nobody here wrote (tests/corpus/list.tsv).
#   tests/corpus/run.sh [--fast] [NAME...]
# Each binary is fetched once through its registry's own client (npm pack,
# pip download, apt-get download) into $GTRACE_CORPUS_CACHE (default
# ~/.cache/gtrace-corpus), then:
#   info       `gtrace info --json` gives the listed Go version, and `go
#              version` agrees where the binary has build info; the offsets in
#              use agree with every field disassembly of the runtime derives;
#   server     (when it serves) started on 127.0.0.1 at a free port: a
#              `snapshot` while idle, then `record` under a small load; the
#              stream follows the documented state machine with nothing lost
#              (tests/e2e/check_states.py), and the snapshot's goroutine count
#              equals the count record's attach snapshot saw.
# --fast: only the rows marked fast (tests/e2e/corpus.sh, part of make test).
# Prints PASS/FAIL/SKIP lines like every suite.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

CACHE=${GTRACE_CORPUS_CACHE:-$HOME/.cache/gtrace-corpus}
GO=$(command -v go || echo /usr/local/go/bin/go)
fast=0
[ "${1:-}" = --fast ] && { fast=1; shift; }
want_names=" $* "
mkdir -p "$CACHE"

[ -x "$GTRACE" ] || { skip corpus "no $GTRACE (run make)"; exit 0; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# fetch NAME REGISTRY PACKAGE VERSION: unpacks into $CACHE/NAME (once)
fetch() {
	local dir=$CACHE/$1 tmp
	[ -f "$dir/.done" ] && return 0
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
	case $2 in
	npm) (cd "$tmp" && npm pack --silent "$3@$4" > /dev/null 2>&1 && tar xzf ./*.tgz) ;;
	pypi) (cd "$tmp" && pip download -q --no-deps --only-binary=:all: "$3==$4" -d . > /dev/null 2>&1 &&
		python3 -m zipfile -e ./*.whl .) ;;
	debian) (cd "$tmp" && apt-get download "$3=$4" > /dev/null 2>&1 && dpkg-deb -x ./*.deb .) ;;
	esac
	local rc=$?
	if [ $rc -ne 0 ]; then rm -rf "$tmp"; return 1; fi
	rm -rf "$dir"; mv "$tmp" "$dir"; touch "$dir/.done"
}

# serve KIND BIN DIR PORT: starts the server (SPAWN_PID) and sets LOAD (a command)
serve() {
	local kind=$1 bin=$2 d=$3 port=$4 p2
	mkdir -p "$d/www"; echo "<html>corpus</html>" > "$d/www/index.html"
	LOAD="curl -s -o /dev/null http://127.0.0.1:$port/index.html"
	case $kind in
	esbuild) # esbuild stops serving at EOF on stdin: give it a FIFO it holds both ends of
		mkfifo "$d/stdin"
		exec {keep}<>"$d/stdin"
		"$bin" --serve=127.0.0.1:$port --servedir="$d/www" <&$keep > "$d/server.out" 2>&1 &
		SPAWN_PID=$!; SPAWNED="$SPAWNED $SPAWN_PID"
		exec {keep}>&- ;;
	etcd)
		p2=$(free_port)
		spawn "$d/server.out" "$bin" --data-dir "$d/data" --listen-client-urls http://127.0.0.1:$port \
			--advertise-client-urls http://127.0.0.1:$port --listen-peer-urls http://127.0.0.1:$p2 \
			--initial-advertise-peer-urls http://127.0.0.1:$p2 --initial-cluster default=http://127.0.0.1:$p2
		LOAD="curl -s -o /dev/null -X POST http://127.0.0.1:$port/v3/kv/put -d {\"key\":\"Zm9v\",\"value\":\"YmFy\"}" ;;
	caddy)
		# admin off: caddy's default admin endpoint is a fixed port
		printf '{"admin":{"disabled":true},"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:%s"],"routes":[{"handle":[{"handler":"file_server","root":"%s"}]}]}}}}}' \
			"$port" "$d/www" > "$d/caddy.json"
		spawn "$d/server.out" env HOME="$d" XDG_DATA_HOME="$d" XDG_CONFIG_HOME="$d" "$bin" run --config "$d/caddy.json" ;;
	prometheus)
		printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$port" > "$d/p.yml"
		spawn "$d/server.out" "$bin" --config.file="$d/p.yml" --storage.tsdb.path="$d/data" \
			--web.listen-address=127.0.0.1:$port
		LOAD="curl -s -o /dev/null http://127.0.0.1:$port/api/v1/query?query=up" ;;
	hugo)
		"$bin" new site "$d/site" > /dev/null 2>&1
		spawn "$d/server.out" "$bin" server -s "$d/site" --bind 127.0.0.1 --port "$port" --disableLiveReload
		LOAD="curl -s -o /dev/null http://127.0.0.1:$port/" ;;
	*) return 1 ;;
	esac
	local end=$((SECONDS + 30))
	while [ $SECONDS -le $end ]; do
		curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && return 0
		kill -0 "$SPAWN_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

check_info() { # NAME BIN GOVERSION
	python3 - "$1" "$2" "$3" "$GO" "$GTRACE" <<'PY'
import json, subprocess, sys
name, path, want, go, gtrace = sys.argv[1:]
r = subprocess.run([gtrace, "info", "--json", path], capture_output=True, text=True)
assert r.returncode == 0, "info exited %d: %s" % (r.returncode, r.stderr.strip())
d = json.loads(r.stdout)
got = d["go_version"]
gv = subprocess.run([go, "version", path], capture_output=True, text=True)
judge = None
if gv.returncode == 0 and ": go1." in gv.stdout:
    judge = gv.stdout.split(": ", 1)[1].split()[0]
assert got == want, "version %s, the list says %s" % (got, want)
if judge:
    assert got == judge, "version %s, go version says %s" % (got, judge)
assert d["offsets_disasm"], "disassembly derived no field"
assert d["offsets_disasm_agree"], "offsets %s disagree with disassembly %s" % (
    {k: d["offsets"][k] for k in d["offsets_disasm"]}, d["offsets_disasm"])
print("%s: %s from %s (%s)%s; offsets %s; disasm confirms %s; stripped %s pie %s cgo %s" % (
    name, got, d["go_version_source"], d["go_version_confidence"],
    "" if judge else ", no build info", d["offsets_source"], ",".join(d["offsets_disasm"]),
    d["stripped"], d["pie"], d["cgo"]))
PY
}

grep -v '^#' tests/corpus/list.tsv | while IFS=$'\t' read -r name reg pkg ver rel gov traits server; do
	[ -z "$name" ] && continue
	[ $fast = 1 ] && [[ ,$traits, != *,fast,* ]] && continue
	[ "$want_names" != "  " ] && [[ $want_names != *" $name "* ]] && continue
	if ! fetch "$name" "$reg" "$pkg" "$ver"; then
		skip "corpus/$name" "cannot fetch $pkg $ver from $reg"
		continue
	fi
	bin=$CACHE/$name/$rel
	[ -x "$bin" ] || chmod +x "$bin" 2>/dev/null
	[ -f "$bin" ] || { fail "corpus/$name: no $rel in the package"; continue; }
	check "corpus/$name/info" check_info "$name" "$bin" "$gov"
	"$GTRACE" info "$bin" 2>/dev/null | grep -E '^go version' | sed 's/^/  /'
	[ "$server" = - ] && continue

	d=$(mktemp -d "$TMP/$name.XXXXXX")
	port=$(free_port)
	if ! serve "$server" "$bin" "$d" "$port"; then
		indent "$d/server.out"; fail "corpus/$name/server: did not serve on 127.0.0.1:$port"
		[ -n "${SPAWN_PID:-}" ] && kill -KILL "$SPAWN_PID" 2>/dev/null
		continue
	fi
	spid=$SPAWN_PID
	sleep 1
	"$GTRACE" snapshot -p "$spid" -f jsonl -o "$d/snap.jsonl" 2> "$d/snap.err"
	nsnap=$(grep -c '"goid"' "$d/snap.jsonl" 2>/dev/null)
	spawn "$d/rec.err" "$GTRACE" record -p "$spid" -d 4 --no-az-detect -o "$d/cap.gtr"
	rpid=$SPAWN_PID
	if ! wait_line "$d/rec.err" recording 20; then
		indent "$d/rec.err"; fail "corpus/$name/record: did not start"
		kill -KILL "$rpid" "$spid" 2>/dev/null; continue
	fi
	end=$((SECONDS + 2))
	while [ $SECONDS -lt $end ]; do $LOAD; done
	wait_exit "$rpid" 20
	kill -KILL "$spid" 2>/dev/null; wait_exit "$spid" 10
	"$GTRACE" report "$d/cap.gtr" -f jsonl > "$d/cap.jsonl" 2> "$d/rep.err"
	check "corpus/$name/states" python3 tests/e2e/check_states.py "$d/cap.jsonl" --no-loss --min-events 50
	python3 tests/e2e/check_states.py "$d/cap.jsonl" | head -1 | sed 's/^/  /'
	natt=$(grep -c '^{"ev":"snapshot"' "$d/cap.jsonl")
	if [ "$nsnap" = "$natt" ]; then
		echo "  snapshot $nsnap goroutines, record's attach snapshot $natt"; pass "corpus/$name/snapshot-count"
	else
		indent "$d/snap.err" 2
		echo "  snapshot $nsnap goroutines, record's attach snapshot $natt"; fail "corpus/$name/snapshot-count"
	fi
done

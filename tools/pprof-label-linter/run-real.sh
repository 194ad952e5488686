#!/bin/bash
# Runs pprof-label-linter (as go vet -vettool) over a few real open-source
# modules fetched through the Go module proxy, one line of findings each;
# docs/label-linter.md records what it found.
#   tools/pprof-label-linter/run-real.sh [MODULE@VERSION ...]
# Needs network access to the module proxy (GOPROXY); writes only to a
# temporary directory and the Go caches.
set -u
cd "$(dirname "$0")/../.."
GO=${GO:-/usr/local/go/bin/go}
make -s lint-tool || exit 1
lint=$PWD/build/pprof-label-linter
mods=("$@")
[ ${#mods[@]} -gt 0 ] || mods=(
	github.com/grafana/otel-profiling-go@v0.7.0
	github.com/cockroachdb/pebble/v2@v2.1.7
	github.com/nats-io/nats-server/v2@v2.15.3
)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local
for m in "${mods[@]}"; do
	dir=$(cd "$tmp" && "$GO" mod download -json "$m" 2>/dev/null | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$dir" ]; then
		echo "== $m: not downloadable"
		continue
	fi
	work=$tmp/$(echo "$m" | tr '/@' '__')
	cp -r "$dir" "$work" && chmod -R u+w "$work"
	echo "== $m"
	(cd "$work" && "$GO" vet -vettool="$lint" ./... 2>&1) |
		grep -E '\.go:[0-9]+:[0-9]+: ' | sed "s|$work/||; s|^|  |"
	echo "   ($(cd "$work" && find . -name '*.go' -not -path '*/testdata/*' | xargs grep -l 'runtime/pprof' 2>/dev/null | wc -l) files import runtime/pprof)"
done

#!/bin/bash
# `make bench`: builds the workloads of bench/fixtures/ with Go 1.26
# (/usr/local/go) and Go 1.19 (Debian's golang-1.19-go), then runs the fixed
# suite of bench/bench.py: every workload under every tracing configuration,
# repetitions interleaved, medians.  Writes bench/out/bench.md (the table
# docs/performance.md keeps) and bench/out/bench.json (every run).
# Traffic goes to 127.0.0.1 only; every run stops by itself.
# Takes about 6-8 minutes on a 2-core machine.  BENCH_REPS, BENCH_SECS,
# BENCH_HTTP_SECS, BENCH_ONLY: see bench/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: needs root (BPF uprobes)" >&2; exit 1; }
for tool in wrk bpftrace python3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x build/gtrace ] || { echo "bench: build/gtrace is missing (make)" >&2; exit 1; }
export GOFLAGS=-mod=mod GO111MODULE=on GOWORK=off CGO_ENABLED=0
export GOCACHE=${GOCACHE:-$PWD/build/gocache}
mkdir -p build/bench bench/out
for dir in bench/fixtures/*/; do
	name=$(basename "$dir")
	for tc in "go1.26 /usr/local/go/bin/go local" "go1.19 /usr/lib/go-1.19/bin/go auto"; do
		read -r short gobin toolchain <<<"$tc"
		dst=$PWD/build/bench/$name-$short
		[ -x "$dst" ] && [ "$dst" -nt "$dir/main.go" ] && continue
		echo "bench: building $name with $("$gobin" version | cut -d' ' -f3)" >&2
		(cd "$dir" && GOTOOLCHAIN=$toolchain "$gobin" build -o "$dst" .)
	done
done
ulimit -l unlimited 2>/dev/null || true
python3 bench/bench.py
./bench/agent.sh

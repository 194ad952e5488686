#!/bin/bash
# `make demo`: build the bundled demo service, trace it for a few seconds,
# and write what gtrace produces into demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
secs=${DEMO_SECONDS:-5}
mkdir -p "$out" build
export GOFLAGS=-mod=mod GOCACHE=${GOCACHE:-$PWD/build/gocache}
echo "building the demo service (tools/demo) with $(/usr/local/go/bin/go version | cut -d' ' -f3)"
(cd tools/demo && /usr/local/go/bin/go build -o ../../build/demo .)
build/demo > "$out/demo.log" &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q ready "$out/demo.log" && break; sleep 0.1; done
echo "tracing pid $demo for ${secs}s"
build/gtrace record -p "$demo" -d "$secs" -o "$out/demo.gtr" --no-az-detect
kill "$demo"; wait "$demo" 2>/dev/null || true
build/gtrace report "$out/demo.gtr" > "$out/report.txt"
build/gtrace report "$out/demo.gtr" -f pprof --profile offcpu -o "$out/offcpu.pb.gz"
build/gtrace report "$out/demo.gtr" -f pprof --profile schedlat -o "$out/schedlat.pb.gz"
build/gtrace report "$out/demo.gtr" -f perfetto -o "$out/demo.pftrace"
build/gtrace report "$out/demo.gtr" -f chrome -o "$out/demo.json"
build/gtrace report "$out/demo.gtr" -f gotrace -o "$out/demo.trace"
build/gtrace report "$out/demo.gtr" -f jsonl -o "$out/demo.jsonl"
sed -n '1,40p' "$out/report.txt"
cat <<MSG

wrote:
  $out/demo.gtr        the capture (gtrace report $out/demo.gtr -f ...)
  $out/report.txt      text summary
  $out/offcpu.pb.gz    off-CPU profile:   go tool pprof -top -tagfocus endpoint=/lock $out/offcpu.pb.gz
  $out/schedlat.pb.gz  scheduling latency: go tool pprof -http=: $out/schedlat.pb.gz
  $out/demo.pftrace    open in https://ui.perfetto.dev
  $out/demo.trace      Go execution trace with pprof labels: go tool trace $out/demo.trace
  $out/demo.json       open in chrome://tracing
  $out/demo.jsonl      one event per line
MSG

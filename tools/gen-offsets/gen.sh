#!/bin/bash
# Regenerates user/binary/go_offsets_table.h.  Builds a tiny program with every Go
# toolchain on this machine and reads the runtime layout from its DWARF; the
# versions with no toolchain here come from the go/types reference data.
# The syscall CAS fast path is checked on each real binary: a LOCK CMPXCHG
# in runtime.reentersyscall and runtime.exitsyscall.
#   tools/gen-offsets/gen.sh [REFDIR]
set -eu
cd "$(dirname "$0")"
ref=${1:-/work/shared/reference/go-runtime-data}
tmp=$(mktemp -d /tmp/gen-offsets.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
gen=/usr/lib/go-1.19/bin/go
[ -x "$gen" ] || gen=/usr/local/go/bin/go

mkdir -p "$tmp/tiny"
cat > "$tmp/tiny/main.go" <<'GO'
package main

import (
	"context"
	"runtime/pprof"
)

func main() { pprof.Do(context.Background(), pprof.Labels("k", "v"), func(context.Context) {}) }
GO
printf 'module tiny\n\ngo 1.19\n' > "$tmp/tiny/go.mod"

args=()
fast=""
have=" "
while read -r gobin tc; do
	[ -x "$gobin" ] || continue
	ver=$(cd "$tmp/tiny" && GOTOOLCHAIN=$tc "$gobin" env GOVERSION 2>/dev/null) || continue
	bin=$tmp/tiny-$ver
	(cd "$tmp/tiny" && GOTOOLCHAIN=$tc "$gobin" build -o "$bin" .)
	args+=(-bin "$ver=$bin")
	minor=$(echo "$ver" | sed -E 's/^go1\.([0-9]+).*/\1/')
	have="$have$minor "
	n=0
	for fn in reentersyscall exitsyscall; do
		if [ "$(GOTOOLCHAIN=$tc "$gobin" tool objdump -s "runtime\.$fn\$" "$bin" | grep -c "LOCK CMPXCHG")" -gt 0 ]; then
			n=$((n + 1))
		fi
	done
	[ $n -eq 2 ] && fast="$fast,$ver"
	echo "gen-offsets: $ver from DWARF (syscall CAS fast path: $([ $n -eq 2 ] && echo yes || echo no))" >&2
done <<TC
/usr/lib/go-1.19/bin/go auto
/usr/local/go/bin/go local
/usr/local/go/bin/go go1.27.3
TC

for f in "$ref"/offsets_1.*_amd64.txt; do
	v=$(basename "$f" | sed -E 's/^offsets_(1\.[0-9]+)_amd64\.txt$/\1/')
	case $v in 1.*_*|*[a-z]*) continue ;; esac # skip dev/inferred snapshots
	case $have in *" ${v#1.} "*) continue ;; esac
	args+=(-ref "$v=$f")
	echo "gen-offsets: go$v from $(basename "$f")" >&2
done
for f in "$ref"/waitreasons_1.*.tsv; do
	v=$(basename "$f" .tsv | sed -E 's/^waitreasons_//')
	case $v in *[a-z]*) continue ;; esac
	args+=(-wr "$v=$f")
done

out=../../user/binary/go_offsets_table.h
GOTOOLCHAIN=local "$gen" build -o "$tmp/gen-offsets" .
"$tmp/gen-offsets" -fastpath "${fast#,}" "${args[@]}" > "$out.tmp"
mv "$out.tmp" "$out"
echo "gen-offsets: wrote user/binary/go_offsets_table.h" >&2

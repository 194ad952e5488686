#!/bin/bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a
# bounded time on a seed corpus made from the fixture binaries.  Exits
# non-zero when a target crashes; the input that did it is left in
# build/fuzz/ as crash-*.
#   tests/fuzz/run.sh [SECONDS]   time per target, default 30
set -u
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_TIME:-30}}
out=build/fuzz
CLANG=${CLANG:-clang}
mkdir -p "$out"

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: $CLANG not found" >&2
	exit 1
fi
if ! ls build/fixtures/script-* >/dev/null 2>&1; then
	tests/fixtures/build.sh || exit 1
fi

status=0
for target in fuzz_pclntab fuzz_buildinfo; do
	bin=$out/$target
	if ! $CLANG -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Iuser -I. tests/fuzz/$target.c \
		user/binary/elf_file.c user/binary/buildinfo.c user/binary/pclntab.c -lelf -lz -o "$bin"; then
		echo "FAIL fuzz/$target: build failed"
		status=1
		continue
	fi
	corpus=$out/corpus-$target
	mkdir -p "$corpus"
	# seeds: each fixture, plus a few small truncations the fuzzer can grow
	for f in build/fixtures/script-*-stripped build/fixtures/script-*-pie; do
		[ -f "$f" ] || continue
		cp -f "$f" "$corpus/$(basename "$f")"
		head -c 4096 "$f" > "$corpus/$(basename "$f").head"
	done
	max=$(ls -l "$corpus" | awk 'NR>1 && $5>m{m=$5} END{print m+0}')
	if (cd "$out" && ./$target -max_total_time="$secs" -max_len="$max" -rss_limit_mb=4096 \
		-close_fd_mask=2 -print_final_stats=1 "corpus-$target" 2>"$target.log"); then
		echo "PASS fuzz/$target ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | awk '{print $2}') runs in ${secs}s)"
	else
		echo "FAIL fuzz/$target: see $out/$target.log and $out/crash-*"
		tail -n 30 "$out/$target.log"
		status=1
	fi
done
exit $status

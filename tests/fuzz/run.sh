#!/bin/bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a
# bounded time on a seed corpus made from the fixture binaries (the
# capture reader: from the golden captures in tests/data/golden).  Exits
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

# target: the sources it links, the libraries, and where its seeds come from
declare -A srcs=(
	[fuzz_pclntab]="user/binary/elf_file.c user/binary/buildinfo.c user/binary/pclntab.c"
	[fuzz_buildinfo]="user/binary/elf_file.c user/binary/buildinfo.c user/binary/pclntab.c"
	[fuzz_capture]="user/capture/capture_reader.c user/capture/event_specs.c user/lib/u64map.c"
)
declare -A libs=([fuzz_pclntab]="-lelf -lz" [fuzz_buildinfo]="-lelf -lz" [fuzz_capture]="-lz -lzstd")

# Binary readers: each fixture, plus a few small truncations the fuzzer can grow.
seed_binaries() {
	for f in build/fixtures/script-*-stripped build/fixtures/script-*-pie; do
		[ -f "$f" ] || continue
		cp -f "$f" "$1/$(basename "$f")"
		head -c 4096 "$f" > "$1/$(basename "$f").head"
	done
}

# Capture reader: the golden captures, and copies with every chunk stored
# uncompressed so mutations land in records, not only in zstd frames.
seed_captures() {
	cp -f tests/data/golden/*.gtr "$1/"
	python3 - "$1" <<'PY'
import glob, os, struct, subprocess, sys, zlib
for path in glob.glob(sys.argv[1] + "/*.gtr"):
    raw = open(path, "rb").read()
    out, off = bytearray(raw[:16]), 16
    while off + 20 <= len(raw):
        magic, typ, flags, n, rawn, crc = struct.unpack_from("<IHHIII", raw, off)
        data = raw[off + 20: off + 20 + n]
        if flags & 2:
            try:
                data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
            except Exception:
                break
            flags &= ~2
        h = struct.pack("<IHHIII", magic, typ, flags, len(data), len(data), 0)
        crc = zlib.crc32(data, zlib.crc32(h))
        out += struct.pack("<IHHIII", magic, typ, flags, len(data), len(data), crc) + data
        off += 20 + n
    open(path[:-4] + ".raw.gtr", "wb").write(out)
PY
}

status=0
for target in fuzz_pclntab fuzz_buildinfo fuzz_capture; do
	bin=$out/$target
	if ! $CLANG -std=gnu11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iuser -I. \
		tests/fuzz/$target.c ${srcs[$target]} ${libs[$target]} -o "$bin"; then
		echo "FAIL fuzz/$target: build failed"
		status=1
		continue
	fi
	corpus=$out/corpus-$target
	mkdir -p "$corpus"
	if [ $target = fuzz_capture ]; then seed_captures "$corpus"; else seed_binaries "$corpus"; fi
	max=$(ls -l "$corpus" | awk 'NR>1 && $5>m{m=$5} END{print m+0}')
	[ $target = fuzz_capture ] && max=$((max * 4)) # room to grow chunks
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

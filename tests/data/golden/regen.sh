#!/bin/bash
# Regenerates the golden captures' expected outputs, and the captures.
# Only for a deliberate output or format change: say why in the commit.
#   tests/data/golden/regen.sh --outputs   expected outputs of the committed
#                                          captures (an output change)
#   tests/data/golden/regen.sh             also synth-vN.gtr for the current
#                                          format version N (kept: older
#                                          versions must still read), and the
#                                          malformed captures from synth.gtr
#   tests/data/golden/regen.sh --record    (root) a new record-go1.26.gtr: a
#                                          real `gtrace record -d 2` of the
#                                          script fixture, one worker per
#                                          primitive (-n 1), then the outputs
# (after make all build/unit_tests, and tests/fixtures/build.sh for --record)
set -eu
cd "$(dirname "$0")/../../.."
d=tests/data/golden
outputs() {
	for f in $d/*.gtr; do
		b=${f%.gtr}
		set +e
		build/gtrace report -f jsonl "$f" > "$b.jsonl" 2> "$b.err"; echo $? > "$b.rc"
		case $(basename "$b") in synth* | record*) build/gtrace report "$f" > "$b.txt" 2>/dev/null ;; esac
		set -e
		sed -i "s|$f|CAPTURE|g" "$b.err"
		[ -s "$b.jsonl" ] || rm -f "$b.jsonl"
	done
}
if [ "${1:-}" = --outputs ]; then
	outputs
	exit 0
fi
if [ "${1:-}" = --record ]; then
	# the e2e suites' own start-up: fixture at -wait, gtrace attached, released
	set +eu
	. tests/e2e/lib.sh
	start_recording "" "$TMP" build/fixtures/script-go1.26-plain -wait -n 1 -- -d 2 \
		--az golden-zone-1 || exit 1
	wait "$GPID" || { indent "$TMP/rec.err"; exit 1; }
	wait "$FPID"
	cp "$TMP/cap" $d/record-go1.26.gtr
	set -eu
	outputs
	exit 0
fi
# the objects of today's sources (build/obj may hold stale ones)
objs=$(for c in user/*/*.c; do [ "$c" = user/cmd/gtrace.c ] || echo "build/obj/${c#user/}"; done | sed 's/\.c$/.o/')
objs="$objs $(ls build/obj/*.pb-c.o)"
gcc -std=gnu11 -D_GNU_SOURCE -Iuser -I. -Ibuild/obj -Itests/unit -o build/golden-gen \
	$d/gen.c tests/unit/synth.c $objs -lbpf -lelf -ldw -lz -lzstd -lcapstone -lprotobuf-c -lcurl -lm
ver=$(sed -n 's/^#define GT_CAPTURE_VERSION \([0-9]*\).*/\1/p' bpf/gtrace_events.h)
[ -f $d/synth.gtr ] || build/golden-gen $d/synth.gtr # version 1: the base of the malformed ones
[ -f $d/synth-v$ver.gtr ] || [ "$ver" = 1 ] || build/golden-gen $d/synth-v$ver.gtr
python3 - "$d" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
raw = open(f"{d}/synth.gtr", "rb").read()
# chunks follow the 16-byte file header: a 20-byte header (magic, u16 type,
# u16 flags, u32 len, u32 raw_len, u32 crc32), then len bytes
chunks, off = [], 16
while off + 20 <= len(raw):
    magic, typ, flags, n, rawn, crc = struct.unpack_from("<IHHIII", raw, off)
    chunks.append((off, typ, n)); off += 20 + n
open(f"{d}/bad-magic.gtr", "wb").write(b"GTRACEX\0" + raw[8:])
open(f"{d}/future-version.gtr", "wb").write(raw[:8] + struct.pack("<I", 99) + raw[12:])
meta = chunks[0]; assert meta[1] == 1
b = bytearray(raw); b[meta[0] + 20 + 3] ^= 0xff      # a byte of the META chunk
open(f"{d}/bad-crc-meta.gtr", "wb").write(bytes(b))
ev = [c for c in chunks if c[1] == 3][-1]             # the last EVENTS chunk
b = bytearray(raw); b[ev[0] + 20 + ev[2] // 2] ^= 0xff
open(f"{d}/bad-crc-events.gtr", "wb").write(bytes(b))
open(f"{d}/truncated.gtr", "wb").write(raw[: len(raw) - 40])  # inside the last chunk
open(f"{d}/header-only.gtr", "wb").write(raw[:10])            # not even a file header
PY
outputs
ls -l $d

#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Output files as root (user/lib/outfile.h): every command that writes
# refuses an output that is a symbolic link, a directory, a FIFO or one of its
# own inputs, and fails cleanly in a read-only directory -- each with exit 1
# and exactly one line on stderr, and with no file changed anywhere in the
# test directory (checked by a listing of every file's type, mode and hash
# before and after).  An existing regular output is kept as OUT.old and the
# new one is a fresh file, mode 0600 for captures whatever the old mode was.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/proc_lib.bash

[ -x "$GTRACE" ] || { skip outputs "no $GTRACE (run make)"; exit 0; }
v=$(go_versions | tail -1)
bin=$FIX/script-$v-plain
[ -x "$bin" ] || { skip outputs "no fixture $bin (tests/fixtures/build.sh)"; exit 0; }
pp=$FIX/pprofgen-$v-plain

D=$TMP/d
mkdir -p "$D"
spawn "$TMP/fix.out" "$bin" -loop -n 2; fpid=$SPAWN_PID
"$GTRACE" record -p "$fpid" -o "$D/cap.gtr" -d 1 -q --no-az-detect 2> "$TMP/rec.err" ||
	{ indent "$TMP/rec.err"; fail "outputs: a first capture"; exit 0; }
[ -x "$pp" ] && "$pp" -o "$D/prof.pb.gz" -kind goroutine
printf 'victim\n' > "$D/victim"; chmod 644 "$D/victim"
ln -s victim "$D/link.gtr"
ln -s cap.gtr "$D/caplink"
mkdir "$D/dir"
mkfifo "$D/fifo"

# listing: every path under $D with its type, mode and content hash
listing() {
	(cd "$D" && find . -mindepth 1 | sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f link $(readlink "$f")"
		elif [ -f "$f" ]; then echo "$f file $(stat -c %a "$f") $(sha256sum < "$f" | cut -c1-16)"
		else echo "$f $(stat -c '%F %a' "$f")"; fi
	done)
}

# refused NAME CMD...: exit 1, one stderr line, no file under $D changed
refused() {
	local name=$1; shift
	local before after rc
	before=$(listing)
	timeout 20 "$@" > "$TMP/out" 2> "$TMP/err"; rc=$?
	after=$(listing)
	if [ $rc -ne 1 ]; then
		indent "$TMP/err"; fail "outputs/$name: exit $rc, want 1"
	elif [ "$(wc -l < "$TMP/err")" -ne 1 ]; then
		indent "$TMP/err"; fail "outputs/$name: $(wc -l < "$TMP/err") lines on stderr, want 1"
	elif [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") | sed 's/^/  /'
		fail "outputs/$name: files changed"
	else
		echo "  $(cat "$TMP/err")"; pass "outputs/$name"
	fi
}

refused record-symlink "$GTRACE" record -p "$fpid" -o "$D/link.gtr" -d 1 --no-az-detect
refused record-dir "$GTRACE" record -p "$fpid" -o "$D/dir" -d 1 --no-az-detect
refused record-fifo "$GTRACE" record -p "$fpid" -o "$D/fifo" -d 1 --no-az-detect
refused report-same-file "$GTRACE" report "$D/cap.gtr" -f pprof -o "$D/cap.gtr"
refused report-same-via-link "$GTRACE" report "$D/caplink" -f jsonl -o "$D/cap.gtr"
refused report-symlink "$GTRACE" report "$D/cap.gtr" -f jsonl -o "$D/link.gtr"
refused report-dir "$GTRACE" report "$D/cap.gtr" -o "$D/dir"
refused report-fifo "$GTRACE" report "$D/cap.gtr" -o "$D/fifo"
refused merge-same-file "$GTRACE" merge "$D/cap.gtr" "$D/cap.gtr" -f jsonl -o "$D/cap.gtr"
refused snapshot-symlink "$GTRACE" snapshot -p "$fpid" -o "$D/link.gtr"
refused snapshot-fifo "$GTRACE" snapshot -p "$fpid" -o "$D/fifo"
if [ -f "$D/prof.pb.gz" ]; then
	refused stamp-same-file "$GTRACE" stamp "$D/prof.pb.gz" --az z1 -o "$D/prof.pb.gz"
	refused stamp-symlink "$GTRACE" stamp "$D/prof.pb.gz" --az z1 -o "$D/link.gtr"
else
	skip outputs/stamp "no $pp to make a profile"
fi

# A read-only directory (root ignores permission bits, so a read-only mount).
RO=$TMP/ro
mkdir -p "$RO"
if mount -t tmpfs -o size=1m,mode=755 gtrace-test-ro "$RO" 2>/dev/null; then
	printf 'old\n' > "$RO/old.gtr"
	mount -o remount,ro "$RO"
	before_ro=$(ls -la "$RO"; sha256sum "$RO/old.gtr")
	refused record-readonly-dir "$GTRACE" record -p "$fpid" -o "$RO/new.gtr" -d 1 --no-az-detect
	refused record-readonly-existing "$GTRACE" record -p "$fpid" -o "$RO/old.gtr" -d 1 --no-az-detect
	refused report-readonly-dir "$GTRACE" report "$D/cap.gtr" -f jsonl -o "$RO/x.jsonl"
	[ "$before_ro" = "$(ls -la "$RO"; sha256sum "$RO/old.gtr")" ] && pass outputs/readonly-untouched ||
		fail outputs/readonly-untouched
	umount "$RO"
else
	skip outputs/readonly "cannot mount a tmpfs (not root?)"
fi

# An existing file is kept as .old; the new capture is fresh and 0600 even
# though the old one was 0644; the report of the new file reads.
printf 'previous\n' > "$D/prev.gtr"; chmod 644 "$D/prev.gtr"
"$GTRACE" record -p "$fpid" -o "$D/prev.gtr" -d 1 -q --no-az-detect 2> "$TMP/err"
check outputs/record-keeps-old bash -c '
	[ "$(cat "$1.old")" = previous ] || { echo "no $1.old with the old content"; exit 1; }
	[ "$(stat -c %a "$1")" = 600 ] || { echo "mode $(stat -c %a "$1"), want 600"; exit 1; }
	"$2" report "$1" -f jsonl > /dev/null' _ "$D/prev.gtr" "$GTRACE"
printf 'old report\n' > "$D/r.jsonl"
"$GTRACE" report "$D/cap.gtr" -f jsonl -o "$D/r.jsonl" 2> "$TMP/err"
check outputs/report-keeps-old bash -c '
	[ "$(cat "$1.old")" = "old report" ] || { echo "no $1.old"; exit 1; }
	head -1 "$1" | grep -q "\"ev\":\"capture\"" || { echo "new report not written"; exit 1; }
	ls -a "$(dirname "$1")" | grep -q "^\.r\.jsonl\." && { echo "temporary left behind"; exit 1; }
	exit 0' _ "$D/r.jsonl"
# A failing report (damaged input) leaves OUT as it was and no temporary.
printf "not a capture\n" > "$D/bad.gtr"
printf 'keep\n' > "$D/keep.txt"
"$GTRACE" report "$D/bad.gtr" -f jsonl -o "$D/keep.txt" > /dev/null 2>&1
check outputs/failed-report-keeps-out bash -c '
	[ "$(cat "$1/keep.txt")" = keep ] || { echo "keep.txt changed"; exit 1; }
	[ ! -e "$1/keep.txt.old" ] || { echo "keep.txt.old made by a failed report"; exit 1; }
	! ls -a "$1" | grep -q "^\.keep\.txt\." || { echo "temporary left behind"; exit 1; }' _ "$D"

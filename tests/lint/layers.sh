#!/bin/bash
# No include runs back up the pipeline (README "Layout"): a file in
# user/<layer>/ may include only its own layer, the layers before it in the
# Makefile's LAYERS (lib < binary < capture < live < export < agent < cmd),
# and bpf/ (the shared event header).  Every gtrace header is named with its
# folder, so the folder says the layer.
#   tests/lint/layers.sh [ROOT]   checks ROOT/user (default: the repository)
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$(cd "$here/../.." && pwd)}
# the order the Makefile builds in is the order of the pipeline
read -r -a layers <<<"$(sed -n 's/^LAYERS *:= *//p' "$here/../../Makefile")"
[ ${#layers[@]} -gt 0 ] || { echo "  no LAYERS in the Makefile"; echo "FAIL lint/layers"; exit 0; }
rank() {
	local i
	for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
	echo -1
}

bad=0 files=0
for f in "$root"/user/*/*.[ch] "$root"/tests/unit/*.[ch]; do
	[ -e "$f" ] || continue
	dir=$(basename "$(dirname "$f")")
	case $f in
	*/tests/unit/*) from=99 ;; # tests may use any layer
	*) from=$(rank "$dir"); [ "$from" -lt 0 ] && continue ;;
	esac
	files=$((files + 1))
	while IFS=: read -r line inc; do
		inc=${inc#*\"}; inc=${inc%%\"*}
		case $inc in
		bpf/*) continue ;;
		*/*)
			to=$(rank "${inc%%/*}")
			if [ "$to" -lt 0 ]; then
				echo "  ${f#$root/}:$line: \"$inc\" is in no layer"; bad=$((bad + 1))
			elif [ "$to" -gt "$from" ]; then
				echo "  ${f#$root/}:$line: \"$inc\" reaches up from $dir/ to ${inc%%/*}/"
				bad=$((bad + 1))
			fi ;;
		*)
			# generated headers (skeleton, protobuf) sit in build/obj; a
			# header of user/ must be named with its layer
			if ls "$root"/user/*/"$inc" >/dev/null 2>&1; then
				echo "  ${f#$root/}:$line: \"$inc\" without its layer folder"; bad=$((bad + 1))
			fi ;;
		esac
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done
if [ "$files" -eq 0 ]; then
	echo "  no sources under $root/user"; echo "FAIL lint/layers"
elif [ "$bad" -eq 0 ]; then
	echo "PASS lint/layers ($files files)"
else
	echo "FAIL lint/layers: $bad include(s) against the layer order"
fi

# The check must be able to fail: on a copy of two layers with an include
# planted from capture/ up to live/, it has to say FAIL and name the line.
if [ -z "${1:-}" ]; then
	tmp=$(mktemp -d /tmp/gtrace-layers.XXXXXX)
	mkdir -p "$tmp/user/capture" "$tmp/user/live"
	printf '#include "lib/debug.h"\n' > "$tmp/user/live/a.h"
	printf '#include "bpf/gtrace_events.h"\n#include "live/a.h"\n' > "$tmp/user/capture/b.c"
	out=$("$here/layers.sh" "$tmp" 2>&1)
	if grep -q '^FAIL' <<<"$out" && grep -q 'capture/b.c:2: "live/a.h" reaches up' <<<"$out"; then
		echo "PASS lint/layers-catches-planted-include"
	else
		printf '%s\n' "$out" | sed 's/^/  /'; echo "FAIL lint/layers-catches-planted-include"
	fi
	rm -rf "$tmp"
fi

#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Makes build/venv, a Python venv with what the end-to-end tests decode
# outputs with: the `perfetto` package (its bundled upstream trace protos)
# and protobuf.  Only PyPI is used.  Idempotent: a stamp file records the
# requirement list, so a second run is instant.  Prints the venv's python.
#   tools/py-venv.sh [DIR]     (default build/venv)
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build/venv}
reqs="perfetto protobuf"
stamp=$dir/.gtrace-reqs
if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$reqs" ]; then
	echo "$dir/bin/python"
	exit 0
fi
python3 -m venv "$dir" >&2 || { echo "py-venv: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
"$dir/bin/pip" install -q --disable-pip-version-check $reqs >&2
"$dir/bin/python" -c 'import perfetto.protos.perfetto.trace.perfetto_trace_pb2' >&2
echo "$reqs" > "$stamp"
echo "$dir/bin/python"

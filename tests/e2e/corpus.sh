#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The fast subset of the third-party corpus (tests/corpus/list.tsv, rows
# marked fast: esbuild 0.27.0 from npm, no build info, served and recorded;
# buf 1.75.0, Go 1.27.3): ~30 s once fetched.  `make corpus` runs all of it.
cd "$(dirname "$0")/../.."
command -v npm > /dev/null || { echo "  skipped: no npm to fetch the corpus"; echo "SKIP corpus"; exit 0; }
exec bash tests/corpus/run.sh --fast

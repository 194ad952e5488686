#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tools/pprof-label-linter: `make lint-tool` builds it; its analysistest
# suite (one testdata package per diagnostic, the silent cases, and the
# labelpool fixture with exactly the findings it marks "// lint:") runs
# under `go test`, one result per package; the built binary finds exactly
# the fixture's marked lines both standalone and as `go vet -vettool`.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

GO=${GO:-/usr/local/go/bin/go}
lint=$PWD/build/pprof-label-linter
fixture=tests/fixtures/labelpool
pkgs="odd unapplied leak cross cardinality correct labelpool"
[ -x "$GO" ] || { skip label-linter "no Go toolchain at $GO"; exit 0; }
export GOFLAGS=-mod=mod GOWORK=off

if make -s lint-tool > "$TMP/build.out" 2>&1 && [ -x "$lint" ]; then
	pass label-linter/build
else
	sed 's/^/  /' "$TMP/build.out" | tail -5; fail label-linter/build
fi

(cd tools/pprof-label-linter && "$GO" test -count=1 ./labellint) > "$TMP/test.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && ! grep -qE '^\s+analysistest\.go:[0-9]+: ' "$TMP/test.out"; then
	# not a finding mismatch (build error, load failure): every package fails
	sed 's/^/  /' "$TMP/test.out" | tail -8
	for p in $pkgs; do fail "label-linter/analysistest/$p"; done
else
	for p in $pkgs; do
		if grep -E "^\s+analysistest\.go:[0-9]+: .*\b$p/" "$TMP/test.out" > "$TMP/$p.err"; then
			sed 's/^/  /' "$TMP/$p.err" | head -5; fail "label-linter/analysistest/$p"
		else
			pass "label-linter/analysistest/$p"
		fi
	done
fi

# exactly the fixture's "// lint:" lines, from the built binary both ways
want=$(grep -n '// lint:' $fixture/main.go | cut -d: -f1 | sort -n | tr '\n' ' ')
got=$(cd $fixture && "$lint" ./... 2>&1 | sed -n 's/^[^:]*main\.go:\([0-9]*\):.*/\1/p' | sort -n | tr '\n' ' ')
if [ -n "$want" ] && [ "$got" = "$want" ]; then pass label-linter/standalone-fixture
else echo "  findings on lines '$got', fixture marks '$want'"; fail label-linter/standalone-fixture; fi
got=$(cd $fixture && "$GO" vet -vettool="$lint" . 2>&1 | sed -n 's/^[^:]*main\.go:\([0-9]*\):.*/\1/p' | sort -n | tr '\n' ' ')
if [ -n "$want" ] && [ "$got" = "$want" ]; then pass label-linter/vettool-fixture
else echo "  go vet -vettool findings on lines '$got', fixture marks '$want'"; fail label-linter/vettool-fixture; fi

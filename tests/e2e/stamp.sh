#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gtrace stamp on real pprof files written by Go's runtime/pprof (the
# pprofgen fixture, goroutine and heap profiles): with --az, and with the
# zone from a fake AWS IMDSv2 on 127.0.0.1 (token PUT, then the placement
# GETs with the token; a GET without it gets 401).  `go tool pprof -raw`
# must show the five labels on every sample next to the profile's own
# labels, and the comment; stamping twice keeps one set and one comment;
# the sample values are untouched.  Garbage, an empty file, a truncated
# gzip and a gzipped non-profile each fail with exit 1 and one error line.
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

bin=$FIX/pprofgen-go1.26-plain
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GTRACE" ] || { skip stamp "no $GTRACE (run make)"; exit 0; }
[ -x "$bin" ] || { skip stamp "no fixture $bin (tests/fixtures/build.sh)"; exit 0; }
[ -x "$GO" ] || { skip stamp "no go toolchain for go tool pprof"; exit 0; }

"$bin" -o "$TMP/g.pb.gz" -kind goroutine && "$bin" -o "$TMP/h.pb.gz" -kind heap ||
	{ fail stamp/fixture; exit 0; }

# labeled FILE ZONE PROVIDER: every sample has the stamp labels; the comment is there once
labeled() {
	"$GO" tool pprof -raw "$1" > "$1.raw" 2>/dev/null || { echo "pprof cannot read $1"; return 1; }
	python3 - "$1.raw" "$2" "$3" "$(hostname)" <<'PY'
import re, sys
raw, zone, provider, host = sys.argv[1:]
text = open(raw).read()
samples = re.findall(r'^\s+\d+(?:\s+\d+)*: [\d ]+\n((?:\s+\w[^\n]*:\[[^\n]*\n)*)', text, re.M)
assert samples, 'no samples in pprof -raw output'
want = {'az': zone, 'cloud.availability_zone': zone, 'cloud.provider': provider, 'host.name': host}
for s in samples:
    got = dict(re.findall(r'([\w.]+):\[([^\]]*)\]', s))
    for k, v in want.items():
        assert got.get(k) == v, 'sample labels %s lack %s=%s' % (got, k, v)
comments = [l for l in text.splitlines() if l.startswith('Comment: gtrace stamp:')]
assert len(comments) == 1, 'comments: %s' % comments
assert 'az=%s' % zone in comments[0] and 'host=%s' % host in comments[0], comments[0]
print(len(samples), 'samples;', comments[0])
PY
}

check stamp/az-flag sh -c '"$0" stamp "$1" --az e2e-zone-9 --no-az-detect -o "$2"' \
	"$GTRACE" "$TMP/g.pb.gz" "$TMP/g1.pb.gz"
check stamp/labels labeled "$TMP/g1.pb.gz" e2e-zone-9 manual
# the profile's own labels survive, and the values do not change
check stamp/keeps sh -c '"$0" tool pprof -raw "$1" | grep -q "kind:\[sleeper\]" &&
	[ "$("$0" tool pprof -top "$1" | grep -A99 "^ *flat" | sed 1d)" = \
	  "$("$0" tool pprof -top "$2" | grep -A99 "^ *flat" | sed 1d)" ]' "$GO" "$TMP/g1.pb.gz" "$TMP/g.pb.gz"
# stamping a stamped profile again replaces: still one set of labels and one
# comment (into another file: -o naming the input is refused, docs/outputs.md)
check stamp/restamp sh -c '"$0" stamp "$1" --az e2e-zone-8 --no-az-detect -o "$2" 2>/dev/null' \
	"$GTRACE" "$TMP/g1.pb.gz" "$TMP/g2.pb.gz"
check stamp/restamp-labels labeled "$TMP/g2.pb.gz" e2e-zone-8 manual

# ---- a fake AWS IMDSv2 on 127.0.0.1 ----
cat > "$TMP/imds.py" <<'PY'
import http.server, sys
TOKEN = 'e2e-token-123'
PLACEMENT = {'availability-zone': 'us-east-1a', 'availability-zone-id': 'use1-az6', 'region': 'us-east-1'}
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body=b''):
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_PUT(self):
        if self.path == '/latest/api/token' and self.headers.get('X-aws-ec2-metadata-token-ttl-seconds'):
            return self.reply(200, TOKEN.encode())
        self.reply(404)
    def do_GET(self):
        p = '/latest/meta-data/placement/'
        if not self.path.startswith(p):
            return self.reply(404)
        if self.headers.get('X-aws-ec2-metadata-token') != TOKEN:
            return self.reply(401)
        v = PLACEMENT.get(self.path[len(p):])
        self.reply(200, v.encode()) if v else self.reply(404)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$TMP/imds.py" > "$TMP/imds.port" &
BG_PIDS=$!
for _ in $(seq 50); do [ -s "$TMP/imds.port" ] && break; sleep 0.1; done
port=$(cat "$TMP/imds.port")
check stamp/imds sh -c 'GTRACE_AZ= "$0" stamp "$1" --az-file "" --imds-endpoint "http://127.0.0.1:$2" -o "$3"' \
	"$GTRACE" "$TMP/h.pb.gz" "$port" "$TMP/h1.pb.gz"
check stamp/imds-labels labeled "$TMP/h1.pb.gz" us-east-1a aws
check stamp/imds-region sh -c 'grep -q "cloud.region:\[us-east-1\]" "$0" &&
	grep -q "^Comment: gtrace stamp: az=us-east-1a (source imds-aws) region=us-east-1" "$0"' \
	"$TMP/h1.pb.gz.raw"
kill $BG_PIDS 2>/dev/null; BG_PIDS=

# ---- bad input: exit 1, one line saying what is wrong ----
bad() { # NAME FILE PATTERN
	check "stamp/bad-$1" sh -c '"$0" stamp "$1" --az z --no-az-detect -o "$2" 2>"$2.err"; rc=$?
		[ $rc -eq 1 ] && [ "$(wc -l < "$2.err")" -eq 1 ] && grep -q "$3" "$2.err" && [ ! -e "$2" ] ||
		{ echo "exit $rc: $(cat "$2.err")"; exit 1; }' "$GTRACE" "$2" "$TMP/bad-$1.out" "$3"
}
head -c 4096 /dev/urandom | tr '\0\37\213' 'abc' > "$TMP/garbage"
echo "this is not a profile, just text" > "$TMP/text"
: > "$TMP/empty"
head -c 200 "$TMP/g.pb.gz" > "$TMP/cut.pb.gz"
gzip -c "$TMP/text" > "$TMP/text.gz"
bad garbage "$TMP/garbage" "not a pprof profile"
bad text "$TMP/text" "not a pprof profile"
bad empty "$TMP/empty" "is empty"
bad truncated "$TMP/cut.pb.gz" "truncated or corrupt"
bad gzipped-text "$TMP/text.gz" "gzip, but not of a pprof profile"
bad missing "$TMP/nonexistent" "cannot open"

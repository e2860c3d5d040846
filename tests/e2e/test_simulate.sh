#!/bin/sh
# End-to-end: `scalewise simulate` on a real public trace with two metrics
# (table, JSON keys and the consistency of their values, CSV rows, SVG that
# parses as XML, CSV and JSON inputs agreeing, determinism), bad input (exit 2
# and one line naming the flag or file and line), and `scalewise record`
# against a small local Prometheus stand-in (a python3 handler for POST
# /api/v1/query_range) with chunking, auth headers, an error answer, and the
# recording replayed through simulate.
# usage: tests/e2e/test_simulate.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"

TD=${SW_TESTDATA:-$(dirname "$0")/../../../shared/testdata}
TRACE="$TD/traces/nasa_http_1995_jul_1m"
EX=$(dirname "$0")/../../examples
if [ ! -f "$TRACE.prom.json" ] || [ ! -f "$TRACE.csv" ]; then
	bad "public trace '$TRACE.prom.json' not found (set SW_TESTDATA)"
	finish e2e-simulate
	exit 1
fi

# run_sw ARGS...: runs the binary with stderr in $TMP/err (and kept for the sanitizer check)
run_sw() {
	"$BIN" "$@" 2>"$TMP/err"
	rc=$?
	cat "$TMP/err" >>"$TMP/all-servers.log"
	return $rc
}

# json FILE EXPR: evaluates a python expression over the parsed JSON (as j)
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# --- a real trace, two pipelines, every output -----------------------------------
run_sw simulate --input "$TRACE.prom.json" --config "$EX/simulate.yaml" --metric raw --metric recommended \
	--target 20 --max 20 --startup 30s --quiet \
	--json "$TMP/a.json" --csv "$TMP/a.csv" --svg "$TMP/a.svg" >"$TMP/table"
check "simulate exit" 0 $?
check "simulate stderr empty with --quiet" "" "$(cat "$TMP/err")"
TABLE=$(cat "$TMP/table")
contains "table names the trace" "nasa_http_1995_jul_1m.prom.json" "$TABLE"
contains "table trace line" "39,692 points, 1995-07-01T04:00:00Z .. 1995-07-28T17:31:00Z" "$TABLE"
contains "table hpa line" "AverageValue 20 per replica, replicas 1..20" "$TABLE"
check "table header has both metrics" 1 "$(grep -c -E '^ +raw +recommended$' "$TMP/table")"
contains "table pipeline of recommended" "max over 7m0s; hysteresis 0.2; every 15s" "$TABLE"
contains "table syncs" "158,765" "$TABLE"

check "json is a list of two" "2" "$(json "$TMP/a.json" 'len(j)')"
KEYS="['metric', 'steps', 'scale_events', 'scale_ups', 'scale_downs', 'replica_seconds', 'mean_replicas', 'max_replicas', 'underprovisioned_seconds', 'underprovisioned_unit_seconds']"
check "json keys (raw)" "$KEYS" "$(json "$TMP/a.json" 'list(j[0].keys())')"
check "json keys (recommended)" "$KEYS" "$(json "$TMP/a.json" 'list(j[1].keys())')"
check "json metric names" "raw recommended" "$(json "$TMP/a.json" '" ".join(m["metric"] for m in j)')"
check "json steps" "158765 158765" "$(json "$TMP/a.json" '" ".join(str(m["steps"]) for m in j)')"
check "replica_seconds = mean_replicas x steps x 15" "True True" \
	"$(json "$TMP/a.json" '" ".join(str(abs(m["replica_seconds"] - m["mean_replicas"]*m["steps"]*15) < 1e-6*m["replica_seconds"]) for m in j)')"
check "scale_events = ups + downs" "True True" \
	"$(json "$TMP/a.json" '" ".join(str(m["scale_events"] == m["scale_ups"]+m["scale_downs"]) for m in j)')"
check "replica_seconds whole syncs" "True True" \
	"$(json "$TMP/a.json" '" ".join(str(m["replica_seconds"] % 15 == 0 and m["steps"]*15 <= m["replica_seconds"] <= m["steps"]*15*m["max_replicas"]) for m in j)')"
check "under-provisioned within the run" "True True" \
	"$(json "$TMP/a.json" '" ".join(str(0 < m["underprovisioned_seconds"] <= m["steps"]*15 and m["underprovisioned_unit_seconds"] > 0) for m in j)')"
check "recommended flaps less than raw" "True" "$(json "$TMP/a.json" 'j[1]["scale_events"] < j[0]["scale_events"]')"
EV=$(json "$TMP/a.json" '"{:,}".format(j[0]["scale_events"])')
check "table scale events = json" 1 "$(grep -c -E "^  scale events +$EV " "$TMP/table")"

# CSV: a header and one row per sync and metric; the replicas column adds up to replica_seconds/15
check "csv header" "metric,time,raw,served,desired,replicas,ready,capacity" "$(head -n 1 "$TMP/a.csv")"
check "csv rows" $((2 * 158765 + 1)) "$(wc -l <"$TMP/a.csv" | tr -d ' ')"
check "csv first row (scaled to 3 at once, 1 ready: startup 30s)" "raw,1995-07-01T04:00:00Z,42,42,3,3,1,20" "$(sed -n 2p "$TMP/a.csv")"
check "csv replicas sum = replica_seconds" \
	"$(json "$TMP/a.json" 'int(j[0]["replica_seconds"]/15)')" \
	"$(awk -F, '$1 == "raw" {s += $6} END {print s}' "$TMP/a.csv")"
check "csv capacity = ready x 20" 0 "$(awk -F, 'NR > 1 && $8 != $7 * 20 {n++} END {print n+0}' "$TMP/a.csv")"

# SVG: well-formed XML, one panel per metric, no external references
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$TMP/a.svg" 2>"$TMP/xml"
else
	python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$TMP/a.svg" 2>"$TMP/xml"
fi
check "svg is well-formed XML" "0:" "$?:$(cat "$TMP/xml")"
check "svg root" "{http://www.w3.org/2000/svg}svg" \
	"$(python3 -c 'import sys, xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().tag)' "$TMP/a.svg")"
check "svg panels" 2 "$(grep -c '<clipPath id="cr' "$TMP/a.svg")"
check "svg is self-contained" 0 "$(grep -c -E 'href=|<script|<image' "$TMP/a.svg")"
contains "svg time labels" ">Jul 13<" "$(cat "$TMP/a.svg")"

# CSV input gives the same numbers as the JSON input; a second run the same bytes
run_sw simulate --input "$TRACE.csv" --config "$EX/simulate.yaml" --metric raw --metric recommended \
	--target 20 --max 20 --startup 30s --quiet --json "$TMP/b.json" >/dev/null
check "csv input exit" 0 $?
check "csv and json inputs agree" "$(cat "$TMP/a.json")" "$(cat "$TMP/b.json")"
run_sw simulate --input "$TRACE.prom.json" --config "$EX/simulate.yaml" --metric raw --metric recommended \
	--target 20 --max 20 --startup 30s --quiet --json "$TMP/c.json" >/dev/null
check "deterministic" "$(cat "$TMP/a.json")" "$(cat "$TMP/c.json")"

# the example HPA manifest (behavior) with a single metric
run_sw simulate --input "$TRACE.csv" --hpa "$EX/hpa.yaml" --json "$TMP/h.json" --quiet >"$TMP/table"
check "--hpa exit" 0 $?
contains "--hpa names the manifest" "'hpa.yaml' metric 'recommended', AverageValue 20 per replica, replicas 1..20, behavior from the manifest" "$(cat "$TMP/table")"
check "--hpa without --config: one raw metric" "raw" "$(json "$TMP/h.json" 'j[0]["metric"]')"

# --- bad input: exit 2, one line on stderr naming the flag or the file and line ----
# expect_bad NAME NEEDLE ARGS...
expect_bad() {
	name=$1; needle=$2; shift 2
	run_sw simulate "$@" >"$TMP/out"
	rc=$?
	check "$name: exit 2" 2 "$rc"
	check "$name: one line" 1 "$(wc -l <"$TMP/err" | tr -d ' ')"
	contains "$name: message" "$needle" "$(cat "$TMP/err")"
	check "$name: nothing on stdout" "" "$(cat "$TMP/out")"
}
printf 'timestamp,value\n1714564800,1\n1714564815,2\n1714564830,oops\n' >"$TMP/badval.csv"
printf 'timestamp,value\n1714564800,1\n1714564830,2\n1714564815,3\n' >"$TMP/unsorted.csv"
printf 'timestamp,value\n1714564800,1\n1714564815,NaN\n' >"$TMP/nan.csv"
printf '{"status":"success","data":{"resultType":"matrix","result":[]}}\n' >"$TMP/empty.json"
printf 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 5\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}\n' >"$TMP/cpu.yaml"
printf 'apiVersion: apps/v1\nkind: Deployment\nspec: {}\n' >"$TMP/deploy.yaml"
printf 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 5\n  metrics:\n  - type: External\n    external: {metric: {name: m}, target: {type: AverageValue}}\n' >"$TMP/notarget.yaml"
expect_bad "missing file" "--input: cannot read '$TMP/none.csv'" --input "$TMP/none.csv" --target 1 --max 2
expect_bad "bad csv line" "badval.csv' line 4: 'oops' is not a number" --input "$TMP/badval.csv" --target 1 --max 2
expect_bad "unsorted csv" "unsorted.csv' line 4:" --input "$TMP/unsorted.csv" --target 1 --max 2
expect_bad "NaN" "nan.csv' line 3: value is NaN" --input "$TMP/nan.csv" --target 1 --max 2
expect_bad "empty matrix" "data.result is empty" --input "$TMP/empty.json" --target 1 --max 2
expect_bad "unknown metric" "--metric: no metric 'nope'" --input "$TRACE.csv" --config "$EX/simulate.yaml" --metric nope --target 1 --max 2
expect_bad "hpa without External metric" "--hpa: '$TMP/cpu.yaml'" --input "$TRACE.csv" --hpa "$TMP/cpu.yaml"
expect_bad "hpa of the wrong kind" "deploy.yaml': apiVersion: 'apps/v1' is not supported" --input "$TRACE.csv" --hpa "$TMP/deploy.yaml"
expect_bad "hpa without a target value" "averageValue: must be set" --input "$TRACE.csv" --hpa "$TMP/notarget.yaml"
expect_bad "min > max" "--min: 5 is greater than --max 3" --input "$TRACE.csv" --target 1 --min 5 --max 3
expect_bad "bad target" "--target: 'abc'" --input "$TRACE.csv" --target abc --max 3
expect_bad "no target" "--hpa FILE or --target Q is required" --input "$TRACE.csv"
expect_bad "bad startup" "--startup: '5 minutes'" --input "$TRACE.csv" --target 1 --max 2 --startup "5 minutes"
expect_bad "series on csv" "cannot be chosen" --input "$TRACE.csv" --series 'job="x"' --target 1 --max 2
expect_bad "unknown flag" "unknown argument '--frobnicate'" --input "$TRACE.csv" --frobnicate
run_sw simulate --help >"$TMP/out"
check "--help exit" 0 $?
contains "--help" "usage: scalewise simulate --input FILE" "$(cat "$TMP/out")"

# --- record against a local Prometheus stand-in ------------------------------------
cat >"$TMP/prom.py" <<'PY'
import http.server, json, os, sys, urllib.parse
portfile, logfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        with open(logfile, "a") as f:
            f.write(json.dumps({"path": self.path, "form": form, "auth": self.headers.get("Authorization"),
                                "org": self.headers.get("X-Scope-OrgID")}) + "\n")
        if self.path != "/api/v1/query_range":
            return self.reply(404, {"status": "error", "errorType": "not_found", "error": self.path})
        q, start, end, step = form["query"][0], float(form["start"][0]), float(form["end"][0]), float(form["step"][0])
        if q == "rate(x[5m)":
            return self.reply(400, {"status": "error", "errorType": "bad_data",
                                    "error": "1:11: parse error: unclosed left bracket"})
        n = int(round((end - start) / step)) + 1
        if n > 11000:
            return self.reply(400, {"status": "error", "errorType": "bad_data",
                                    "error": "exceeded maximum resolution of 11,000 points per timeseries"})
        ts = [start + i * step for i in range(n)]
        res = [{"metric": {"__name__": "rps", "instance": "a"}, "values": [[t, str(int(t) % 97)] for t in ts]},
               {"metric": {"instance": "b", "__name__": "rps"}, "values": [[t, "1"] for t in ts if int(t) % 600]}]
        return self.reply(200, {"status": "success", "data": {"resultType": "matrix", "result": res}})
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
python3 "$TMP/prom.py" "$TMP/prom.port" "$TMP/prom.log" 2>"$TMP/prom.err" &
PROM_PID=$!
PIDS="$PIDS $PROM_PID"
i=0
while [ ! -s "$TMP/prom.port" ]; do
	kill -0 "$PROM_PID" 2>/dev/null || { cat "$TMP/prom.err" >&2; break; }
	i=$((i + 1)); [ $i -gt 1000 ] && break
	sleep 0.01
done
PROM="http://127.0.0.1:$(cat "$TMP/prom.port" 2>/dev/null)"
printf 'tok3n\n' >"$TMP/token"

# 25,001 steps of 15 s from 2024-05-01T00:00:00Z: three chunks of at most 10,000
run_sw record --prometheus "$PROM/" --query 'sum by (instance) (rate(http_requests_total[2m]))' \
	--start 2024-05-01T00:00:00Z --end 1714896600 --step 15s --out "$TMP/rec.json" \
	--bearer-token-file "$TMP/token" --header 'X-Scope-OrgID: team-a'
check "record exit" 0 $?
contains "record summary" "wrote 2 series, 49376 points (3 requests)" "$(cat "$TMP/err")"
check "record requests" 3 "$(wc -l <"$TMP/prom.log" | tr -d ' ')"
check "record chunks" "1714521600.000-1714671585.000 1714671600.000-1714821585.000 1714821600.000-1714896600.000" \
	"$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["form"]["start"][0]+"-"+json.loads(l)["form"]["end"][0] for l in open(sys.argv[1])))' "$TMP/prom.log")"
check "record form" "sum by (instance) (rate(http_requests_total[2m])) 15.000 /api/v1/query_range" \
	"$(python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).readline()); print(l["form"]["query"][0], l["form"]["step"][0], l["path"])' "$TMP/prom.log")"
check "record auth headers" "Bearer tok3n team-a" \
	"$(python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).readline()); print(l["auth"], l["org"])' "$TMP/prom.log")"
check "record output: matrix, two series, contiguous" "success matrix 2 25001 True 24375" \
	"$(python3 -c '
import json,sys
j=json.load(open(sys.argv[1])); r=j["data"]["result"]; a=[p[0] for p in r[0]["values"]]
print(j["status"], j["data"]["resultType"], len(r), len(a), all(b-x==15 for x,b in zip(a,a[1:])), len(r[1]["values"]))' "$TMP/rec.json")"
check "record value text kept" "[1714521600, '$((1714521600 % 97))']" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["result"][0]["values"][0])' "$TMP/rec.json")"

# the recording replays: one series by label, and both summed
run_sw simulate --input "$TMP/rec.json" --series 'instance="a"' --target 10 --max 20 --quiet \
	--json "$TMP/r.json" >"$TMP/table"
check "replay exit" 0 $?
check "replay steps" 25001 "$(json "$TMP/r.json" 'j[0]["steps"]')"
contains "replay names the series" '{__name__="rps",instance="a"}' "$(cat "$TMP/table")"
run_sw simulate --input "$TMP/rec.json" --target 10 --max 20 --quiet --json "$TMP/r2.json" >"$TMP/table"
check "replay of the sum" 0 $?
contains "replay sums" "sum of 2 series" "$(cat "$TMP/table")"

# Prometheus' own error, with its message; exit 1; no file written
: >"$TMP/prom.log"
run_sw record --prometheus "$PROM" --query 'rate(x[5m)' --start -1h --out "$TMP/err.json" >"$TMP/out"
check "record prometheus error exit" 1 $?
contains "record prometheus error message" "bad_data: 1:11: parse error: unclosed left bracket" "$(cat "$TMP/err")"
check "record prometheus error one line" 1 "$(wc -l <"$TMP/err" | tr -d ' ')"
check "record writes nothing on error" "no" "$([ -e "$TMP/err.json" ] && echo yes || echo no)"
run_sw record --prometheus "$PROM/sub" --query up --start -1h --out "$TMP/err.json" >/dev/null
check "record 404 exit" 1 $?
contains "record 404 message" "HTTP 404: not_found" "$(cat "$TMP/err")"
# nobody listening: a connection error, not a hang
run_sw record --prometheus "http://127.0.0.1:1" --query up --start -1h --out "$TMP/err.json" --timeout 2s >/dev/null
check "record connection refused exit" 1 $?
contains "record connection refused message" "prometheus 'http://127.0.0.1:1'" "$(cat "$TMP/err")"
# bad flags: exit 2
run_sw record --prometheus "$PROM" --start -1h --out "$TMP/x.json" >/dev/null
check "record without --query" "2:scalewise record: --query Q is required" "$?:$(cat "$TMP/err")"
run_sw record --prometheus "$PROM" --query up --start tomorrow --out "$TMP/x.json" >/dev/null
check "record bad --start" 2 $?
contains "record bad --start message" "--start: 'tomorrow' is not a time" "$(cat "$TMP/err")"
run_sw record --prometheus "$PROM" --query up --start 2024-05-02T00:00:00Z --end 2024-05-01T00:00:00Z --out "$TMP/x.json" >/dev/null
check "record end before start" 2 $?
# credentials belong in the flags, not the URL: refused before any request, the password not shown
run_sw record --prometheus "http://alice:s3cret@${PROM#http://}" --query up --start -1h --out "$TMP/x.json" >/dev/null
check "record credentials in the url" "2:scalewise record: --prometheus: '$PROM' must not hold credentials; use --basic-auth-user and --basic-auth-password-file" \
	"$?:$(cat "$TMP/err")"
run_sw record --prometheus "ftp://h/" --query up --start -1h --out "$TMP/x.json" >/dev/null
check "record non-http url" "2:scalewise record: --prometheus: 'ftp://h/' must start with http:// or https://" \
	"$?:$(cat "$TMP/err")"
run_sw record --prometheus "http:///x" --query up --start -1h --out "$TMP/x.json" >/dev/null
check "record url without host" "2:scalewise record: --prometheus: 'http:///x' has no host" "$?:$(cat "$TMP/err")"

# finish fails the test on a sanitizer report in any command's stderr (run_sw keeps them)
finish e2e-simulate

#!/bin/sh
# End-to-end: starts `scalewise serve` on a free loopback port with a static
# config and checks every endpoint with curl and with kubectl, the error
# statuses, bad input, reload on SIGHUP and shutdown on SIGTERM.
# usage: tests/e2e/test_api.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"

cat >"$TMP/config.yaml" <<'YAML'
auth: {mode: anonymous}
sources:
  fixed: {type: static}
metrics:
  - name: queue_depth
    source: fixed
    series:
      - labels: {queue: orders, env: prod}
        value: 37
      - labels: {queue: "b.c", env: prod}
        value: "1500m"
  - name: manual_override
    source: fixed
    value: 42
    namespaces: [default, demo]
  - name: Mixed_Case
    source: fixed
    value: "2.5k"
YAML
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
GV=/apis/external.metrics.k8s.io/v1beta1

# --- discovery, byte for byte -----------------------------------------------
get /apis
check "/apis code" 200 "$CODE"
check "/apis body" '{"kind":"APIGroupList","groups":[{"name":"external.metrics.k8s.io","versions":[{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"},"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:'"$PORT"'"}]}]}' "$BODY"
get /apis/external.metrics.k8s.io
check "group body" '{"kind":"APIGroup","apiVersion":"v1","name":"external.metrics.k8s.io","versions":[{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"}}' "$BODY"
get $GV
check "resource list" '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"external.metrics.k8s.io/v1beta1","resources":[{"name":"queue_depth","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]},{"name":"manual_override","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]},{"name":"Mixed_Case","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]}]}' "$BODY"

# --- the metric, headers and body ---------------------------------------------
curl -sS -k -D "$TMP/headers" -o "$TMP/body" "$BASE$GV/namespaces/default/queue_depth"
contains "content-type" "Content-Type: application/json" "$(cat "$TMP/headers")"
contains "cache-control" "Cache-Control: no-cache, private" "$(cat "$TMP/headers")"
# one trailing newline, no indentation
check "trailing newline" "$(printf '}\n' | od -An -c)" "$(tail -c 2 "$TMP/body" | od -An -c)"
BODY=$(sed -E 's/"timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"/"timestamp":"T"/g' "$TMP/body")
check "list body" '{"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[{"metricName":"queue_depth","metricLabels":{"env":"prod","queue":"orders"},"timestamp":"T","value":"37"},{"metricName":"queue_depth","metricLabels":{"env":"prod","queue":"b.c"},"timestamp":"T","value":"1500m"}]}' "$BODY"
get "$GV/namespaces/default/manual_override"
BODY=$(printf '%s' "$BODY" | sed -E 's/"timestamp":"[^"]*"/"timestamp":"T"/')
check "no labels is null" '{"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[{"metricName":"manual_override","metricLabels":null,"timestamp":"T","value":"42"}]}' "$BODY"
get "$GV/namespaces/default/mixed_case"
check "lowercased name finds Mixed_Case" 200 "$CODE"
contains "quantity 2.5k" '"value":"2500"' "$BODY"

# selectors as client-go encodes them
get "$GV/namespaces/default/queue_depth?labelSelector=queue%3Dorders"
check "selector =" 1 "$(printf '%s' "$BODY" | grep -o metricName | wc -l)"
get "$GV/namespaces/default/queue_depth?labelSelector=queue+in+%28orders%2Cx%29%2Cenv"
check "selector in" 1 "$(printf '%s' "$BODY" | grep -o metricName | wc -l)"
get "$GV/namespaces/default/queue_depth?labelSelector=%21env"
check "selector matches nothing" 200 "$CODE"
contains "empty items" '"items":[]' "$BODY"

# --- errors are Status objects -------------------------------------------------
get "$GV/namespaces/default/nope"
check "unknown metric" 404 "$CODE"
contains "unknown metric status" '"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure"' "$BODY"
contains "unknown metric reason" '"reason":"NotFound","code":404}' "$BODY"
get "$GV/namespaces/other/manual_override"
check "not visible in namespace" 404 "$CODE"
get "$GV/namespaces/demo/manual_override"
check "visible in demo" 200 "$CODE"
get "$GV/namespaces/Bad_NS/queue_depth"
check "bad namespace" 400 "$CODE"
contains "bad namespace reason" '"reason":"BadRequest","code":400}' "$BODY"
get "$GV/namespaces/default/queue_depth?labelSelector=x%3D%3Dy%3D%3Dz"
check "bad selector" 400 "$CODE"
contains "bad selector message" "found '==', expected: ',' or 'end of string'" "$BODY"
get "$GV/namespaces/default/queue_depth?labelSelector=a%3D%FF%FE"
check "invalid utf-8 selector" 400 "$CODE"
get "$GV/namespaces/default/queue_depth?foo=bar"
check "unknown query parameter" 400 "$CODE"
contains "unknown parameter named" 'unknown query parameter' "$BODY"
get "$GV/namespaces/default/queue_depth?labelSelector=a&labelSelector=b"
check "repeated labelSelector" 400 "$CODE"
get "$GV/namespaces/default/queue_depth?timeout=30s"
check "client-go timeout parameter" 200 "$CODE"
get "$GV/nonexistent-metric"
check "root-scoped path" 404 "$CODE"
contains "path not found" 'the server could not find the requested resource' "$BODY"
get "$GV/namespaces/foo"
check "namespace only" 404 "$CODE"
get "$GV/namespaces/foo/group/metric"
check "too deep" 404 "$CODE"
get "$GV/namespaces/%2e%2e/queue_depth"
check "percent-encoded dot-dot" 400 "$CODE"
get "$GV/namespaces/default%2fx/queue_depth"
check "percent-encoded slash" 404 "$CODE"
get "/apis/../etc/passwd" --path-as-is
contains "dot-dot path is a 4xx" "4" "$(printf %.1s "$CODE")"
get /openapi/v2
check "openapi is 404" 404 "$CODE"
get /nope
check "outside prefix" 404 "$CODE"
contains "outside prefix is a Status" '"kind":"Status"' "$BODY"
for m in POST PUT DELETE PATCH; do
	get "$GV/namespaces/default/queue_depth" -X $m -d '{}'
	check "$m is 405" 405 "$CODE"
	contains "$m Status" '"reason":"MethodNotAllowed"' "$BODY"
done
code=$(curl -sS -k -I -o /dev/null -w '%{http_code}' "$BASE$GV/namespaces/default/queue_depth")
check "HEAD is 405" 405 "$code"

# overlong input: a clear 4xx and the server keeps serving
long=$(head -c 20000 /dev/zero | tr '\0' a)
get "$GV/namespaces/default/$long"
check "overlong URL" 414 "$CODE"
sel=$(i=0; while [ $i -lt 10000 ]; do printf 'k%d%%3Dv%%2C' $i; i=$((i + 1)); done; printf 'z%%3Dv')
get "$GV/namespaces/default/queue_depth?labelSelector=$sel"
contains "10000 requirements is a 4xx" "4" "$(printf %.1s "$CODE")"
printf 'X-Big: %s\r\n' "$(head -c 48000 /dev/zero | tr '\0' b)" >"$TMP/bighdr"
get /healthz -H @"$TMP/bighdr"
check "huge header" 431 "$CODE"
contains "huge header is a Status" '"reason":"RequestHeaderFieldsTooLarge","code":431}' "$BODY"
get /healthz
check "still serving" "200 ok" "$CODE $BODY"

# --- health and own metrics --------------------------------------------------------
for p in /healthz /livez /readyz; do
	get $p
	check "$p" "200 ok" "$CODE $BODY"
done
get /metrics
check "/metrics code" 200 "$CODE"
contains "requests counter" 'scalewise_http_requests_total{class="metric",code="404"}' "$BODY"
contains "latency histogram" 'scalewise_http_request_duration_seconds_bucket{class="metric",le="+Inf"}' "$BODY"
contains "build info" 'scalewise_build_info{version=' "$BODY"
contains "config status" 'scalewise_config_last_load_success 1' "$BODY"

# --- kubectl as a real client ---------------------------------------------------------
cat >"$TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: sw
  cluster: {server: "$BASE", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: e2e-not-checked-in-anonymous-mode}
contexts:
- name: sw
  context: {cluster: sw, user: u}
current-context: sw
KC
K="kubectl --kubeconfig $TMP/kubeconfig"
out=$($K get --raw "$GV/namespaces/default/queue_depth?labelSelector=queue%3Dorders" 2>&1)
contains "kubectl list" '"metricLabels":{"env":"prod","queue":"orders"}' "$out"
out=$($K get --raw /apis 2>&1)
contains "kubectl /apis" '"kind":"APIGroupList"' "$out"
out=$($K get --raw $GV 2>&1)
contains "kubectl resource list" '"name":"manual_override"' "$out"
out=$($K get --raw /readyz 2>&1)
check "kubectl readyz" ok "$out"
if $K get --raw "$GV/namespaces/default/nope" >"$TMP/kout" 2>&1; then
	bad "kubectl unknown metric should fail"
else
	contains "kubectl shows NotFound" "NotFound" "$(cat "$TMP/kout")"
fi
if $K get --raw "$GV/namespaces/default/queue_depth?labelSelector=a%3D%3Db%3D%3Dc" >"$TMP/kout" 2>&1; then
	bad "kubectl bad selector should fail"
else
	contains "kubectl shows BadRequest" "BadRequest" "$(cat "$TMP/kout")"
fi
out=$($K api-resources --api-group=external.metrics.k8s.io 2>&1)
contains "kubectl api-resources" "queue_depth" "$out"

# --- TLS: 1.2 and 1.3 only --------------------------------------------------------------
if curl -sS -k --tlsv1.1 --tls-max 1.1 -o /dev/null "$BASE/healthz" 2>/dev/null; then
	bad "TLS 1.1 accepted"
else
	ok
fi
code=$(curl -sS -k --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' "$BASE/healthz")
check "TLS 1.2" 200 "$code"
code=$(curl -sS -k --tlsv1.3 -o /dev/null -w '%{http_code}' "$BASE/healthz")
check "TLS 1.3" 200 "$code"
san=$(openssl x509 -in "$TMP/certs/apiserver.crt" -noout -ext subjectAltName 2>/dev/null)
contains "SAN localhost" "DNS:localhost" "$san"
contains "SAN 127.0.0.1" "IP Address:127.0.0.1" "$san"

# --- reload: a bad config is rejected, a good one is taken ----------------------------------
cp "$TMP/config.yaml" "$TMP/good.yaml"
printf 'metrics:\n  - name: x\n    source: nowhere\n    smothing: {}\n' >"$TMP/config.yaml"
kill -HUP "$SW_PID"
wait_for "logged: config reload rejected" 5 grep -q 'config reload rejected' "$TMP/server.log"
contains "bad reload logged" 'config reload rejected' "$(cat "$TMP/server.log")"
contains "bad reload names the key" 'metrics[0].smothing: unknown key; did you mean "smoothing"?' "$(cat "$TMP/server.log")"
get "$GV/namespaces/default/queue_depth"
check "old config still serves" 200 "$CODE"
get /metrics
contains "failed reload counted" 'scalewise_config_loads_total{result="failure"} 1' "$BODY"
sed 's/value: 42/value: 43/' "$TMP/good.yaml" >"$TMP/config.yaml"
kill -HUP "$SW_PID"
wait_for "logged: config reloaded" 5 grep -q '"config reloaded"' "$TMP/server.log"
get "$GV/namespaces/default/manual_override"
contains "new config serves" '"value":"43"' "$BODY"

# --- shutdown: readyz turns 503 during the drain, exit 0 -------------------------------------
kill "$SW_PID"; wait "$SW_PID" 2>/dev/null
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
kill "$SW_PID"
wait "$SW_PID"; rc=$?
check "SIGTERM exit code" 0 "$rc"
contains "shutdown logged" '"msg":"stopped"' "$(cat "$TMP/server.log")"

export SCALEWISE_SERVER_DRAIN_DELAY=2s
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
unset SCALEWISE_SERVER_DRAIN_DELAY
kill -TERM "$SW_PID"
wait_for "logged: shutting down" 5 grep -q '"shutting down"' "$TMP/server.log"
get /readyz
check "readyz during drain" 503 "$CODE"
get /livez
check "livez during drain" 200 "$CODE"
wait "$SW_PID"; rc=$?
check "exit 0 after drain" 0 "$rc"

# a request still being handled at SIGTERM finishes within the grace: a new
# subscription's first fetch against a Prometheus that takes 1.5 s to answer
# slow_prometheus PORTFILE DELAY VALUE: a Prometheus double that answers
# every query with one series of VALUE after DELAY seconds, its port in PORTFILE
slow_prometheus() {
	python3 - "$1" "$2" "$3" <<'PY' &
import http.server, os, sys, time
port_file, delay, value = sys.argv[1], float(sys.argv[2]), sys.argv[3]
body = ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"%s"]}]}}' % value).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(delay)
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(s.server_address[1])); os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
	PIDS="$PIDS $!"
}
slow_prometheus "$TMP/slow.port" 1.5 9
wait_for "slow prometheus" 10 test -s "$TMP/slow.port"
printf 'auth: {mode: anonymous}\nsources: {slow: {type: prometheus, url: "http://127.0.0.1:%s", timeout: 5s}}\nmetrics:\n  - {name: slow_sub, source: slow, query: '"'"'x{ns="<<.Namespace>>"}'"'"', interval: 10s}\n' \
	"$(cat "$TMP/slow.port")" >"$TMP/slow.yaml"
start_scalewise "$BIN" "$TMP/slow.yaml" || exit 1
curl -sk -o "$TMP/slow.body" -w '%{http_code}' "$BASE$GV/namespaces/default/slow_sub" >"$TMP/slow.code" 2>/dev/null &
curl_pid=$!
in_handler() { grep -q '"msg":"subscription created"' "$TMP/server.log"; }
wait_for "the request is being handled" 10 in_handler
kill -TERM "$SW_PID"
wait "$curl_pid"
check "in-flight request answered during shutdown" 200 "$(cat "$TMP/slow.code")"
contains "in-flight request got its value" '"value":"9"' "$(cat "$TMP/slow.body")"
wait "$SW_PID"; rc=$?
check "exit 0 after the in-flight request" 0 "$rc"

# the poller calls more workers when polls wait: a Prometheus that takes
# 0.4 s per answer and 8 metrics at 1 s need 3.2 s of fetching per second;
# one worker would poll each metric every 3.2 s, four keep up
slow_prometheus "$TMP/lag.port" 0.4 3
wait_for "lagging prometheus" 10 test -s "$TMP/lag.port"
{
	printf 'auth: {mode: anonymous}\nsources: {lag: {type: prometheus, url: "http://127.0.0.1:%s", timeout: 5s}}\nmetrics:\n' "$(cat "$TMP/lag.port")"
	for i in 0 1 2 3 4 5 6 7; do printf '  - {name: lag%s, source: lag, query: q%s, interval: 1s}\n' "$i" "$i"; done
} >"$TMP/lag.yaml"
start_scalewise "$BIN" "$TMP/lag.yaml" || exit 1
workers_are() { [ "$(self_metric 'scalewise_poller_workers ')" = "$1" ]; }
wait_for "the poller grows to 4 workers behind a slow source" 20 workers_are 4
f0=$(self_metric 'scalewise_source_fetches_total{source="lag",result="success"')
sleep 5 # a measuring window, not a wait for readiness
f1=$(self_metric 'scalewise_source_fetches_total{source="lag",result="success"')
# 8 metrics at 1 s: about 40 fetches in 5 s; one worker manages 12
if [ $((f1 - f0)) -ge 24 ]; then ok; else bad "fetches in 5 s behind a 0.4 s source: $((f1 - f0)), want >= 24"; fi
check "no more than 4 workers" 4 "$(self_metric 'scalewise_poller_workers ')"
kill -TERM "$SW_PID"; wait "$SW_PID"
# server.fetchWorkers caps the pool
sed 's/^auth:/server: {fetchWorkers: 2}\nauth:/' "$TMP/lag.yaml" >"$TMP/lag2.yaml"
start_scalewise "$BIN" "$TMP/lag2.yaml" || exit 1
wait_for "the poller grows to server.fetchWorkers (2)" 20 workers_are 2
f0=$(self_metric 'scalewise_source_fetches_total{source="lag",result="success"')
sleep 3 # a measuring window, not a wait for readiness
f1=$(self_metric 'scalewise_source_fetches_total{source="lag",result="success"')
check "still 2 workers with polls waiting" 2 "$(self_metric 'scalewise_poller_workers ')"
# two workers at 0.4 s a fetch: at most 5 a second
if [ $((f1 - f0)) -le 17 ]; then ok; else bad "fetches in 3 s with 2 workers: $((f1 - f0)), want <= 17"; fi
kill -TERM "$SW_PID"; wait "$SW_PID"

finish e2e-api

#!/bin/sh
# test_metrics_api.sh BIN [SCALEWISE] — the metrics-api scaler against a real HTTP server
# (python3's http.server) serving JSON files the test rewrites as it goes.
#
# BIN is build/tests/test_metrics_api (or its ASan build): with arguments it
# is a driver that opens the scaler with a source and a metric (JSON, through
# the real parameter loader) and prints the value or
# "error (source|answer): ...". The value follows the file (37, then 12,
# then a quantity string); a missing path, a boolean, a non-JSON file, a
# missing file and a file over the body cap are answer errors naming the URL
# and the path; the server stopped is a source error and its restart on the
# same port recovers within one open source.
#
# SCALEWISE (optional, build/asan/scalewise from make) adds the HTTPS API:
# `scalewise serve` (anonymous auth, interval 1s) reads hpa.json from the same
# server; the metric serves the number the test writes (37), follows it
# (12, then "1.5k" as 1500), answers 503 naming "cannot reach" while the
# server is stopped with the errors counted on /metrics, and serves the
# document's new number once the server is back. serve must exit 0 and its
# log must hold no sanitizer report.
# Ends with "integration-metrics-api: N passed, N failed"; exit 1 on a failure.
set -u
bin=${1:?usage: $0 PATH_TO_TEST_BINARY [PATH_TO_SCALEWISE]}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
sw=${2:-}
case $sw in "" | /*) ;; *) sw=$(pwd)/$sw ;; esac
name=integration-metrics-api
passed=0
failed=0

. "$(dirname "$0")/check_lib.sh"

for tool in python3 curl; do
	if ! command -v $tool >/dev/null 2>&1; then
		bad "tools" "'$tool' is missing (apt-get install python3 curl)"
		finish
	fi
done
[ -x "$bin" ] || { bad "binary" "'$bin' is not an executable"; finish; }
if [ -n "$sw" ]; then
	. "$(dirname "$0")/serve_lib.sh"
	[ -x "$sw" ] || { sw=""; bad "scalewise" "'${2:-}' is not an executable"; finish; }
fi

tmp=$(mktemp -d)
srv_pid=""
poll_pid=""
cleanup() {
	exec 3>&- 2>/dev/null
	for p in $poll_pid ${sw_pid:-} $srv_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

mkdir "$tmp/www"
port=$("$bin" freeport)
case "$port" in "" | *[!0-9]*) bad "free port" "'$bin freeport' printed '$port'"; finish ;; esac
start_server() {
	python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >>"$tmp/server.log" 2>&1 3>&- &
	srv_pid=$!
}
stop_server() {
	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=""
}
# wait_ready: until the server answers (20 s at most)
wait_ready() { wait_up "$srv_pid" "$tmp/server.log" 20 curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; }
# put FILE TEXT: replaces a served file at once (rename: never half-written)
put() {
	printf '%s' "$2" >"$tmp/www/.$1.tmp" && mv "$tmp/www/.$1.tmp" "$tmp/www/$1"
}

put stats.json '{"components": {"worker": {"tasks": 37, "busy": true}}, "queues": [{"n": 4}, {"n": 9}]}'
start_server
if wait_ready; then ok "http.server ready"; else bad "http.server ready"; finish; fi

# --- through scalewise serve: the number in hpa.json is what the HPA sees -------------
if [ -n "$sw" ]; then
	put hpa.json '{"components": {"worker": {"tasks": 37}}}'
	cat >"$tmp/scalewise.yaml" <<YAML
auth: {mode: anonymous}
sources:
  stats: {type: metrics-api, url: "http://127.0.0.1:$port/"}
metrics:
  - name: worker_tasks
    source: stats
    interval: 1s
    params: {url: hpa.json, valueLocation: components.worker.tasks}
YAML
	sw_start "$tmp/scalewise.yaml"
	sw_wait_value "served: 37 in the document, the HPA sees 37" worker_tasks 37 30
	put hpa.json '{"components": {"worker": {"tasks": 12}}}'
	sw_wait_value "served: follows the document to 12" worker_tasks 12 30
	put hpa.json '{"components": {"worker": {"tasks": "1.5k"}}}'
	sw_wait_value "served: a quantity string 1.5k is 1500" worker_tasks 1500 30
fi

base="http://127.0.0.1:$port"
src="{\"url\": \"$base/\", \"timeout\": \"5s\"}"
f() { "$bin" fetch "$src" "$1" 2>&1; }
tasks='{"url": "stats.json", "valueLocation": "components.worker.tasks"}'

check "a path joined to the source's url: 37" "37" "$(f "$tasks")"
put stats.json '{"components": {"worker": {"tasks": 12}}}'
check "the value follows the document: 12" "12" "$(f "$tasks")"
put stats.json '{"components": {"worker": {"tasks": "1.5k"}}}'
check "a quantity string: 1.5k is 1500" "1500" "$(f "$tasks")"
put stats.json '{"components": {"worker": {"tasks": "250m"}}}'
check "a quantity string: 250m is 0.25" "0.25" "$(f "$tasks")"
put stats.json '{"queues": [{"n": 4}, {"n": 9}, {"n": 1}]}'
check "an array index" "9" "$(f '{"url": "stats.json", "valueLocation": "queues.1.n"}')"
check "an array length" "3" "$(f '{"url": "stats.json", "valueLocation": "queues.#"}')"
check "a full URL in the metric" "1" \
	"$("$bin" fetch '{}' "{\"url\": \"$base/stats.json\", \"valueLocation\": \"queues.2.n\"}" 2>&1)"

u="'$base/stats.json'"
put stats.json '{"components": {"worker": {"tasks": 37, "busy": true}}}'
check "a missing path is an answer error naming it" \
	"error (answer): $u: no value at 'components.worker.queued': 'components.worker' has no key 'queued'" \
	"$(f '{"url": "stats.json", "valueLocation": "components.worker.queued"}')"
check "a boolean is refused" \
	"error (answer): $u: value at 'components.worker.busy' is a boolean (true), not a number" \
	"$(f '{"url": "stats.json", "valueLocation": "components.worker.busy"}')"
put stats.json '<html>maintenance</html>'
check "a document that is not JSON" "error (answer): $u: body is not JSON: <html>maintenance</html>" "$(f "$tasks")"
put stats.json '{"components": {"worker": {"tasks": 3'
check_has "a truncated document" "error (answer): $u: body is invalid or truncated JSON (error at byte " \
	"$(f "$tasks")"
out=$(f '{"url": "nope.json", "valueLocation": "a"}')
check_has "a missing document is HTTP 404" "error (answer): '$base/nope.json': HTTP 404: " "$out"
python3 -c 'import sys; sys.stdout.write("[" + "0," * 2200000 + "0]")' >"$tmp/www/huge.json"
check "a document over the 4 MiB cap is refused" \
	"error (answer): cannot read '$base/huge.json': body larger than 4194304 bytes" \
	"$(f '{"url": "huge.json", "valueLocation": "0"}')"

# --- outage and recovery under one open source --------------------------------------
put stats.json '{"components": {"worker": {"tasks": 37}}}'
poll_start "$src" "$tasks"
check "poll: first fetch" "ok 37" "$(poll_next)"
put stats.json '{"components": {"worker": {"tasks": 38}}}'
check "poll: the same source sees the change" "ok 38" "$(poll_next)"
[ -z "$sw" ] || sw_baseline worker_tasks source
stop_server
check "server stopped: a source error" "error (source): cannot reach $u: Connection refused" "$(poll_next)"
if [ -n "$sw" ]; then
	sw_wait_down "served: server stopped, 503" worker_tasks stats \
		"cannot reach 'http://127.0.0.1:$port/hpa.json': Connection refused" 'Connection refused' 30
	sw_wait_errors "served: source errors counted on /metrics" worker_tasks source "$sw_before" 30
	put hpa.json '{"components": {"worker": {"tasks": 39}}}'
fi
put stats.json '{"components": {"worker": {"tasks": 39}}}'
start_server
if wait_ready; then ok "http.server restarted on its port"; else bad "http.server restarted"; fi
check "server back: the same source recovers" "ok 39" "$(poll_next)"
# the circuit breaker's back-off (1 s doubling) bounds how soon serve probes again
[ -z "$sw" ] || sw_wait_value "served: server back, the HPA sees the new 39" worker_tasks 39 90
poll_stop poll
finish

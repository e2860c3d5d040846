#!/bin/sh
# make bench, part 2: the poller under load. 10,000 metrics (distinct queries,
# so none share a fetch) against nginx answering a canned Prometheus vector on
# loopback. Reports, from the same run:
#  - CPU used by scalewise per 1,000 fetches and fetches per CPU-second (one core);
#  - RSS with 10,000 series whose pipelines keep 10-minute windows at 15 s;
#  - request p99 of the HPA endpoint while polling, against an idle server.
set -eu
BIN=${BIN:-build/scalewise}
N=${N:-10000}
INTERVAL=${INTERVAL:-15s}
MEASURE=${MEASURE:-30}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scalewise-bench-poller.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric_sum() { curl -sk "https://127.0.0.1:$SWPORT/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {printf "%d", s}'; }

# canned Prometheus: any POST /api/v1/query gets one series
NGPORT=$(free_port)
mkdir -p "$TMP/nginx"; chmod 755 "$TMP"
cat >"$TMP/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
  uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGPORT;
    location / {
      default_type application/json;
      return 200 '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"bench","instance":"a"},"value":[1700000000,"42"]}]}}';
    }
  }
}
NGINX
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
PIDS="$PIDS $!"
i=0; until curl -sf -o /dev/null -d query=x "http://127.0.0.1:$NGPORT/api/v1/query"; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.02; done

{
	echo "server: {threads: 2}"
	echo "auth: {mode: anonymous}"
	echo "sources:"
	echo "  prom: {type: prometheus, url: \"http://127.0.0.1:$NGPORT\", timeout: 2s}"
	echo "  fixed: {type: static}"
	echo "metrics:"
	echo "  - {name: probe, source: fixed, value: 1}"
	i=0
	while [ $i -lt "$N" ]; do
		echo "  - {name: m$i, source: prom, query: 'q$i', interval: $INTERVAL, smoothing: {method: mean, window: 10m}, stabilization: {down: 10m}}"
		i=$((i+1))
	done
} >"$TMP/config.yaml"

start() {
	rm -f "$TMP/port"
	"$BIN" serve --config "$1" --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$TMP/certs" \
		--port-file "$TMP/port" 2>"$TMP/sw.log" &
	SW=$!; PIDS="$PIDS $SW"
	i=0; while [ ! -s "$TMP/port" ]; do i=$((i+1)); [ $i -gt 1500 ] && { cat "$TMP/sw.log"; exit 1; }; sleep 0.02; done
	SWPORT=$(cat "$TMP/port")
}
p99_once() { # port path -> "p99_ms rps" with 8 connections for 5 s
	wrk -t1 -c8 -d5s --latency "https://127.0.0.1:$1$2" >"$TMP/wrk.out" 2>&1
	awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p=v} /Requests\/sec/ {r=$2} END {printf "%s %s\n", p, r}' "$TMP/wrk.out"
}
# The HPA's own pace: a few requests per sync, not a flood. wrk waits 5 ms
# between the requests of each of its 2 connections (~400 req/s) and times
# only the requests, so this p99 is what one request meets, not the queue a
# saturating load builds.
echo 'function delay() return 5 end' >"$TMP/paced.lua"
paced_once() { # port path -> "p99_ms p50_ms"
	wrk -t1 -c2 -d5s --latency -s "$TMP/paced.lua" "https://127.0.0.1:$1$2" >"$TMP/wrk.out" 2>&1
	awk 'function ms(v) {if (v ~ /us$/) {sub(/us/,"",v); return v/1000} if (v ~ /ms$/) {sub(/ms/,"",v); return v+0} sub(/s/,"",v); return v*1000}
	     $1=="99%" {p=ms($2)} $1=="50%" {m=ms($2)} END {print p, m}' "$TMP/wrk.out"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
HPA=/apis/external.metrics.k8s.io/v1beta1/namespaces/default/probe

# idle baseline: the same binary with only the static metric, beside the
# polling one; measured while the polling one is stopped (below)
printf 'server: {threads: 2}\nauth: {mode: anonymous}\nsources: {fixed: {type: static}}\nmetrics: [{name: probe, source: fixed, value: 1}]\n' >"$TMP/idle.yaml"
start "$TMP/idle.yaml"
IDLE=$SW; IDLEPORT=$SWPORT

start "$TMP/config.yaml"
# wait until every metric has been fetched once
i=0; while [ "$(metric_sum 'scalewise_source_fetches_total{source="prom"')" -lt "$N" ]; do i=$((i+1)); [ $i -gt 600 ] && { echo "first polls did not finish" >&2; exit 1; }; sleep 0.1; done
f0=$(metric_sum 'scalewise_source_fetches_total{source="prom"'); c0=$(cpu_ticks "$SW"); t0=$(date +%s.%N)
sleep "$MEASURE"
f1=$(metric_sum 'scalewise_source_fetches_total{source="prom"'); c1=$(cpu_ticks "$SW"); t1=$(date +%s.%N)
# RSS of the polling server before any load of requests (below, the
# latency runs add their connections' buffers)
rss0=$(awk '/VmRSS/ {print $2}' /proc/$SW/status); anon0=$(awk '/RssAnon/ {print $2}' /proc/$SW/status)

# Request latency, idle against polling, in PAIRS alternating pairs so that
# the machine's noise (shared, 2 cores) falls on both sides alike: the idle
# server is measured while the polling one is stopped (SIGSTOP: no CPU at
# all), then the polling one once it has caught up with the polls it missed
# (its fetch rate back under 1.5x the steady one). Medians of each side and
# of the per-pair ratios.
PAIRS=${PAIRS:-9}
iv_s=${INTERVAL%s}
steady=$((N / iv_s))
caught_up() {
	a=$(metric_sum 'scalewise_source_fetches_total{source="prom"'); sleep 1
	b=$(metric_sum 'scalewise_source_fetches_total{source="prom"')
	[ $((b - a)) -le $((steady * 3 / 2)) ]
}
: >"$TMP/pairs"
k=0
while [ $k -lt "$PAIRS" ]; do
	kill -STOP "$SW"
	ip=$(paced_once "$IDLEPORT" $HPA); is=$(p99_once "$IDLEPORT" $HPA)
	kill -CONT "$SW"
	i=0; until caught_up; do i=$((i+1)); [ $i -gt 20 ] && break; done
	bp=$(paced_once "$SWPORT" $HPA); bs=$(p99_once "$SWPORT" $HPA)
	echo "$ip $bp $is $bs" >>"$TMP/pairs"
	k=$((k+1))
done
# a pair's line: idle p99, idle p50, polling p99, polling p50 at the HPA's
# pace, then idle p99, idle req/s, polling p99, polling req/s saturated
idle_paced=$(awk '{print $1}' "$TMP/pairs" | median); busy_paced=$(awk '{print $3}' "$TMP/pairs" | median)
paced_ratio=$(awk '{print $3 / $1}' "$TMP/pairs" | median)
p50_ratio=$(awk '{print $4 / $2}' "$TMP/pairs" | median)
idle_p99=$(awk '{print $5}' "$TMP/pairs" | median); busy_p99=$(awk '{print $7}' "$TMP/pairs" | median)
idle_rps=$(awk '{print $6}' "$TMP/pairs" | median); busy_rps=$(awk '{print $8}' "$TMP/pairs" | median)
sat_ratio=$(awk '{print $7 / $5}' "$TMP/pairs" | median)
pairs_shown=$(awk '{printf "%s%.2f/%.2f", (NR > 1 ? ", " : ""), $1, $3}' "$TMP/pairs")
kill "$IDLE"; wait "$IDLE" 2>/dev/null || true
rss=$(awk '/VmRSS/ {print $2}' /proc/$SW/status)
anon=$(awk '/RssAnon/ {print $2}' /proc/$SW/status)
failed=$(metric_sum 'scalewise_source_fetches_total{source="prom",result="failure"')
hz=$(getconf CLK_TCK)
kill "$SW"; wait "$SW" 2>/dev/null || true

# the same number of series from ONE metric: one query answering N series
python3 - "$N" "$TMP/vec.port" <<'PY2' &
import http.server, json, os, sys
n, port_file = int(sys.argv[1]), sys.argv[2]
body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"job": "bench", "pod": "pod-%05d" % i}, "value": [1700000000, str(i)]} for i in range(n)]}}).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(s.server_address[1])); os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY2
PIDS="$PIDS $!"
i=0; while [ ! -s "$TMP/vec.port" ]; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done
printf 'server: {threads: 2}\nauth: {mode: anonymous}\nsources: {prom: {type: prometheus, url: "http://127.0.0.1:%s", timeout: 5s}}\nmetrics:\n  - {name: pods, source: prom, query: q, interval: %s, smoothing: {method: mean, window: 10m}, stabilization: {down: 10m}}\n' \
	"$(cat "$TMP/vec.port")" "$INTERVAL" >"$TMP/one.yaml"
start "$TMP/one.yaml"
i=0; until curl -sk "https://127.0.0.1:$SWPORT/apis/external.metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=pod%3Dpod-00007" | grep -q '"value":"7"'; do
	i=$((i+1)); [ $i -gt 300 ] && { echo "the 10,000-series metric was not served" >&2; exit 1; }; sleep 0.1; done
rss1=$(awk '/VmRSS/ {print $2}' /proc/$SW/status); anon1=$(awk '/RssAnon/ {print $2}' /proc/$SW/status)

awk -v f="$((f1 - f0))" -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v n="$N" -v iv="$INTERVAL" \
    -v rss="$rss" -v anon="$anon" -v rss0="$rss0" -v anon0="$anon0" -v rss1="$rss1" -v anon1="$anon1" -v ip="$idle_p99" -v bp="$busy_p99" -v ipp="$idle_paced" -v bpp="$busy_paced" -v pr="$paced_ratio" -v mr="$p50_ratio" -v sr="$sat_ratio" -v pairs="$pairs_shown" -v np="$PAIRS" -v ir="$idle_rps" -v br="$busy_rps" -v fail="$failed" 'BEGIN {
	secs = t1 - t0; cpu = c / hz
	printf "poller: %d metrics at %s against a canned Prometheus (nginx), measured %.0f s\n", n, iv, secs
	printf "  fetches: %d (%.0f/s), failed so far: %d\n", f, f / secs, fail
	printf "  CPU: %.3f s per 1,000 fetches; %.0f fetches per CPU-second (target >= 5,000)\n", cpu / f * 1000, f / cpu
	printf "  share of one core for %d metrics at %s: %.1f %% (target < 15 %%)\n", n, iv, cpu / secs * 100
	printf "  RSS with %d series, 10-minute windows at %s (target <= 32 MiB):\n", n, iv
	printf "    %d metrics of one series each: %.1f MiB, of which %.1f MiB anonymous, when polling has settled; %.1f MiB (%.1f anonymous) after the request-latency runs\n", n, rss0 / 1024, anon0 / 1024, rss / 1024, anon / 1024
	printf "    one metric answering %d series: %.1f MiB, of which %.1f MiB anonymous\n", n, rss1 / 1024, anon1 / 1024
	printf "  HPA request p99 at the HPA pace (~400 req/s), %d alternating pairs of 5 s runs: idle %.3f ms, while polling %.3f ms (medians); median ratio %.2f (target within 10 %%); p50 median ratio %.2f\n    pairs idle/polling p99 ms: %s\n", np, ipp, bpp, pr, mr, pairs
	printf "  HPA request p99 under a saturating load (8 connections), same pairs: idle %.3f ms (%.0f req/s), while polling %.3f ms (%.0f req/s); median ratio %.2f\n", ip, ir, bp, br, sr
}'

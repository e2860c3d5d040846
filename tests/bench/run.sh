#!/bin/sh
# make bench: request throughput and latency of scalewise against nginx
# serving the same response bytes over TLS, in the same run, on this machine;
# and the RSS of an idle `scalewise serve` on the demo config.
# Each server is measured RUNS times, alternating, for DURATION seconds with
# wrk (keep-alive, CONNS connections, one wrk thread); medians are reported.
# Both servers run with the same number of workers, for each count in
# WORKERS: with 1 the load generator has the machine's other core to itself,
# which is the fair comparison on a 2-core machine; 2 is reported too.
set -eu
BIN=${BIN:-build/scalewise}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
WORKERS=${WORKERS:-1 2}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scalewise-bench.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_https() { i=0; until curl -sk -o /dev/null "https://127.0.0.1:$1/$2"; do i=$((i+1)); [ $i -gt 500 ] && { echo "server on $1 did not start" >&2; exit 1; }; sleep 0.02; done; }

# --- scalewise -----------------------------------------------------------------
start_sw() { # threads
	rm -f "$TMP/port"
	"$BIN" serve --config examples/demo.yaml --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$TMP/certs" \
		--port-file "$TMP/port" --threads "$1" 2>"$TMP/sw.log" &
	SW=$!; PIDS="$PIDS $SW"
	i=0; while [ ! -s "$TMP/port" ]; do i=$((i+1)); [ $i -gt 500 ] && { cat "$TMP/sw.log"; exit 1; }; sleep 0.02; done
	SWPORT=$(cat "$TMP/port")
	wait_https "$SWPORT" healthz
}
start_sw 1
PATH_=/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth
curl -sk "https://127.0.0.1:$SWPORT$PATH_" >"$TMP/body.json"
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$SW/status)
anon_idle=$(awk '/RssAnon/ {print $2}' /proc/$SW/status)

# --- nginx with the same bytes and the same certificate ---------------------------
mkdir -p "$TMP/nginx"; chmod 755 "$TMP"; chmod 644 "$TMP/body.json"
start_nginx() { # workers
NGPORT=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<NGINX
worker_processes $1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
  uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGPORT ssl;
    ssl_certificate $TMP/certs/apiserver.crt;
    ssl_certificate_key $TMP/certs/apiserver.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /x { default_type application/json; alias $TMP/body.json; }
  }
}
NGINX
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NG=$!; PIDS="$PIDS $NG"
wait_https "$NGPORT" x
}
start_nginx 1
curl -sk "https://127.0.0.1:$NGPORT/x" >"$TMP/ng.json"
cmp -s "$TMP/body.json" "$TMP/ng.json" || { echo "nginx does not serve the same bytes:" >&2; head -c 300 "$TMP/ng.json" >&2; cat "$TMP/nginx/error.log" >&2; exit 1; }

run_wrk() { # port path -> "rps p99_ms"
	wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "https://127.0.0.1:$1$2" >"$TMP/wrk.out" 2>&1
	rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.out")
	p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$TMP/wrk.out")
	non2xx=$(awk '/Non-2xx/ {print $4}' "$TMP/wrk.out")
	[ -n "$non2xx" ] && { echo "non-2xx answers during the run:" >&2; cat "$TMP/wrk.out" >&2; exit 1; }
	echo "$rps $p99"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "bench: GET $PATH_ over TLS, keep-alive, wrk -t1 -c$CONNS -d${DURATION}s, median of $RUNS alternating runs each"
echo "  body: $(wc -c <"$TMP/body.json") bytes, identical for both servers"
printf '  %-8s %-12s %12s %10s %12s %10s %8s\n' workers '' 'sw req/s' 'sw p99 ms' 'nginx req/s' 'ng p99 ms' ratio
for w in $WORKERS; do
	kill "$SW" "$NG" 2>/dev/null || true; wait "$SW" "$NG" 2>/dev/null || true
	start_sw "$w"; start_nginx "$w"
	: >"$TMP/sw.res"; : >"$TMP/ng.res"
	r=1
	while [ $r -le "$RUNS" ]; do
		run_wrk "$SWPORT" "$PATH_" >>"$TMP/sw.res"
		run_wrk "$NGPORT" /x >>"$TMP/ng.res"
		r=$((r+1))
	done
	sw_rps=$(cut -d' ' -f1 "$TMP/sw.res" | median); sw_p99=$(cut -d' ' -f2 "$TMP/sw.res" | median)
	ng_rps=$(cut -d' ' -f1 "$TMP/ng.res" | median); ng_p99=$(cut -d' ' -f2 "$TMP/ng.res" | median)
	ratio=$(awk -v a="$sw_rps" -v b="$ng_rps" 'BEGIN {printf "%.2f", a/b}')
	printf '  %-8s %-12s %12s %10s %12s %10s %8s\n' "$w" '' "$sw_rps" "$sw_p99" "$ng_rps" "$ng_p99" "$ratio"
	echo "    runs (rps p99): scalewise: $(tr '\n' ';' <"$TMP/sw.res") nginx: $(tr '\n' ';' <"$TMP/ng.res")"
done
echo "  targets: scalewise >= 0.8 x nginx requests/s, scalewise p99 <= 2 ms"
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$SW/status)
echo "  RSS of scalewise serve on examples/demo.yaml: idle ${rss_idle} KiB (of which ${anon_idle} KiB anonymous), after the runs ${rss_after} KiB (target idle <= 8192 KiB)"

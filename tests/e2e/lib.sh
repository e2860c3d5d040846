# Shared helpers for the end-to-end tests (sourced, not run).
# Each test counts its checks with ok/bad and ends with finish.

PASSED=0
FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scalewise-e2e.XXXXXX")
PIDS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok; else bad "$1: expected [$2] got [$3]"; fi
}
# contains NAME NEEDLE HAYSTACK
contains() {
	case "$3" in *"$2"*) ok ;; *) bad "$1: [$2] not in [$3]" ;; esac
}

# start_scalewise BIN CONFIG [flags...]: starts serve on a free port, waits for
# the port file (the server writes it once it listens), sets PORT and SW_PID.
start_scalewise() {
	bin=$1; cfg=$2; shift 2
	rm -f "$TMP/port"
	[ -f "$TMP/server.log" ] && cat "$TMP/server.log" >>"$TMP/all-servers.log"
	: >"$TMP/server.log"
	"$bin" serve --config "$cfg" --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$TMP/certs" \
		--port-file "$TMP/port" "$@" 2>>"$TMP/server.log" &
	SW_PID=$!
	PIDS="$PIDS $SW_PID"
	i=0
	while [ ! -s "$TMP/port" ]; do
		if ! kill -0 "$SW_PID" 2>/dev/null; then
			echo "scalewise exited before serving:" >&2; cat "$TMP/server.log" >&2; return 1
		fi
		i=$((i + 1)); [ $i -gt 3000 ] && { echo "scalewise did not start" >&2; return 1; }
		sleep 0.01
	done
	PORT=$(cat "$TMP/port")
	BASE="https://127.0.0.1:$PORT"
}

# value_is METRIC[?QUERY] EXPECTED: the metric, under $GV, answers 200 with
# EXPECTED as a value (a readiness check for wait_for)
value_is() {
	get "$GV/$1"
	[ "$CODE" = 200 ] && printf '%s' "$BODY" | grep -q "\"value\":\"$2\""
}

# get PATH [curl args]: prints "CODE BODY" lines: code on the first line, body after.
get() {
	p=$1; shift
	curl -sS -k -o "$TMP/body" -w '%{http_code}' "$@" "$BASE$p" >"$TMP/code" 2>"$TMP/curlerr" || echo "curl failed: $(cat "$TMP/curlerr")" >&2
	CODE=$(cat "$TMP/code")
	BODY=$(cat "$TMP/body")
}

# self_metric PREFIX: the sum of the values of the server's own /metrics
# lines that start with PREFIX (0 when none does)
self_metric() {
	get /metrics
	printf '%s\n' "$BODY" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {printf "%d", s}'
}

finish() {
	# a sanitizer report in any server's log fails the test
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=""
	cat "$TMP/server.log" >>"$TMP/all-servers.log" 2>/dev/null
	if grep -q -E 'Sanitizer|runtime error:' "$TMP/all-servers.log" 2>/dev/null; then
		bad "sanitizer report in the server log:"
		grep -E -A20 'Sanitizer|runtime error:' "$TMP/all-servers.log" | head -40 >&2
	else
		ok
	fi
	echo "$1: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# wait_for DESCRIPTION SECONDS COMMAND...: runs COMMAND every 0.1 s until it
# succeeds; a readiness check, not a sleep: it returns as soon as it holds.
wait_for() {
	desc=$1; secs=$2; shift 2
	n=$((secs * 10)); i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge $n ]; then bad "timed out after ${secs}s waiting for: $desc"; return 1; fi
		sleep 0.1
	done
	ok
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_prometheus: a real Prometheus on a free loopback port scraping the
# test target every second; sets PROM_URL and PROM_PID.
prom_has() { curl -sf "$PROM_URL/api/v1/query?query=$1" | grep -q "$2"; }

# prometheus_scraping TEXT: serves TEXT (OpenMetrics lines) from
# $TMP/metrics.txt with tests/e2e/target.py, starts Prometheus scraping it
# every second and waits for the first scrape of its first line's value.
prometheus_scraping() {
	printf '%s' "$1" >"$TMP/metrics.txt"
	python3 "$(dirname "$0")/target.py" "$TMP/metrics.txt" "$TMP/target.port" &
	PIDS="$PIDS $!"
	wait_for "scrape target" 10 test -s "$TMP/target.port"
	start_prometheus "$(cat "$TMP/target.port")" || return 1
	first=$(printf '%s' "$1" | head -n 1)
	wait_for "first scrape" 30 prom_has "${first%%\{*}" "\"${first##* }\""
}

start_prometheus() {
	target_port=$1
	PROM_PORT=${PROM_PORT:-$(free_port)}
	cat >"$TMP/prometheus.yml" <<PROMCFG
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: app
    static_configs: [{targets: ["127.0.0.1:$target_port"]}]
PROMCFG
	prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >>"$TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
	PIDS="$PIDS $PROM_PID"
	PROM_URL="http://127.0.0.1:$PROM_PORT"
	i=0
	until curl -sf "$PROM_URL/-/ready" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ]; then echo "prometheus did not start:" >&2; tail -20 "$TMP/prometheus.log" >&2; return 1; fi
		sleep 0.1
	done
}

# tests/integration/serve_lib.sh — sourced (not run) by the integration
# scripts when they are given the scalewise binary as their second argument:
# the same real server the script already runs, read through
# `scalewise serve` and its HTTPS API the way the HPA reads it.
#
# The sourcing script provides the checks and wait_up of check_lib.sh, $failed, $tmp
# (its mktemp -d folder, removed by its cleanup) and $sw (scalewise, an
# absolute path); finish calls sw_stop, its cleanup kills $sw_pid. Every wait here is bounded and returns as soon
# as its condition holds; all names start with sw_ so that the script's own
# variables are left alone.

sw_pid=""
sw_base=""
sw_code=""
sw_body=""
sw_count=""
sw_gv=/apis/external.metrics.k8s.io/v1beta1/namespaces/default

# sw_start CONFIG: `scalewise check` must accept CONFIG; then `scalewise serve`
# starts on a free loopback port with a self-signed cert (it writes the port
# file once it listens; 30 s at most) and sw_base is its URL
sw_start() {
	mkdir -p "$tmp/sw"
	sw_out=$("$sw" check --config "$1" 2>&1)
	sw_rc=$?
	case "$sw_rc $sw_out" in
	*Sanitizer* | *"runtime error:"*) bad "scalewise check accepts the config" "a sanitizer report:" "$sw_out" ;;
	"0 $1: ok: "*) ok "scalewise check accepts the config (${sw_out#"$1: "})" ;;
	*) bad "scalewise check accepts the config" "exit $sw_rc" "$sw_out" ;;
	esac
	rm -f "$tmp/sw/port"
	"$sw" serve --config "$1" --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$tmp/sw/certs" \
		--port-file "$tmp/sw/port" >>"$tmp/sw/serve.log" 2>&1 3>&- &
	sw_pid=$!
	if ! sw_out=$(wait_up "$sw_pid" "$tmp/sw/serve.log" 30 test -s "$tmp/sw/port" 2>&1); then
		bad "scalewise serve listening" "$sw_out"
		return 1
	fi
	sw_base="https://127.0.0.1:$(cat "$tmp/sw/port")"
	ok "scalewise serve listening on $sw_base"
}

# sw_get PATH: one HTTPS GET (curl -k); sets sw_code and sw_body
sw_get() {
	rm -f "$tmp/sw/body"
	sw_code=$(curl -sS -k --max-time 5 -o "$tmp/sw/body" -w '%{http_code}' "$sw_base$1" 2>"$tmp/sw/curl.err") ||
		sw_code="$sw_code (curl: $(cat "$tmp/sw/curl.err"))"
	sw_body=$(cat "$tmp/sw/body" 2>/dev/null)
}

# sw_running NAME: fails the check NAME at once when serve is not up
sw_running() {
	if [ -z "$sw_base" ] || ! kill -0 "$sw_pid" 2>/dev/null; then
		bad "$1" "scalewise serve is not running" "$(tail -n 20 "$tmp/sw/serve.log" 2>/dev/null)"
		return 1
	fi
}

# sw_serves METRIC VALUE: the API answers 200 with exactly one item, METRIC
# without labels, whose value is VALUE
sw_serves() {
	sw_get "$sw_gv/$1"
	[ "$sw_code" = 200 ] || return 1
	case $sw_body in
	'{"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[{"metricName":"'"$1"'","metricLabels":null,"timestamp":"'*'","value":"'"$2"'"}]}') return 0 ;;
	esac
	return 1
}

# sw_wait_value NAME METRIC VALUE SECONDS: until METRIC is served as VALUE
sw_wait_value() {
	sw_running "$1" || return 1
	sw_n=0
	until sw_serves "$2" "$3"; do
		sw_n=$((sw_n + 1))
		if [ $sw_n -ge $(($4 * 10)) ] || ! kill -0 "$sw_pid" 2>/dev/null; then
			bad "$1" "expected: 200, one item of $2 with \"value\":\"$3\" (waited up to $4 s)" \
				"actual:   $sw_code $sw_body"
			return 1
		fi
		sleep 0.1
	done
	ok "$1"
}

# sw_wait_down NAME METRIC SOURCE CAUSE WHY SECONDS: until METRIC answers 503
# with a Status whose message names CAUSE (the scaler's own error, e.g.
# "cannot reach '...': Connection refused"); while SOURCE's circuit breaker
# is open the message says so and still carries the last error of the source.
# WHY is kept for the callers' messages.
sw_wait_down() {
	sw_running "$1" || return 1
	sw_n=0
	while :; do
		sw_get "$sw_gv/$2"
		if [ "$sw_code" = 503 ]; then
			case $sw_body in
			*"$4"*) sw_named="the scaler's error" && break ;;
			esac
		fi
		sw_n=$((sw_n + 1))
		if [ $sw_n -ge $(($6 * 10)) ] || ! kill -0 "$sw_pid" 2>/dev/null; then
			bad "$1" "expected: 503 naming: $4 (source '$3', $5)" \
				"actual:   $sw_code $sw_body (waited up to $6 s)"
			return 1
		fi
		sleep 0.1
	done
	ok "$1, naming $sw_named"
	check_has "$1: a Status saying since when the source fails" \
		'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"metric '"$2"' has no value: source failing since ' \
		"$sw_body"
	check_has "$1: reason ServiceUnavailable" '"reason":"ServiceUnavailable","code":503}' "$sw_body"
}

# sw_errors METRIC REASON: sets sw_count to scalewise_metric_fetch_errors_total
# of METRIC for REASON on /metrics (0 when the series is not there yet), or to
# a description of what /metrics answered when it is not a 200
sw_errors() {
	sw_get /metrics
	if [ "$sw_code" != 200 ]; then
		sw_count="/metrics answered $sw_code"
		return 1
	fi
	sw_count=$(printf '%s\n' "$sw_body" |
		sed -n 's/^scalewise_metric_fetch_errors_total{metric="'"$1"'",reason="'"$2"'"} \([0-9][0-9]*\)$/\1/p')
	sw_count=${sw_count:-0}
}

# sw_baseline METRIC REASON: sw_before is the error count before an outage
sw_baseline() {
	if sw_errors "$1" "$2"; then
		sw_before=$sw_count
	else
		bad "served: /metrics read before the outage" "actual: $sw_count"
		sw_before=0
	fi
}

# sw_wait_errors NAME METRIC REASON BEFORE SECONDS: until the error count of
# METRIC for REASON is above BEFORE
sw_wait_errors() {
	sw_running "$1" || return 1
	sw_n=0
	while :; do
		if sw_errors "$2" "$3" && [ "$sw_count" -gt "$4" ]; then
			break
		fi
		sw_n=$((sw_n + 1))
		if [ $sw_n -ge $(($5 * 10)) ] || ! kill -0 "$sw_pid" 2>/dev/null; then
			bad "$1" "expected: scalewise_metric_fetch_errors_total{metric=\"$2\",reason=\"$3\"} above $4 (waited up to $5 s)" \
				"actual:   $sw_count"
			return 1
		fi
		sleep 0.1
	done
	ok "$1 ($4 before, $sw_count now)"
}

# sw_stop: SIGTERM; serve must exit 0 (30 s at most) and its log must hold
# no sanitizer report (ASan, LeakSanitizer, UBSan's "runtime error:")
sw_stop() {
	[ -n "$sw_pid" ] || return 0
	kill "$sw_pid" 2>/dev/null
	sw_n=0
	while kill -0 "$sw_pid" 2>/dev/null && [ $sw_n -lt 300 ]; do
		sw_n=$((sw_n + 1))
		sleep 0.1
	done
	kill -KILL "$sw_pid" 2>/dev/null
	wait "$sw_pid"
	sw_rc=$?
	sw_pid=""
	sw_base=""
	check "scalewise serve exits 0 on SIGTERM" 0 "$sw_rc"
	if grep -q -E 'Sanitizer|runtime error:' "$tmp/sw/serve.log" 2>/dev/null; then
		bad "no sanitizer report in scalewise's log" \
			"$(grep -E -A20 'Sanitizer|runtime error:' "$tmp/sw/serve.log" | head -n 40)"
	else
		ok "no sanitizer report in scalewise's log"
	fi
	if [ "$failed" -gt 0 ] && [ -f "$tmp/sw/serve.log" ]; then
		echo "scalewise serve's log, last 20 lines:"
		tail -n 20 "$tmp/sw/serve.log" | sed 's/^/    /'
	fi
}

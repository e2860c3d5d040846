#!/bin/sh
# test_prometheus.sh BIN — the Prometheus scaler against a real Prometheus.
#
# BIN is build/tests/test_prometheus (or its ASan build): with arguments it is
# a driver that opens the scaler with a source config (JSON, through the real
# parameter loader), fetches, and prints one line per sample. Two Prometheus
# servers run on free loopback ports over a TSDB filled beforehand with
# `promtool tsdb create-blocks-from openmetrics`, so every value is known:
#   plain — http, no auth: values, labels, scalar, NaN, errors, query_range,
#           and a stop/restart under one open source;
#   tls   — https with a client certificate required and basic auth.
# Ends with "integration-prometheus: N passed, N failed"; exit 1 on a failure.
# SW_IT_VERBOSE=1 also prints the answers of the TLS cases.
set -u
bin=${1:?usage: $0 PATH_TO_TEST_BINARY}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
name=integration-prometheus
passed=0
failed=0

. "$(dirname "$0")/check_lib.sh"
# check NAME EXPECTED ACTUAL: exact equality
# check_has NAME NEEDLE ACTUAL: ACTUAL contains NEEDLE

for tool in prometheus promtool openssl curl; do
	if ! command -v $tool >/dev/null 2>&1; then
		bad "tools" "'$tool' is missing (apt-get install prometheus openssl curl)"
		finish
	fi
done
[ -x "$bin" ] || { bad "binary" "'$bin' is not an executable"; finish; }

tmp=$(mktemp -d)
plain_pid=""
tls_pid=""
poll_pid=""
cleanup() {
	exec 3>&- 2>/dev/null
	for p in $poll_pid $plain_pid $tls_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- data: known series at known times, 2 h before now, one point a minute --
now=$(date +%s)
base=$(((now - 7200) / 60 * 60))
at=$((base + 29 * 60 + 10)) # query time: 10 s after the last point
{
	echo "# TYPE sw_test_gauge gauge"
	for shard in a b; do
		i=0
		while [ $i -lt 30 ]; do
			if [ $shard = a ]; then v=$((i * 3 / 2)).$((i * 15 % 10)); else v=$i.1; fi
			echo "sw_test_gauge{job=\"api\",shard=\"$shard\"} $v $((base + i * 60))"
			i=$((i + 1))
		done
	done
	echo "# TYPE sw_test_nan gauge"
	echo "sw_test_nan{job=\"api\"} NaN $((base + 29 * 60))"
	echo "# TYPE sw_test_dup gauge"
	echo "sw_test_dup{job=\"api\",shard=\"a\"} 1 $((base + 29 * 60))"
	echo "# EOF"
} >"$tmp/data.om"
if ! promtool tsdb create-blocks-from openmetrics "$tmp/data.om" "$tmp/blocks" >"$tmp/promtool.log" 2>&1; then
	bad "promtool create-blocks-from" "$(cat "$tmp/promtool.log")"
	finish
fi
ok "promtool created the TSDB blocks"
mkdir -p "$tmp/plain" "$tmp/tls"
cp -R "$tmp/blocks/." "$tmp/plain/"
cp -R "$tmp/blocks/." "$tmp/tls/"
echo "global: {}" >"$tmp/prometheus.yml"

# --- TLS material: a server cert for 127.0.0.1, a client cert, basic auth ----
gen_cert() { # NAME SUBJECT [EXT]
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$tmp/$1.key" -out "$tmp/$1.crt" -subj "$2" ${3:+-addext "$3"} >"$tmp/openssl.log" 2>&1
}
if ! gen_cert server /CN=127.0.0.1 subjectAltName=IP:127.0.0.1 || ! gen_cert client /CN=scalewise-test; then
	bad "openssl made test certificates" "$(cat "$tmp/openssl.log")"
	finish
fi
# bcrypt (cost 4) of the password "scalewise-it-pw", made once with libxcrypt
cat >"$tmp/web.yml" <<WEB
tls_server_config:
  cert_file: $tmp/server.crt
  key_file: $tmp/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $tmp/client.crt
basic_auth_users:
  alice: \$2b\$04\$vqhoPhfCY8qwgGkXLrmCkexwMQcntQbjmDknE0AunPC6MMmteoBSG
WEB
printf 'scalewise-it-pw\n' >"$tmp/password"
printf 'wrong-pw\n' >"$tmp/wrong"

# --- servers ----------------------------------------------------------------
plain_port=$("$bin" freeport)
tls_port=$("$bin" freeport)
while [ "$tls_port" = "$plain_port" ]; do tls_port=$("$bin" freeport); done
case "$plain_port$tls_port" in
"" | *[!0-9]*) bad "free ports" "'$bin freeport' printed '$plain_port' and '$tls_port'"; finish ;;
esac

# (3>&-: a server must not hold the poll driver's command pipe open)
start_plain() {
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/plain" \
		--web.listen-address="127.0.0.1:$plain_port" --log.level=warn >>"$tmp/plain.log" 2>&1 3>&- &
	plain_pid=$!
}
start_tls() {
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tls" \
		--web.listen-address="127.0.0.1:$tls_port" --web.config.file="$tmp/web.yml" \
		--log.level=warn >>"$tmp/tls.log" 2>&1 3>&- &
	tls_pid=$!
}
# wait_ready PID LOG CURL-ARGS...: until /-/ready answers 200 (30 s at most)
wait_ready() {
	wr_pid=$1 wr_log=$2
	shift 2
	wait_up "$wr_pid" "$wr_log" 30 curl -sf -o /dev/null --max-time 2 "$@"
}
ready_plain() { wait_ready "$plain_pid" "$tmp/plain.log" "http://127.0.0.1:$plain_port/-/ready"; }
ready_tls() {
	wait_ready "$tls_pid" "$tmp/tls.log" --cacert "$tmp/server.crt" --cert "$tmp/client.crt" \
		--key "$tmp/client.key" -u alice:scalewise-it-pw "https://127.0.0.1:$tls_port/-/ready"
}
start_plain
start_tls
if ready_plain; then ok "plain prometheus ready"; else bad "plain prometheus ready"; finish; fi
if ready_tls; then ok "tls prometheus ready"; else bad "tls prometheus ready"; finish; fi

plain="{\"url\": \"http://127.0.0.1:$plain_port\", \"timeout\": \"5s\"}"
purl="http://127.0.0.1:$plain_port/api/v1/query"
q() { "$bin" query "$plain" "$1" "${2:-$at}" 2>&1; }
nl='
'
ts=$((at * 1000))

# --- instant queries ----------------------------------------------------------
check "vector: values and labels exactly, __name__ dropped" \
	"{job=\"api\",shard=\"a\"} 43.5 $ts${nl}{job=\"api\",shard=\"b\"} 29.100000000000001 $ts" \
	"$(q 'sw_test_gauge')"
check "vector: an earlier time reads the earlier points" \
	"{job=\"api\",shard=\"a\"} 1.5 $(((base + 60) * 1000))${nl}{job=\"api\",shard=\"b\"} 1.1000000000000001 $(((base + 60) * 1000))" \
	"$(q 'sw_test_gauge' $((base + 60)))"
check "vector: aggregation" "{} 72.599999999999994 $ts" "$(q 'sum(sw_test_gauge)')"
check "vector: the time parameter has milliseconds" \
	"{job=\"api\",shard=\"a\"} 43.5 $((ts + 250))" "$(q 'sw_test_gauge{shard="a"}' "$at.25")"
check "scalar: one sample without labels" "{} 43.5 $ts" "$(q 'scalar(sw_test_gauge{shard="a"})')"
check "NaN is passed on as NaN" "{job=\"api\"} NaN $ts" "$(q 'sw_test_nan')"
check "+Inf is passed on as +Inf" "{} +Inf $ts" "$(q '1/0')"
check "empty vector is an error" "error (answer): '$purl': query returned no series" "$(q 'sw_test_gauge{shard="zz"}')"
out=$(q 'sum(')
check_has "bad query: HTTP 400 with Prometheus' errorType" "error (answer): '$purl': HTTP 400 (bad_data): " "$out"
check_has "bad query: Prometheus' own message" "parse error: unclosed left parenthesis" "$out"
check "matrix result is an error" \
	"error (answer): '$purl': query returned a range vector (matrix); an instant vector or a scalar is needed" \
	"$(q 'sw_test_gauge[5m]')"
check "string result is an error" \
	"error (answer): '$purl': query returned a string; an instant vector or a scalar is needed" "$(q '"hello"')"
check_has "series alike once __name__ is dropped is an error" \
	"more than one series with the labels {job=\"api\",shard=\"a\"} once __name__ is dropped" \
	"$(q '{__name__=~"sw_test_gauge|sw_test_dup",shard="a"}')"
"$bin" query "$plain" 'sw_test_gauge{shard="zz"}' "$at" >/dev/null 2>&1
check "driver exits non-zero on an error" 1 $?

# --- range queries ------------------------------------------------------------
exp="series 1"
i=0
while [ $i -le 5 ]; do
	exp="$exp${nl}{job=\"api\",shard=\"a\"} $(((base + i * 60) * 1000)) $((i * 3 / 2)).$((i * 15 % 10))"
	i=$((i + 1))
done
exp=$(printf '%s\n' "$exp" | sed 's/ \([0-9]*\)\.0$/ \1/')
check "query_range returns the known series" "$exp" \
	"$("$bin" range "$plain" 'sw_test_gauge{shard="a"}' "$base" $((base + 300)) 60 2>&1)"
check "query_range over both series counts both" "series 2" \
	"$("$bin" range "$plain" 'sw_test_gauge' "$base" $((base + 1740)) 60 2>&1 | head -n 1)"
check "query_range with no data is zero series, not an error" "series 0" \
	"$("$bin" range "$plain" 'sw_test_gauge{shard="zz"}' "$base" $((base + 300)) 60 2>&1)"
check_has "query_range: bad query carries Prometheus' message" \
	"error (answer): 'http://127.0.0.1:$plain_port/api/v1/query_range': HTTP 400 (bad_data): " \
	"$("$bin" range "$plain" 'rate(' "$base" $((base + 300)) 60 2>&1)"

# --- outage and recovery under one open source ------------------------------
poll_start "$plain" 'sw_test_gauge' "$at"
check "poll: first fetch" "ok 2" "$(poll_next)"
check "poll: second fetch on the kept connection" "ok 2" "$(poll_next)"
kill "$plain_pid"
wait "$plain_pid" 2>/dev/null
plain_pid=""
check "prometheus stopped: a transport error" "error (source): cannot reach '$purl': Connection refused" "$(poll_next)"
start_plain
if ready_plain; then ok "plain prometheus restarted"; else bad "plain prometheus restarted"; fi
check "prometheus back: the same source recovers" "ok 2" "$(poll_next)"
poll_stop poll

# --- TLS, client certificate, basic auth ---------------------------------------
tls_cfg() { # extra JSON members
	printf '{"url": "https://127.0.0.1:%s", "timeout": "5s"%s}' "$tls_port" "$1"
}
full=", \"tls\": {\"caFile\": \"$tmp/server.crt\", \"certFile\": \"$tmp/client.crt\", \"keyFile\": \"$tmp/client.key\"}"
auth=", \"basicAuth\": {\"username\": \"alice\", \"passwordFile\": \"$tmp/password\"}"
tq() { "$bin" query "$(tls_cfg "$1")" 'sw_test_gauge{shard="a"}' "$at" 2>&1 | tee -a "$tmp/tls-answers"; }
turl="https://127.0.0.1:$tls_port/api/v1/query"
check "tls: CA, client certificate and basic auth" "{job=\"api\",shard=\"a\"} 43.5 $ts" "$(tq "$full$auth")"
out=$(tq "$full, \"basicAuth\": {\"username\": \"alice\", \"passwordFile\": \"$tmp/wrong\"}")
check_has "tls: a wrong password is HTTP 401" "error (answer): '$turl': HTTP 401" "$out"
case $out in *wrong-pw*) bad "tls: the password is not in the message" "$out" ;; *) ok "tls: the password is not in the message" ;; esac
check_has "tls: without the CA the server is not trusted" "error (source): cannot reach '$turl': SSL certificate problem" \
	"$(tq ", \"tls\": {\"certFile\": \"$tmp/client.crt\", \"keyFile\": \"$tmp/client.key\"}$auth")"
check "tls: insecureSkipVerify trusts any server" "{job=\"api\",shard=\"a\"} 43.5 $ts" \
	"$(tq ", \"tls\": {\"insecureSkipVerify\": true, \"certFile\": \"$tmp/client.crt\", \"keyFile\": \"$tmp/client.key\"}$auth")"
out=$(tq ", \"tls\": {\"caFile\": \"$tmp/server.crt\"}$auth")
case $out in
"error (source): cannot "*"'$turl': "*) ok "tls: without a client certificate the server refuses" ;;
*) bad "tls: without a client certificate the server refuses" "actual: $out" ;;
esac

[ -n "${SW_IT_VERBOSE:-}" ] && cat "$tmp/tls-answers"
finish

#!/bin/sh
# test_rabbitmq.sh BIN [SCALEWISE] — the rabbitmq scaler against a real RabbitMQ with the
# management plugin, from Debian's rabbitmq-server package.
#
# BIN is build/tests/test_rabbitmq (or its ASan build): with arguments it is a
# driver that opens the scaler with a source and a metric (JSON, through the
# real parameter loader) and prints the value or "error (source|answer): ...".
# One broker runs self-contained in a mktemp -d folder: its node name, AMQP,
# management, distribution and epmd ports, Mnesia, logs, config, enabled
# plugins and Erlang cookie all live there, so the test runs as root or as
# any user and leaves nothing behind. It publishes messages through the
# management API and polls (bounded) until RabbitMQ's statistics, emitted
# every second here, show them: the scaler must read 37 for 37 published;
# regex over queue names; a 404; a wrong password; the broker stopped
# (a source error) and restarted (the same open source recovers).
#
# SCALEWISE (optional, build/asan/scalewise from make) adds the HTTPS API on
# the same broker (no second start): `scalewise serve` (anonymous auth, the
# monitoring user, interval 1s) serves orders as 37 for 37 published and
# orders-eu following 5 to 3, answers 503 naming "cannot reach" while the
# broker is stopped with the errors counted on /metrics, and serves 37 again
# once it is back. serve must exit 0 and its log must hold no sanitizer report.
# Ends with "integration-rabbitmq: N passed, N failed"; exit 1 on a failure.
set -u
bin=${1:?usage: $0 PATH_TO_TEST_BINARY [PATH_TO_SCALEWISE]}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
sw=${2:-}
case $sw in "" | /*) ;; *) sw=$(pwd)/$sw ;; esac
name=integration-rabbitmq
passed=0
failed=0

. "$(dirname "$0")/check_lib.sh"

command -v rabbitmq-server >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
for tool in rabbitmq-server curl epmd; do
	if ! command -v $tool >/dev/null 2>&1; then
		bad "tools" "'$tool' is missing (apt-get install rabbitmq-server curl)"
		finish
	fi
done
[ -x "$bin" ] || { bad "binary" "'$bin' is not an executable"; finish; }
if [ -n "$sw" ]; then
	. "$(dirname "$0")/serve_lib.sh"
	[ -x "$sw" ] || { sw=""; bad "scalewise" "'${2:-}' is not an executable"; finish; }
fi
# Debian's rabbitmq-server is a wrapper that switches to the rabbitmq user and
# logs under /var/log; the scripts it wraps sit beside it and run as anyone.
rmq_dir=$(dirname "$(readlink -f "$(command -v rabbitmq-server)")")
[ -x "$rmq_dir/rabbitmq-server" ] || { bad "rabbitmq scripts" "no rabbitmq-server in '$rmq_dir'"; finish; }

# SIGTERM to the script: it stops the broker (Erlang VM pid in rabbit.pid)
# and exits; a VM still up after 30 s is killed
stop_rabbit() {
	[ -n "$rmq_pid" ] || return 0
	vm=$(cat "$tmp/rabbit.pid" 2>/dev/null)
	kill "$rmq_pid" 2>/dev/null
	n=0
	while [ -n "$vm" ] && kill -0 "$vm" 2>/dev/null && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -n "$vm" ] && kill -KILL "$vm" 2>/dev/null
	wait "$rmq_pid" 2>/dev/null
	rmq_pid=""
	rm -f "$tmp/rabbit.pid"
}

tmp=$(mktemp -d)
rmq_pid=""
poll_pid=""
traffic_pid=""
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$traffic_pid" ] && kill "$traffic_pid" 2>/dev/null && wait "$traffic_pid" 2>/dev/null
	[ -n "$poll_pid" ] && kill "$poll_pid" 2>/dev/null && wait "$poll_pid" 2>/dev/null
	[ -n "${sw_pid:-}" ] && kill "$sw_pid" 2>/dev/null && wait "$sw_pid" 2>/dev/null
	stop_rabbit
	[ -n "${epmd_port:-}" ] && epmd -port "$epmd_port" -kill >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# --- ports and the broker's environment --------------------------------------------
ports=""
tries=0
while [ "$(echo $ports | wc -w)" -lt 4 ] && [ $tries -lt 50 ]; do
	p=$("$bin" freeport)
	case " $ports " in *" $p "*) ;; *) ports="$ports $p" ;; esac
	tries=$((tries + 1))
done
set -- $ports
amqp_port=$1 mgmt_port=$2 dist_port=$3 epmd_port=$4
case "$amqp_port$mgmt_port$dist_port$epmd_port" in
"" | *[!0-9]*) bad "free ports" "'$bin freeport' printed '$ports'"; epmd_port=""; finish ;;
esac

cat >"$tmp/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$amqp_port
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt_port
collect_statistics_interval = 1000
log.console = false
log.file.level = warning
CONF
: >"$tmp/rabbitmq-env.conf"
export HOME="$tmp" \
	RABBITMQ_NODENAME="sw-it-$mgmt_port@localhost" \
	RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
	RABBITMQ_NODE_PORT="$amqp_port" \
	RABBITMQ_DIST_PORT="$dist_port" \
	RABBITMQ_MNESIA_BASE="$tmp/mnesia" \
	RABBITMQ_LOG_BASE="$tmp/log" \
	RABBITMQ_CONFIG_FILE="$tmp/rabbitmq.conf" \
	RABBITMQ_ADVANCED_CONFIG_FILE="$tmp/advanced.config" \
	RABBITMQ_CONF_ENV_FILE="$tmp/rabbitmq-env.conf" \
	RABBITMQ_ENABLED_PLUGINS_FILE="$tmp/enabled_plugins" \
	RABBITMQ_PID_FILE="$tmp/rabbit.pid" \
	RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
	ERL_EPMD_PORT="$epmd_port" \
	ERL_EPMD_ADDRESS=127.0.0.1

if ! "$rmq_dir/rabbitmq-plugins" --offline enable rabbitmq_management >"$tmp/plugins.log" 2>&1; then
	bad "rabbitmq-plugins enable rabbitmq_management" "$(cat "$tmp/plugins.log")"
	finish
fi
ok "management plugin enabled"

api="http://127.0.0.1:$mgmt_port/api"
start_rabbit() {
	"$rmq_dir/rabbitmq-server" >>"$tmp/server.log" 2>&1 3>&- &
	rmq_pid=$!
}
# wait_ready: until the management API answers (45 s at most)
wait_ready() { wait_up "$rmq_pid" "$tmp/server.log" 45 curl -sf -o /dev/null --max-time 2 -u guest:guest "$api/overview"; }
# rest METHOD PATH [JSON]: a management API call as guest; fails on a non-2xx
rest() {
	curl -sf -o /dev/null --max-time 5 -u guest:guest -X "$1" -H 'content-type: application/json' \
		${3:+--data "$3"} "$api$2"
}
publish() { # QUEUE COUNT
	i=0
	while [ $i -lt "$2" ]; do
		rest POST /exchanges/%2F/amq.default/publish \
			"{\"properties\":{\"delivery_mode\":2},\"routing_key\":\"$1\",\"payload\":\"m$i\",\"payload_encoding\":\"string\"}" ||
			return 1
		i=$((i + 1))
	done
}

t0=$(date +%s)
start_rabbit
if wait_ready; then ok "rabbitmq ready in $(($(date +%s) - t0)) s"; else bad "rabbitmq ready"; finish; fi

# a monitoring user whose password is in a file: the scaler's credentials
printf 'scalewise-it-pw\n' >"$tmp/password"
printf 'wrong-pw\n' >"$tmp/wrong"
if rest PUT /users/scalewise '{"password":"scalewise-it-pw","tags":"monitoring"}' &&
	rest PUT /permissions/%2F/scalewise '{"configure":"","write":"","read":".*"}' &&
	rest PUT /queues/%2F/orders '{"durable":true}' &&
	rest PUT /queues/%2F/orders-eu '{"durable":true}' &&
	rest PUT /queues/%2F/audit '{"durable":true}'; then
	ok "user and queues created"
else
	bad "user and queues created"
	finish
fi

src="{\"url\": \"http://127.0.0.1:$mgmt_port\", \"timeout\": \"5s\", \"basicAuth\": {\"username\": \"scalewise\", \"passwordFile\": \"$tmp/password\"}}"
f() { "$bin" fetch "$src" "$1" 2>&1; }

# --- through scalewise serve: what the HPA sees, from the same broker -----------------
if [ -n "$sw" ]; then
	cat >"$tmp/scalewise.yaml" <<YAML
auth: {mode: anonymous}
sources:
  rabbit:
    type: rabbitmq
    url: "http://127.0.0.1:$mgmt_port"
    basicAuth: {username: scalewise, passwordFile: "$tmp/password"}
metrics:
  - name: orders_depth
    source: rabbit
    interval: 1s
    params: {queueName: orders}
  - name: orders_eu_depth
    source: rabbit
    interval: 1s
    params: {queueName: orders-eu}
YAML
	sw_start "$tmp/scalewise.yaml"
fi
# until METRIC EXPECTED: fetches until the value is EXPECTED (RabbitMQ's
# statistics lag by up to a collection interval); 20 s at most; prints the last answer
until_value() {
	n=0
	while :; do
		out=$(f "$1")
		[ "$out" = "$2" ] && break
		n=$((n + 1))
		[ $n -ge 100 ] && break
		sleep 0.2
	done
	printf '%s\n' "$out"
}

if publish orders 37 && publish orders-eu 5 && publish audit 3; then ok "published 37 + 5 + 3 messages"; else bad "published"; fi
check "QueueLength: 37 published, 37 read" "37" "$(until_value '{"queueName": "orders"}' 37)"
if [ -n "$sw" ]; then
	sw_wait_value "served: 37 published, the HPA sees 37" orders_depth 37 30
	sw_wait_value "served: 5 published to orders-eu" orders_eu_depth 5 30
fi
check "excludeUnacknowledged: no consumer, all 37 are ready" "37" \
	"$(f '{"queueName": "orders", "excludeUnacknowledged": true}')"
check "useRegex sum over ^orders" "42" "$(until_value '{"queueName": "^orders", "useRegex": true}' 42)"
check "useRegex max" "37" "$(f '{"queueName": "^orders", "useRegex": true, "operation": "max"}')"
check "useRegex avg" "21" "$(f '{"queueName": "^orders", "useRegex": true, "operation": "avg"}')"
check "useRegex with a one-queue page size pages through all" "45" \
	"$(f '{"queueName": "^(orders|audit)", "useRegex": true, "pageSize": 1}')"
check "useRegex is POSIX ERE: bracket classes" "5" "$(f '{"queueName": "-[[:lower:]]{2}$", "useRegex": true}')"

# traffic through audit (publish one, get one) while the rates are read
traffic() {
	i=0
	while [ $i -lt 300 ]; do
		publish audit 1 || return 1
		rest POST /queues/%2F/audit/get '{"count":1,"ackmode":"ack_requeue_false","encoding":"auto"}' || return 1
		i=$((i + 1))
	done
}
traffic >/dev/null 2>&1 &
traffic_pid=$!
# until_positive METRIC: fetches until the value is a number above 0 (15 s at most)
until_positive() {
	n=0
	while :; do
		out=$(f "$1")
		case $out in 0 | 0.0*) ;; [0-9]* | .[0-9]*) break ;; esac
		n=$((n + 1))
		[ $n -ge 75 ] && break
		sleep 0.2
	done
	printf '%s\n' "$out"
}
out=$(until_positive '{"queueName": "audit", "mode": "MessageRate"}')
case $out in
[1-9]* | 0.*[1-9]*) ok "MessageRate: the publish rate under traffic is $out/s" ;;
*) bad "MessageRate: a publish rate above 0 under traffic" "actual: $out" ;;
esac
out=$(until_positive '{"queueName": "audit", "mode": "DeliverGetRate"}')
case $out in
[1-9]* | 0.*[1-9]*) ok "DeliverGetRate: the deliver/get rate under traffic is $out/s" ;;
*) bad "DeliverGetRate: a deliver/get rate above 0 under traffic" "actual: $out" ;;
esac
kill "$traffic_pid" 2>/dev/null
wait "$traffic_pid" 2>/dev/null
traffic_pid=""

# 2 messages taken from orders-eu: the depth follows, the deliver rate exists
if rest POST /queues/%2F/orders-eu/get '{"count":2,"ackmode":"ack_requeue_false","encoding":"auto"}'; then
	ok "took 2 messages from orders-eu"
else
	bad "took 2 messages from orders-eu"
fi
check "QueueLength follows a decrease" "3" "$(until_value '{"queueName": "orders-eu"}' 3)"
[ -z "$sw" ] || sw_wait_value "served: follows the decrease to 3" orders_eu_depth 3 30

qurl="http://127.0.0.1:$mgmt_port/api/queues/%2F"
check "a missing queue is an answer error naming it" \
	"error (answer): '$qurl/nope?...': queue 'nope' not found in vhost '/' (HTTP 404)" "$(f '{"queueName": "nope"}')"
check "a regex matching nothing is an answer error, not 0" \
	"error (answer): '$qurl?...': no queue in vhost '/' matches '^payments' (3 listed)" \
	"$(f '{"queueName": "^payments", "useRegex": true}')"
wrong_src="{\"url\": \"http://127.0.0.1:$mgmt_port\", \"basicAuth\": {\"username\": \"scalewise\", \"passwordFile\": \"$tmp/wrong\"}}"
out=$("$bin" fetch "$wrong_src" '{"queueName": "orders"}' 2>&1)
check_has "a wrong password is HTTP 401" "error (answer): '$qurl/orders?...': HTTP 401: " "$out"
case $out in *wrong-pw* | *scalewise-it-pw*) bad "no password in the message" "$out" ;; *) ok "no password in the message" ;; esac
check "credentials in the url are refused" \
	"error (config): url 'http://127.0.0.1:$mgmt_port' must not hold credentials; use basicAuth.username and basicAuth.passwordFile" \
	"$("$bin" fetch "{\"url\": \"http://guest:guest@127.0.0.1:$mgmt_port\"}" '{"queueName": "orders"}' 2>&1)"

# --- outage and recovery under one open source --------------------------------------
poll_start "$src" '{"queueName": "orders"}'
check "poll: first fetch" "ok 37" "$(poll_next)"
check "poll: second fetch" "ok 37" "$(poll_next)"
[ -z "$sw" ] || sw_baseline orders_depth source
stop_rabbit
check "rabbitmq stopped: a source error" \
	"error (source): cannot reach '$qurl/orders?...': Connection refused" "$(poll_next)"
if [ -n "$sw" ]; then
	# the source's last error may be from the orders-eu metric on the same source
	sw_wait_down "served: rabbitmq stopped, 503" orders_depth rabbit \
		"cannot reach '$qurl/orders" 'Connection refused' 30
	sw_wait_errors "served: source errors counted on /metrics" orders_depth source "$sw_before" 30
fi
t0=$(date +%s)
start_rabbit
if wait_ready; then ok "rabbitmq restarted in $(($(date +%s) - t0)) s"; else bad "rabbitmq restarted"; fi
# durable queue, persistent messages: 37 again once the statistics are out
check "rabbitmq back: the same source reads 37 again" "ok 37" "$(poll_until 'ok 37' 96)"
# the circuit breaker's back-off (1 s doubling, up to 60 s) bounds how soon serve probes again
if [ -n "$sw" ]; then
	sw_wait_value "served: rabbitmq back, the HPA sees 37 again" orders_depth 37 90
	sw_wait_value "served: and 3 in orders-eu" orders_eu_depth 3 30
fi
poll_stop poll
finish

#!/bin/sh
# End-to-end, issue 5: `scalewise serve` polls a REAL redis-server (Debian's,
# on a free loopback port, requirepass with the password in a file) and the
# HPA API follows what the test puts in Redis: 37 items pushed, 37 served;
# a stream's pending entries; the server stopped (503 naming the cause,
# errors counted) and restarted on the same port (the value comes back);
# the password never in a log line.
# usage: tests/e2e/test_redis_serve.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"
for tool in redis-server redis-cli; do
	command -v $tool >/dev/null || { echo "$tool is not installed (apt-get install redis-server)"; exit 1; }
done

REDIS_PORT=$(free_port)
printf 'e2e-redis-pw\n' >"$TMP/redis-pw"
mkdir -p "$TMP/redis"
cat >"$TMP/redis.conf" <<CONF
port $REDIS_PORT
bind 127.0.0.1
dir $TMP/redis
daemonize no
save ""
appendonly no
requirepass e2e-redis-pw
CONF
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a e2e-redis-pw "$@"; }
start_redis() {
	redis-server "$TMP/redis.conf" >>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	PIDS="$PIDS $REDIS_PID"
}
redis_up() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
start_redis
wait_for "redis-server ready" 30 redis_up

cat >"$TMP/config.yaml" <<YAML
auth: {mode: anonymous}
sources:
  queue:
    type: redis
    address: "127.0.0.1:$REDIS_PORT"
    passwordFile: "$TMP/redis-pw"
metrics:
  - name: orders_backlog
    source: queue
    params: {listName: orders}
    interval: 1s
  - name: events_pending
    source: queue
    params: {stream: events, consumerGroup: workers}
    interval: 1s
YAML
out=$("$BIN" check --config "$TMP/config.yaml" 2>&1)
check "config with a redis source is valid (the redis scaler is registered)" 0 $?
start_scalewise "$BIN" "$TMP/config.yaml" || { finish e2e-redis; exit 1; }
GV=/apis/external.metrics.k8s.io/v1beta1/namespaces/default


# nothing pushed yet: a missing list is 0, as Redis answers
wait_for "empty list served as 0" 20 value_is orders_backlog 0
# hiredis was loaded for the redis source (scalers/dynlib.h); libpq was not
contains "hiredis loaded by the redis source" "libhiredis" "$(cat "/proc/$SW_PID/maps")"
check "libpq not loaded" 0 "$(grep -c 'libpq' "/proc/$SW_PID/maps")"

# push 37 items: the HPA sees 37
rcli RPUSH orders $(seq 1 37) >/dev/null
wait_for "37 items served" 20 value_is orders_backlog 37
get "$GV/orders_backlog"
contains "metric name" '"metricName":"orders_backlog"' "$BODY"
contains "no labels" '"metricLabels":null' "$BODY"
rcli RPUSH orders 38 39 40 41 42 >/dev/null
wait_for "42 items served" 20 value_is orders_backlog 42
rcli LPOP orders 2 >/dev/null
wait_for "40 items served after 2 popped" 20 value_is orders_backlog 40

# a stream with a consumer group: 6 entries delivered, 2 acknowledged
i=0
while [ $i -lt 9 ]; do
	rcli XADD events '*' n $i >/dev/null
	i=$((i + 1))
done
rcli XGROUP CREATE events workers 0 >/dev/null
rcli XREADGROUP GROUP workers c1 COUNT 6 STREAMS events '>' >/dev/null
ids=$(rcli XRANGE events - + COUNT 2 | awk 'NR % 3 == 1')
# shellcheck disable=SC2086
rcli XACK events workers $ids >/dev/null
wait_for "stream pending entries served" 20 value_is events_pending 4

# redis goes away: a 503 naming the cause, errors counted; never a silent 0
rcli SHUTDOWN SAVE >/dev/null 2>&1
wait "$REDIS_PID" 2>/dev/null
down() { get "$GV/orders_backlog"; [ "$CODE" = 503 ]; }
wait_for "503 while redis is down" 20 down
contains "503 names the cause" "cannot reach '127.0.0.1:$REDIS_PORT'" "$BODY"
contains "503 is a Status" '"reason":"ServiceUnavailable","code":503}' "$BODY"
errors_counted() { get /metrics; printf '%s' "$BODY" | grep -q 'scalewise_metric_fetch_errors_total{metric="orders_backlog",reason="source"}'; }
wait_for "source errors counted" 20 errors_counted

# back on the same port with its data: the value recovers
start_redis
wait_for "redis-server back" 30 redis_up
wait_for "value back after the restart" 30 value_is orders_backlog 40
wait_for "stream back after the restart" 30 value_is events_pending 4
rcli RPUSH orders 1 2 3 4 5 6 7 >/dev/null
wait_for "the value follows after the restart" 20 value_is orders_backlog 47

finish_log() { cat "$TMP/server.log" "$TMP/all-servers.log" 2>/dev/null; }
case $(finish_log) in
*e2e-redis-pw*) bad "the redis password appears in the server log" ;;
*) ok ;;
esac

finish e2e-redis

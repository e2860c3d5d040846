#!/bin/sh
# End-to-end, issue 3: scalewise polls a REAL Prometheus (Debian's package)
# that scrapes a test target on loopback; the HPA API follows what the target
# exposes; templated subscriptions; onError when Prometheus is stopped and
# recovery when it is back; stabilisation state kept across SIGHUP and across
# a restart through the state file.
# usage: tests/e2e/test_prometheus.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || { echo "prometheus is not installed (scripts/deps.sh test)"; exit 1; }

prometheus_scraping 'queue_depth{queue="orders"} 37
queue_depth{queue="invoices"} 5
' || exit 1

cat >"$TMP/config.yaml" <<YAML
server: {stateFile: "$TMP/state.bin", subscriptionIdle: 3s}
auth: {mode: anonymous}
sources:
  prom: {type: prometheus, url: "$PROM_URL", timeout: 1s}
metrics:
  - name: queue_depth
    source: prom
    query: queue_depth
    interval: 1s
  - name: depth_strict
    source: prom
    query: sum(queue_depth)
    interval: 1s
  - name: depth_fallback
    source: prom
    query: sum(queue_depth)
    interval: 1s
    onError: {maxAge: 2s, fallback: 7}
  - name: depth_by_queue
    source: prom
    query: 'sum by (queue) (queue_depth{<<.LabelMatchers>>})'
    interval: 1s
  - name: depth_stable
    source: prom
    query: sum(queue_depth)
    interval: 1s
    stabilization: {down: 10m}
  - name: depth_hourly
    source: prom
    query: sum(queue_depth)
    interval: 1h
  - name: ns_depth_a
    source: prom
    query: 'sum(queue_depth{namespace=~"<<.Namespace>>|"})'
    interval: 1s
  - name: ns_depth_b
    source: prom
    query: 'sum(queue_depth{namespace=~"<<.Namespace>>|"})'
    interval: 1s
    stabilization: {down: 1m}
  - name: ns_slow_a
    source: prom
    query: 'max(queue_depth{namespace=~"<<.Namespace>>|"})'
    interval: 1h
  - name: ns_slow_b
    source: prom
    query: 'max(queue_depth{namespace=~"<<.Namespace>>|"})'
    interval: 1h
YAML
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
GV=/apis/external.metrics.k8s.io/v1beta1/namespaces/default

wait_for "queue_depth served" 20 value_is 'queue_depth?labelSelector=queue%3Dorders' 37
get "$GV/queue_depth?labelSelector=queue%3Dorders"
contains "labels from prometheus" '"metricLabels":{"instance":"127.0.0.1:' "$BODY"
contains "selector matched in memory" '"queue":"orders"' "$BODY"
check "one series for orders" 1 "$(printf '%s' "$BODY" | grep -o metricName | wc -l)"
wait_for "sum served" 20 value_is depth_strict 42
wait_for "stable served" 20 value_is depth_stable 42

# the same query at another interval is its own fetch: depth_strict's polls
# (every second) do not feed depth_hourly, whose ring is sized for an hour
fetches_of() { get /metrics; printf '%s\n' "$BODY" | grep -F "scalewise_metric_fetch_duration_seconds_count{metric=\"$1\"}" | awk '{print $2}'; }
strict_polled_thrice() { [ "$(fetches_of depth_strict)" -ge 3 ]; }
wait_for "depth_strict polled three times" 20 strict_polled_thrice
check "the hourly metric was polled once" 1 "$(fetches_of depth_hourly)"

# the source changes, the served value follows
printf 'queue_depth{queue="orders"} 50\nqueue_depth{queue="invoices"} 5\n' >"$TMP/metrics.txt"
wait_for "new value served" 30 value_is 'queue_depth?labelSelector=queue%3Dorders' 50

# templated: the first request creates the subscription and is answered at once
get "$GV/depth_by_queue?labelSelector=queue%3Dorders"
check "first templated request" 200 "$CODE"
contains "templated value" '"value":"50"' "$BODY"
contains "templated labels" '"metricLabels":{"queue":"orders"}' "$BODY"
contains "subscription logged" 'subscription created' "$(cat "$TMP/server.log")"
get "$GV/depth_by_queue?labelSelector=queue+in+%28invoices%29"
contains "second subscription" '"value":"5"' "$BODY"

# subscriptions whose rendered queries are the same share one fetch: the
# query of ns_depth_a and ns_depth_b renders the namespace only, so the
# selector and the metric do not change what is asked of Prometheus
sub_counts() { get /metrics; printf '%s' "$BODY" | awk '$1=="scalewise_subscriptions" {s=$2} $1=="scalewise_subscription_fetches" {f=$2} END {print s - f}'; }
before=$(sub_counts)
get "$GV/ns_depth_a"; check "shared: first" 200 "$CODE"; contains "shared: first value" '"value":"55"' "$BODY"
get "$GV/ns_depth_a?labelSelector=queue%3Dorders"; check "shared: other selector" 200 "$CODE"
contains "shared: other selector value" '"value":"55"' "$BODY"
get "$GV/ns_depth_b"; check "shared: other metric" 200 "$CODE"; contains "shared: other metric value" '"value":"55"' "$BODY"
check "three subscriptions, one fetch" "$((before + 2))" "$(sub_counts)"
# each subscription has its own lines on /metrics
get /metrics
contains "a subscription's own line" 'scalewise_metric_fetch_duration_seconds_count{metric="ns_depth_a",namespace="default",selector="queue=orders"}' "$BODY"
# the fetch a joining subscription gets feeds it alone: with an hour's
# interval no poll runs meanwhile, so each has been fed exactly once
count_of() { self_metric "scalewise_metric_fetch_duration_seconds_count{metric=\"$1\",namespace=\"default\",selector=\"\"}"; }
get "$GV/ns_slow_a"; check "slow: first" 200 "$CODE"
get "$GV/ns_slow_b"; check "slow: joins" 200 "$CODE"; contains "slow: joined value" '"value":"50"' "$BODY"
check "the first subscription was not fed by the join's fetch" 1 "$(count_of ns_slow_a)"
check "the joiner was fed once" 1 "$(count_of ns_slow_b)"
contains "join logged" '"msg":"subscription created on a shared fetch","metric":"ns_depth_b","namespace":"default","selector":"","sharing":2' "$(cat "$TMP/server.log")"
GV2=/apis/external.metrics.k8s.io/v1beta1/namespaces/other
get "$GV2/ns_depth_a"; check "another namespace is its own fetch" 200 "$CODE"
check "another namespace is not shared" "$((before + 3))" "$(sub_counts)"

# a subscription nobody asks for is dropped after server.subscriptionIdle
dropped() { grep -q '"msg":"subscription dropped after idle time","metric":"depth_by_queue","namespace":"default","selector":"queue in (invoices)"' "$TMP/server.log"; }
wait_for "idle subscription dropped" 15 dropped
get "$GV/depth_by_queue?labelSelector=queue+in+%28invoices%29"
check "a dropped subscription is recreated on request" 200 "$CODE"

# a fall is held by the 10m down window
printf 'queue_depth{queue="orders"} 10\nqueue_depth{queue="invoices"} 5\n' >"$TMP/metrics.txt"
wait_for "fall reaches the strict metric" 30 value_is depth_strict 15
get "$GV/depth_stable"
contains "fall held by the down window" '"value":"55"' "$BODY"

# own metrics
get /metrics
contains "served gauge" 'scalewise_series_served_value{metric="depth_strict",namespace="",series=""} 15' "$BODY"
contains "circuit closed" 'scalewise_source_circuit_state{source="prom"} 0' "$BODY"
contains "latency histogram" 'scalewise_metric_fetch_duration_seconds_bucket{metric="queue_depth",le="+Inf"}' "$BODY"

# SIGHUP with a changed file: the unchanged metric keeps its state
sed 's/interval: 1s\n    onError/&/' "$TMP/config.yaml" >"$TMP/config2.yaml"
printf '  - name: added_later\n    source: prom\n    query: sum(queue_depth)\n    interval: 1s\n' >>"$TMP/config2.yaml"
cp "$TMP/config2.yaml" "$TMP/config.yaml"
# serve saves every 60 s, so the file usually does not exist yet: "absent"
# then, and the check below waits for it to appear rather than to change
if [ -e "$TMP/state.bin" ]; then state_mtime=$(stat -c %y "$TMP/state.bin"); else state_mtime=absent; fi
kill -HUP "$SW_PID"
wait_for "reload" 10 value_is added_later 15
get "$GV/depth_stable"
contains "state kept across reload" '"value":"55"' "$BODY"

# the reload's new poller saves the series it took over at once, and the old
# one no longer overwrites the file with what it has left (nothing): killed
# right after a reload, the server comes back with its windows, not cold
saved_since_reload() { [ -e "$TMP/state.bin" ] && [ "$(stat -c %y "$TMP/state.bin")" != "$state_mtime" ]; }
wait_for "state saved after the reload" 10 saved_since_reload
kill -9 "$SW_PID"; wait "$SW_PID" 2>/dev/null
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
wait_for "killed after a reload: the down window comes back from the state file" 20 value_is depth_stable 55
if grep -q '"msg":"warm start","query":"sum(queue_depth)"' "$TMP/server.log"; then
	bad "killed after a reload: the carried-over series were not in the state file (warm-started instead)"
else
	ok
fi

# Prometheus goes away: errors, then the fallback; never a silent value
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null
strict_down() { get "$GV/depth_strict"; [ "$CODE" = 503 ]; }
wait_for "strict metric fails" 20 strict_down
contains "503 names the cause" 'cannot reach' "$BODY"
contains "503 is a Status" '"reason":"ServiceUnavailable","code":503}' "$BODY"
wait_for "fallback after maxAge" 20 value_is depth_fallback 7
get /metrics
contains "errors counted" 'scalewise_metric_fetch_errors_total{metric="depth_strict",reason="source"}' "$BODY"
breaker_open() { get /metrics; printf '%s' "$BODY" | grep -q 'scalewise_source_circuit_state{source="prom"} [12]'; }
wait_for "circuit opens" 20 breaker_open

# Prometheus comes back on the same port with its data: recovery
start_prometheus "$(cat "$TMP/target.port")" || exit 1
wait_for "recovered" 60 value_is depth_strict 15
wait_for "fallback metric recovered" 30 value_is depth_fallback 15

# restart: the state file brings the stabilisation window back
kill "$SW_PID"; wait "$SW_PID"; rc=$?
check "exit 0" 0 "$rc"
check "state file written" yes "$( [ -s "$TMP/state.bin" ] && echo yes)"
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
wait_for "served after restart" 20 value_is depth_strict 15
get "$GV/depth_stable"
contains "down window restored from the state file" '"value":"55"' "$BODY"
contains "state file read" '"msg":"state file read"' "$(cat "$TMP/server.log")"
if grep -q '"msg":"warm start"' "$TMP/server.log"; then
	bad "restored metrics must not be warm-started again"
else
	ok
fi

# a corrupt state file is ignored with a warning, never a crash
kill "$SW_PID"; wait "$SW_PID"
printf 'garbage' >"$TMP/state.bin"
start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
contains "corrupt state ignored" 'state file ignored' "$(cat "$TMP/server.log")"
# without state, the warm start fills the 10m down window from Prometheus' history:
# the served value is the highest of the last 10 minutes, not the cold 15
wait_for "warm-started value" 20 value_is depth_stable 55
contains "warm start logged" '"msg":"warm start","query":"sum(queue_depth)"' "$(cat "$TMP/server.log")"
wait_for "strict metric after restart" 20 value_is depth_strict 15

finish e2e-prometheus

#!/bin/sh
# End-to-end: `scalewise query` against a REAL Prometheus (Debian's package)
# scraping a test target on loopback — an untemplated metric with its selector
# matched in memory, a templated one rendered with --namespace/--selector, a
# value served as a fractional Quantity, a NaN refused — and against a static
# source, a source that is down (exit 1, the error and what onError does),
# usage errors (exit 2, naming the metric or the flag), --help, --output json.
# usage: tests/e2e/test_query.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || { echo "prometheus is not installed (scripts/deps.sh test)"; exit 1; }

# q ARGS...: runs `scalewise query ARGS`; sets OUT (stdout), ERR (stderr), RC.
# Its stderr goes to the log finish() searches for sanitizer reports.
q() {
	"$BIN" query "$@" >"$TMP/q.out" 2>"$TMP/q.err"; RC=$?
	OUT=$(cat "$TMP/q.out"); ERR=$(cat "$TMP/q.err")
	cat "$TMP/q.err" >>"$TMP/all-servers.log"
}

out=$("$BIN" query --help); check "--help exit" 0 $?
contains "--help usage" "usage: scalewise query --config FILE NAME [--namespace NS] [--selector SEL]" "$out"
contains "--help exit codes" "Exit status: 0 when" "$out"
out=$("$BIN" --help); contains "query in the command list" "  query     fetch one metric once" "$out"
q; check "no flags exit" 2 "$RC"
contains "no flags message" "scalewise query: --config FILE is required" "$ERR"
q --config examples/demo.yaml --bogus x; check "unknown flag exit" 2 "$RC"
contains "unknown flag message" "scalewise query: unknown flag '--bogus'" "$ERR"
q --config examples/demo.yaml; check "no metric exit" 2 "$RC"
contains "no metric message" "a metric NAME is required" "$ERR"
q --config examples/demo.yaml queue_depth --namespace; check "flag without value" 2 "$RC"
contains "flag without value message" "--namespace needs a value" "$ERR"

# a real Prometheus
prometheus_scraping 'queue_depth{queue="orders"} 37
queue_depth{queue="invoices"} 5
' || exit 1
DOWN_PORT=$(free_port)   # nothing listens there

cat >"$TMP/config.yaml" <<YAML
auth: {mode: anonymous}
sources:
  prom: {type: prometheus, url: "$PROM_URL", timeout: 2s}
  gone: {type: prometheus, url: "http://127.0.0.1:$DOWN_PORT", timeout: 1s}
  fixed: {type: static}
metrics:
  - name: queue_depth
    source: prom
    query: queue_depth
  - name: depth_by_queue
    source: prom
    query: 'sum by (queue, ns) (label_replace(queue_depth{<<.LabelMatchers>>}, "ns", "<<.Namespace>>", "__name__", ".*"))'
    namespaces: [default, shop]
  - name: depth_thousandths
    source: prom
    query: sum(queue_depth) / 1000
    bounds: {max: 1}
  - name: depth_capped
    source: prom
    query: sum(queue_depth)
    bounds: {max: 40}
    smoothing: {method: ema, halfLife: 1m}
  - name: not_a_number
    source: prom
    query: sum(queue_depth) * (0 / 0)
  - name: down_strict
    source: gone
    query: sum(queue_depth)
  - name: down_fallback
    source: gone
    query: sum(queue_depth)
    onError: {maxAge: 2m, fallback: 7}
  - name: shards
    source: fixed
    series: [{labels: {shard: a}, value: 1}, {labels: {shard: b}, value: "1500m"}]
YAML
C="$TMP/config.yaml"

# untemplated: the query is sent as written; the selector is matched in memory
q --config "$C" queue_depth --selector queue=orders; check "untemplated exit" 0 "$RC"
contains "untemplated query" "query:     queue_depth" "$OUT"
contains "both series returned" "the source returned 2 series:" "$OUT"
contains "returned series with labels and value" "queue=\"orders\"} 37 at 20" "$OUT"
contains "the other does not match" "queue=\"invoices\"} 5 at " "$OUT"
contains "not served" "(does not match the selector: not served)" "$OUT"
contains "one item served" "would be served: 200, 1 item" "$OUT"
contains "served value" "queue=\"orders\"} value \"37\" timestamp 20" "$OUT"
contains "selector applied in memory" "selector:  queue=orders (matched against the returned series)" "$OUT"
q --config "$C" queue_depth --namespace shop; check "untemplated, no selector" 0 "$RC"
contains "two items without a selector" "would be served: 200, 2 items" "$OUT"
contains "namespace only for visibility" "namespace: shop (not in the query: it only decides where the metric is visible)" "$OUT"
q --config "$C" queue_depth --selector queue=none; check "no series matches exit" 1 "$RC"
contains "no series matches, said" "would be served: 200, 0 items" "$OUT"
contains "no series matches, why it matters" "which the HPA treats as an error" "$OUT"

# templated: namespace and selector rendered into the query; Prometheus applies them
q --config "$C" depth_by_queue --namespace shop --selector 'queue in (orders)'; check "templated exit" 0 "$RC"
contains "rendered query" 'rendered:  sum by (queue, ns) (label_replace(queue_depth{queue=~"orders"}, "ns", "shop", "__name__", ".*"))' "$OUT"
contains "source applies the selector" "rendered into the query: the source applies it" "$OUT"
contains "one series from prometheus" "the source returned 1 series:" "$OUT"
contains "namespace reached prometheus" '{ns="shop",queue="orders"} value "37"' "$OUT"
q --config "$C" depth_by_queue; check "templated without --namespace" 0 "$RC"
contains "default namespace" '"ns", "default"' "$OUT"
contains "both queues without a selector" "would be served: 200, 2 items" "$OUT"
q --config "$C" depth_by_queue --namespace prod; check "namespace the metric is not in" 2 "$RC"
contains "not visible message" "--namespace: metric 'depth_by_queue' is not visible in namespace 'prod'" "$ERR"
q --config "$C" depth_by_queue --selector 'app.kubernetes.io/name=x'; check "selector PromQL cannot say" 2 "$RC"
contains "unrenderable selector message" "--selector: cannot be rendered into the query" "$ERR"

# the served value is the Quantity the HPA receives; bounds say when they clamp
q --config "$C" depth_thousandths; check "fraction exit" 0 "$RC"
contains "raw fraction" "} 0.042 at " "$OUT"
contains "milli quantity" 'value "42m"' "$OUT"
contains "within bounds" "within bounds" "$OUT"
q --config "$C" depth_capped; check "clamped exit" 0 "$RC"
contains "clamped value" 'value "40"' "$OUT"
contains "clamp explained" "(raw 42, smoothed 42, clamped to bounds.max)" "$OUT"
contains "no history, said" "smoothing ema (halfLife 1m0s) starts with an empty window here" "$OUT"

# --output json: the same report, machine-readable
q --config "$C" queue_depth --selector queue=orders --output json; check "json exit" 0 "$RC"
v=$(printf '%s' "$OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["served"]["code"], r["served"]["items"][0]["value"], len(r["fetch"]["series"]), r["exitCode"])')
check "json report" "200 37 2 0" "$v"

# NaN is an error, never a number
q --config "$C" not_a_number; check "NaN exit" 1 "$RC"
contains "NaN named" "NaN" "$OUT"
contains "NaN is a 503" "would be served: 503: metric not_a_number has no value" "$OUT"
case "$OUT" in *'value "0"'*) bad "NaN printed as 0: $OUT" ;; *) ok ;; esac

# a source that is down: the error, what onError does, exit 1
q --config "$C" down_strict; check "down exit" 1 "$RC"
contains "down error" "source error: cannot reach 'http://127.0.0.1:$DOWN_PORT/api/v1/query'" "$OUT"
contains "down 503" "would be served: 503: metric down_strict has no value: no value yet: cannot reach" "$OUT"
contains "down onError" "onError (maxAge 0s, fallback none): " "$OUT"
q --config "$C" down_fallback; check "down with fallback exit" 1 "$RC"
contains "fallback named" "onError (maxAge 2m0s, fallback 7): " "$OUT"
contains "fallback outcome" 'then the fallback "7"' "$OUT"
q --config "$C" down_fallback --output json
v=$(printf '%s' "$OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["fetch"]["ok"], r["fetch"]["kind"], r["served"]["code"], r["onError"]["fallback"])')
check "down json" "False source 503 7" "$v"

# static: the configured values, served as written
q --config "$C" shards --selector shard=b; check "static exit" 0 "$RC"
contains "static not fetched" "configured values (static source, not fetched):" "$OUT"
contains "static served" '{shard="b"} value "1500m"' "$OUT"

# usage errors name the metric or the flag
q --config "$C" no_such_metric; check "unknown metric exit" 2 "$RC"
contains "unknown metric named" "scalewise query: no metric named 'no_such_metric' in the config" "$ERR"
q --config "$C" queue_depth --selector 'queue in (orders'; check "bad selector exit" 2 "$RC"
contains "bad selector message" "scalewise query: --selector: unable to parse requirement" "$ERR"
q --config "$C" queue_depth --namespace Not_A_Label; check "bad namespace exit" 2 "$RC"
contains "bad namespace message" "scalewise query: --namespace: invalid namespace 'Not_A_Label'" "$ERR"
q --config "$C" queue_depth --output yaml; check "bad output exit" 2 "$RC"
q --config "$TMP/missing.yaml" queue_depth; check "missing config exit" 2 "$RC"
contains "missing config message" "cannot read '$TMP/missing.yaml'" "$ERR"
check "nothing on stdout for usage errors" "" "$OUT"

finish e2e-query

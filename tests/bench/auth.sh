#!/bin/sh
# make bench, part 3: the request benchmark with delegated authentication and
# authorization (bearer token → TokenReview, SubjectAccessReview, both cached
# 10 s) against the same server in anonymous mode, in the same run. The
# kube-apiserver is tests/e2e/fake_kube_apiserver.py, a TEST DOUBLE (none can
# run here); with a warm cache it is asked about once per 10 s per identity.
set -eu
BIN=${BIN:-build/scalewise}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scalewise-bench-auth.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
PATH_=/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth

"$BIN" certs --out "$TMP/kube" --service kubernetes --namespace default --sans 127.0.0.1 >/dev/null
python3 - "$TMP/kube/ca.crt" >"$TMP/state.json" <<'PY'
import json, sys
print(json.dumps({
    "adapterToken": "adapter-token",
    "configmap": {},
    "tokens": {"bench-token": {"username": "bench", "uid": "b-1", "groups": ["system:authenticated"]}},
    "sar": [{"user": "bench", "verb": "list", "resource": "queue_depth", "namespace": "default"}],
}))
PY
python3 "$HERE/../e2e/fake_kube_apiserver.py" --cert "$TMP/kube/tls.crt" --key "$TMP/kube/tls.key" \
	--port-file "$TMP/kport" --state "$TMP/state.json" 2>"$TMP/double.log" &
PIDS="$PIDS $!"
i=0; while [ ! -s "$TMP/kport" ]; do i=$((i+1)); [ $i -gt 300 ] && { cat "$TMP/double.log"; exit 1; }; sleep 0.02; done
cat >"$TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: double
contexts: [{name: double, context: {cluster: double, user: scalewise}}]
clusters: [{name: double, cluster: {server: "https://127.0.0.1:$(cat "$TMP/kport")", certificate-authority: "$TMP/kube/ca.crt"}}]
users: [{name: scalewise, user: {token: adapter-token}}]
KC
sed -e '/^auth:/,/^$/d' examples/demo.yaml | sed -e '/^  certDir:/d' >"$TMP/base.yaml"
printf 'auth:\n  mode: delegated\n  kubeconfig: %s\n  requestheader: {clientCAFile: %s}\n' "$TMP/kubeconfig" "$TMP/kube/ca.crt" >"$TMP/delegated.yaml"
cat "$TMP/base.yaml" >>"$TMP/delegated.yaml"
printf 'auth:\n  mode: anonymous\n' >"$TMP/anonymous.yaml"
cat "$TMP/base.yaml" >>"$TMP/anonymous.yaml"

start() { # config -> SWPORT
	rm -f "$TMP/port"
	"$BIN" serve --config "$1" --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$TMP/certs" --threads 1 \
		--port-file "$TMP/port" 2>"$TMP/sw.log" &
	SW=$!; PIDS="$PIDS $SW"
	i=0; while [ ! -s "$TMP/port" ]; do i=$((i+1)); [ $i -gt 500 ] && { cat "$TMP/sw.log"; exit 1; }; sleep 0.02; done
	SWPORT=$(cat "$TMP/port")
}
run_wrk() { # port -> "rps p99"
	wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer bench-token" "https://127.0.0.1:$1$PATH_" >"$TMP/wrk.out" 2>&1
	if grep -q Non-2xx "$TMP/wrk.out"; then echo "non-2xx answers:" >&2; cat "$TMP/wrk.out" >&2; exit 1; fi
	rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.out")
	p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$TMP/wrk.out")
	echo "$rps $p99"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start "$TMP/anonymous.yaml"; ANON=$SWPORT
start "$TMP/delegated.yaml"; DELE=$SWPORT
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer bench-token" "https://127.0.0.1:$DELE$PATH_")
[ "$code" = 200 ] || { echo "delegated warm-up answered $code" >&2; cat "$TMP/sw.log" >&2; exit 1; }
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$DELE$PATH_")
[ "$code" = 403 ] || { echo "an anonymous request to the delegated server answered $code, not 403" >&2; exit 1; }
: >"$TMP/a.res"; : >"$TMP/d.res"
r=1
while [ $r -le "$RUNS" ]; do
	run_wrk "$ANON" >>"$TMP/a.res"
	run_wrk "$DELE" >>"$TMP/d.res"
	r=$((r+1))
done
a_rps=$(cut -d' ' -f1 "$TMP/a.res" | median); a_p99=$(cut -d' ' -f2 "$TMP/a.res" | median)
d_rps=$(cut -d' ' -f1 "$TMP/d.res" | median); d_p99=$(cut -d' ' -f2 "$TMP/d.res" | median)
reviews=$(curl -sS --cacert "$TMP/kube/ca.crt" "https://127.0.0.1:$(cat "$TMP/kport")/_double/requests" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(1 for x in r if x["path"].endswith("reviews")))')
echo "auth: GET $PATH_ with a bearer token, wrk -t1 -c$CONNS -d${DURATION}s, 1 server thread, median of $RUNS alternating runs"
printf '  %-34s %12s %10s\n' mode 'requests/s' 'p99 ms'
printf '  %-34s %12s %10s\n' "anonymous" "$a_rps" "$a_p99"
printf '  %-34s %12s %10s\n' "delegated (warm TokenReview/SAR cache)" "$d_rps" "$d_p99"
awk -v a="$a_rps" -v d="$d_rps" -v n="$reviews" 'BEGIN {printf "  delegated/anonymous requests/s: %.2f (target >= 0.80); reviews sent to the API server double: %d\n", d/a, n}'

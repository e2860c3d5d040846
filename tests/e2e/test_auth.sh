#!/bin/sh
# End-to-end: delegated authentication and authorization (auth.mode
# delegated) behind a front proxy, as the kube-aggregator uses scalewise.
# No real kube-apiserver runs here: tests/e2e/fake_kube_apiserver.py is a TEST
# DOUBLE of it (the ConfigMap, TokenReview and SubjectAccessReview endpoints,
# answering from tables this test sets, recording every request). Certificates
# come from `scalewise certs` and openssl; curl and kubectl are the clients.
# usage: tests/e2e/test_auth.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"
DOUBLE="$(cd "$(dirname "$0")" && pwd)/fake_kube_apiserver.py"
GV=/apis/external.metrics.k8s.io/v1beta1
HPA=system:serviceaccount:kube-system:horizontal-pod-autoscaler

# --- certificates -------------------------------------------------------------
"$BIN" certs --out "$TMP/kube" --service kubernetes --namespace default --sans 127.0.0.1 >/dev/null || exit 1
"$BIN" certs --out "$TMP/pki" --service scalewise --namespace scalewise >/dev/null || exit 1
"$BIN" certs --out "$TMP/pki2" --service scalewise --namespace scalewise >/dev/null || exit 1
# signed by the right CA but with a CN that is not allowed, and one expired
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >"$TMP/client.ext"
client_cert() { # NAME CN DAYS
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/$1.key" -subj "/CN=$2" \
		-out "$TMP/$1.csr" >/dev/null 2>&1 &&
	openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/pki/front-proxy-ca.crt" -CAkey "$TMP/pki/front-proxy-ca.key" \
		-set_serial "$(date +%s%N)" -days "$3" -extfile "$TMP/client.ext" -out "$TMP/$1.crt" >/dev/null 2>&1
}
client_cert intruder intruder 1 || { echo "openssl failed" >&2; exit 1; }
client_cert expired front-proxy-client -1 || { echo "openssl failed" >&2; exit 1; }

# --- the kube-apiserver test double ---------------------------------------------
python3 - "$TMP/pki/front-proxy-ca.crt" >"$TMP/state.json" <<'PY'
import json, sys
ca = open(sys.argv[1]).read()
print(json.dumps({
    "adapterToken": "adapter-token",
    "configmap": {
        "client-ca-file": ca,
        "requestheader-client-ca-file": ca,
        "requestheader-allowed-names": '["front-proxy-client"]',
        "requestheader-username-headers": '["X-Remote-User"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
    },
    "tokens": {"prom-token": {"username": "system:serviceaccount:monitoring:prometheus", "uid": "p-1",
                              "groups": ["system:serviceaccounts", "system:authenticated"]}},
    "sar": [
        {"user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler", "verb": "list",
         "resource": "queue_depth", "namespace": "default"},
        {"user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler", "verb": "list",
         "resource": "queue_depth", "namespace": "other"},
        {"user": "system:serviceaccount:monitoring:prometheus", "verb": "get", "path": "/metrics"},
    ],
    "sarReason": "denied by the double",
}))
PY
python3 "$DOUBLE" --cert "$TMP/kube/tls.crt" --key "$TMP/kube/tls.key" --port-file "$TMP/kport" \
	--state "$TMP/state.json" 2>>"$TMP/double.log" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$TMP/kport" ]; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "the kube-apiserver double did not start:" >&2; cat "$TMP/double.log" >&2; exit 1; }
	sleep 0.02
done
KBASE="https://127.0.0.1:$(cat "$TMP/kport")"
dbl() { # PATH [JSON]: a control request to the double
	if [ $# -gt 1 ]; then
		curl -sS --cacert "$TMP/kube/ca.crt" -X POST -d "$2" "$KBASE/_double/$1"
	else
		curl -sS --cacert "$TMP/kube/ca.crt" "$KBASE/_double/$1"
	fi
}
cat >"$TMP/count.py" <<'PY'
# count KIND [key=value...]: how many recorded requests of KIND match
import json, sys
kinds = {"sar": "/subjectaccessreviews", "tokenreview": "/tokenreviews",
         "configmap": "/extension-apiserver-authentication"}
want = dict(a.split("=", 1) for a in sys.argv[2:])
n = 0
for r in json.load(sys.stdin):
    if not r["path"].endswith(kinds[sys.argv[1]]):
        continue
    spec = (r.get("body") or {}).get("spec") or {}
    ra = spec.get("resourceAttributes") or {}
    nra = spec.get("nonResourceAttributes") or {}
    have = {"user": spec.get("user", ""), "namespace": ra.get("namespace", ""), "resource": ra.get("resource", ""),
            "verb": ra.get("verb") or nra.get("verb", ""), "path": nra.get("path", ""),
            "spec": json.dumps(spec, separators=(",", ":")), "bearer": str(r["bearer"]).lower()}
    n += all(have.get(k) == v for k, v in want.items())
print(n)
PY
count() { dbl requests | python3 "$TMP/count.py" "$@"; }

cat >"$TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: double
contexts: [{name: double, context: {cluster: double, user: scalewise}}]
clusters: [{name: double, cluster: {server: "$KBASE", certificate-authority: "$TMP/kube/ca.crt"}}]
users: [{name: scalewise, user: {token: adapter-token}}]
KC
cat >"$TMP/config.yaml" <<YAML
auth:
  mode: delegated
  kubeconfig: $TMP/kubeconfig
  requestheader: {pollInterval: 200ms}
sources:
  fixed: {type: static}
metrics:
  - name: queue_depth
    source: fixed
    value: 37
YAML
start_scalewise "$BIN" "$TMP/config.yaml" --log-level debug || exit 1
check "the ConfigMap was read at start" 1 "$(count configmap bearer=true | awk '{print ($1 >= 1)}')"

# curl as the aggregator: the front-proxy client certificate and identity headers
PCERT="$TMP/pki/front-proxy-client.crt"
PKEY="$TMP/pki/front-proxy-client.key"
as_hpa() { # PATH [curl args]
	p=$1; shift
	get "$p" --cert "$PCERT" --key "$PKEY" -H "X-Remote-User: $HPA" -H 'X-Remote-Group: system:serviceaccounts' \
		-H 'X-Remote-Group: system:serviceaccounts:kube-system' "$@"
}

# --- front proxy + SubjectAccessReview ---------------------------------------------
dbl clear '{}' >/dev/null
as_hpa "$GV/namespaces/default/queue_depth"
check "front proxy, SAR allows: code" 200 "$CODE"
contains "front proxy, SAR allows: the metric" '"metricName":"queue_depth"' "$BODY"
check "the SubjectAccessReview" \
	'{"resourceAttributes":{"namespace":"default","verb":"list","group":"external.metrics.k8s.io","version":"v1beta1","resource":"queue_depth"},"user":"system:serviceaccount:kube-system:horizontal-pod-autoscaler","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]}' \
	"$(dbl requests | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["path"].endswith("/subjectaccessreviews")]; print(json.dumps(r[0]["body"]["spec"],separators=(",",":")) if r else "none")')"
# within 10 s the same request is answered from the cache: still one review
n=0
while [ $n -lt 20 ]; do
	as_hpa "$GV/namespaces/default/queue_depth"
	[ "$CODE" = 200 ] || bad "cached request $n: code $CODE"
	n=$((n + 1))
done
check "20 more identical requests: one SAR in all" 1 "$(count sar user=$HPA namespace=default)"
# 1,000 identical requests on one keep-alive connection (well within the 10 s cache)
urls=$(i=0; while [ $i -lt 1000 ]; do printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE$GV/namespaces/default/queue_depth"; i=$((i + 1)); done)
printf '%s\n' "$urls" >"$TMP/thousand.curl"
codes=$(curl -sk --cert "$PCERT" --key "$PKEY" -H "X-Remote-User: $HPA" -H 'X-Remote-Group: system:serviceaccounts' \
	-H 'X-Remote-Group: system:serviceaccounts:kube-system' -w '%{http_code}\n' -K "$TMP/thousand.curl" | sort | uniq -c | tr -s ' ')
check "1,000 identical requests all answered 200" " 1000 200" "$codes"
check "1,000 identical requests: still one SAR" 1 "$(count sar user=$HPA namespace=default)"

# a denial: the exact 403 Status
as_hpa "$GV/namespaces/prod/queue_depth"
check "SAR denies: code" 403 "$CODE"
check "SAR denies: body" '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"queue_depth.external.metrics.k8s.io is forbidden: User \"system:serviceaccount:kube-system:horizontal-pod-autoscaler\" cannot list resource \"queue_depth\" in API group \"external.metrics.k8s.io\" in the namespace \"prod\": denied by the double","reason":"Forbidden","details":{"group":"external.metrics.k8s.io","kind":"queue_depth"},"code":403}' "$BODY"

# --- identity headers are ignored without a verified client certificate ------------
dbl clear '{}' >/dev/null
get "$GV/namespaces/default/queue_depth" -H "X-Remote-User: $HPA" -H 'X-Remote-Group: system:masters'
check "forged headers without a certificate: anonymous, 403" 403 "$CODE"
check "anonymous 403 body" '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"queue_depth.external.metrics.k8s.io is forbidden: User \"system:anonymous\" cannot list resource \"queue_depth\" in API group \"external.metrics.k8s.io\" in the namespace \"default\": denied by the double","reason":"Forbidden","details":{"group":"external.metrics.k8s.io","kind":"queue_depth"},"code":403}' "$BODY"
check "the review was for system:anonymous" 1 "$(count sar user=system:anonymous namespace=default)"
check "no review for the forged user" 0 "$(count sar user=$HPA)"

UNAUTHORIZED='{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}'
get "$GV" --cert "$TMP/pki2/front-proxy-client.crt" --key "$TMP/pki2/front-proxy-client.key" \
	-H 'X-Remote-User: system:kube-aggregator' -H 'X-Remote-Group: system:masters'
check "client certificate from another CA: 401" 401 "$CODE"
check "401 body" "$UNAUTHORIZED" "$BODY"
get "$GV" --cert "$TMP/intruder.crt" --key "$TMP/intruder.key" -H 'X-Remote-User: system:kube-aggregator' \
	-H 'X-Remote-Group: system:masters'
check "CN not in requestheader-allowed-names: 401" 401 "$CODE"
get "$GV" --cert "$TMP/expired.crt" --key "$TMP/expired.key" -H 'X-Remote-User: system:kube-aggregator' \
	-H 'X-Remote-Group: system:masters'
check "expired client certificate: 401" 401 "$CODE"
check "no review for refused certificates" 0 "$(count sar user=system:kube-aggregator)"

# --- system:masters and the health paths need no review -------------------------------
dbl clear '{}' >/dev/null
get "$GV" --cert "$PCERT" --key "$PKEY" -H 'X-Remote-User: system:kube-aggregator' -H 'X-Remote-Group: system:masters'
check "availability check (system:masters): 200" 200 "$CODE"
contains "discovery document" '"kind":"APIResourceList"' "$BODY"
for p in /healthz /livez /readyz; do
	get $p
	check "$p without credentials" 200 "$CODE"
done
check "no SubjectAccessReview for masters or health" 0 "$(count sar)"

# --- bearer tokens (TokenReview) ----------------------------------------------------
dbl clear '{}' >/dev/null
get /metrics -H 'Authorization: Bearer prom-token'
check "valid bearer token, /metrics allowed by SAR" 200 "$CODE"
check "one TokenReview" 1 "$(count tokenreview)"
check "SAR for the token's user" 1 "$(count sar user=system:serviceaccount:monitoring:prometheus path=/metrics verb=get)"
get /metrics -H 'Authorization: Bearer prom-token'
check "token review cached" 1 "$(count tokenreview)"
get /metrics -H 'Authorization: Bearer not-a-token'
check "invalid bearer token: 401" 401 "$CODE"
check "invalid bearer token: body" "$UNAUTHORIZED" "$BODY"
get /healthz -H 'Authorization: Bearer not-a-token'
check "a bad token is 401 even on /healthz" 401 "$CODE"

# --- kubectl as a real client -----------------------------------------------------------
kc() { env -u KUBECONFIG kubectl --kubeconfig=/dev/null --server="$BASE" --insecure-skip-tls-verify=true "$@" 2>&1; }
out=$(kc --token=prom-token get --raw /metrics)
contains "kubectl with a token" "scalewise" "$out"
# kubectl cannot send identity headers: its front-proxy certificate is verified, the user is anonymous (403);
# a certificate from another CA is refused (401)
out=$(kc --client-certificate="$TMP/pki/front-proxy-client.crt" --client-key="$TMP/pki/front-proxy-client.key" get --raw "$GV")
contains "kubectl with the front-proxy certificate: verified, anonymous" 'Forbidden' "$out"
out=$(kc --client-certificate="$TMP/pki2/front-proxy-client.crt" --client-key="$TMP/pki2/front-proxy-client.key" get --raw "$GV")
contains "kubectl with another CA's certificate: 401" 'Unauthorized' "$out"

# --- a failing SubjectAccessReview is a 500 (after the client's retries) --------------------
dbl set '{"fail":{"sar":500}}' >/dev/null
as_hpa "$GV/namespaces/other/queue_depth"
check "SAR failing: 500" 500 "$CODE"
contains "SAR failing: InternalError Status" '"reason":"InternalError","details":{"causes":[{"message":"subjectaccessreview failed: HTTP 500: double: failing"}]},"code":500}' "$BODY"
dbl set '{"fail":{}}' >/dev/null
as_hpa "$GV/namespaces/other/queue_depth"
check "a failed review is not cached: allowed once the API server answers" 200 "$CODE"

# --- the requestheader CA rotated in the ConfigMap: no restart --------------------------
code_with() { # PKI: code of the availability check made with that front-proxy certificate
	curl -sS -k -o /dev/null -w '%{http_code}' --cert "$TMP/$1/front-proxy-client.crt" \
		--key "$TMP/$1/front-proxy-client.key" -H 'X-Remote-User: system:kube-aggregator' \
		-H 'X-Remote-Group: system:masters' "$BASE$GV"
}
new_ca_in_use() { [ "$(code_with pki2)" = 200 ]; }
check "before the rotation the new proxy is refused" 401 "$(code_with pki2)"
dbl set "$(python3 -c 'import json,sys; print(json.dumps({"configmap": {"requestheader-client-ca-file": open(sys.argv[1]).read(), "requestheader-allowed-names": "[\"front-proxy-client\"]"}}))' "$TMP/pki2/front-proxy-ca.crt")" >/dev/null
wait_for "the rotated front-proxy CA to take effect" 10 new_ca_in_use
check "after the rotation the old proxy is refused" 401 "$(code_with pki)"
check "no restart" 0 "$(kill -0 "$SW_PID" 2>/dev/null; echo $?)"
contains "rotation logged" "requestheader client CA configuration changed" "$(cat "$TMP/server.log")"

# --- secrets never reach the log ------------------------------------------------------------
log=$(cat "$TMP/server.log")
case "$log" in *prom-token* | *adapter-token* | *not-a-token*) bad "a bearer token is in the server log" ;; *) ok ;; esac

# --- a ConfigMap the adapter may not read is a fatal start-up error naming the RBAC ------------
dbl set '{"configmapCode":403}' >/dev/null
timeout 30 "$BIN" serve --config "$TMP/config.yaml" --secure-port 0 --bind-address 127.0.0.1 \
	--cert-dir "$TMP/certs2" 2>"$TMP/forbidden.log"
check "forbidden ConfigMap: exit code" 1 "$?"
contains "forbidden ConfigMap: the fix" \
	"kubectl create rolebinding -n kube-system scalewise-auth-reader --role=extension-apiserver-authentication-reader --serviceaccount=scalewise:scalewise" \
	"$(cat "$TMP/forbidden.log")"
cat "$TMP/forbidden.log" >>"$TMP/all-servers.log"

finish e2e-auth

#!/bin/sh
# End-to-end: the command line. Exit codes, --help on every command, `check`
# reporting every problem with its key path, start-up failures, `certs`, `hpa`.
# usage: tests/e2e/test_cli.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"

out=$("$BIN" version); rc=$?
check "version exit" 0 "$rc"
contains "version text" "scalewise " "$out"
for c in serve check hpa simulate record certs version; do
	out=$("$BIN" $c --help 2>&1); rc=$?
	check "$c --help exit" 0 "$rc"
	contains "$c --help usage" "usage: scalewise $c" "$out"
done
out=$("$BIN" --help); check "top help" 0 $?
contains "top help lists commands" "commands:" "$out"
"$BIN" frobnicate >/dev/null 2>&1; check "unknown command" 2 $?
"$BIN" >/dev/null 2>&1; check "no command" 2 $?

# check: valid, invalid (every problem, with paths), unreadable
out=$("$BIN" check --config examples/demo.yaml); check "demo is valid" 0 $?
contains "check summary" "examples/demo.yaml: ok: " "$out"
cat >"$TMP/bad.yaml" <<'YAML'
server: {securePort: -1}
sources: {fixed: {type: static}, p: {type: prometheus}}
metrics:
  - name: a
    source: fixed
    value: 1
    smothing: {method: ema}
  - name: b
    source: p
    interval: fast
YAML
out=$("$BIN" check --config "$TMP/bad.yaml" 2>&1); rc=$?
check "bad config exit" 2 "$rc"
contains "port range" "$TMP/bad.yaml: server.securePort: -1 is out of range [0, 65535]" "$out"
contains "did you mean" 'metrics[0].smothing: unknown key; did you mean "smoothing"?' "$out"
contains "required url" "sources.p.url: required" "$out"
contains "required query" "metrics[1]: query: required for a prometheus source" "$out"
contains "bad duration" "metrics[1].interval: invalid duration 'fast'" "$out"
check "one line per problem" 5 "$(printf '%s\n' "$out" | wc -l)"
out=$("$BIN" check --config "$TMP/nope.yaml" 2>&1); check "missing file exit" 2 $?
contains "missing file message" "cannot read '$TMP/nope.yaml'" "$out"
printf 'a: [1,\n' >"$TMP/syntax.yaml"
out=$("$BIN" check --config "$TMP/syntax.yaml" 2>&1); check "syntax error exit" 2 $?
contains "syntax error names the line" "line " "$out"
# a source url open would refuse is refused by check, used by a metric or not; no password shown
cat >"$TMP/url.yaml" <<'YAML'
sources:
  rmq: {type: rabbitmq, url: 'http://guest:s3cret@rabbit:15672'}
  njs: {type: nats-jetstream, url: 'nats:8222'}
metrics:
  - {name: q, source: rmq, params: {queueName: orders}}
YAML
out=$("$BIN" check --config "$TMP/url.yaml" 2>&1); check "source url exit" 2 $?
contains "url with credentials" "sources.rmq: url 'http://rabbit:15672' must not hold credentials" "$out"
contains "url without scheme" "sources.njs: url 'nats:8222' must start with http:// or https://" "$out"
case $out in *s3cret*) bad "no password in check's output: $out" ;; *) ok ;; esac
# the reference config of CONFIG.md, verbatim: every key in it works as written
out=$("$BIN" check --config examples/config-reference.yaml 2>&1); rc=$?
check "CONFIG.md reference config is valid" 0 "$rc"
contains "CONFIG.md reference config summary" "ok: 4 sources, 4 metrics" "$out"

# serve: bad flags and configs exit 2 with one clear line; a taken port exits 1
"$BIN" serve --config examples/demo.yaml --bogus >/dev/null 2>&1; check "serve unknown flag" 2 $?
"$BIN" serve >/dev/null 2>&1; check "serve without config" 2 $?
out=$("$BIN" serve --config "$TMP/bad.yaml" 2>&1); check "serve bad config" 2 $?
contains "serve names the key" "smothing" "$out"
out=$("$BIN" serve --config examples/demo.yaml --secure-port 70000 2>&1); check "serve bad port flag" 2 $?
contains "flag overrides the key" "server.securePort: 70000 is out of range" "$out"
start_scalewise "$BIN" examples/demo.yaml || exit 1
# the demo needs no client library: libcurl, libpq, hiredis and libcrypto stay
# unloaded (scalers/dynlib.h; the certificate was made in a child process);
# the server still answers over TLS
get /apis/external.metrics.k8s.io/v1beta1; check "demo serves" 200 "$CODE"
libs=$(grep -o -E 'lib(curl|pq|hiredis|crypto)[^ ]*' "/proc/$SW_PID/maps" | sort -u | tr '\n' ' ')
check "client libraries not loaded by the demo" "" "$libs"
check "serving certificate made" "yes" "$([ -s "$TMP/certs/apiserver.crt" ] && [ -s "$TMP/certs/apiserver.key" ] && echo yes)"
out=$("$BIN" serve --config examples/demo.yaml --secure-port "$PORT" --bind-address 127.0.0.1 --cert-dir "$TMP/certs" 2>&1)
check "port in use" 1 $?
contains "port in use message" "cannot listen on 127.0.0.1:$PORT" "$out"
out=$(SCALEWISE_SERVER_SECURE_PORT=abc "$BIN" serve --config examples/demo.yaml 2>&1)
check "bad env override" 2 $?
contains "env override names the key" "server.securePort" "$out"

# certs: a CA, a serving cert with the service SANs, a front-proxy client cert; caBundle printed
out=$("$BIN" certs --out "$TMP/pki" --service metrics --namespace ops); check "certs exit" 0 $?
printf '%s' "$out" | base64 -d >"$TMP/bundle.pem" 2>/dev/null
check "caBundle is the CA" "$(cat "$TMP/pki/ca.crt")" "$(cat "$TMP/bundle.pem")"
san=$(openssl x509 -in "$TMP/pki/tls.crt" -noout -ext subjectAltName)
contains "SAN svc" "DNS:metrics.ops.svc" "$san"
contains "SAN cluster.local" "DNS:metrics.ops.svc.cluster.local" "$san"
out=$(openssl verify -CAfile "$TMP/pki/ca.crt" "$TMP/pki/tls.crt"); contains "serving cert verifies" "OK" "$out"
out=$(openssl verify -CAfile "$TMP/pki/front-proxy-ca.crt" -purpose sslclient "$TMP/pki/front-proxy-client.crt")
contains "front-proxy client cert verifies" "OK" "$out"
check "key is private" "600" "$(stat -c %a "$TMP/pki/tls.key")"
"$BIN" certs --out "$TMP/x" --days 0 >/dev/null 2>&1; check "certs bad days" 2 $?

# hpa: one decision explained
TD=${SW_TESTDATA:-../shared/testdata}
out=$("$BIN" hpa "$TD/hpa_vectors_public.json" --case 0 2>&1); rc=$?
check "hpa exit" 0 "$rc"
contains "hpa explains" "replicas" "$out"
"$BIN" hpa "$TMP/nope.json" >/dev/null 2>&1; check "hpa missing file" 2 $?

finish e2e-cli

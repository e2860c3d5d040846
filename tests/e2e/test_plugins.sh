#!/bin/sh
# End-to-end, issue 5: scaler plugins. `scalewise serve` with
# `plugins: [build/plugins/example.so]` serves the value of a file through the
# HTTPS API and follows its changes (value and line-count modes; a file that
# holds no number is a 503 saying so); a plugin built with a wrong ABI
# (badabi) is refused at start with its reason, exit 2, one line.
# Run from the top of the checkout (as `make e2e` does): plugin paths in the
# config are relative to the working directory.
# usage: tests/e2e/test_plugins.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"

make -s build/plugins/example.so build/plugins/badabi.so >"$TMP/make.log" 2>&1 ||
	{ cat "$TMP/make.log" >&2; echo "cannot build the test plugins (run from the top of the checkout)" >&2; exit 1; }

echo 37 >"$TMP/value"
printf 'a\nb\n' >"$TMP/lines"
cat >"$TMP/config.yaml" <<YAML
auth: {mode: anonymous}
plugins: [build/plugins/example.so]
sources:
  num: {type: example, path: "$TMP/value"}
  log: {type: example, path: "$TMP/lines"}
metrics:
  - {name: file_value, source: num, interval: 200ms}
  - {name: file_lines, source: log, interval: 200ms, params: {mode: lines}}
YAML

out=$("$BIN" check --config "$TMP/config.yaml" 2>&1)
check "check loads the plugin" 0 $?
contains "check summary" "ok: 2 sources, 2 metrics" "$out"

start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
contains "plugin load logged" '"msg":"plugin loaded"' "$(cat "$TMP/server.log")"
contains "plugin scaler named" '"scaler":"example"' "$(cat "$TMP/server.log")"
GV=/apis/external.metrics.k8s.io/v1beta1/namespaces/default
wait_for "plugin value served" 10 value_is file_value 37
wait_for "plugin line count served" 10 value_is file_lines 2

# the served value follows the file
echo 42 >"$TMP/value.new" && mv "$TMP/value.new" "$TMP/value"
wait_for "plugin follows the file" 10 value_is file_value 42
printf 'c\nd\ne\n' >>"$TMP/lines"
wait_for "plugin follows the line count" 10 value_is file_lines 5

# not a number: an error the HPA sees as a 503 saying why, never a 0
echo many >"$TMP/value.new" && mv "$TMP/value.new" "$TMP/value"
not_a_number() {
	get "$GV/file_value"
	[ "$CODE" = 503 ] && printf '%s' "$BODY" | grep -q "holds 'many', not a number"
}
wait_for "garbage in the file is a 503" 10 not_a_number
echo 7 >"$TMP/value.new" && mv "$TMP/value.new" "$TMP/value"
wait_for "plugin recovers" 10 value_is file_value 7

# the badabi plugin: refused at start with its reason, exit 2, one line
cat >"$TMP/bad.yaml" <<YAML
auth: {mode: anonymous}
plugins: [build/plugins/badabi.so]
sources:
  b: {type: badabi}
metrics:
  - {name: b, source: b}
YAML
"$BIN" serve --config "$TMP/bad.yaml" --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$TMP/certs" \
	--port-file "$TMP/bad.port" 2>"$TMP/bad.err"
check "badabi: exit 2" 2 $?
check "badabi: one line" 1 "$(wc -l <"$TMP/bad.err")"
check "badabi: the reason" \
	"$TMP/bad.yaml: plugins[0]: cannot load 'build/plugins/badabi.so': ABI version 1001, but this scalewise speaks version 1: rebuild the plugin against this scalewise's scalers/scaler.h" \
	"$(cat "$TMP/bad.err")"
check "badabi: never served" no "$([ -e "$TMP/bad.port" ] && echo yes || echo no)"
"$BIN" check --config "$TMP/bad.yaml" 2>"$TMP/bad-check.err"
check "badabi: check exits 2" 2 $?
contains "badabi: check says why" "ABI version 1001" "$(cat "$TMP/bad-check.err")"
cat "$TMP/bad.err" "$TMP/bad-check.err" >>"$TMP/all-servers.log"

finish e2e-plugins

#!/bin/sh
# End-to-end, issue 5: the replay and cron scalers through `scalewise serve`
# and the HTTPS API. Replay: a 4-point trace (one point a minute) at speed 30
# is one point every 2 s; its values follow the trace at that pace; without
# loop the metric turns 503 naming the end; with loop it starts over. Cron: a
# window that contains now serves desiredReplicas, one that does not serves 0;
# a bad expression is refused at start with its key path.
# usage: tests/e2e/test_cron_replay.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"

printf 'timestamp,value\n1397088000,10\n1397088060,20\n1397088120,30\n1397088180,40\n' >"$TMP/trace.csv"

cat >"$TMP/config.yaml" <<YAML
auth: {mode: anonymous}
sources:
  once: {type: replay, path: "$TMP/trace.csv", speed: 30}
  again: {type: replay, path: "$TMP/trace.csv", speed: 30, loop: true}
  office: {type: cron, timezone: Europe/Berlin}
metrics:
  - {name: replay_once, source: once, interval: 200ms}
  - {name: replay_loop, source: again, interval: 200ms}
  # a start every minute and an end once a year: open now (bar 00:00 on 1 January)
  - name: cron_open
    source: office
    interval: 200ms
    params: {start: "* * * * *", end: "0 0 1 1 *", desiredReplicas: 7}
  # the other way round: closed now
  - name: cron_closed
    source: office
    interval: 200ms
    params: {start: "0 0 1 1 *", end: "* * * * *", desiredReplicas: 7, timezone: UTC}
YAML

out=$("$BIN" check --config "$TMP/config.yaml" 2>&1)
check "check accepts cron and replay" 0 $?
contains "check summary" "ok: 3 sources, 4 metrics" "$out"

start_scalewise "$BIN" "$TMP/config.yaml" || exit 1
GV=/apis/external.metrics.k8s.io/v1beta1/namespaces/default

ms() { date +%s%3N; }

# the replay starts at the first point and moves on a point every 2 s
wait_for "replay serves the first point" 10 value_is replay_once 10
wait_for "replay reaches the second point" 10 value_is replay_once 20
t20=$(ms)
wait_for "replay reaches the last point" 10 value_is replay_once 40
t40=$(ms)
dt=$((t40 - t20))
# two points at speed 30 are 4 s; polls every 200 ms and checks every 100 ms
if [ "$dt" -ge 3000 ] && [ "$dt" -le 5500 ]; then ok; else bad "20 -> 40 took ${dt} ms, expected about 4000"; fi
get "$GV/replay_once"
contains "the sample's timestamp is in the present" "\"timestamp\":\"$(date -u +%Y-%m-%d)T" "$BODY"

# without loop: after the end (2 s after the last point) the metric fails, saying when it ended
ended() {
	get "$GV/replay_once"
	[ "$CODE" = 503 ] && printf '%s' "$BODY" | grep -q 'trace ended at'
}
wait_for "replay without loop ends" 10 ended
contains "503 names the end" "trace ended at $(date -u +%Y-%m-%d)T" "$BODY"
contains "503 names the file" "trace.csv' (recorded 2014-04-10T00:00:00Z to 2014-04-10T00:03:00Z)" "$BODY"
contains "503 says how to go on" "set loop: true" "$BODY"

# with loop: it is past its first round by now and goes on from the first point
wait_for "looped replay starts over" 10 value_is replay_loop 10
wait_for "looped replay goes on" 10 value_is replay_loop 20
get "$GV/replay_loop"
check "looped replay is 200" 200 "$CODE"
get "$GV/replay_once"
check "the ended replay stays ended" 503 "$CODE"

# cron
wait_for "cron window that contains now" 10 value_is cron_open 7
wait_for "cron window that does not" 10 value_is cron_closed 0
contains "cron metric name" '"metricName":"cron_closed"' "$BODY"

# a bad expression or zone is refused at start, with its key path
finish_server() { kill "$SW_PID" 2>/dev/null; wait "$SW_PID" 2>/dev/null; }
finish_server
cat >"$TMP/bad.yaml" <<YAML
auth: {mode: anonymous}
sources:
  office: {type: cron}
metrics:
  - name: c
    source: office
    params: {start: "0 25 * * *", end: "0 18 * * *", desiredReplicas: 3, timezone: Mars/Olympus}
  - name: d
    source: office
    params: {start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: 3, timezone: Mars/Olympus}
YAML
"$BIN" serve --config "$TMP/bad.yaml" --secure-port 0 --cert-dir "$TMP/certs" 2>"$TMP/bad.err"
check "bad cron config: exit 2" 2 $?
contains "bad expression named" "metrics[0]: params.start: '0 25 * * *' is not a cron expression: hour: 25 is out of range 0-23" "$(cat "$TMP/bad.err")"
contains "bad zone named" "metrics[1]: params.timezone: unknown time zone 'Mars/Olympus'" "$(cat "$TMP/bad.err")"
cat "$TMP/bad.err" >>"$TMP/all-servers.log"

finish e2e-cron-replay

#!/bin/sh
# test_redis.sh BIN — the Redis scaler against a real redis-server (Debian's).
#
# BIN is build/tests/test_redis (or its ASan build): with arguments it is a
# driver that opens the scaler with a source config (JSON, through the real
# parameter loader), fetches with the metric params given, and prints
# "value N" or "error (source|answer): message". Two servers run on free
# loopback ports in a temporary folder:
#   plain — no password for the default user, an ACL user "scaler" (read-only)
#           and a user without read rights; lengths of every key type,
#           streams (length, pending, lag), databases, deadline, and a
#           stop/restart under one open source;
#   auth  — requirepass: password file, wrong password, rotation.
# Ends with "integration-redis: N passed, N failed"; exit 1 on a failure.
set -u
bin=${1:?usage: $0 PATH_TO_TEST_BINARY}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
name=integration-redis
passed=0
failed=0

. "$(dirname "$0")/check_lib.sh"

for tool in redis-server redis-cli; do
	if ! command -v $tool >/dev/null 2>&1; then
		bad "tools" "'$tool' is missing (apt-get install redis-server)"
		finish
	fi
done
[ -x "$bin" ] || { bad "binary" "'$bin' is not an executable"; finish; }

tmp=$(mktemp -d)
plain_pid=""
auth_pid=""
poll_pid=""
cleanup() {
	exec 3>&- 2>/dev/null
	for p in $poll_pid $plain_pid $auth_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

plain_port=$("$bin" freeport)
auth_port=$("$bin" freeport)
while [ "$auth_port" = "$plain_port" ]; do auth_port=$("$bin" freeport); done
case "$plain_port$auth_port" in
"" | *[!0-9]*) bad "free ports" "'$bin freeport' printed '$plain_port' and '$auth_port'"; finish ;;
esac

mkdir -p "$tmp/plain" "$tmp/auth"
cat >"$tmp/plain.conf" <<CONF
port $plain_port
bind 127.0.0.1
dir $tmp/plain
daemonize no
save ""
appendonly no
user default on nopass ~* &* +@all
user scaler on >scaler-pw ~* resetchannels -@all +@read +select
user blind on >blind-pw ~* resetchannels -@all +select
CONF
cat >"$tmp/auth.conf" <<CONF
port $auth_port
bind 127.0.0.1
dir $tmp/auth
daemonize no
save ""
appendonly no
requirepass auth-pw-1
CONF
printf 'auth-pw-1\n' >"$tmp/auth-pw"
printf 'scaler-pw\n' >"$tmp/scaler-pw"
printf 'blind-pw\n' >"$tmp/blind-pw"
printf 'not-the-password\n' >"$tmp/wrong-pw"

# (3>&-: a server must not hold the poll driver's command pipe open)
start_plain() {
	redis-server "$tmp/plain.conf" >>"$tmp/plain.log" 2>&1 3>&- &
	plain_pid=$!
}
start_auth() {
	redis-server "$tmp/auth.conf" >>"$tmp/auth.log" 2>&1 3>&- &
	auth_pid=$!
}
# pong PORT [redis-cli args]: the server answers PING with PONG
pong() {
	pong_port=$1
	shift
	[ "$(redis-cli -h 127.0.0.1 -p "$pong_port" "$@" ping 2>/dev/null)" = PONG ]
}
# wait_ready PID LOG PORT [redis-cli args]: until PING answers PONG (30 s at most)
wait_ready() {
	wr_pid=$1 wr_log=$2
	shift 2
	wait_up "$wr_pid" "$wr_log" 30 pong "$@"
}
start_plain
start_auth
if wait_ready "$plain_pid" "$tmp/plain.log" "$plain_port"; then ok "plain redis ready"; else bad "plain redis ready"; finish; fi
if wait_ready "$auth_pid" "$tmp/auth.log" "$auth_port" --no-auth-warning -a auth-pw-1; then
	ok "auth redis ready"
else
	bad "auth redis ready"
	finish
fi

rc() { redis-cli -h 127.0.0.1 -p "$plain_port" "$@" >/dev/null; }
src="{\"address\": \"127.0.0.1:$plain_port\"}"
addr="'127.0.0.1:$plain_port'"
f() { "$bin" fetch "$src" "$1" 2>&1; }

# --- the value tracks what the test puts in -----------------------------------
rc RPUSH orders $(seq 1 37)
check "list of 37 (type found with TYPE)" "value 37" "$(f '{"listName": "orders"}')"
check "list of 37 (type list)" "value 37" "$(f '{"listName": "orders", "type": "list"}')"
rc LPOP orders 7
check "list after popping 7" "value 30" "$(f '{"listName": "orders"}')"
rc RPUSH orders $(seq 1 7)
rc SADD users a b c d e
rc ZADD board 1 a 2 b 3 c
rc HSET fields a 1 b 2
rc SET greeting hello
check "set" "value 5" "$(f '{"listName": "users"}')"
check "set (type set)" "value 5" "$(f '{"listName": "users", "type": "set"}')"
check "sorted set" "value 3" "$(f '{"listName": "board"}')"
check "sorted set (type zset)" "value 3" "$(f '{"listName": "board", "type": "zset"}')"
check "hash" "value 2" "$(f '{"listName": "fields"}')"
check "hash (type hash)" "value 2" "$(f '{"listName": "fields", "type": "hash"}')"
check "a missing key is 0, as Redis answers" "value 0" "$(f '{"listName": "no-such-list"}')"
check "wrong type names the real one" "error (answer): $addr: listName 'users' holds a set, not a list" \
	"$(f '{"listName": "users", "type": "list"}')"
check "a string key is an answer error" \
	"error (answer): $addr: listName 'greeting' holds a string; it must be a list, set, zset or hash" \
	"$(f '{"listName": "greeting"}')"
"$bin" fetch "$src" '{"listName": "greeting"}' >/dev/null 2>&1
check "driver exits non-zero on an error" 1 $?

# --- databases ------------------------------------------------------------------
redis-cli -h 127.0.0.1 -p "$plain_port" -n 3 RPUSH jobs $(seq 1 12) >/dev/null
check "databaseIndex 3" "value 12" \
	"$("$bin" fetch "{\"address\": \"127.0.0.1:$plain_port\", \"databaseIndex\": 3}" '{"listName": "jobs"}' 2>&1)"
check "database 0 does not see it" "value 0" "$(f '{"listName": "jobs"}')"

# --- streams ----------------------------------------------------------------------
i=0
while [ $i -lt 10 ]; do
	rc XADD events '*' n $i
	i=$((i + 1))
done
rc XGROUP CREATE events workers 0
redis-cli -h 127.0.0.1 -p "$plain_port" XREADGROUP GROUP workers c1 COUNT 4 STREAMS events '>' >/dev/null
sp='{"stream": "events", "consumerGroup": "workers"}'
check "stream length" "value 10" "$(f '{"stream": "events"}')"
check "stream length (mode length)" "value 10" "$(f '{"stream": "events", "mode": "length"}')"
check "pending: 4 delivered, none acknowledged" "value 4" "$(f "$sp")"
check "lag: 6 not delivered yet" "value 6" "$(f '{"stream": "events", "consumerGroup": "workers", "mode": "lag"}')"
ids=$(redis-cli -h 127.0.0.1 -p "$plain_port" XRANGE events - + COUNT 2 | awk 'NR % 3 == 1')
# shellcheck disable=SC2086
rc XACK events workers $ids
check "pending after acknowledging 2" "value 2" "$(f "$sp")"
redis-cli -h 127.0.0.1 -p "$plain_port" XREADGROUP GROUP workers c2 COUNT 3 STREAMS events '>' >/dev/null
check "pending after 3 more delivered" "value 5" "$(f '{"stream": "events", "consumerGroup": "workers", "mode": "pending"}')"
check "lag after 3 more delivered" "value 3" "$(f '{"stream": "events", "consumerGroup": "workers", "mode": "lag"}')"
pending=$(redis-cli -h 127.0.0.1 -p "$plain_port" XPENDING events workers - + 100 | awk 'NR % 4 == 1')
# shellcheck disable=SC2086
rc XACK events workers $pending
check "pending after acknowledging all" "value 0" "$(f "$sp")"
check "lag unchanged by acknowledging" "value 3" "$(f '{"stream": "events", "consumerGroup": "workers", "mode": "lag"}')"
mid=$(redis-cli -h 127.0.0.1 -p "$plain_port" XRANGE events - + COUNT 5 | awk 'NR == 13')
rc XGROUP CREATE events middle "$mid"
check "lag Redis cannot tell is an answer error" \
	"error (answer): $addr: Redis cannot tell the lag of group 'middle' on stream 'events' (entries were deleted, or the group starts at an arbitrary ID); use mode pending or length" \
	"$(f '{"stream": "events", "consumerGroup": "middle", "mode": "lag"}')"
check "a missing group" "error (answer): $addr: stream 'events' or its consumer group 'sleepers' does not exist" \
	"$(f '{"stream": "events", "consumerGroup": "sleepers"}')"
check "a missing group (lag)" "error (answer): $addr: stream 'events' has no consumer group 'sleepers'" \
	"$(f '{"stream": "events", "consumerGroup": "sleepers", "mode": "lag"}')"
check "a missing stream (lag)" "error (answer): $addr: stream 'nope' does not exist" \
	"$(f '{"stream": "nope", "consumerGroup": "workers", "mode": "lag"}')"
check "a list read as a stream" "error (answer): $addr: stream 'orders' holds a list, not a stream" \
	"$(f '{"stream": "orders", "consumerGroup": "workers"}')"
check "a stream read as a list" \
	"error (answer): $addr: listName 'events' holds a stream; read it with params.stream (and consumerGroup for pending entries or lag)" \
	"$(f '{"listName": "events"}')"

# --- ACL users ----------------------------------------------------------------------
acl() { printf '{"address": "127.0.0.1:%s", "username": "%s", "passwordFile": "%s"}' "$plain_port" "$1" "$2"; }
check "ACL user with read rights" "value 37" "$("$bin" fetch "$(acl scaler "$tmp/scaler-pw")" '{"listName": "orders"}' 2>&1)"
check "ACL user reads streams" "value 0" "$("$bin" fetch "$(acl scaler "$tmp/scaler-pw")" "$sp" 2>&1)"
check "ACL user and database" "value 12" \
	"$("$bin" fetch "{\"address\": \"127.0.0.1:$plain_port\", \"username\": \"scaler\", \"passwordFile\": \"$tmp/scaler-pw\", \"databaseIndex\": 3}" '{"listName": "jobs"}' 2>&1)"
out=$("$bin" fetch "$(acl blind "$tmp/blind-pw")" '{"listName": "orders"}' 2>&1)
check_has "ACL user without read rights: NOPERM, an answer error" "error (answer): $addr: TYPE 'orders': NOPERM" "$out"
out=$("$bin" fetch "$(acl scaler "$tmp/wrong-pw")" '{"listName": "orders"}' 2>&1)
check "ACL user, wrong password" \
	"error (answer): $addr: authentication as scaler failed: WRONGPASS invalid username-password pair or user is disabled." "$out"
check_lacks "the password is not in the message" "not-the-password" "$out"

# --- requirepass ------------------------------------------------------------------------
aaddr="'127.0.0.1:$auth_port'"
asrc() { printf '{"address": "127.0.0.1:%s", "passwordFile": "%s"}' "$auth_port" "$1"; }
redis-cli -h 127.0.0.1 -p "$auth_port" --no-auth-warning -a auth-pw-1 RPUSH orders $(seq 1 37) >/dev/null
check "requirepass: password from the file" "value 37" "$("$bin" fetch "$(asrc "$tmp/auth-pw")" '{"listName": "orders"}' 2>&1)"
check "requirepass: no passwordFile" \
	"error (answer): $aaddr: TYPE 'orders': the server wants a password (NOAUTH Authentication required.): set passwordFile" \
	"$("$bin" fetch "{\"address\": \"127.0.0.1:$auth_port\"}" '{"listName": "orders"}' 2>&1)"
out=$("$bin" fetch "$(asrc "$tmp/wrong-pw")" '{"listName": "orders"}' 2>&1)
check "requirepass: wrong password" \
	"error (answer): $aaddr: authentication failed: WRONGPASS invalid username-password pair or user is disabled." "$out"
check_lacks "requirepass: the password is not in the message" "not-the-password" "$out"
check "requirepass: password file missing" \
	"error (answer): passwordFile: cannot read '$tmp/nope': No such file or directory" \
	"$("$bin" fetch "$(asrc "$tmp/nope")" '{"listName": "orders"}' 2>&1)"

# --- driver for the cases under one open source ---------------------------------------------
# clients PORT [auth]: the number of connected clients other than redis-cli
# itself; asks again for up to 5 s while it is above 1, since a client that
# just went away (an earlier driver, a killed connection) may still be listed
clients() {
	tries=0
	while :; do
		n=$(redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning ${2:+-a "$2"} CLIENT LIST | grep -vc 'cmd=client')
		[ "$n" -le 1 ] || [ $tries -ge 50 ] && break
		tries=$((tries + 1))
		sleep 0.1
	done
	echo "$n"
}

# rotation: the kept connection stays, a new one uses the new password
poll_start "$(asrc "$tmp/auth-pw")" '{"listName": "orders"}'
check "rotation: first fetch" "value 37" "$(poll_next)"
redis-cli -h 127.0.0.1 -p "$auth_port" --no-auth-warning -a auth-pw-1 CONFIG SET requirepass auth-pw-2 >/dev/null
printf 'auth-pw-2\n' >"$tmp/auth-pw.new"
mv "$tmp/auth-pw.new" "$tmp/auth-pw"
check "rotation: the kept connection is still authenticated" "value 37" "$(poll_next)"
redis-cli -h 127.0.0.1 -p "$auth_port" --no-auth-warning -a auth-pw-2 CLIENT KILL TYPE normal SKIPME yes >/dev/null
check "rotation: reconnected with the new password from the file" "value 37" "$(poll_next)"
check "rotation: one connection" 1 "$(clients "$auth_port" auth-pw-2)"
poll_stop "rotation"

# deadline: a paused server does not answer in time
poll_start "$src" '{"listName": "orders"}'
check "deadline: first fetch" "value 37" "$(poll_next)"
rc CLIENT PAUSE 1500 ALL # (CLIENT UNPAUSE would itself wait for the pause)
t0=$(date +%s%N)
check "deadline: a paused server is a source error" "error (source): $addr: no answer within 300 ms" "$(poll_next 300)"
took=$((($(date +%s%N) - t0) / 1000000))
if [ "$took" -lt 3000 ]; then ok "deadline: gave up in time (${took} ms)"; else bad "deadline: gave up in time" "took $took ms"; fi
check "deadline: the next fetch reconnects and waits out the pause" "value 37" "$(poll_next)"
poll_stop "deadline"

# outage and recovery under one open source; the data survives (SHUTDOWN SAVE)
poll_start "$src" '{"listName": "orders"}'
check "restart: first fetch" "value 37" "$(poll_next)"
check "restart: second fetch" "value 37" "$(poll_next)"
check "restart: one connection kept across fetches" 1 "$(clients "$plain_port")"
out=$(redis-cli -h 127.0.0.1 -p "$plain_port" SHUTDOWN SAVE 2>&1)
wait "$plain_pid" 2>/dev/null
check "redis stopped with SHUTDOWN SAVE" "" "$out"
plain_pid=""
check "redis stopped: a source error" "error (source): cannot reach $addr: Connection refused" "$(poll_next)"
check "redis still stopped: the same error" "error (source): cannot reach $addr: Connection refused" "$(poll_next)"
start_plain
if wait_ready "$plain_pid" "$tmp/plain.log" "$plain_port"; then ok "redis restarted on the same port"; else bad "redis restarted on the same port"; fi
check "redis back: the same source recovers" "value 37" "$(poll_next)"
rc RPUSH orders 38 39 40
check "redis back: the value follows" "value 40" "$(poll_next)"
# a restart the scaler does not see coming: the kept connection is dead
redis-cli -h 127.0.0.1 -p "$plain_port" SHUTDOWN SAVE >/dev/null 2>&1
wait "$plain_pid" 2>/dev/null
start_plain
if wait_ready "$plain_pid" "$tmp/plain.log" "$plain_port"; then ok "redis restarted again"; else bad "redis restarted again"; fi
check "restart between two fetches: reconnects at once" "value 40" "$(poll_next)"
poll_stop "restart"

finish

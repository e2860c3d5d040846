#!/bin/sh
# test_postgresql.sh BIN — the PostgreSQL scaler against a real PostgreSQL
# (Debian's), initialised by this test in a temporary folder and run on a free
# loopback port; as the user `nobody` when the test runs as root, since the
# server refuses root.
#
# BIN is build/tests/test_postgresql (or its ASan build): with arguments it is
# a driver that opens the scaler with a source config (JSON, through the real
# parameter loader), runs the query given, and prints "value N" or
# "error (source|answer): message". Covered: the value tracks inserted rows;
# SCRAM and md5 passwords from a file, a connection string, a connection
# file; every kind of unusable answer; the read-only transaction; the
# statement timeout from the deadline; one connection reused; password
# rotation; the server stopped and restarted under one open source.
# Ends with "integration-postgresql: N passed, N failed"; exit 1 on a failure.
set -u
bin=${1:?usage: $0 PATH_TO_TEST_BINARY}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
name=integration-postgresql
passed=0
failed=0

. "$(dirname "$0")/check_lib.sh"

[ -x "$bin" ] || { bad "binary" "'$bin' is not an executable"; finish; }
# the server's programs: PGBIN, else where pg_config says, else the newest Debian version
pgbin=${PGBIN:-}
[ -z "$pgbin" ] && command -v pg_config >/dev/null 2>&1 && pgbin=$(pg_config --bindir)
[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
for tool in "$pgbin/initdb" "$pgbin/postgres" "$pgbin/pg_isready" "$pgbin/psql"; do
	if [ ! -x "$tool" ]; then
		bad "tools" "'$tool' is missing (apt-get install postgresql)"
		finish
	fi
done

tmp=$(mktemp -d)
pg_pid=""
poll_pid=""
cleanup() {
	exec 3>&- 2>/dev/null
	for p in $poll_pid $pg_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# $as runs the server's programs as nobody when we are root (setpriv execs:
# a server started as `$as postgres ... &` has the pid in $!)
as=""
mkdir -p "$tmp/pg"
if [ "$(id -u)" = 0 ]; then
	if ! command -v setpriv >/dev/null 2>&1; then
		bad "tools" "'setpriv' is missing (apt-get install util-linux)"
		finish
	fi
	as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	chmod 711 "$tmp"
	chown nobody:nogroup "$tmp/pg"
fi
data="$tmp/pg/data"
sock="$tmp/pg/sock"
$as mkdir -p "$sock"

port=$("$bin" freeport)
case "$port" in "" | *[!0-9]*) bad "free port" "'$bin freeport' printed '$port'"; finish ;; esac

if ! $as "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1; then
	bad "initdb" "$(cat "$tmp/initdb.log")"
	finish
fi
ok "initdb made a cluster"
cat >"$tmp/hba" <<HBA
local all all trust
host all oldauth 127.0.0.1/32 md5
host all all 127.0.0.1/32 scram-sha-256
HBA
$as sh -c "cat >'$data/pg_hba.conf'" <"$tmp/hba"

# (3>&-: the server must not hold the poll driver's command pipe open)
start_pg() {
	$as "$pgbin/postgres" -D "$data" -p "$port" -c listen_addresses=127.0.0.1 -c unix_socket_directories="$sock" \
		-c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=30 \
		-c log_min_messages=warning >>"$tmp/pg.log" 2>&1 3>&- &
	pg_pid=$!
}
# wait_ready: until pg_isready says the server accepts connections (60 s at most)
wait_ready() { wait_up "$pg_pid" "$tmp/pg.log" 60 "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port"; }
stop_pg() { # fast shutdown, as pg_ctl stop -m fast: SIGINT to the postmaster
	kill -INT "$pg_pid"
	wait "$pg_pid" 2>/dev/null
	pg_pid=""
}
start_pg
if wait_ready; then ok "postgres ready"; else bad "postgres ready"; finish; fi

sql() { # DB SQL: runs SQL as the superuser over the socket, prints the result unaligned
	"$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d "$1" -c "$2" 2>&1
}
sql postgres "CREATE ROLE scaler LOGIN PASSWORD 'scram-pw-1'" >/dev/null
sql postgres "SET password_encryption = 'md5'; CREATE ROLE oldauth LOGIN PASSWORD 'md5-pw'" >/dev/null
sql postgres "CREATE DATABASE app" >/dev/null
sql app "CREATE TABLE jobs (id serial PRIMARY KEY, state text NOT NULL); GRANT SELECT ON jobs TO scaler, oldauth;
	CREATE TABLE secret (x int)" >/dev/null
check "the scaler's role uses SCRAM" "SCRAM-SHA-256" "$(sql postgres "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'scaler'")"
check "the old role uses md5" "md5" "$(sql postgres "SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = 'oldauth'")"

printf 'scram-pw-1\n' >"$tmp/scaler-pw"
printf 'md5-pw\n' >"$tmp/md5-pw"
printf 'not-the-password\n' >"$tmp/wrong-pw"
fields() { # USER PASSWORD_FILE [extra JSON members]
	printf '{"host": "127.0.0.1", "port": %s, "userName": "%s", "dbName": "app", "sslmode": "disable", "passwordFile": "%s"%s}' \
		"$port" "$1" "$2" "${3:-}"
}
src=$(fields scaler "$tmp/scaler-pw")
addr="'127.0.0.1:$port/app'"
q="SELECT count(*) FROM jobs WHERE state = 'queued'"
f() { "$bin" fetch "$src" "$1" 2>&1; }

# --- the value tracks what the test puts in ---------------------------------------
sql app "INSERT INTO jobs (state) SELECT 'queued' FROM generate_series(1, 37)" >/dev/null
check "37 rows inserted, 37 read (SCRAM password from a file)" "value 37" "$(f "$q")"
sql app "INSERT INTO jobs (state) SELECT 'queued' FROM generate_series(1, 5)" >/dev/null
check "5 more" "value 42" "$(f "$q")"
sql app "UPDATE jobs SET state = 'done' WHERE id <= 10" >/dev/null
check "10 done" "value 32" "$(f "$q")"
check "md5 password" "value 32" "$("$bin" fetch "$(fields oldauth "$tmp/md5-pw")" "$q" 2>&1)"
check "connection string and passwordFile" "value 32" \
	"$("$bin" fetch "{\"connection\": \"host=127.0.0.1 port=$port dbname=app user=scaler sslmode=disable\", \"passwordFile\": \"$tmp/scaler-pw\"}" "$q" 2>&1)"
check "connection URI with its own password" "value 32" \
	"$("$bin" fetch "{\"connection\": \"postgresql://scaler:scram-pw-1@127.0.0.1:$port/app?sslmode=disable\"}" "$q" 2>&1)"
printf 'host=127.0.0.1 port=%s dbname=app user=scaler password=scram-pw-1 sslmode=disable\n' "$port" >"$tmp/conninfo"
check "connectionFile" "value 32" "$("$bin" fetch "{\"connectionFile\": \"$tmp/conninfo\"}" "$q" 2>&1)"
check "numeric" "value 2.5" "$(f "SELECT 2.5::numeric")"
check "double precision" "value 1000" "$(f "SELECT 1e3::float8")"
check "bigint" "value 123456789012" "$(f "SELECT 123456789012::bigint")"
check "a CTE" "value 3" "$(f "WITH t AS (SELECT generate_series(1, 3) AS n) SELECT max(n) FROM t")"

# --- credentials -------------------------------------------------------------------------
out=$("$bin" fetch "$(fields scaler "$tmp/wrong-pw")" "$q" 2>&1)
check "wrong password" \
	"error (source): cannot connect to $addr: connection to server at \"127.0.0.1\", port $port failed: FATAL:  password authentication failed for user \"scaler\"" \
	"$out"
check_lacks "the password is not in the message" "not-the-password" "$out"
out=$("$bin" fetch "{\"connection\": \"postgresql://scaler:not-the-password@127.0.0.1:$port/app?sslmode=disable\"}" "$q" 2>&1)
check_has "wrong password in a connection string" "error (source): cannot connect to $addr: " "$out"
check_lacks "the connection string's password is not in the message" "not-the-password" "$out"
check "password file missing" "error (answer): passwordFile: cannot read '$tmp/nope': No such file or directory" \
	"$("$bin" fetch "$(fields scaler "$tmp/nope")" "$q" 2>&1)"

# --- answers that are not one number ---------------------------------------------------------
check "NULL" "error (answer): $addr: query returned NULL; a number is needed" "$(f "SELECT NULL::int")"
check "two columns" "error (answer): $addr: query returned 2 columns; exactly one is needed" "$(f "SELECT 1, 2")"
check "three rows" "error (answer): $addr: query returned 3 rows; exactly one row is needed" "$(f "SELECT generate_series(1, 3)")"
check "no rows" "error (answer): $addr: query returned no rows; exactly one row is needed" "$(f "SELECT 1 WHERE false")"
check "many rows: counted up to the cap" \
	"error (answer): $addr: query returned more than 1000 rows; exactly one row is needed" "$(f "SELECT generate_series(1, 100000)")"
check "text" "error (answer): $addr: query returned 'abc' (text), not a number" "$(f "SELECT 'abc'")"
check "boolean" "error (answer): $addr: query returned 't' (boolean), not a number" "$(f "SELECT true")"
check "NaN" "error (answer): $addr: query returned NaN (numeric), not a finite number" "$(f "SELECT 'NaN'::numeric")"
check "Infinity" "error (answer): $addr: query returned Infinity (double precision), not a finite number" \
	"$(f "SELECT 'Infinity'::float8")"
check "a missing table, with the position" \
	"error (answer): $addr: query failed (42P01): relation \"nope\" does not exist at character 22" "$(f "SELECT count(*) FROM nope")"
check "no privilege" "error (answer): $addr: query failed (42501): permission denied for table secret" \
	"$(f "SELECT count(*) FROM secret")"
check "a write in the read-only transaction" \
	"error (answer): $addr: query failed (25006): cannot execute INSERT in a read-only transaction" \
	"$(f "INSERT INTO jobs (state) VALUES ('sneaky') RETURNING id")"
check "two statements are refused" \
	"error (answer): $addr: query failed (42601): cannot insert multiple commands into a prepared statement" \
	"$(f "COMMIT; DELETE FROM jobs")"
check "nothing was written" "42" "$(sql app "SELECT count(*) FROM jobs")"
check "a command without rows" \
	"error (answer): $addr: query failed (25006): cannot execute CREATE TABLE in a read-only transaction" \
	"$(f "CREATE TABLE t2 (x int)")"
check "a statement without a result set" \
	"error (answer): $addr: query returned no result set (SET); a SELECT returning one number is needed" \
	"$(f "SET search_path = public")"

# --- driver for the cases under one open source -------------------------------------------------
# sessions: the driver's sessions on the server; asks again for up to 5 s
# while above 1, since a backend whose client just left may still be listed
sessions() {
	tries=0
	while :; do
		n=$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'scalewise-it'")
		[ "$n" -le 1 ] 2>/dev/null || [ $tries -ge 50 ] && break
		tries=$((tries + 1))
		sleep 0.1
	done
	echo "$n"
}
psrc=$(fields scaler "$tmp/scaler-pw" ', "applicationName": "scalewise-it"')

# statement timeout from the deadline; the connection survives it
poll_start "$psrc" "SELECT 1 FROM pg_sleep(5)"
t0=$(date +%s%N)
check "a slow query ends at its statement_timeout" \
	"error (source): $addr: query canceled after its statement_timeout (canceling statement due to statement timeout)" \
	"$(poll_next 600)"
took=$((($(date +%s%N) - t0) / 1000000))
if [ "$took" -lt 3000 ]; then ok "the slow query was given up in time (${took} ms)"; else bad "the slow query was given up in time" "took $took ms"; fi
check "the connection stays after a statement timeout" 1 "$(sessions)"
poll_stop "timeout"

# one connection, reused; rotation of the password
poll_start "$psrc" "$q"
check "poll: first fetch" "value 32" "$(poll_next)"
check "poll: second fetch" "value 32" "$(poll_next)"
check "poll: third fetch" "value 32" "$(poll_next)"
check "one connection for all fetches" 1 "$(sessions)"
check "idle between fetches (the transaction ended)" "idle" \
	"$(sql postgres "SELECT state FROM pg_stat_activity WHERE application_name = 'scalewise-it'")"
sql postgres "ALTER ROLE scaler PASSWORD 'scram-pw-2'" >/dev/null
printf 'scram-pw-2\n' >"$tmp/scaler-pw.new"
mv "$tmp/scaler-pw.new" "$tmp/scaler-pw"
check "rotation: the kept connection stays logged in" "value 32" "$(poll_next)"
check "rotation: terminate the session" "t" \
	"$(sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'scalewise-it'")"
check "rotation: reconnected with the new password from the file" "value 32" "$(poll_next)"
check "rotation: one connection again" 1 "$(sessions)"

# outage and recovery under the same open source
stop_pg
check "postgres stopped: a source error" \
	"error (source): cannot connect to $addr: connection to server at \"127.0.0.1\", port $port failed: Connection refused" \
	"$(poll_next)"
check "postgres still stopped: the same error" \
	"error (source): cannot connect to $addr: connection to server at \"127.0.0.1\", port $port failed: Connection refused" \
	"$(poll_next)"
start_pg
if wait_ready; then ok "postgres restarted on the same port"; else bad "postgres restarted on the same port"; fi
check "postgres back: the same source recovers" "value 32" "$(poll_next)"
sql app "INSERT INTO jobs (state) SELECT 'queued' FROM generate_series(1, 8)" >/dev/null
check "postgres back: the value follows" "value 40" "$(poll_next)"
# a restart the scaler does not see coming: its kept connection is dead
stop_pg
start_pg
if wait_ready; then ok "postgres restarted again"; else bad "postgres restarted again"; fi
check "restart between two fetches: reconnects at once" "value 40" "$(poll_next)"
check "one connection after the restarts" 1 "$(sessions)"
poll_stop "restart"

finish

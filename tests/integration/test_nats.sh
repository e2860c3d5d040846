#!/bin/sh
# test_nats.sh BIN [SCALEWISE] — the nats-jetstream scaler against a real nats-server
# with JetStream, from Debian's nats-server package.
#
# BIN is build/tests/test_nats_jetstream (or its ASan build): with arguments
# it is a driver that opens the scaler with a source and a metric (JSON,
# through the real parameter loader) and prints the value or
# "error (source|answer): ...". The monitoring endpoint is read-only, so the
# test creates streams and pull consumers, publishes, fetches and acks by
# speaking the NATS text protocol from a small python3 client. The value is
# num_pending + num_ack_pending: 37 published read 37, and still 37 once 5 are
# fetched but not acknowledged. Then: missing account, stream and consumer
# named in errors; a server without JetStream; the server stopped (a source
# error) and restarted on its store (the same open source recovers).
#
# SCALEWISE (optional, build/asan/scalewise from make) adds the HTTPS API:
# `scalewise serve` (anonymous auth, interval 1s) reads ORDERS/worker from the
# same server; the metric serves the real 0, then 37 for 37 published, follows
# the acks to 27, answers 503 naming "cannot reach" while the server is
# stopped with the errors counted on /metrics, serves 27 again once the
# server is back on its store and follows new messages to 30. serve must exit
# 0 and its log must hold no sanitizer report.
# Ends with "integration-nats: N passed, N failed"; exit 1 on a failure.
set -u
bin=${1:?usage: $0 PATH_TO_TEST_BINARY [PATH_TO_SCALEWISE]}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
sw=${2:-}
case $sw in "" | /*) ;; *) sw=$(pwd)/$sw ;; esac
name=integration-nats
passed=0
failed=0

. "$(dirname "$0")/check_lib.sh"

command -v nats-server >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
for tool in nats-server curl python3; do
	if ! command -v $tool >/dev/null 2>&1; then
		bad "tools" "'$tool' is missing (apt-get install nats-server curl python3)"
		finish
	fi
done
[ -x "$bin" ] || { bad "binary" "'$bin' is not an executable"; finish; }
if [ -n "$sw" ]; then
	. "$(dirname "$0")/serve_lib.sh"
	[ -x "$sw" ] || { sw=""; bad "scalewise" "'${2:-}' is not an executable"; finish; }
fi

tmp=$(mktemp -d)
nats_pid=""
plain_pid=""
poll_pid=""
cleanup() {
	exec 3>&- 2>/dev/null
	for p in $poll_pid ${sw_pid:-} $nats_pid $plain_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# --- a tiny NATS client: JetStream API requests, publishes, fetches, acks -------------
cat >"$tmp/natsc.py" <<'PY'
import json, socket, sys

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        self.n = 0
        info = self.line()
        if not info.startswith("INFO "):
            sys.exit("not a NATS server: " + info)
        self.send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
                  b"SUB _INBOX.sw.> 1\r\n")
        self.flush()

    def send(self, b):
        self.s.sendall(b)

    def line(self):
        l = self.f.readline()
        if not l:
            sys.exit("connection closed")
        return l.decode().rstrip("\r\n")

    def flush(self):
        self.send(b"PING\r\n")
        while True:
            l = self.line()
            if l == "PONG":
                return
            if l.startswith("-ERR"):
                sys.exit(l)

    # (subject, reply, status, payload) of the next message
    def msg(self):
        while True:
            l = self.line()
            if l == "PING":
                self.send(b"PONG\r\n")
                continue
            if l.startswith("-ERR"):
                sys.exit(l)
            p = l.split()
            if p[0] == "MSG":
                size = int(p[-1])
                data = self.f.read(size + 2)[:size]
                return p[1], p[3] if len(p) == 5 else None, None, data
            if p[0] == "HMSG":
                hlen, tlen = int(p[-2]), int(p[-1])
                data = self.f.read(tlen + 2)[:tlen]
                head = data[:hlen].decode().split("\r\n")[0].split()
                status = head[1] if len(head) > 1 else None
                return p[1], p[3] if len(p) == 6 else None, status, data[hlen:]

    def inbox(self):
        self.n += 1
        return "_INBOX.sw.%d" % self.n

    def request(self, subject, body):
        box = self.inbox()
        data = body.encode()
        self.send(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), box.encode(), len(data), data))
        while True:
            subj, _, status, payload = self.msg()
            if subj == box:
                if status and status != "100":
                    sys.exit("%s: status %s" % (subject, status))
                return json.loads(payload) if payload else {}

    def api(self, subject, req):
        r = self.request(subject, json.dumps(req))
        if "error" in r:
            sys.exit("%s: %s" % (subject, r["error"]))
        return r

    # fetches up to n messages of a pull consumer; acks them when ack
    def fetch(self, stream, consumer, n, ack):
        box = self.inbox()
        req = json.dumps({"batch": n, "no_wait": True}).encode()
        self.send(b"PUB $JS.API.CONSUMER.MSG.NEXT.%s.%s %s %d\r\n%s\r\n"
                  % (stream.encode(), consumer.encode(), box.encode(), len(req), req))
        got = 0
        while got < n:
            # a message comes with its own subject and a $JS.ACK reply; the
            # end of a short batch is a status message on the inbox
            subj, reply, status, _ = self.msg()
            if subj == box and status:
                break
            if not reply or not reply.startswith("$JS.ACK."):
                continue
            got += 1
            if ack:
                self.send(b"PUB %s 0\r\n\r\n" % reply.encode())
        self.flush()
        return got

c = Conn(int(sys.argv[1]))
for cmd in sys.argv[2:]:
    verb, _, arg = cmd.partition(":")
    if verb == "stream":
        c.api("$JS.API.STREAM.CREATE." + arg, {"name": arg, "subjects": [arg + ".>"], "storage": "file"})
    elif verb == "consumer":
        st, name = arg.split("/")
        c.api("$JS.API.CONSUMER.DURABLE.CREATE.%s.%s" % (st, name),
              {"stream_name": st, "config": {"durable_name": name, "ack_policy": "explicit", "ack_wait": 600000000000}})
    elif verb == "pub":
        subject, n = arg.split("*")
        for i in range(int(n)):
            c.request(subject, "m%d" % i)
    elif verb in ("take", "ack"):
        st, name, n = arg.split("/")
        got = c.fetch(st, name, int(n), verb == "ack")
        if got != int(n):
            sys.exit("fetched %d of %s" % (got, n))
    else:
        sys.exit("unknown verb " + verb)
PY
natsc() { python3 "$tmp/natsc.py" "$client_port" "$@" 2>&1; }

# --- servers --------------------------------------------------------------------------
ports=""
tries=0
while [ "$(echo $ports | wc -w)" -lt 4 ] && [ $tries -lt 50 ]; do
	p=$("$bin" freeport)
	case " $ports " in *" $p "*) ;; *) ports="$ports $p" ;; esac
	tries=$((tries + 1))
done
set -- $ports
client_port=${1:-} mon_port=${2:-} plain_client=${3:-} plain_mon=${4:-}
case "$client_port$mon_port$plain_client$plain_mon" in
"" | *[!0-9]*) bad "free ports" "'$bin freeport' printed '$ports'"; finish ;;
esac

start_nats() {
	nats-server -js -a 127.0.0.1 -p "$client_port" -m "$mon_port" -sd "$tmp/js" >>"$tmp/nats.log" 2>&1 3>&- &
	nats_pid=$!
}
stop_nats() {
	kill "$nats_pid" 2>/dev/null
	wait "$nats_pid" 2>/dev/null
	nats_pid=""
}
# wait_ready PID MONITOR_PORT LOG: until /healthz answers 200 (20 s at most)
wait_ready() { wait_up "$1" "$3" 20 curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$2/healthz"; }
start_nats
if wait_ready "$nats_pid" "$mon_port" "$tmp/nats.log"; then ok "nats-server with JetStream ready"; else bad "nats-server ready"; finish; fi
nats-server -a 127.0.0.1 -p "$plain_client" -m "$plain_mon" >>"$tmp/plain.log" 2>&1 3>&- &
plain_pid=$!
if wait_ready "$plain_pid" "$plain_mon" "$tmp/plain.log"; then ok "nats-server without JetStream ready"; else bad "plain nats-server ready"; fi

out=$(natsc stream:ORDERS consumer:ORDERS/worker consumer:ORDERS/audit stream:EVENTS consumer:EVENTS/worker)
check "streams and pull consumers created over the NATS protocol" "" "$out"

# --- through scalewise serve: what the HPA sees ----------------------------------------
if [ -n "$sw" ]; then
	cat >"$tmp/scalewise.yaml" <<YAML
auth: {mode: anonymous}
sources:
  nats: {type: nats-jetstream, url: "http://127.0.0.1:$mon_port"}
metrics:
  - name: orders_backlog
    source: nats
    interval: 1s
    params: {stream: ORDERS, consumer: worker}
YAML
	sw_start "$tmp/scalewise.yaml"
	sw_wait_value "served: a new consumer has a real 0" orders_backlog 0 30
fi

src="{\"url\": \"http://127.0.0.1:$mon_port\", \"timeout\": \"5s\"}"
f() { "$bin" fetch "$src" "$1" 2>&1; }
jsz="http://127.0.0.1:$mon_port/jsz?..."

check "a new consumer has a real 0" "0" "$(f '{"stream": "ORDERS", "consumer": "worker"}')"
check "published 37" "" "$(natsc 'pub:ORDERS.new*37' 'pub:EVENTS.x*3')"
check "37 published, 37 read" "37" "$(f '{"stream": "ORDERS", "consumer": "worker"}')"
[ -z "$sw" ] || sw_wait_value "served: 37 published, the HPA sees 37" orders_backlog 37 30
check "5 fetched, not acknowledged: num_pending 32 + num_ack_pending 5" "37" \
	"$(natsc take:ORDERS/worker/5 && f '{"stream": "ORDERS", "consumer": "worker"}')"
check "10 more fetched and acknowledged: 22 + 5" "27" \
	"$(natsc ack:ORDERS/worker/10 && f '{"stream": "ORDERS", "consumer": "worker"}')"
[ -z "$sw" ] || sw_wait_value "served: follows the acks to 27" orders_backlog 27 30
check "another consumer of the stream keeps its own count" "37" "$(f '{"stream": "ORDERS", "consumer": "audit"}')"
check "the same consumer name in another stream" "3" "$(f '{"stream": "EVENTS", "consumer": "worker"}')"
check "account \$G named explicitly" "27" "$(f '{"account": "$G", "stream": "ORDERS", "consumer": "worker"}')"
check "a missing account is an answer error naming it" \
	"error (answer): '$jsz': account 'TEAM' not found (or it has no JetStream)" \
	"$(f '{"account": "TEAM", "stream": "ORDERS", "consumer": "worker"}')"
check "a missing stream is an answer error naming it" \
	"error (answer): '$jsz': stream 'PAYMENTS' not found in any account" \
	"$(f '{"stream": "PAYMENTS", "consumer": "worker"}')"
check "a missing consumer is an answer error naming it" \
	"error (answer): '$jsz': consumer 'nobody' not found in stream 'ORDERS'" \
	"$(f '{"stream": "ORDERS", "consumer": "nobody"}')"
check "a server without JetStream is an answer error" \
	"error (answer): 'http://127.0.0.1:$plain_mon/jsz?...': JetStream is not enabled on this server" \
	"$("$bin" fetch "{\"url\": \"http://127.0.0.1:$plain_mon\"}" '{"stream": "ORDERS", "consumer": "worker"}' 2>&1)"

# --- outage and recovery under one open source --------------------------------------
poll_start "$src" '{"stream": "ORDERS", "consumer": "worker"}'
check "poll: first fetch" "ok 27" "$(poll_next)"
check "poll: second fetch" "ok 27" "$(poll_next)"
[ -z "$sw" ] || sw_baseline orders_backlog source
stop_nats
check "nats-server stopped: a source error" "error (source): cannot reach '$jsz': Connection refused" "$(poll_next)"
if [ -n "$sw" ]; then
	sw_wait_down "served: nats-server stopped, 503" orders_backlog nats "cannot reach '$jsz': Connection refused" 'Connection refused' 30
	sw_wait_errors "served: source errors counted on /metrics" orders_backlog source "$sw_before" 30
fi
start_nats
if wait_ready "$nats_pid" "$mon_port" "$tmp/nats.log"; then ok "nats-server restarted on its store"; else bad "nats-server restarted"; fi
# the stream and consumer come back from the store; poll until they are loaded
check "nats-server back: the same source reads 27 again" "ok 27" "$(poll_until 'ok 27' 46)"
# the circuit breaker's back-off (1 s doubling) bounds how soon serve probes again
[ -z "$sw" ] || sw_wait_value "served: nats-server back, the HPA sees 27 again" orders_backlog 27 90
check "and follows new messages" "ok 30" "$(natsc 'pub:ORDERS.new*3' && poll_next)"
[ -z "$sw" ] || sw_wait_value "served: and follows new messages to 30" orders_backlog 30 30
poll_stop poll
finish

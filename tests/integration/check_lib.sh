# tests/integration/check_lib.sh — sourced (not run) by the integration
# scripts: their checks, their closing line, and the poll driver that runs
# several fetches under one open source. The sourcing script sets
# $name, passed=0 and failed=0; when it reads through scalewise serve
# (serve_lib.sh, $sw set) finish stops that server first.

ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() {
	failed=$((failed + 1))
	echo "FAIL - $1"
	shift
	for l in "$@"; do echo "    $l"; done
}
check() { # NAME EXPECTED ACTUAL
	if [ "$3" = "$2" ]; then ok "$1"; else bad "$1" "expected: $2" "actual:   $3"; fi
}
check_has() { # NAME NEEDLE ACTUAL
	case $3 in *"$2"*) ok "$1" ;; *) bad "$1" "expected to contain: $2" "actual: $3" ;; esac
}
check_lacks() { # NAME NEEDLE ACTUAL
	case $3 in *"$2"*) bad "$1" "must not contain: $2" "actual: $3" ;; *) ok "$1" ;; esac
}
finish() {
	if [ -n "${sw:-}" ] && command -v sw_stop >/dev/null 2>&1; then sw_stop; fi
	echo "$name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# wait_up PID LOG SECONDS CMD...: the readiness check of a server the script
# started: runs CMD (its output dropped) every 0.1 s until it succeeds.
# Returns 1, with the reason and the last 30 lines of LOG on stderr, as soon
# as PID has exited or once SECONDS have passed. Names start with wu_ so that
# the script's own variables are left alone.
wait_up() {
	wu_pid=$1 wu_log=$2 wu_secs=$3
	shift 3
	wu_end=$(($(date +%s%N) / 1000000 + wu_secs * 1000)) # ms
	while :; do
		if ! kill -0 "$wu_pid" 2>/dev/null; then
			echo "process $wu_pid exited before it was ready; the last lines of $wu_log:" >&2
			break
		fi
		"$@" >/dev/null 2>&1 && return 0
		if [ $(($(date +%s%N) / 1000000)) -ge "$wu_end" ]; then
			echo "not ready after $wu_secs s ($*); the last lines of $wu_log:" >&2
			break
		fi
		sleep 0.1
	done
	tail -n 30 "$wu_log" >&2
	return 1
}

# poll_start ARGS...: `$bin poll ARGS` reading fetch requests from a fifo;
# the script's cleanup closes fd 3 and kills $poll_pid
poll_start() {
	rm -f "$tmp/cmd" "$tmp/poll.out"
	: >"$tmp/poll.out" # exists before the driver opens it: it first waits for a writer on the fifo
	mkfifo "$tmp/cmd"
	"$bin" poll "$@" <"$tmp/cmd" >"$tmp/poll.out" 2>&1 &
	poll_pid=$!
	exec 3<>"$tmp/cmd" # read-write: never blocks, even if the driver died at start
}
# poll_next [MS]: asks for one more fetch (with MS ms to go, default 10 s)
# and prints its answer (30 s at most)
poll_next() {
	want=$(($(wc -l <"$tmp/poll.out") + 1)) # (run in $(...): no state kept in variables)
	echo "fetch ${1:-}" >&3
	tries=0
	while [ "$(wc -l <"$tmp/poll.out")" -lt "$want" ] && [ $tries -lt 300 ]; do
		kill -0 "$poll_pid" 2>/dev/null || break
		tries=$((tries + 1))
		sleep 0.1
	done
	sed -n "${want}p" "$tmp/poll.out"
}
# poll_stop NAME: ends the driver, which must exit 0
poll_stop() {
	exec 3>&-
	wait "$poll_pid"
	check "$1: poll driver exits cleanly" 0 $?
	poll_pid=""
}
# poll_until EXPECTED TRIES: poll_next until it prints EXPECTED, TRIES more
# times at most, 0.2 s apart; prints the last answer
poll_until() {
	pu_n=0
	pu_out=$(poll_next)
	while [ "$pu_out" != "$1" ] && [ $pu_n -lt "$2" ]; do
		sleep 0.2
		pu_n=$((pu_n + 1))
		pu_out=$(poll_next)
	done
	printf '%s\n' "$pu_out"
}

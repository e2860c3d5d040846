#!/bin/sh
# make bench: the speed of `scalewise simulate` on a 30-day trace at 15 s
# (172,800 HPA syncs) through a smoothed pipeline (median over 5m, scale-down
# stabilization 5m), table only; 3 runs, the median reported. The trace is a
# generated daily cycle with deterministic noise and a few bursts.
set -eu
BIN=${BIN:-build/scalewise}
RUNS=${RUNS:-3}
METHOD=${METHOD:-median}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scalewise-bench-sim.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

awk 'BEGIN {
	srand(42); t0 = 1714521600; pi = 3.141592653589793
	print "timestamp,value"
	for (i = 0; i < 172800; i++) {
		t = t0 + 15 * i; d = (t % 86400) / 86400
		v = 100 + 80 * sin(2 * pi * d) + 30 * (rand() + rand() + rand() - 1.5)
		if (i % 5000 < 40) v += 400
		if (v < 0) v = 0
		printf "%d,%.2f\n", t, v
	}
}' >"$TMP/trace.csv"
case $METHOD in
	ema) SMOOTH="{method: ema, halfLife: 2m}" ;;
	quantile) SMOOTH="{method: quantile, q: 0.9, window: 5m}" ;;
	*) SMOOTH="{method: $METHOD, window: 5m}" ;;
esac
cat >"$TMP/config.yaml" <<YAML
sources: {trace: {type: static}}
metrics:
  - name: smoothed
    source: trace
    value: 0
    smoothing: $SMOOTH
    stabilization: {down: 5m}
YAML

# one run, seconds with milliseconds; the syncs are checked so a broken run cannot look fast
run_once() {
	s=$(date +%s%N)
	"$BIN" simulate --input "$TMP/trace.csv" --config "$TMP/config.yaml" --target 20 --max 100 --quiet \
		--json "$TMP/out.json" >/dev/null
	e=$(date +%s%N)
	grep -q '"steps":172800,' "$TMP/out.json" || { echo "simulate: unexpected result: $(cat "$TMP/out.json")" >&2; exit 1; }
	awk -v a="$s" -v b="$e" 'BEGIN {printf "%.3f\n", (b - a) / 1e9}'
}
: >"$TMP/times"
r=1
while [ $r -le "$RUNS" ]; do
	run_once >>"$TMP/times"
	r=$((r + 1))
done
med=$(sort -n "$TMP/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "simulate: 30-day trace at 15s, $METHOD pipeline: $med s median of $RUNS (target < 0.5 s)"

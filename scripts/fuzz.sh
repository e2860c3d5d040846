#!/bin/sh
# Runs every fuzz target built by `make fuzz` for SECONDS each (default 60)
# from an empty corpus under build/fuzz/corpus/NAME; stops at the first crash.
set -eu
secs=${1:-60}
for t in build/fuzz/fuzz_*; do
  n=$(basename "$t")
  mkdir -p "build/fuzz/corpus/$n"
  echo "fuzz: $n for ${secs}s"
  "$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 "build/fuzz/corpus/$n" 2>&1 | tail -n 3
done

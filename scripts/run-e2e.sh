#!/bin/sh
# Runs every end-to-end test (tests/e2e/test_*.sh) against the given binary
# and ends with one "N passed, N failed" line over all their checks.
bin=$1
passed=0; failed=0; bad=""
for t in tests/e2e/test_*.sh; do
  out=$(sh "$t" "$bin" 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
  f=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ]; then
    bad="$bad $t"
    [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
  fi
done
[ -n "$bad" ] && echo "failing:$bad"
echo "e2e: $passed passed, $failed failed"
[ -z "$bad" ]

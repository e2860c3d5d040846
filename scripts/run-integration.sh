#!/bin/sh
# Runs the scalers' integration tests against their real servers:
# scripts/run-integration.sh BINDIR NAME:TESTBIN... runs
# tests/integration/test_NAME.sh BINDIR/TESTBIN [$SCALEWISE] for each pair (with
# the scalewise binary the tests also check the value through scalewise serve),
# then prints one
# "N passed, N failed" line over all their checks.
dir=$1; shift
passed=0; failed=0; bad=""
for pair in "$@"; do
  name=${pair%%:*}; bin=${pair#*:}
  out=$(sh "tests/integration/test_$name.sh" "$dir/$bin" ${SCALEWISE:+"$SCALEWISE"} 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
  f=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ]; then
    bad="$bad $name"
    [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
  fi
done
[ -n "$bad" ] && echo "failing:$bad"
echo "integration: $passed passed, $failed failed"
[ -z "$bad" ]

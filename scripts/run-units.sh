#!/bin/sh
# Runs every unit-test binary given, sums cmocka's per-binary counts and ends
# with one "N passed, N failed" line. Exit status 1 when any test failed.
dir=$1; shift
passed=0; failed=0; bad=""
for t in "$@"; do
  out=$("$dir/$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); fi
  [ $rc -ne 0 ] && bad="$bad $t"
done
[ -n "$bad" ] && echo "failing binaries:$bad"
echo "${LABEL:-unit}: $passed passed, $failed failed"
[ -z "$bad" ]

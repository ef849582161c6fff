#!/usr/bin/env bash
# Sets everything up and runs the whole test suite; the last line is
# "N passed, N failed". With CI=true the suite runs a second time in an
# AddressSanitizer/UBSan build, and each fuzz target runs for 20 s
# (scripts/fuzz.sh), counting as one test.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
run_suite() {
  local builddir="$1"; shift
  if ! scripts/setup.sh "$builddir" "$@"; then
    echo "build in $builddir failed"
    failed=$((failed + 1))
    return
  fi
  # A plugin that once failed to load stays blacklisted in the registry.
  rm -f "$builddir/tests/registry.bin"
  meson test -C "$builddir" --print-errorlogs --num-processes 2
  local json="$builddir/meson-logs/testlog.json"
  if [ -f "$json" ]; then
    local p f
    p=$(grep -c '"result": "OK"' "$json" || true)
    f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$json" || true)
    passed=$((passed + p))
    failed=$((failed + f))
  else
    failed=$((failed + 1))
  fi
}

run_suite build
if [ "${CI:-}" = "true" ] || [ "${SANITIZE:-}" = "1" ]; then
  run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false
fi
if [ "${CI:-}" = "true" ]; then
  fuzz_log=$(mktemp)
  scripts/fuzz.sh 20 2>&1 | tee "$fuzz_log"
  rc=${PIPESTATUS[0]}
  p=$(grep -c -E '^fuzz-[a-z-]+: passed' "$fuzz_log" || true)
  f=$(grep -c -E '^fuzz-[a-z-]+: FAILED' "$fuzz_log" || true)
  # A failed run that named no failed target failed outside them.
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$fuzz_log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

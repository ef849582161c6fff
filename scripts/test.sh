#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets everything up and runs the whole test suite; the last line is
# "N passed, N failed". The formatting check (scripts/format.sh --check)
# runs first and counts as one test. With CI=true the suite runs a second
# time in an AddressSanitizer/UBSan build, and each fuzz target runs for 20 s
# (scripts/fuzz.sh), counting as one test.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failed_names=()
run_suite() {
  local builddir="$1"; shift
  if ! scripts/setup.sh "$builddir" "$@"; then
    echo "build in $builddir failed"
    failed=$((failed + 1))
    failed_names+=("$builddir: build")
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
    # One line per failed test, so the end of a long log says which, with
    # the first of its own failure lines (a log's end is often all that is
    # kept of a run).
    while IFS= read -r name; do
      failed_names+=("$builddir: $name")
    done < <(python3 -c '
import json, re, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
        said = [l.strip() for l in ((t.get("stdout") or "") + "\n" + (t.get("stderr") or "")).splitlines()
                if re.match(r"\s*(FAIL\b|not ok\b|Bail out!|\S+:\d+:[FE]:|.*[Aa]ssertion|.*ERROR: \w+Sanitizer)", l)]
        why = " | ".join(l[:300] for l in said[:3])
        print(t["name"], t["result"] + (" -- " + why if why else ""))' "$json")
  else
    failed=$((failed + 1))
    failed_names+=("$builddir: no test log")
  fi
}

# Formatting first: it takes a second and needs no build.
command -v clang-format >/dev/null || scripts/setup.sh --packages
format_log=$(mktemp)
format_files=$(scripts/format.sh --check 2>"$format_log")
case $? in
  0)
    echo "format: passed"
    passed=$((passed + 1)) ;;
  1)
    echo "format: FAILED (files: $(printf '%s' "$format_files" | tr '\n' ' '))"
    echo "  scripts/format.sh reformats them"
    failed_names+=("format")
    failed=$((failed + 1)) ;;
  *)
    echo "format: FAILED (could not check: $(head -n 1 "$format_log"))"
    failed=$((failed + 1)) ;;
esac
rm -f "$format_log"

# Every source file carries the licence's SPDX line (COPYING).
if spdx_missing=$(scripts/spdx.sh --check); then
  echo "licence: passed"
  passed=$((passed + 1))
else
  echo "licence: FAILED (no SPDX line: $(printf '%s' "$spdx_missing" | tr '\n' ' '))"
  echo "  scripts/spdx.sh adds it"
  failed_names+=("licence")
  failed=$((failed + 1))
fi

run_suite build
if [ "${CI:-}" = "true" ] || [ "${SANITIZE:-}" = "1" ]; then
  # Unoptimised: the instrumented build compiles in a third of the time at
  # -O0, and the tests take as long (their time is in GStreamer and the
  # peers, not in the project's code). No benchmarks: no test runs them, and
  # the plain build has compiled them with warnings as errors.
  run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debug -Dbenchmarks=disabled
fi
if [ "${CI:-}" = "true" ]; then
  fuzz_log=$(mktemp)
  scripts/fuzz.sh 20 2>&1 | tee "$fuzz_log"
  rc=${PIPESTATUS[0]}
  p=$(grep -c -E '^fuzz-[a-z-]+: passed' "$fuzz_log" || true)
  f=$(grep -c -E '^fuzz-[a-z-]+: FAILED' "$fuzz_log" || true)
  # A failed run that named no failed target failed outside them.
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
  [ "$f" -eq 0 ] || failed_names+=("fuzz: $(grep -E '^fuzz-[a-z-]+: FAILED' "$fuzz_log" | cut -d: -f1 | tr '\n' ' ')")
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$fuzz_log"
fi
for name in "${failed_names[@]}"; do echo "FAILED: $name"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

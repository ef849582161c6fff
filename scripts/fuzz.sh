#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UBSan in build-fuzz, then runs each for SECONDS (default 30) on a scratch
# copy of its seed corpus. Prints one line per target,
# "TARGET: passed, ..." or "TARGET: FAILED, ...", and exits non-zero if any
# target crashed, broke a checked promise or did not build.
# Usage: scripts/fuzz.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
builddir=build-fuzz
targets=(fuzz-server-event fuzz-sdp-answer fuzz-sip-message)
declare -A dict=([fuzz-server-event]=fuzz/json.dict [fuzz-sdp-answer]=fuzz/sdp.dict
  [fuzz-sip-message]=fuzz/sip.dict)

fail_all() {
  for t in "${targets[@]}"; do
    echo "$t: FAILED, $1"
  done
  exit 1
}

if [ ! -f "$builddir/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$builddir" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=disabled ||
    fail_all "meson setup of $builddir failed"
fi
# Only the targets: the rest of the project is not needed here.
ninja -C "$builddir" "${targets[@]/#/fuzz/}" || fail_all "the build failed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp fuzz/corpus/"$t"/* "$work/$t/"
  log="$work/$t.log"
  # halt_on_error: a UBSan report is a failure, not a line in a log.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_OPTIONS=abort_on_error=1 \
    "$builddir/fuzz/$t" -max_total_time="$seconds" -dict="${dict[$t]}" \
      -print_final_stats=1 -artifact_prefix="$builddir/fuzz/$t-" \
      "$work/$t" >"$log" 2>&1
  rc=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
    echo "$t: passed, ${execs} executions in ${seconds} s (${rate}/s), ${cov:-no coverage reported}"
  else
    failed=$((failed + 1))
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    echo "--- $t (exit $rc), end of its log:"
    tail -n 40 "$log"
    echo "$t: FAILED, exit $rc${execs:+ after $execs executions}${artifact:+, input saved as $artifact}"
  fi
done
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a short reconnect soak (tests/soak, SOAK_CYCLES calls dropped by the
# far end and rebuilt) under valgrind's memcheck, in the normal build.
# Exits non-zero when memcheck reports a definite leak or a memory error
# that tests/valgrind.supp does not suppress, or when the soak itself fails.
# Each report is marked PROJECT when a frame of it is in the project's code;
# one without is a third-party leak to triage into tests/valgrind.supp (with
# a comment, as the others), or a reference the project dropped on an object
# a library allocated, so it fails the run too.
#
# Usage: scripts/leakcheck.sh [BUILDDIR]   (default: build)
# Environment: SOAK_CYCLES (default 5), LEAKCHECK_LOG (default
# BUILDDIR/meson-logs/leakcheck.log), LEAKCHECK_TIMEOUT (seconds, default
# 1200), LEAKCHECK_TEST (another check test binary to run instead, e.g.
# build/tests/elements with GST_CHECKS set).
# docs/leaks.md has the details.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
builddir="${1:-build}"

. scripts/apt.sh
apt_install_missing valgrind valgrind
# Installs what is missing and builds; ninja does nothing when up to date.
scripts/setup.sh "$builddir" || { echo "build in $builddir failed"; exit 1; }

log="${LEAKCHECK_LOG:-$builddir/meson-logs/leakcheck.log}"
mkdir -p "$(dirname "$log")"
registry="$builddir/tests/registry-leakcheck.bin"

# The environment tests/meson.build gives the tests, plus what memcheck needs:
# GLib's slice allocator off (its blocks would hide leaks of GObjects and
# list nodes), freed GLib memory cleared (no stale pointers keeping leaked
# blocks reachable), one process (check's forked children would be checked
# one by one, each with the parent's start-up state; without fork, check
# enforces no time limit: the test's own bounded waits remain).
export GST_PLUGIN_PATH_1_0="$root/$builddir/plugins/openairealtime"
export GST_REGISTRY_1_0="$root/$registry"
export REALTIME_SERVER="$root/$builddir/tools/realtime-server/gst-openai-realtime-server"
export VALIDATE_EVENTS="$root/../shared/protocol/validate-events"
export OPENAI_API_KEY=""
export SOAK_CYCLES="${SOAK_CYCLES:-5}"
export CK_FORK=no
# The tests' waits stretch by this factor (tests/session.h): under memcheck
# the first DTLS certificate alone takes about 20 s.
export CK_TIMEOUT_MULTIPLIER="${CK_TIMEOUT_MULTIPLIER:-10}"
export G_SLICE=always-malloc
export G_DEBUG=gc-friendly

# The registry is made outside valgrind: scanning loads every installed
# plugin, and what their initialisation leaves is not this project's.
rm -f "$registry"
gst-inspect-1.0 openairealtimesrc >/dev/null 2>&1 ||
  { echo "the plugin does not load from $GST_PLUGIN_PATH_1_0"; exit 1; }

supp=(--suppressions="$root/tests/valgrind.supp")
[ -f /usr/share/glib-2.0/valgrind/glib.supp ] &&
  supp+=(--suppressions=/usr/share/glib-2.0/valgrind/glib.supp)

# The local server the test starts is not traced (valgrind follows no
# children by default): only the test process with the elements is checked.
test_bin="${LEAKCHECK_TEST:-$builddir/tests/soak}"
echo "valgrind: $test_bin, SOAK_CYCLES=$SOAK_CYCLES (log: $log)"
# Bounded: a failed assertion without fork leaves the test's pipeline running
# on a dead stack frame, and the process may then never exit.
timeout --kill-after=30 "${LEAKCHECK_TIMEOUT:-1200}" \
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --num-callers=40 --fullpath-after= \
  --gen-suppressions=all "${supp[@]}" --error-exitcode=99 \
  --log-file="$log" "$test_bin"
status=$?

# Each unsuppressed error is a block of "==PID== " lines ending in the
# suppression memcheck generated for it ({ ... }). Classify them.
python3 - "$log" "$root" <<'EOF'
import re, sys
log, root = sys.argv[1], sys.argv[2]
try:
    text = open(log, errors="replace").read()
except OSError as e:
    sys.exit("memcheck: no log (%s)" % e)
body = re.sub(r"^==\d+== ?", "", text, flags=re.M)
# Source paths are full (--fullpath-after=): the project's are under root.
project = re.compile(re.escape(root) + r"/(?:[^/)]*/)*?(?:\.\./)?(?:gst|plugins|tests|tools)/")
errors = [b for b in re.split(r"\n(?=\S)", body)
          if re.match(r"(Invalid |Conditional jump|Use of uninitialised|Syscall param|"
                      r"Mismatched free|Source and destination overlap|Argument '|"
                      r"\S.* bytes in .* are definitely lost)", b)]
ours = [b for b in errors if project.search(b)]
print("memcheck: %d unsuppressed error(s), %d with a frame in the project's code"
      % (len(errors), len(ours)))
for b in errors:
    tag = "PROJECT" if project.search(b) else "no project frame"
    print("---- [%s]\n%s" % (tag, "\n".join(b.splitlines()[:30])))
for line in body.splitlines():
    if re.match(r"(ERROR SUMMARY|   definitely lost|   indirectly lost|   possibly lost|"
                r"   still reachable|   suppressed|LEAK SUMMARY)", line):
        print(line)
EOF

if [ "$status" -eq 99 ]; then
  echo "leakcheck: FAILED (unsuppressed definite leak or memory error; the log has the"
  echo "suppressions memcheck generated for each)"
  exit 1
elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "leakcheck: FAILED (no exit within ${LEAKCHECK_TIMEOUT:-1200} s)"
  exit 1
elif [ "$status" -ne 0 ]; then
  echo "leakcheck: FAILED (the soak test exited with $status)"
  exit "$status"
fi
echo "leakcheck: OK"

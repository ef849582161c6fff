#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Renders the diagrams of the documentation from their graphviz sources:
# each docs/img/NAME.dot to docs/img/NAME.svg, with Debian's graphviz
# (installed with apt-get when `dot` is missing). The SVG files are
# committed, so that reading the documentation, building and testing never
# need graphviz.
#   scripts/diagrams.sh           renders every docs/img/*.dot
#   scripts/diagrams.sh --check   lists the SVG files that differ from a
#                                 fresh rendering (exit 1 if any)
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/apt.sh
apt_install_missing dot graphviz

stale=()
for source in docs/img/*.dot; do
  svg="${source%.dot}.svg"
  if [ "${1:-}" = "--check" ]; then
    fresh=$(mktemp)
    dot -Tsvg "$source" -o "$fresh"
    cmp -s "$fresh" "$svg" || stale+=("$svg")
    rm -f "$fresh"
  else
    dot -Tsvg "$source" -o "$svg"
    echo "$svg"
  fi
done
if [ "${#stale[@]}" -gt 0 ]; then
  printf '%s\n' "${stale[@]}"
  exit 1
fi

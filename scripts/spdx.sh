#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every source file of the repository carries the licence's SPDX line
# (the licence itself: COPYING, LGPL-2.1-or-later).
#   scripts/spdx.sh           adds the line where it is missing
#   scripts/spdx.sh --check   lists the files without it (exit 1 if any)
# Data (fuzz corpora, SDP and JSON samples, images), documentation and
# node_modules are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
id="SPDX-License-Identifier: LGPL-2.1-or-later"

comment_for () {
  case "$1" in
    *.cpp|*.h|*.c) echo "/* $id */" ;;
    *.mjs|*.js|*.dot) echo "// $id" ;;
    *.py|*.sh|*.gp|*.jcfg|*.cfg|*.supp|*.dict|*/meson.build|meson.build|meson_options.txt|debian/rules) echo "# $id" ;;
    *.html|*.xml) echo "<!-- $id -->" ;;
    *) echo "" ;;
  esac
}

# The files that take the line, as comment_for knows them.
mapfile -t files < <(git ls-files | grep -Ev '^fuzz/corpus/|(^|/)node_modules/' |
  grep -E '\.(cpp|h|c|mjs|js|dot|py|sh|gp|jcfg|cfg|supp|dict|html|xml)$|(^|/)meson\.build$|^meson_options\.txt$|^debian/rules$')
missing=()
if [ "${#files[@]}" -gt 0 ]; then
  mapfile -t missing < <(grep -L "SPDX-License-Identifier:" -- "${files[@]}" || true)
fi
if [ "${1:-}" != "--check" ]; then
  for f in "${missing[@]+"${missing[@]}"}"; do
    line=$(comment_for "$f")
    # After a first line that must stay first: a #! line, an XML
    # declaration, an HTML doctype, Kamailio's #!KAMAILIO.
    first=$(head -n 1 "$f")
    tmp=$(mktemp)
    case "$first" in
      '#!'*|'<?xml'*|'<!DOCTYPE'*|'<!doctype'*)
        { printf '%s\n%s\n' "$first" "$line"; tail -n +2 "$f"; } > "$tmp" ;;
      *)
        { printf '%s\n' "$line"; cat "$f"; } > "$tmp" ;;
    esac
    cat "$tmp" > "$f"
    rm -f "$tmp"
  done
fi

if [ "${1:-}" = "--check" ]; then
  [ "${#missing[@]}" -eq 0 ] || printf '%s\n' "${missing[@]}"
  [ "${#missing[@]}" -eq 0 ]
else
  echo "added the SPDX line to ${#missing[@]} files"
fi

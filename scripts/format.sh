#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Formats the repository's C and C++ files with .clang-format.
# Usage: scripts/format.sh           reformat them in place
#        scripts/format.sh --check   list the files that do not follow it and
#                                    exit 1 (changes nothing)
# The style is clang-format 14's reading of .clang-format (Debian 12's
# clang-format package); another version may format some lines differently.
# CLANG_FORMAT names another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

tool="${CLANG_FORMAT:-}"
if [ -z "$tool" ]; then
  for t in clang-format-14 clang-format; do
    if command -v "$t" >/dev/null; then tool="$t"; break; fi
  done
fi
if [ -z "$tool" ] || ! command -v "$tool" >/dev/null; then
  echo "clang-format not found (scripts/setup.sh installs it)" >&2
  exit 2
fi
version=$("$tool" --version)
case "$version" in
  *"version 14."*) ;;
  *) echo "warning: the style is checked with clang-format 14, this is: $version" >&2 ;;
esac

# Tracked sources only; fuzz corpora and anything vendored or generated stay
# as they are.
files=()
while IFS= read -r f; do
  [ -f "$f" ] && files+=("$f")
done < <(git ls-files -- '*.c' '*.cpp' '*.h' \
  ':(exclude)fuzz/corpus/**' \
  ':(exclude,glob)**/node_modules/**' \
  ':(exclude,glob)**/generated/**')

# (With no file named, clang-format would read its standard input.)
[ ${#files[@]} -gt 0 ] || exit 0
if ! $check; then
  "$tool" --style=file -i -- "${files[@]}"
  exit 0
fi

# One run over every file (cheap enough for every test run); --Werror makes
# each needed change an error naming its file.
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
rc=0
"$tool" --style=file --dry-run --Werror --ferror-limit=1 -- "${files[@]}" \
  >/dev/null 2>"$errors" || rc=$?
bad=()
while IFS= read -r f; do
  bad+=("$f")
done < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
  "$errors" | sort -u)
if [ "$rc" -ne 0 ] && [ ${#bad[@]} -eq 0 ]; then
  # It failed for another reason: a broken .clang-format, an unreadable file.
  cat "$errors" >&2
  exit 2
fi
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]}"
  echo "${#bad[@]} of ${#files[@]} files do not follow .clang-format" \
    "(scripts/format.sh reformats them)" >&2
  exit 1
fi
exit 0

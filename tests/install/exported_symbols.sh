#!/usr/bin/env bash
# The shared library exports exactly the functions the public headers
# declare: every dynamic symbol it defines must appear in include/ as a
# TW_API declaration, and every TW_API declaration must be exported.
# usage: exported_symbols.sh LIBRARY SOURCE_DIR
set -euo pipefail
lib="$1" src="$2"
. "$src/tests/cli/lib/check.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
nm -D --defined-only "$lib" | awk '{print $3}' | sort -u > "$work/exported"
# declarations: "TW_API <type> [*]name(" possibly over two lines
ls "$src"/include/tilewhisper/*.h | grep -v /export.h | xargs cat | tr '\n' ' ' | grep -o "TW_API [^;(#]*(" |
  sed -E 's/.*[ *]([A-Za-z_][A-Za-z0-9_]*)\($/\1/' | sort -u > "$work/declared"
extra="$(comm -23 "$work/exported" "$work/declared")"
missing="$(comm -13 "$work/exported" "$work/declared")"
[ -z "$extra" ] || { echo "exported but not declared in include/:"; echo "$extra"; } >&2
[ -z "$missing" ] || { echo "declared TW_API but not exported:"; echo "$missing"; } >&2
check "nothing outside the public headers is exported" test -z "$extra"
check "every TW_API function is exported" test -z "$missing"
check "the library exports something" test -s "$work/exported"
echo "exported symbols: $(wc -l < "$work/exported")"
finish exported_symbols

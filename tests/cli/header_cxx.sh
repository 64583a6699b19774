#!/usr/bin/env bash
# The public headers compile as C11 and as C++ (extern "C" blocks intact).
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
pass=0
fail=0
for h in "$root"/include/tilewhisper/*.h; do
  if echo "#include \"$h\"" | cc -std=c11 -Wall -Wextra -Werror -I"$root/include" -fsyntax-only -x c -; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAILED as C: $h" >&2
  fi
  if command -v c++ >/dev/null; then
    if echo "#include \"$h\"" | c++ -std=c++11 -Wall -Wextra -Werror -I"$root/include" -fsyntax-only -x c++ -; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1)); echo "FAILED as C++: $h" >&2
    fi
  fi
done
echo "header_cxx: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

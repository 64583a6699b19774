#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds examples/ against it
# twice, as an application would: once with pkg-config, once with CMake's
# find_package(tilewhisper).  Both programs run on a small synthetic model and
# jfk.wav and must print the same transcript.
# usage: install_examples.sh BUILD_DIR SOURCE_DIR "EXTRA_C_FLAGS"
set -euo pipefail
build="$1" src="$2" flags="${3:-}"
. "$src/tests/cli/lib/check.sh"
check_eq() { [ "$2" = "$3" ] || printf '  want: %s\n  got:  %s\n' "$2" "$3" >&2; check "$1" test "$2" = "$3"; }
check_grep() { check "$1" grep -q -- "$2" "$3"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
check "install puts the CLI, headers and both libraries in place" \
  test -x "$prefix/bin/tilewhisper" -a -f "$prefix/include/tilewhisper/whisper.h" \
       -a -f "$prefix/lib/libtilewhisper.a" -a -L "$prefix/lib/libtilewhisper.so"
soname="$(objdump -p "$prefix/lib/libtilewhisper.so" | awk '/SONAME/ {print $2}')"
check_eq "the shared library's SONAME carries the major version" "libtilewhisper.so.0" "$soname"

"$prefix/bin/tilewhisper" synth-model --size tiny --layers 1 \
  --header "$src/tests/data/for-tests-ggml-base.bin" -o "$work/tiny.bin"
check "the installed CLI runs (synth-model)" test -s "$work/tiny.bin"

# 1. pkg-config
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check_eq "pkg-config knows the version" "$(sed -n 's/^project(tilewhisper VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" \
  "$(pkg-config --modversion tilewhisper)"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror $flags "$src/examples/transcribe.c" \
  $(pkg-config --cflags --libs tilewhisper) -Wl,-rpath,"$prefix/lib" -o "$work/ex_pc"
"$work/ex_pc" "$work/tiny.bin" "$src/tests/data/jfk.wav" > "$work/out_pc.txt"
check_grep "pkg-config build transcribes jfk.wav" "^language [a-z]*, [0-9]* segments, 11.00 s of audio" "$work/out_pc.txt"

# 2. find_package
cmake -S "$src/examples" -B "$work/exb" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_BUILD_RPATH="$prefix/lib" > "$work/cmake.log"
cmake --build "$work/exb" > "$work/build.log"
"$work/exb/transcribe" "$work/tiny.bin" "$src/tests/data/jfk.wav" > "$work/out_cmake.txt"
check_grep "find_package build transcribes jfk.wav" "^language [a-z]*, [0-9]* segments, 11.00 s of audio" "$work/out_cmake.txt"
check_eq "both builds transcribe the same (greedy decoding is deterministic)" \
  "$(cat "$work/out_pc.txt")" "$(cat "$work/out_cmake.txt")"
cat "$work/out_pc.txt"
finish install_examples

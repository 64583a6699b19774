#!/usr/bin/env bash
# Builds the model-loader fuzz target with clang's libFuzzer straight from
# the loader sources (no CMake library, no CLI) and runs it for
# ${TW_FUZZ_SECONDS:-60} s on a seed corpus: three small synthetic models (f16,
# f32, q5_1) and
# whisper.cpp's header-only base file.  Fails on any finding.
set -euo pipefail
src="${1:?usage: run_fuzz.sh SOURCE_DIR}"
secs="${TW_FUZZ_SECONDS:-60}"
cc="$(command -v clang || command -v clang-14 || true)"
if [ -z "$cc" ]; then echo "run_fuzz: clang not found (scripts/install-deps.sh)" >&2; exit 1; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lib=(src/whisper/model_load.c src/whisper/model_tensors.c src/whisper/tensor_names.c
     src/whisper/tensor_read.c src/whisper/quant.c
     src/core/error.c src/core/mem.c src/core/fp16.c)
flags=(-std=c11 -g -O1 -Wall -Wextra -Werror -I"$src/src" -I"$src/include"
       -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
cd "$src"
"$cc" "${flags[@]}" -fsanitize=fuzzer,address,undefined -o "$work/fuzz_model_load" \
  tests/fuzz/fuzz_model_load.c "${lib[@]}"
"$cc" "${flags[@]}" -fsanitize=address,undefined -o "$work/make_seed" tests/fuzz/make_seed.c \
  "${lib[@]}" src/whisper/model_synth.c src/whisper/model_math.c -lm

mkdir -p "$work/corpus" "$work/artifacts"
"$work/make_seed" "$work/corpus/mini_f16.bin" "$work/corpus/mini_f32.bin" "$work/corpus/mini_q5_1.bin"
cp "$src/tests/data/for-tests-ggml-base.bin" "$work/corpus/"
head -c 70000 "$work/corpus/mini_f16.bin" > "$work/corpus/mini_cut.bin"

status=0
"$work/fuzz_model_load" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" || status=$?
if ls "$work/artifacts/"* > /dev/null 2>&1; then
  echo "run_fuzz: findings:" >&2
  ls -l "$work/artifacts" >&2
  exit 1
fi
exit $status

#!/usr/bin/env bash
# Builds one libFuzzer target with clang straight from the library sources
# it needs (no CMake library, no CLI) and runs it for ${TW_FUZZ_SECONDS:-60}
# s on a seed corpus the project generates itself.  Fails on any finding.
#   run_fuzz.sh SOURCE_DIR [TARGET]    TARGET: model_load (default), audio_decode
# A target is its sources, extra link flags and a seed step (below).
set -euo pipefail
src="${1:?usage: run_fuzz.sh SOURCE_DIR [model_load|audio_decode]}"
target="${2:-model_load}"
secs="${TW_FUZZ_SECONDS:-60}"
cc="$(command -v clang || command -v clang-14 || true)"
if [ -z "$cc" ]; then echo "run_fuzz: clang not found (scripts/install-deps.sh)" >&2; exit 1; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

flags=(-std=c11 -g -O1 -Wall -Wextra -Werror -I"$src/src" -I"$src/include"
       -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
core=(src/core/error.c src/core/mem.c)
loader=(src/whisper/model_load.c src/whisper/model_tensors.c src/whisper/tensor_names.c
        src/whisper/tensor_read.c src/whisper/quant.c src/core/fp16.c)
case "$target" in
  model_load)
    lib=("${core[@]}" "${loader[@]}")
    libs=()
    seed_src=(tests/fuzz/make_seed.c "${lib[@]}" src/whisper/model_synth.c
              src/whisper/model_math.c src/core/atomic_file.c -lm)
    make_seeds() {
      "$work/make_seed" "$work/corpus/mini_f16.bin" "$work/corpus/mini_f32.bin" \
        "$work/corpus/mini_q5_1.bin"
      cp "$src/tests/data/for-tests-ggml-base.bin" "$work/corpus/"
      head -c 70000 "$work/corpus/mini_f16.bin" > "$work/corpus/mini_cut.bin"
    } ;;
  audio_decode)
    lib=("${core[@]}" src/core/threadpool.c src/whisper/audio.c src/whisper/audio_decode.c
         src/whisper/audio_memory.c src/whisper/mel.c src/whisper/model_math.c)
    read -r -a libs <<< "$(pkg-config --cflags --libs sndfile samplerate fftw3f) -lm -lpthread"
    seed_src=(tests/fuzz/make_audio_seed.c "${libs[@]}")
    make_seeds() { "$work/make_seed" "$work/corpus"; }
    export LSAN_OPTIONS="suppressions=$src/tests/fuzz/lsan_audio.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" ;;
  *) echo "run_fuzz: unknown target '$target' (model_load, audio_decode)" >&2; exit 2 ;;
esac

cd "$src"
"$cc" "${flags[@]}" -fsanitize=fuzzer,address,undefined -o "$work/fuzz" \
  "tests/fuzz/fuzz_$target.c" "${lib[@]}" "${libs[@]}"
"$cc" "${flags[@]}" -fsanitize=address,undefined -o "$work/make_seed" "${seed_src[@]}"

mkdir -p "$work/corpus" "$work/artifacts"
make_seeds
echo "run_fuzz: $target, $(ls "$work/corpus" | wc -l) seeds, $secs s"

status=0
"$work/fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" || status=$?
if ls "$work/artifacts/"* > /dev/null 2>&1; then
  echo "run_fuzz: findings:" >&2
  ls -l "$work/artifacts" >&2
  exit 1
fi
exit $status

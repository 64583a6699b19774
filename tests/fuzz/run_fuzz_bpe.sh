#!/usr/bin/env bash
# Builds the tokenizer fuzz target (fuzz_bpe.c) with clang's libFuzzer from
# the tokenizer sources alone (plus the model loader, for the damaged
# vocabulary of for-tests-ggml-base.bin) and runs it for
# ${TW_FUZZ_SECONDS:-60} s on a seed corpus this script writes: ASCII,
# accents, CJK, emoji, whitespace runs, contractions, digits, special-token
# look-alikes and malformed UTF-8.  Fails on any finding.
set -euo pipefail
src="${1:?usage: run_fuzz_bpe.sh SOURCE_DIR}"
secs="${TW_FUZZ_SECONDS:-60}"
cc="$(command -v clang || command -v clang-14 || true)"
if [ -z "$cc" ]; then echo "run_fuzz_bpe: clang not found (scripts/install-deps.sh)" >&2; exit 1; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lib=(src/whisper/tokenizer.c src/whisper/tokenizer_text.c src/whisper/bpe.c
     src/whisper/pretokenize.c src/whisper/unicode.c src/whisper/unicode_classes.c
     src/whisper/special_tokens.c src/whisper/languages.c src/whisper/non_speech.c
     src/whisper/model_load.c src/whisper/model_tensors.c src/whisper/tensor_names.c
     src/whisper/tensor_read.c src/whisper/quant.c
     src/core/error.c src/core/mem.c src/core/fp16.c tests/support/tw_test_vocab.c)
flags=(-std=c11 -g -O1 -Wall -Wextra -Werror -I"$src/src" -I"$src/include"
       -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
cd "$src"
"$cc" "${flags[@]}" -fsanitize=fuzzer,address,undefined -o "$work/fuzz_bpe" \
  tests/fuzz/fuzz_bpe.c "${lib[@]}"

mkdir -p "$work/corpus" "$work/artifacts"
i=0
seed() { i=$((i + 1)); printf "$1" > "$work/corpus/seed$i"; }
seed 'Hello world'
seed " And so, my fellow Americans, ask not what your country can do for you."
seed "I'll don't we're they've she'd it's 'S ''s"
seed ' caf\303\251 na\303\257ve \303\205ngstr\303\266m stra\303\237e'
seed '\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210'
seed '\360\237\221\215\360\237\217\275 ok \360\237\216\211!'
seed '  \t\n\n  x   y \r\n\302\240\343\200\200 '
seed '123 4567 \331\243\331\244 3.14 1,000 \302\275 \342\205\253'
seed '<|endoftext|><|0.00|> \342\231\252\342\231\252 [MUSIC] (laughs) --- >>'
seed 'ab\200cd \300\257 \355\240\200 \364\220\200\200 \342\202'
seed '\000\001\037 \177'

status=0
TW_FUZZ_DATA="$src/tests/data" "$work/fuzz_bpe" -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
  || status=$?
if ls "$work/artifacts/"* > /dev/null 2>&1; then
  echo "run_fuzz_bpe: findings:" >&2
  ls -l "$work/artifacts" >&2
  exit 1
fi
exit $status

#!/usr/bin/env bash
# tilewhisper info / synth-model: outputs, JSON keys, exit codes.
set -u
cli="$1"
data="${TW_TEST_DATA:-tests/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/check.sh"

"$cli" synth-model --size tiny --layers 1 --seed 9 -o "$tmp/tiny.bin"
check_expr "synth-model exit 0" '[ $? -eq 0 ] && [ -s "$tmp/tiny.bin" ]'
"$cli" info "$tmp/tiny.bin" --json > "$tmp/info.json"
check_expr "info --json exit 0" '[ $? -eq 0 ]'
for key in '"hparams"' '"n_audio_state": 384' '"n_audio_layer": 1' '"tensors"' \
           '"encoder.blocks.0.attn.query.weight"' '"offset"' '"encoder_complete": true'; do
  check_expr "info json has $key" 'grep -q -- "$key" "$tmp/info.json"'
done
"$cli" info "$data/for-tests-ggml-base.bin" > "$tmp/base.txt"
check_expr "info header-only file" '[ $? -eq 0 ] && grep -q "n_audio_state  512" "$tmp/base.txt"'

"$cli" info > /dev/null 2>&1; check_expr "info without model: exit 2" '[ $? -eq 2 ]'
"$cli" info "$tmp/none.bin" 2> "$tmp/err.txt"; rc=$?
check_expr "info missing file: exit 1 naming it" '[ $rc -eq 1 ] && grep -q none.bin "$tmp/err.txt"'
head -c 1000 "$tmp/tiny.bin" > "$tmp/cut.bin"
"$cli" info "$tmp/cut.bin" 2> "$tmp/err.txt"; rc=$?
check_expr "info truncated file: exit 1 with offset" '[ $rc -eq 1 ] && grep -q offset "$tmp/err.txt"'
"$cli" synth-model --size huge -o "$tmp/x.bin" 2> /dev/null; check_expr "bad size: exit 2" '[ $? -eq 2 ]'
"$cli" synth-model --size tiny 2> /dev/null; check_expr "no -o: exit 2" '[ $? -eq 2 ]'
"$cli" synth-model --size tiny --layers 0 -o "$tmp/x.bin" 2> /dev/null
check_expr "layers 0: exit 2" '[ $? -eq 2 ]'
"$cli" synth-model --size tiny --layers 1 -o "$tmp/no/dir/x.bin" 2> /dev/null
check_expr "unwritable output: exit 1" '[ $? -eq 1 ]'
# quantized: the weight matrices in the format, the rest as whisper.cpp keeps it
"$cli" synth-model --size tiny.en --layers 1 --type q5_1 -o "$tmp/q.bin"
check_expr "synth-model --type q5_1 exit 0" '[ $? -eq 0 ]'
"$cli" info "$tmp/q.bin" --json > "$tmp/q.json"
check_expr "q5_1 info exit 0" '[ $? -eq 0 ]'
for key in '"ftype": 2009' '"n_vocab": 51864' '"encoder_complete": true'; do
  check_expr "q5_1 info has $key" 'grep -q -- "$key" "$tmp/q.json"'
done
check_expr "q5_1 query weight" \
  'grep -q "\"encoder.blocks.0.attn.query.weight\", \"type\": \"q5_1\"" "$tmp/q.json"'
check_expr "conv1 stays f16" 'grep -q "\"encoder.conv1.weight\", \"type\": \"f16\"" "$tmp/q.json"'
check_expr "positions stay f32" \
  'grep -q "\"encoder.positional_embedding\", \"type\": \"f32\"" "$tmp/q.json"'
"$cli" synth-model --size tiny --type q3_0 -o "$tmp/x.bin" 2> /dev/null
check_expr "bad type: exit 2" '[ $? -eq 2 ]'
finish model_cmds

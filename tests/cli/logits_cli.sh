#!/usr/bin/env bash
# tilewhisper logits: the raw float32 file, the printed top 5 against that
# file (ranked here by sort, independently of the command), exit codes.
set -u
cli="$1"
data="${TW_TEST_DATA:-tests/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/check.sh"

"$cli" synth-model --size tiny --layers 1 --seed 4 --header "$data/for-tests-ggml-base.bin" \
  -o "$tmp/tiny.bin" || { echo "FAIL: synth-model" >&2; exit 1; }
device=cpu
"$cli" devices 2> /dev/null | grep -q '^ *cpu' || device=fixed

"$cli" logits -m "$tmp/tiny.bin" "$data/jfk.wav" --tokens 50258,50259,50359,50363 \
  --device "$device" --threads 2 -o "$tmp/l.f32" > "$tmp/out.txt"
check_expr "logits exit 0" '[ $? -eq 0 ]'
check_expr "file is n_vocab = 51865 float32" '[ "$(stat -c %s "$tmp/l.f32")" -eq $((51865 * 4)) ]'
check_expr "five ranked lines" '[ "$(grep -cE "^ *[0-9]+  +-?[0-9.]+" "$tmp/out.txt")" -eq 5 ]'
# rank the file's values: "id value", largest first
od -An -v -t f4 -w4 "$tmp/l.f32" | awk '{ print NR - 1, $1 }' | sort -k2,2 -g -r | head -5 \
  > "$tmp/top.txt"
printed=$(grep -E "^ *[0-9]+  " "$tmp/out.txt" | awk '{ print $1 }' | tr '\n' ' ')
ranked=$(awk '{ print $1 }' "$tmp/top.txt" | tr '\n' ' ')
check_expr "printed ids are the file's top 5 ($ranked)" '[ "$printed" = "$ranked" ]'
first=$(head -1 "$tmp/top.txt" | awk '{ printf "%.4f", $2 }')
check_expr "printed top logit is the file's ($first)" \
  'grep -E "^ *[0-9]+  " "$tmp/out.txt" | head -1 | awk "{ printf \"%.4f\", \$2 }" | grep -qx -- "$first"'
check_expr "all values finite" '! od -An -v -t f4 "$tmp/l.f32" | grep -qiE "nan|inf"'

"$cli" logits -m "$tmp/tiny.bin" "$data/jfk.wav" > /dev/null 2>&1
check_expr "no --tokens: exit 2" '[ $? -eq 2 ]'
"$cli" logits -m "$tmp/tiny.bin" "$data/jfk.wav" --tokens 1,x > /dev/null 2>&1
check_expr "bad token list: exit 2" '[ $? -eq 2 ]'
"$cli" logits "$data/jfk.wav" --tokens 1 > /dev/null 2>&1
check_expr "no model: exit 2" '[ $? -eq 2 ]'
"$cli" logits -m "$tmp/tiny.bin" "$data/jfk.wav" --tokens 50258,99999 --device "$device" \
  > /dev/null 2> "$tmp/err.txt"
check_expr "token past n_vocab: exit 1 naming it" '[ $? -eq 1 ] && grep -q "token 99999" "$tmp/err.txt"'
"$cli" logits -m "$data/for-tests-ggml-base.bin" "$data/jfk.wav" --tokens 1 2> "$tmp/err.txt"
check_expr "header-only model: exit 1" '[ $? -eq 1 ]'

finish logits_cli

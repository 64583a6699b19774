#!/usr/bin/env bash
# tilewhisper encode: output file + sidecar, JSON keys, windows, exit codes.
set -u
cli="$1"
data="${TW_TEST_DATA:-tests/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/check.sh"

# a one-layer tiny model with real mel filters; the fixed device when the cpu
# device is not in this build
"$cli" synth-model --size tiny --layers 1 --seed 3 --header "$data/for-tests-ggml-base.bin" \
  -o "$tmp/tiny.bin" || { echo "FAIL: synth-model" >&2; exit 1; }
device=cpu
"$cli" devices 2> /dev/null | grep -q '^ *cpu' || device=fixed

"$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --device "$device" --threads 2 \
  -o "$tmp/out.f32" --json > "$tmp/run.json"
check_expr "encode exit 0" '[ $? -eq 0 ]'
for key in '"model"' '"device"' '"threads": 2' '"windows": 1' '"wall_s"' '"encoder_s"' \
           '"gflops"' '"invocations"' '"peak_rss_mb"' '"stages"' '"layer.0"' '"mel"' '"load"' \
           '"conv"' '"total"'; do
  check_expr "json has $key" 'grep -q -- "$key" "$tmp/run.json"'
done
check_expr "output is 1 x 1500 x 384 float32" '[ "$(stat -c %s "$tmp/out.f32")" -eq $((1500 * 384 * 4)) ]'
check_expr "sidecar shape" 'grep -q "\"shape\": \[1, 1500, 384\]" "$tmp/out.f32.json"'
check_expr "sidecar dtype" 'grep -q "\"dtype\": \"float32\"" "$tmp/out.f32.json"'

# the text report: a second full run, only where it is fast
if [ "$device" = cpu ]; then
  "$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --device "$device" > "$tmp/run.txt"
  check_expr "text report names stages" 'grep -q "layer 0" "$tmp/run.txt" && grep -q "real-time factor" "$tmp/run.txt"'
fi

# fp32 mode runs where the device computes in fp32 (cpu) and is refused elsewhere
want=1; [ "$device" = cpu ] && want=0
"$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --device "$device" --fp32 > /dev/null 2> "$tmp/err.txt"
check_expr "--fp32 on $device: exit $want" '[ $? -eq $want ]'

"$cli" encode "$data/jfk.wav" > /dev/null 2>&1; check_expr "no model: exit 2" '[ $? -eq 2 ]'
"$cli" encode -m "$tmp/tiny.bin" > /dev/null 2>&1; check_expr "no audio: exit 2" '[ $? -eq 2 ]'
"$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --threads 0 > /dev/null 2>&1
check_expr "threads 0: exit 2" '[ $? -eq 2 ]'
"$cli" encode -m "$tmp/none.bin" "$data/jfk.wav" 2> "$tmp/err.txt"; rc=$?
check_expr "missing model: exit 1 naming it" '[ $rc -eq 1 ] && grep -q none.bin "$tmp/err.txt"'
"$cli" encode -m "$tmp/tiny.bin" "$tmp/none.wav" 2> /dev/null; check_expr "missing audio: exit 1" '[ $? -eq 1 ]'
"$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --device nosuch 2> /dev/null
check_expr "unknown device: exit 1" '[ $? -eq 1 ]'
"$cli" encode -m "$data/for-tests-ggml-base.bin" "$data/jfk.wav" 2> /dev/null
check_expr "header-only model: exit 1" '[ $? -eq 1 ]'
finish encode_cli

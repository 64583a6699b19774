#!/usr/bin/env bash
# Malformed command lines: --help on every command, missing values, unknown
# and misspelt options (device options too), outputs that are inputs, and
# output paths the system refuses.  Every refusal says why.
set -u
cli="$1"
data="${TW_TEST_DATA:-tests/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/check.sh"

# run CMD...: exit code in $rc, standard output in $tmp/out, standard error in $tmp/err
run() { "$@" > "$tmp/out" 2> "$tmp/err"; rc=$?; }
said() { grep -q -- "$1" "$tmp/err"; }

for cmd in "gemm" "devices" "info" "encode" "synth-model" "bench" "bench --gemm" \
           "bench --opencl" "bench --encoder" "bench --invocations" "transcribe" \
           "detect-language" "logits" "bench --transcribe" "bench --decoder" "bench --memory"; do
  for flag in --help -h; do
    run "$cli" $cmd $flag
    check "$cmd $flag: exit 0, usage on stdout, nothing on stderr" \
      [ "$rc" -eq 0 -a -s "$tmp/out" -a ! -s "$tmp/err" ]
    check "$cmd $flag: prints a usage" grep -qi usage "$tmp/out"
  done
done
run "$cli"; check_expr "no command: exit 2 saying so" '[ $rc -eq 2 ] && said "no command"'
run "$cli" frobnicate; check_expr "unknown command: named" '[ $rc -eq 2 ] && said frobnicate'

# a value option given last names itself
"$cli" synth-model --size tiny --layers 1 --seed 3 --header "$data/for-tests-ggml-base.bin" \
  -o "$tmp/tiny.bin" || { echo "FAIL: synth-model" >&2; exit 1; }
for args in "encode $data/jfk.wav -m" "encode -m $tmp/tiny.bin $data/jfk.wav --threads" \
            "encode -m $tmp/tiny.bin $data/jfk.wav -o" "gemm 8 8 8 --device" \
            "gemm 8 8 8 --device-options" "synth-model --size tiny -o $tmp/x.bin --layers" \
            "synth-model --size"; do
  opt="${args##* }"
  run "$cli" $args
  check_expr "'$args': exit 2, '$opt' needs a value" "[ \$rc -eq 2 ] && said \"option '$opt' needs a value\""
done
for args in "encode -m $tmp/tiny.bin $data/jfk.wav --frobnicate" "gemm 8 8 8 --frobnicate" \
            "info --frobnicate" "synth-model --frobnicate 1" "devices --frobnicate"; do
  run "$cli" $args
  check_expr "'$args': exit 2 naming the option" '[ $rc -eq 2 ] && said "unknown option .--frobnicate"'
done
run "$cli" synth-model --size tiny --layers 0 -o "$tmp/x.bin"
check_expr "--layers 0: exit 2 saying why" '[ $rc -eq 2 ] && said "layers wants a number 1..256"'
run "$cli" synth-model --size tiny --seed -4 -o "$tmp/x.bin"
check_expr "--seed -4: exit 2 saying why" '[ $rc -eq 2 ] && said "seed wants"'
run "$cli" synth-model -o "$tmp/x.bin"
check_expr "no --size: exit 2 saying so" '[ $rc -eq 2 ] && said "size is required"'
check "no file from refused synth-model runs" [ ! -e "$tmp/x.bin" ]
run "$cli" info "$tmp/tiny.bin" "$tmp/tiny.bin"
check_expr "info with two models: exit 2 saying why" '[ $rc -eq 2 ] && said "unexpected argument"'

# device options: misspelt keys are refused naming them and the valid ones
run "$cli" gemm 16 16 16 --device emu:lrage=1
check_expr "emu:lrage=1: exit 1, names lrage, lists large" '[ $rc -eq 1 ] && said "lrage" && said "large, mem_mb"'
run "$cli" gemm 16 16 16 --device emu --device-options x=y
check_expr "--device-options x=y: exit 1 naming x" '[ $rc -eq 1 ] && said "option .x." && said "valid options"'
run "$cli" gemm 16 16 16 --device cpu --device-options mc
check_expr "key without value: exit 1" '[ $rc -eq 1 ] && said "needs a value"'
run "$cli" gemm 16 16 16 --device emu:large=1 --json
check_expr "emu:large=1 is accepted" '[ $rc -eq 0 ]'
run "$cli" gemm 16 16 16 --device fixed --device-options gbps=10,gflops=100 --json
check_expr "valid fixed options are accepted" '[ $rc -eq 0 ]'
run "$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --device emu:mem_mbb=9
check_expr "encode with a misspelt device option: exit 1" '[ $rc -eq 1 ] && said "mem_mbb"'

# an output that is an input is refused before anything is written
cp "$data/jfk.wav" "$tmp/in.wav"
ln "$tmp/in.wav" "$tmp/hard.wav"
ln -s "$tmp/in.wav" "$tmp/soft.wav"
sum_model="$(cksum < "$tmp/tiny.bin")"; sum_audio="$(cksum < "$tmp/in.wav")"
for out in "$tmp/tiny.bin" "$tmp/in.wav" "$tmp/hard.wav" "$tmp/soft.wav" "$tmp/../$(basename "$tmp")/in.wav"; do
  run "$cli" encode -m "$tmp/tiny.bin" "$tmp/in.wav" -o "$out"
  check_expr "encode -o $(basename "$out") (an input): exit 2 saying so" '[ $rc -eq 2 ] && said "refusing to overwrite"'
done
cp "$tmp/tiny.bin" "$tmp/model.f32.json"
run "$cli" encode -m "$tmp/model.f32.json" "$tmp/in.wav" -o "$tmp/model.f32"
check_expr "encode whose sidecar is the model: exit 2" '[ $rc -eq 2 ] && said "refusing to overwrite"'
check "the refusals left no output" [ ! -e "$tmp/model.f32" ]
check "the model is intact" [ "$(cksum < "$tmp/tiny.bin")" = "$sum_model" ]
check "the audio is intact" [ "$(cksum < "$tmp/in.wav")" = "$sum_audio" ]
cp "$data/for-tests-ggml-base.bin" "$tmp/header.bin"; sum_header="$(cksum < "$tmp/header.bin")"
run "$cli" synth-model --size base --layers 1 --header "$tmp/header.bin" -o "$tmp/header.bin"
check_expr "synth-model -o its header: exit 2" '[ $rc -eq 2 ] && said "refusing to overwrite"'
check "the header is intact" [ "$(cksum < "$tmp/header.bin")" = "$sum_header" ]

# outputs the system refuses: its reason is in the message
run "$cli" encode -m "$tmp/tiny.bin" "$tmp/in.wav" -o "$tmp/nodir/out.f32"
check_expr "encode -o into a missing directory: exit 1 with strerror" '[ $rc -eq 1 ] && said "No such file or directory"'
run "$cli" encode -m "$tmp/tiny.bin" "$tmp/in.wav" -o "$tmp"
check_expr "encode -o a directory: exit 1 with strerror" '[ $rc -eq 1 ] && said "Is a directory"'
run "$cli" synth-model --size tiny --layers 1 -o "$tmp/nodir/m.bin"
check_expr "synth-model -o into a missing directory: exit 1 with strerror" '[ $rc -eq 1 ] && said "No such file or directory"'
if [ -w /dev/full ]; then
  run "$cli" synth-model --size tiny --layers 1 -o /dev/full
  check_expr "synth-model -o /dev/full: exit 1, no space" '[ $rc -eq 1 ] && said "No space left"'
fi
run "$cli" info "$tmp/none.bin"
check_expr "info of a missing model: exit 1 with strerror" '[ $rc -eq 1 ] && said "No such file or directory"'
finish bad_args

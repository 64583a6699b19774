#!/usr/bin/env bash
# tilewhisper encode on broken and unusual audio made here: huge finite and
# non-finite float samples, one sample, 5 ms, a truncated file, a directory,
# an empty file, text, a FIFO with a writer, standard input; and outputs
# that never exist partially (failed and killed runs leave nothing).
set -u
cli="$1"
data="${TW_TEST_DATA:-tests/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/check.sh"

run() { "$@" > "$tmp/out" 2> "$tmp/err"; rc=$?; }
said() { grep -q -- "$1" "$tmp/err"; }
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
           $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
# wav_f32 FILE RATE N SAMPLE...: a mono 32-bit float WAV of N samples cycling
# through the given little-endian sample byte strings ('\xNN\xNN\xNN\xNN')
wav_f32() {
  local file="$1" rate="$2" n="$3"; shift 3
  local bytes=$((n * 4))
  {
    printf "RIFF$(le32 $((36 + bytes)))WAVEfmt $(le32 16)\\x03\\x00\\x01\\x00"
    printf "$(le32 "$rate")$(le32 $((rate * 4)))\\x04\\x00\\x20\\x00data$(le32 $bytes)"
    local pattern="" i
    for s in "$@"; do pattern="$pattern$s"; done
    for ((i = 0; i < n / $#; i++)); do printf "$pattern"; done
    for ((i = 0; i < n % $#; i++)); do printf "$1"; done
  } > "$file"
}
# floats, little-endian
P1E30='\xca\xf2\x49\x71'; N1E30='\xca\xf2\x49\xf1'; PMAX='\xff\xff\x7f\x7f'; NMAX='\xff\xff\x7f\xff'
QUART='\x00\x00\x80\x3e'; NAN_='\x00\x00\xc0\x7f'; INF_='\x00\x00\x80\x7f'
# all_finite FILE: every float32 of the file is a number
all_finite() { [ -s "$1" ] && ! od -An -v -f "$1" | grep -qiE 'nan|inf'; }
no_output() { ! ls "$tmp/o"/* > /dev/null 2>&1; } # nothing at all in the output directory

"$cli" synth-model --size tiny --layers 1 --seed 3 --header "$data/for-tests-ggml-base.bin" \
  -o "$tmp/tiny.bin" || { echo "FAIL: synth-model" >&2; exit 1; }
mkdir "$tmp/o"
enc() { run "$cli" encode -m "$tmp/tiny.bin" "$@" --threads 2 --json; }

# huge finite samples: a finite encoder output, exit 0
wav_f32 "$tmp/big.wav" 16000 16000 "$P1E30" "$N1E30" "$P1E30"
wav_f32 "$tmp/max.wav" 16000 16000 "$PMAX" "$NMAX"
wav_f32 "$tmp/max44.wav" 44100 22050 "$PMAX" "$PMAX" "$NMAX"
for f in big max max44; do
  enc "$tmp/$f.wav" -o "$tmp/o/$f.f32"
  check_expr "$f.wav: exit 0" '[ $rc -eq 0 ]'
  check "$f.wav: finite output" all_finite "$tmp/o/$f.f32"
  rm -f "$tmp/o/$f.f32" "$tmp/o/$f.f32.json"
done

# NaN and infinity: refused naming the file and the first bad sample's time,
# leaving no output and an existing output untouched
printf 'keep me' > "$tmp/o/prev.f32"
# 8000 good samples then a NaN at 0.500 s; an infinity at 0.250 s
wav_f32 "$tmp/nan.wav" 16000 8001 "$QUART"
printf "$NAN_" | dd of="$tmp/nan.wav" bs=1 seek=$((44 + 8000 * 4)) conv=notrunc 2> /dev/null
wav_f32 "$tmp/inf.wav" 16000 8001 "$QUART"
printf "$INF_" | dd of="$tmp/inf.wav" bs=1 seek=$((44 + 4000 * 4)) conv=notrunc 2> /dev/null
wav_f32 "$tmp/allnan.wav" 16000 4000 "$NAN_"
enc "$tmp/nan.wav" -o "$tmp/o/prev.f32"
check_expr "NaN: exit 1 naming file, time" '[ $rc -eq 1 ] && said "nan.wav" && said "0.500 s" && said NaN'
enc "$tmp/inf.wav" -o "$tmp/o/prev.f32"
check_expr "inf: exit 1 naming the time" '[ $rc -eq 1 ] && said "0.250 s" && said infinite'
enc "$tmp/allnan.wav" -o "$tmp/o/prev.f32"
check_expr "all NaN: exit 1" '[ $rc -eq 1 ] && said "0.000 s"'
check "failed runs left the old output untouched" [ "$(cat "$tmp/o/prev.f32")" = "keep me" ]
check "failed runs left no sidecar or temporary" [ "$(ls "$tmp/o")" = "prev.f32" ]
rm "$tmp/o/prev.f32"

# shorter than a frame: one window of padded audio
wav_f32 "$tmp/one.wav" 16000 1 "$QUART"
wav_f32 "$tmp/5ms.wav" 16000 80 "$QUART" "$N1E30"
wav_f32 "$tmp/5ms48.wav" 48000 240 "$QUART"
for f in one 5ms 5ms48; do
  enc "$tmp/$f.wav" -o "$tmp/o/$f.f32"
  check_expr "$f.wav: exit 0, one window" '[ $rc -eq 0 ] && grep -q "\"windows\": 1" "$tmp/out"'
  check "$f.wav: 1 x 1500 x 384 finite floats" \
    [ "$(stat -c %s "$tmp/o/$f.f32" 2> /dev/null)" = $((1500 * 384 * 4)) ]
  check "$f.wav: finite" all_finite "$tmp/o/$f.f32"
  rm -f "$tmp/o/$f.f32" "$tmp/o/$f.f32.json"
done

# a file that ends before its header says: a warning with how much was read
head -c 100044 "$data/jfk.wav" > "$tmp/cut.wav"
enc "$tmp/cut.wav"
check_expr "truncated WAV: exit 0 with a warning" '[ $rc -eq 0 ] && said "warning" && said "ends early" && said "of the 176000 frames its header announces were read"'
enc "$data/jfk.wav"
check_expr "whole WAV: no warning" '[ $rc -eq 0 ] && ! said warning'

# not audio: each its own plain message, naming the file
mkdir "$tmp/dir.wav"; : > "$tmp/empty.wav"; echo "just some text" > "$tmp/text.wav"
head -c 30 "$data/jfk.wav" > "$tmp/header.wav"
enc "$tmp/dir.wav"; check_expr "directory: exit 1" '[ $rc -eq 1 ] && said "dir.wav: is a directory"'
enc "$tmp/empty.wav"; check_expr "empty file: exit 1" '[ $rc -eq 1 ] && said "empty.wav: is empty"'
enc "$tmp/text.wav"; check_expr "text: exit 1" '[ $rc -eq 1 ] && said "text.wav: not an audio file"'
enc "$tmp/header.wav"; check_expr "cut header: exit 1" '[ $rc -eq 1 ] && said "header.wav: a damaged or incomplete audio file"'
enc "$tmp/none.wav"; check_expr "missing: exit 1 with strerror" '[ $rc -eq 1 ] && said "No such file or directory"'

# streams: a FIFO with a writer (several times: the old double open lost
# data now and then) and standard input, redirected and piped
mkfifo "$tmp/fifo"
for i in 1 2 3 4; do
  (cat "$data/jfk.wav" > "$tmp/fifo" &)
  enc "$tmp/fifo"
  check_expr "FIFO run $i: exit 0, 11 s" '[ $rc -eq 0 ] && grep -q "\"audio_s\": 11.000" "$tmp/out"'
done
run "$cli" encode -m "$tmp/tiny.bin" - --threads 2 --json < "$data/jfk.wav"
check_expr "stdin redirected: exit 0" '[ $rc -eq 0 ] && grep -q "\"audio_s\": 11.000" "$tmp/out"'
cat "$data/jfk.wav" | "$cli" encode -m "$tmp/tiny.bin" - --threads 2 --json > "$tmp/out" 2> "$tmp/err"
check_expr "stdin piped: exit 0" '[ $? -eq 0 ] && grep -q "\"audio_s\": 11.000" "$tmp/out"'
: | "$cli" encode -m "$tmp/tiny.bin" - > "$tmp/out" 2> "$tmp/err"
check_expr "empty stdin: exit 1" '[ $? -eq 1 ] && said "standard input: is empty"'

# a run killed while writing leaves no file (output written under no name
# until the end); one killed after its last write (before it exited) has
# left both files whole (one window of 1500 x 384 floats and its sidecar);
# never one file alone or a temporary name.  Two kill times: early (during
# the load or the encoder) and late (racing the end of the run).
whole_pair() {
  [ "$(stat -c %s "$tmp/o/killed.f32" 2> /dev/null)" = "$((1500 * 384 * 4))" ] &&
    [ -s "$tmp/o/killed.f32.json" ] && [ "$(ls -A "$tmp/o" | wc -l)" -eq 2 ]
}
for delay in 0.2 1; do
  "$cli" encode -m "$tmp/tiny.bin" "$data/jfk.wav" --threads 1 -o "$tmp/o/killed.f32" \
    > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  killed_rc=$?
  if [ "$killed_rc" -eq 0 ]; then
    check "a run that finished before the kill at $delay s left whole files" whole_pair
  else
    check_expr "a run killed at $delay s left nothing, or both files whole" \
      '[ -z "$(ls -A "$tmp/o")" ] || whole_pair'
  fi
  rm -f "$tmp/o"/* "$tmp/o"/.[!.]* 2> /dev/null
done
finish bad_audio

#!/usr/bin/env bash
# What `make demo` runs, on the Release CLI given as $1:
#  1. tilewhisper transcribe on tests/data/jfk.wav and the micro-samples,
#     printing each SRT and the timings.  Without MODEL the model is a
#     synthetic base-sized one with random weights (real weights cannot be
#     downloaded where this is built): real shapes and costs, meaningless
#     text.  `make demo MODEL=path/to/ggml-base.en.bin` transcribes the same
#     files for real (any whisper.cpp ggml model file).
#  2. the engine's own figures: the invocation study (counts and modeled
#     time), the base encoder, and transcription end to end.
set -euo pipefail
tw="${1:-build/release/tilewhisper}"
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/tests/data"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
model="${MODEL:-}"
audio=("$data/jfk.wav" "$data"/micro-?.wav)

echo "== tilewhisper $("$tw" --version | head -1 | cut -d' ' -f2) on $(nproc) cores; devices:" \
  "$("$tw" devices 2> /dev/null | grep -E '^[a-z]' | cut -d: -f1 | tr '\n' ' ')"
echo
if [ -n "$model" ]; then
  echo "== transcribing with $model (OpenAI's CLI defaults: beam 5, temperature fallback)"
  opts=()
else
  cat << EOF
== NOTE: no MODEL given, so this runs a SYNTHETIC base-sized model with RANDOM weights.
   The shapes and the costs are those of Whisper base; THE TEXT IT PRINTS IS MEANINGLESS
   (and random weights let the audio barely reach the text: the files come out alike).
   To transcribe these files for real, give a whisper.cpp ggml model file:
       make demo MODEL=path/to/ggml-base.en.bin
   (30 tokens per window, as in the benchmark, and no temperature fallback: random
   weights fail the log-probability test in every window, a real model does not.)

EOF
  "$tw" synth-model --size base --header "$data/for-tests-ggml-base.bin" -o "$tmp/base.bin" \
    > /dev/null
  model="$tmp/base.bin"
  opts=(--language en --max-tokens-per-window 30 --temperature-increment-on-fallback 0)
fi

# One call for every file: the model loads once; each file's outputs are
# written when it is done.  --json-stats prints one line of timings per file.
start=$(date +%s%N)
"$tw" transcribe -m "$model" "${audio[@]}" ${opts[@]+"${opts[@]}"} --threads 2 -f all \
  -o "$tmp/out" --json-stats 2> "$tmp/stderr.txt"
ms=$((($(date +%s%N) - start) / 1000000))
grep -v '^{' "$tmp/stderr.txt" || true # warnings, if any
for f in "${audio[@]}"; do
  stem="$(basename "$f" .wav)"
  echo "--- $stem.srt"
  cat "$tmp/out/$stem.srt"
  if [ -z "${MODEL:-}" ] || ! grep -q "^$stem.wav" "$data/transcript.tsv"; then continue; fi
  echo "    (what was said: $(grep "^$stem.wav" "$data/transcript.tsv" | cut -f2 | paste -sd'|' |
    sed 's/|/ | /g'))"
done
echo
echo "== timings (seconds; rtf = transcribe time / audio length; the model loaded once)"
python3 - "$tmp/stderr.txt" << 'EOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(f"  {'file':<12} {'audio':>6} {'read':>7} {'transcribe':>10} {'rtf':>6} {'windows':>7} {'tokens':>6}")
for r in rows:
    print(f"  {os.path.basename(r['file']):<12} {r['audio_duration_s']:6.2f} {r['read_s']:7.4f} "
          f"{r['transcribe_s']:10.3f} {r['rtf']:6.3f} {r['windows']:7d} {r['tokens']:6d}")
if rows:
    print(f"  model load {rows[0]['load_s']:.3f} s on {rows[0]['encoder_device']}/"
          f"{rows[0]['decoder_device']}, {rows[0]['threads']} threads; "
          f"{sum(r['audio_duration_s'] for r in rows):.1f} s of audio done in "
          f"{rows[-1]['total_s']:.2f} s")
EOF
printf "  (wall time of the whole command: %d.%03d s)\n" $((ms / 1000)) $((ms % 1000))
echo

echo "== transcription end to end: jfk.wav, greedy and beam 5, 30 tokens per window"
echo "   (tilewhisper bench --transcribe --runs 1)"
"$tw" bench --transcribe --runs 1 --audio "$data/jfk.wav" --header "$data/for-tests-ggml-base.bin"
echo
echo "== the Whisper-base encoder, one 30 s window (tilewhisper bench --encoder --runs 3)"
"$tw" bench --encoder --runs 3
echo
echo "== the invocation study, counts and modeled time (tilewhisper bench --count-only)"
"$tw" bench --count-only

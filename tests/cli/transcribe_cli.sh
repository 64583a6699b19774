#!/usr/bin/env bash
# tilewhisper transcribe and detect-language on a synthetic tiny model (one
# layer, random weights: the text is meaningless, its structure is not).
# Every format's file is checked against the JSON by an independent Python
# rendering of OpenAI's writers; one call over several files against one
# call per file; cpu against ref; seeds; refusals and their exit codes;
# Ctrl-C; the ASan run of a synthetic base model with beam 5 and fallback.
set -u
cli="$1"
data="${TW_TEST_DATA:-tests/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/check.sh"

"$cli" synth-model --size tiny --layers 1 --seed 3 --header "$data/for-tests-ggml-base.bin" \
  -o "$tmp/tiny.bin" > /dev/null || { echo "FAIL: synth-model" >&2; exit 1; }
m=(-m "$tmp/tiny.bin" --threads 2)
# A few tokens per window keep each file to about a second under ASan.
short=(--max-tokens-per-window 12)

# ---- every format, one call over two files --------------------------------
"$cli" transcribe "${m[@]}" "${short[@]}" "$data/jfk.wav" "$data/micro-4.wav" -f all \
  -o "$tmp/all/deeper" > /dev/null 2> "$tmp/err.txt"
check_expr "two files, -f all: exit 0" '[ $? -eq 0 ]'
for stem in jfk micro-4; do
  for ext in txt srt vtt tsv json; do
    check "$stem.$ext written" test -s "$tmp/all/deeper/$stem.$ext"
  done
done
check_expr "nothing else in -o (no temporaries)" '[ "$(ls -A "$tmp/all/deeper" | wc -l)" -eq 10 ]'
check_expr "damaged vocabulary warned once" '[ "$(grep -c "damaged vocabulary" "$tmp/err.txt")" -eq 1 ]'
check_expr "--progress auto: no bar when stderr is not a terminal" '! grep -q "window" "$tmp/err.txt"'

# Each format re-rendered from the JSON (OpenAI's utils.py rules written out
# here: SRT numbered from 1 with HH:MM:SS,mmm; VTT header and MM:SS.mmm;
# TSV integer milliseconds) and compared with the file the CLI wrote.
cat > "$tmp/formats.py" << 'EOF'
import json, sys
d, stem = sys.argv[1], sys.argv[2]
r = json.load(open(f"{d}/{stem}.json", encoding="utf-8"))
assert isinstance(r["text"], str) and isinstance(r["language"], str), "text/language"
segs = r["segments"]
assert segs, "no segments"
keys = ["id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
        "compression_ratio", "no_speech_prob"]
for i, s in enumerate(segs):
    assert all(k in s for k in keys), f"segment {i} lacks a field"
    assert s["id"] == i and s["start"] <= s["end"], f"segment {i} id/times"
    assert all(isinstance(t, int) for t in s["tokens"]), "token ids"
assert r["text"] == "".join(s["text"] for s in segs), "text is the segments' text"
def ts(x, hours, mark):
    ms = round(x * 1000.0)
    h, ms = divmod(ms, 3600000)
    mi, ms = divmod(ms, 60000)
    se, ms = divmod(ms, 1000)
    return (f"{h:02d}:" if hours or h > 0 else "") + f"{mi:02d}:{se:02d}{mark}{ms:03d}"
txt = "".join(s["text"].strip() + "\n" for s in segs)
srt = "".join(f"{i}\n{ts(s['start'], True, ',')} --> {ts(s['end'], True, ',')}\n"
              f"{s['text'].strip().replace('-->', '->')}\n\n" for i, s in enumerate(segs, 1))
vtt = "WEBVTT\n\n" + "".join(f"{ts(s['start'], False, '.')} --> {ts(s['end'], False, '.')}\n"
                             f"{s['text'].strip().replace('-->', '->')}\n\n" for s in segs)
tsv = "start\tend\ttext\n" + "".join(
    f"{round(1000 * s['start'])}\t{round(1000 * s['end'])}\t{s['text'].strip().replace(chr(9), ' ')}\n"
    for s in segs)
for ext, want in (("txt", txt), ("srt", srt), ("vtt", vtt), ("tsv", tsv)):
    got = open(f"{d}/{stem}.{ext}", encoding="utf-8").read()
    assert got == want, f"{stem}.{ext} differs from its rendering of the JSON"
EOF
for stem in jfk micro-4; do
  check "$stem: json, txt, srt, vtt, tsv agree with OpenAI's rules" \
    python3 "$tmp/formats.py" "$tmp/all/deeper" "$stem"
done

# ---- the same files one call each: identical bytes ------------------------
for f in jfk micro-4; do
  "$cli" transcribe "${m[@]}" "${short[@]}" "$data/$f.wav" -f all -o "$tmp/one" 2> /dev/null
done
for stem in jfk micro-4; do
  for ext in txt srt vtt tsv json; do
    check "$stem.$ext: one call = one call per file" \
      cmp -s "$tmp/all/deeper/$stem.$ext" "$tmp/one/$stem.$ext"
  done
done
# without -o: txt (the default) and srt on standard output
"$cli" transcribe "${m[@]}" "${short[@]}" "$data/jfk.wav" > "$tmp/stdout.txt" 2> /dev/null
check "stdout defaults to txt, same as the file" cmp -s "$tmp/stdout.txt" "$tmp/all/deeper/jfk.txt"
"$cli" transcribe "${m[@]}" "${short[@]}" "$data/jfk.wav" -f srt > "$tmp/stdout.srt" 2> /dev/null
check "-f srt on stdout, same as the file" cmp -s "$tmp/stdout.srt" "$tmp/all/deeper/jfk.srt"

# ---- verbose, stats, progress -----------------------------------------------
"$cli" transcribe "${m[@]}" "${short[@]}" "$data/micro-4.wav" -f json -o "$tmp/v" --verbose \
  --json-stats --progress always > "$tmp/verbose.txt" 2> "$tmp/stats.txt"
n_seg=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["segments"]))' "$tmp/v/micro-4.json")
check_expr "--verbose: one [MM:SS.mmm --> MM:SS.mmm] line per segment ($n_seg)" \
  '[ "$(grep -cE "^\[[0-9]{2}:[0-9]{2}\.[0-9]{3} --> [0-9]{2}:[0-9]{2}\.[0-9]{3}\] " "$tmp/verbose.txt")" -eq "$n_seg" ]'
check_expr "--verbose names the detected language" 'grep -q "^Detected language: " "$tmp/verbose.txt"'
check_expr "--progress always reaches 100%" 'grep -q "100%" "$tmp/stats.txt"'
check "--json-stats: one JSON line with the stages" python3 -c '
import json, sys
lines = [l[l.index("{"):] for l in open(sys.argv[1]) if "{" in l]
assert len(lines) == 1
s = json.loads(lines[0])
assert s["file"].endswith("micro-4.wav") and s["windows"] >= 1 and s["tokens"] > 0
assert 0 < s["transcribe_s"] <= s["total_s"] and s["load_s"] > 0
assert abs(s["audio_duration_s"] - 7.418) < 0.01, s["audio_duration_s"]
assert abs(s["rtf"] - s["transcribe_s"] / s["audio_duration_s"]) < 1e-3
stages = [s[k] for k in ("mel_s", "encode_s", "cross_kv_s", "decode_s", "rules_s")]
assert all(x >= 0 for x in stages) and s["encode_s"] > 0 and s["decode_s"] > 0, stages
assert sum(stages) <= s["transcribe_s"] + 1e-3, (stages, s["transcribe_s"])
assert s["encoder_passes"] >= s["windows"] and s["decoder_calls"] >= s["tokens"] / 5' "$tmp/stats.txt"

# ---- cpu and ref give the same tokens ---------------------------------------
# The ref device keeps weights in bf16 only (it refuses --fp32), so the cpu
# runs with bf16 weight storage here too; ref sums in fp64, cpu in fp32.  On
# random weights the top two logits are ~0.01 apart at worst on this input
# while the two devices differ by ~1e-5, so no near-tie flips: every token of
# micro-1's window is compared (greedy, one window, English given).
cmp_opts=(-l en -bs 0 --temperature-increment-on-fallback 0 --max-tokens-per-window 10 -f json)
"$cli" transcribe "${m[@]}" "${cmp_opts[@]}" "$data/micro-1.wav" --device cpu > "$tmp/cpu.json" 2> /dev/null
"$cli" transcribe "${m[@]}" "${cmp_opts[@]}" "$data/micro-1.wav" --device ref > "$tmp/ref.json" 2> /dev/null
check "cpu and ref: the same segment tokens" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ta, tb = ([s["tokens"] for s in r["segments"]] for r in (a, b))
assert sum(map(len, ta)) >= 6 and ta == tb, (ta, tb)' "$tmp/cpu.json" "$tmp/ref.json"
"$cli" transcribe "${m[@]}" "${cmp_opts[@]}" "$data/micro-1.wav" --device ref --fp32 \
  > /dev/null 2> "$tmp/err.txt"
check_expr "--fp32 on ref: exit 1 saying bf16 only" '[ $? -eq 1 ] && grep -q "bf16" "$tmp/err.txt"'

# ---- sampling: the seed decides -------------------------------------------
hot=(-l en --temperature 0.5 --temperature-increment-on-fallback 0 --best-of 2
  --max-tokens-per-window 8 -f json)
"$cli" transcribe "${m[@]}" "${hot[@]}" --seed 7 "$data/micro-1.wav" > "$tmp/s7a.json" 2> /dev/null
"$cli" transcribe "${m[@]}" "${hot[@]}" --seed 7 "$data/micro-1.wav" > "$tmp/s7b.json" 2> /dev/null
"$cli" transcribe "${m[@]}" "${hot[@]}" --seed 8 "$data/micro-1.wav" > "$tmp/s8.json" 2> /dev/null
check "--seed 7 twice at T 0.5: identical" cmp -s "$tmp/s7a.json" "$tmp/s7b.json"
check_expr "--seed 8 samples other tokens" '! cmp -s "$tmp/s7a.json" "$tmp/s8.json"'
check "T 0.5 is recorded in the segments" python3 -c '
import json, sys
assert all(s["temperature"] == 0.5 for s in json.load(open(sys.argv[1]))["segments"])' "$tmp/s7a.json"

# ---- refusals: exit codes, messages, nothing half written -------------------
python3 - "$tmp/nan.wav" << 'EOF'
import struct, sys
x = [0.0] * 8000 + [float("nan")] + [0.0] * 7999  # float32 WAV, NaN at 0.5 s
data = struct.pack(f"<{len(x)}f", *x)
hdr = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 3, 1,
                  16000, 64000, 4, 32, b"data", len(data))
open(sys.argv[1], "wb").write(hdr + data)
EOF
mkdir -p "$tmp/bad"
"$cli" transcribe "${m[@]}" "${short[@]}" "$tmp/nan.wav" "$data/micro-1.wav" -f json \
  -o "$tmp/bad" > /dev/null 2> "$tmp/err.txt"
check_expr "NaN audio among good: exit 1 naming the file" '[ $? -eq 1 ] && grep -q "nan.wav" "$tmp/err.txt"'
check_expr "the good file is still written, the bad one not" \
  '[ -s "$tmp/bad/micro-1.json" ] && [ "$(ls -A "$tmp/bad")" = "micro-1.json" ]'
"$cli" transcribe "${m[@]}" "$tmp" -o "$tmp/dir" 2> "$tmp/err.txt"
check_expr "a directory as audio: exit 1" '[ $? -eq 1 ] && [ -z "$(ls -A "$tmp/dir")" ]'
"$cli" transcribe -m "$tmp/missing.bin" "$data/jfk.wav" -o "$tmp/nomodel" 2> "$tmp/err.txt"
check_expr "missing model: exit 1 naming it" '[ $? -eq 1 ] && grep -q "missing.bin" "$tmp/err.txt"'
check_expr "missing model: no output" '[ -z "$(ls -A "$tmp/nomodel" 2> /dev/null)" ]'
"$cli" transcribe "${m[@]}" "$data/jfk.wav" -f docx 2> "$tmp/err.txt"
check_expr "unknown format: exit 2 naming it" '[ $? -eq 2 ] && grep -q "docx" "$tmp/err.txt"'
"$cli" transcribe "${m[@]}" "$data/jfk.wav" -f all 2> "$tmp/err.txt"
check_expr "-f all without -o: exit 2 saying why" '[ $? -eq 2 ] && grep -q "needs -o" "$tmp/err.txt"'
cp "$data/jfk.wav" "$tmp/keep.wav"
"$cli" transcribe "${m[@]}" "$tmp/keep.wav" -o "$tmp/keep.wav" 2> "$tmp/err.txt"
check_expr "-o the audio file: exit 2" '[ $? -eq 2 ] && cmp -s "$tmp/keep.wav" "$data/jfk.wav"'
mkdir -p "$tmp/clash" && cp "$data/jfk.wav" "$tmp/clash/clip.json"
"$cli" transcribe "${m[@]}" "$tmp/clash/clip.json" -f json -o "$tmp/clash" 2> "$tmp/err.txt"
check_expr "output file = input (clip.json -> clip.json): exit 2, input kept" \
  '[ $? -eq 2 ] && grep -q "refusing" "$tmp/err.txt" && cmp -s "$tmp/clash/clip.json" "$data/jfk.wav"'
"$cli" transcribe "${m[@]}" "$data/jfk.wav" --beam-size x 2> "$tmp/err.txt"
check_expr "bad number: exit 2 naming the option" '[ $? -eq 2 ] && grep -q -- "--beam-size" "$tmp/err.txt"'
"$cli" transcribe "${m[@]}" "$data/jfk.wav" --temperature nan 2> "$tmp/err.txt"
check_expr "NaN temperature: exit 2" '[ $? -eq 2 ] && grep -q -- "--temperature" "$tmp/err.txt"'
"$cli" transcribe "${m[@]}" "$data/jfk.wav" --language klingon 2> "$tmp/err.txt"
check_expr "unknown language: exit 2" '[ $? -eq 2 ] && grep -q "klingon" "$tmp/err.txt"'
check "unknown option: exit 2" expect_rc 2 "$cli" transcribe "${m[@]}" "$data/jfk.wav" --frobnicate
check "missing value: exit 2" expect_rc 2 "$cli" transcribe "${m[@]}" "$data/jfk.wav" --seed
check "no audio: exit 2" expect_rc 2 "$cli" transcribe "${m[@]}"
check "no model: exit 2" expect_rc 2 "$cli" transcribe "$data/jfk.wav"
check "OpenAI's spelling --beam_size=2 accepted" expect_rc 0 "$cli" transcribe "${m[@]}" \
  "$data/micro-3.wav" --beam_size=2 --max_tokens_per_window=4 --temperature_increment_on_fallback=0
"$cli" transcribe --help > "$tmp/help.txt" 2> "$tmp/err.txt"
check_expr "--help: exit 0 with the usage, nothing on stderr" \
  '[ $? -eq 0 ] && grep -q -- "--output-format" "$tmp/help.txt" && [ ! -s "$tmp/err.txt" ]'
for cmd in "detect-language" "bench --transcribe"; do
  "$cli" $cmd -h > "$tmp/help.txt" 2> "$tmp/err.txt"
  check_expr "$cmd -h: exit 0, usage on stdout" \
    '[ $? -eq 0 ] && grep -q "^usage: " "$tmp/help.txt" && [ ! -s "$tmp/err.txt" ]'
done

# ---- Ctrl-C: stops between steps, exit 130, nothing partial ------------------
for i in 1 2 3 4 5 6; do cp "$data/jfk.wav" "$tmp/int$i.wav"; done
"$cli" transcribe "${m[@]}" -bs 0 --temperature-increment-on-fallback 0 \
  --max-tokens-per-window 100 "$tmp"/int?.wav -f all -o "$tmp/int" \
  > /dev/null 2> "$tmp/int.err" &
pid=$!
for _ in $(seq 600); do [ -e "$tmp/int/int1.json" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
check_expr "SIGINT: exit 130" '[ $? -eq 130 ] && grep -q "interrupted" "$tmp/int.err"'
check_expr "SIGINT: whole files only, the rest not written" \
  '[ -s "$tmp/int/int1.json" ] && [ ! -e "$tmp/int/int6.json" ] &&
   [ $(( $(ls -A "$tmp/int" | wc -l) % 5 )) -eq 0 ]'

# ---- detect-language -----------------------------------------------------
"$cli" detect-language "${m[@]}" "$data/jfk.wav" --top 99 --json > "$tmp/lang.json"
check_expr "detect-language: exit 0" '[ $? -eq 0 ]'
check "99 probabilities sum to 1, falling, the first is 'language'" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = list(d["probabilities"].items())
assert len(p) == 99 and abs(sum(v for _, v in p) - 1) < 1e-3, sum(v for _, v in p)
assert all(p[i][1] >= p[i + 1][1] for i in range(98)) and d["language"] == p[0][0]' "$tmp/lang.json"
"$cli" detect-language "${m[@]}" "$data/jfk.wav" > "$tmp/lang.txt"
check_expr "text mode: 5 lines 'code prob name'" \
  '[ "$(grep -cE "^[a-z]{2,3} +[01]\.[0-9]{6}  [a-z]" "$tmp/lang.txt")" -eq 5 ]'
"$cli" synth-model --size tiny.en --layers 1 -o "$tmp/tiny.en.bin" > /dev/null 2>&1
"$cli" detect-language -m "$tmp/tiny.en.bin" "$data/jfk.wav" > "$tmp/en.txt" 2> "$tmp/err.txt"
check_expr "English-only model: en 1.0, saying why" \
  '[ $? -eq 0 ] && grep -qE "^en +1\.000000" "$tmp/en.txt" && grep -q "English-only" "$tmp/err.txt"'

# ---- bench --transcribe on the small model ---------------------------------
"$cli" bench --transcribe --size tiny --layers 1 --header "$data/for-tests-ggml-base.bin" \
  --audio "$data/micro-3.wav" --runs 1 --max-tokens-per-window 4 --json > "$tmp/bench.json"
check "bench --transcribe: greedy and beam5 with stages" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [c["case"] for c in d["cases"]] == ["greedy", "beam5"]
for c in d["cases"]:
    assert c["tokens_kept"] > 0 and c["windows"] >= 1 and c["total_s"] > 0
    assert c["tokens_decoded"] == 4 * c["windows"]
    assert abs(c["total_s"] - (c["load_s"] + c["read_s"] + c["transcribe_s"])) < 1e-5
    assert abs(c["rtf"] - c["total_s"] / d["audio_s"]) < 1e-4' "$tmp/bench.json"

# ---- the ASan run: a synthetic base model on jfk.wav, beam 5, fallback on -----
# Random weights fail the log-probability test in every window, so all six
# temperatures run (beam 5 at T 0, best-of 5 above); 16 tokens per window
# bound the time (~1 min under ASan on 2 cores).
"$cli" synth-model --size base --seed 5 --header "$data/for-tests-ggml-base.bin" \
  -o "$tmp/base.bin" > /dev/null
"$cli" transcribe -m "$tmp/base.bin" --threads 2 "$data/jfk.wav" --beam-size 5 \
  --temperature-increment-on-fallback 0.2 --max-tokens-per-window 16 -f json -o "$tmp/base" \
  2> "$tmp/err.txt"
check_expr "base, jfk.wav, beam 5 + fallback: exit 0" '[ $? -eq 0 ] && [ -s "$tmp/base/jfk.json" ]'
check "base: fallback reached T 1.0 (random weights fail every attempt)" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["segments"]
assert s and all(x["temperature"] == 1.0 and x["avg_logprob"] < -1 for x in s), s' "$tmp/base/jfk.json"

finish transcribe_cli

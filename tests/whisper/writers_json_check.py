"""Checks the JSON files test_writers_json writes into DIR (argv[1]).

Each file must be strict UTF-8 and strict JSON (no NaN/Infinity), parse to
the values built here by hand, and be byte for byte what Python's
json.dumps(..., ensure_ascii=False) writes for those values (OpenAI's
WriteJSON is json.dump; we differ only in leaving non-ASCII unescaped).
Prints one line per failure; exit status 1 on any.
"""
import json
import os
import struct
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what, file=sys.stderr)


def reject_constant(name):
    raise ValueError("non-JSON constant " + name)


def load(path):
    data = open(path, "rb").read()
    text = data.decode("utf-8")  # strict: raises on ill-formed UTF-8
    return data, json.loads(text, parse_constant=reject_constant)


def same_bytes(data, value, what):
    want = json.dumps(value, ensure_ascii=False).encode("utf-8")
    check(data == want, f"{what}: bytes differ from json.dumps\n got {data!r}\nwant {want!r}")


def check_escapes(path):
    data, got = load(path)
    expected = {
        "text": ' He said "hi" \\ \n\t\x01\x1f\x7f Café 日 😀 '
        + b"\xff".decode("utf-8", "replace")
        + "\b\f\r/",
        "segments": [
            {
                "id": 0, "seek": 0, "start": 0.0, "end": 2.5, "text": ' Café --> "x"',
                "tokens": [50364, 1012, 50489], "temperature": 0.2,
                "avg_logprob": -0.2876543253660202, "compression_ratio": 1e-05,
                "no_speech_prob": None,  # NaN in C
            },
            {
                "id": 1, "seek": 250, "start": 2.5, "end": 1e16, "text": "", "tokens": [],
                "temperature": 0.0, "avg_logprob": -0.0, "compression_ratio": 1e15,
                "no_speech_prob": 5e-324,
            },
        ],
        "language": "de",
    }
    check(got == expected, f"escapes: parsed {got!r}")
    check(list(got) == ["text", "segments", "language"], "escapes: top-level key order")
    check(list(got["segments"][0]) == ["id", "seek", "start", "end", "text", "tokens",
                                       "temperature", "avg_logprob", "compression_ratio",
                                       "no_speech_prob"], "escapes: segment key order")
    check(str(got["segments"][1]["avg_logprob"]) == "-0.0", "escapes: sign of -0.0 kept")
    same_bytes(data, expected, "escapes")


def check_empty(path):
    data, got = load(path)
    expected = {"text": "", "segments": [], "language": "ja"}
    check(got == expected, f"empty: parsed {got!r}")
    same_bytes(data, expected, "empty")


def check_random(path, hex_path):
    data, got = load(path)
    bits = [line.strip() for line in open(hex_path)]
    values = [struct.unpack(">d", bytes.fromhex(b))[0] for b in bits]
    fields = ["start", "end", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"]
    check(len(got["segments"]) * len(fields) == len(values), "random: count")
    for i, seg in enumerate(got["segments"]):
        check(seg["id"] == i and seg["seek"] == 3000 * i, f"random: segment {i} id/seek")
        for k, name in enumerate(fields):
            want = values[i * len(fields) + k]
            have = seg[name]
            check(struct.pack(">d", have) == struct.pack(">d", want),
                  f"random: segment {i} {name}: {have!r} != {want!r}")
    same_bytes(data, got, "random (repr of every float)")


def timestamp(seconds, always_include_hours=False, marker="."):
    """OpenAI's format_timestamp rules: round to ms (half to even), split."""
    ms = round(seconds * 1000.0)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1_000)
    hours = f"{h:02d}:" if always_include_hours or h > 0 else ""
    return f"{hours}{m:02d}:{s:02d}{marker}{ms:03d}"


def check_fuzz(d):
    """Every format of the fuzz transcript, rebuilt here from the raw bytes."""
    texts = [bytes.fromhex(line.strip()).decode("utf-8", "replace")
             for line in open(os.path.join(d, "fuzz.hex"))]
    data, got = load(os.path.join(d, "fuzz.json"))
    segs = got["segments"]
    check(len(segs) == len(texts), "fuzz: segment count")
    check(got["text"] == texts[7], f"fuzz: top-level text {got['text']!r}")
    for i, (seg, text) in enumerate(zip(segs, texts)):
        check(seg["text"] == text, f"fuzz: json text {i}: {seg['text']!r} != {text!r}")
    same_bytes(data, got, "fuzz json")
    times = [(seg["start"], seg["end"]) for seg in segs]
    subtitle = [t.strip().replace("-->", "->") for t in texts]
    want = {
        "txt": "".join(t.strip() + "\n" for t in texts),
        "vtt": "WEBVTT\n\n" + "".join(
            f"{timestamp(a)} --> {timestamp(b)}\n{t}\n\n" for (a, b), t in zip(times, subtitle)),
        "srt": "".join(
            f"{i}\n{timestamp(a, True, ',')} --> {timestamp(b, True, ',')}\n{t}\n\n"
            for i, ((a, b), t) in enumerate(zip(times, subtitle), start=1)),
        "tsv": "start\tend\ttext\n" + "".join(
            f"{round(1000 * a)}\t{round(1000 * b)}\t{t.strip().replace(chr(9), ' ')}\n"
            for (a, b), t in zip(times, texts)),
    }
    for ext, expected in want.items():
        have = open(os.path.join(d, "fuzz." + ext), "rb").read().decode("utf-8")
        if have != expected:
            where = next(i for i, (x, y) in enumerate(zip(have, expected)) if x != y) \
                if any(x != y for x, y in zip(have, expected)) else min(len(have), len(expected))
            check(False, f"fuzz.{ext}: differs at char {where}: "
                         f"{have[where - 40:where + 40]!r} vs {expected[where - 40:where + 40]!r}")


def main():
    d = sys.argv[1]
    check_escapes(os.path.join(d, "escapes.json"))
    check_empty(os.path.join(d, "empty.json"))
    check_random(os.path.join(d, "random.json"), os.path.join(d, "random.hex"))
    check_fuzz(d)
    print(f"writers_json_check: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

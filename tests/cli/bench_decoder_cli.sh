#!/usr/bin/env bash
# tilewhisper bench --decoder: usage contract (the measurement itself runs a
# base-sized model and is left to the benchmark runs).
set -u
tw="$1"
. "$(dirname "$0")/lib/check.sh"

check "help exits 0" expect_rc 0 "$tw" bench --decoder --help
check "help names the options" grep -q -- "--no-emu" <<<"$("$tw" bench --decoder --help)"
check "unknown flag exits 2" expect_rc 2 "$tw" bench --decoder --bogus
check "runs 0 exits 2" expect_rc 2 "$tw" bench --decoder --runs 0
check "threads 999 exits 2" expect_rc 2 "$tw" bench --decoder --threads 999
check "unknown size exits 1" expect_rc 1 "$tw" bench --decoder --size nosuch --no-emu

finish bench_decoder_cli

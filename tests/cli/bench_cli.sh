#!/usr/bin/env bash
# CLI contract of `tilewhisper bench`: usage errors, JSON lines and keys, and
# the seed's invocation counts and modeled times, from the tiling formula:
# ceil(3001/64)*8*8 = 3008, ceil(3001/64)*8 = 376, ceil(3001/128)*8 = 192
# calls at 54.4 ms = 163.635 s, 20.4544 s, 10.4448 s.
set -u
tw="$1"
. "$(dirname "$0")/lib/check.sh"

check "help exits 0" expect_rc 0 "$tw" bench --help
check "unknown flag" expect_rc 2 "$tw" bench --bogus
check "bad call delay" expect_rc 2 "$tw" bench --emu-call-us -5
check "unknown profile" expect_rc 2 "$tw" bench --profile nosuch

json=$("$tw" bench --json)
check "json exits 0" [ $? -eq 0 ]
check "18 lines: 3 cases x 6 strategies" [ "$(grep -c '^{' <<<"$json")" -eq 18 ]
for key in case strategy invocations submissions bytes_to_device bytes_from_device modeled_s \
  wall_s rel_err; do
  check "every line has $key" [ "$(grep -c "\"$key\":" <<<"$json")" -eq 18 ]
done
row() { grep "\"case\":\"$1\",\"strategy\":\"$2\"," <<<"$json"; }
check "naive 3008" grep -q '"invocations":3008,' <<<"$(row 3001x512x512 naive)"
check "host-batched 3008" grep -q '"invocations":3008,' <<<"$(row 3001x512x512 host-batched)"
check "64x512 376" grep -q '"invocations":376,' <<<"$(row 3001x512x512 kernel-64x512)"
check "128x512 192" grep -q '"invocations":192,' <<<"$(row 3001x512x512 kernel-128x512)"
check "128x512 seed claim 188" grep -q '"seed_claim":{"invocations":188' \
  <<<"$(row 3001x512x512 kernel-128x512)"
check "naive seed 163.635 s" grep -q '"seed":163.635,' <<<"$(row 3001x512x512 naive)"
check "64x512 seed 20.4544 s" grep -q '"seed":20.4544,' <<<"$(row 3001x512x512 kernel-64x512)"
check "128x512 seed 10.4448 s" grep -q '"seed":10.4448,' <<<"$(row 3001x512x512 kernel-128x512)"
check "encoder rows are not executed" [ "$(grep -c '"executed":false,"wall_s":null' <<<"$json")" -eq 12 ]
# naive encoder pass at 1500 rows: 24 row tiles; 24*8*8*24 + 24*32*8*6 * 2 + 24*24*48 * 2
check "naive encoder-1500 165888" grep -q '"invocations":165888,' \
  <<<"$(row encoder-base-1500 naive)"
check "executed rows match their plans" [ "$(grep -c '"counts_match_plan":true' <<<"$json")" -eq 6 ]

human=$("$tw" bench --count-only)
check "human table exits 0" [ $? -eq 0 ]
check "human table labels modeled time" grep -q "MODELED" <<<"$human"
check "human table shows 163.6 s" grep -q "163.6 s" <<<"$human"

finish bench_cli

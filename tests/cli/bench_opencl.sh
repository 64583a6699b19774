#!/usr/bin/env bash
# `tilewhisper bench --opencl`: usage errors, and on the opencl device the JSON
# lines' keys and the seed's invocation counts (tiling formula:
# 47*8*8 = 3008, 47*1*8 = 376, 24*1*8 = 192).  Skips the device part when
# the build or the machine has no OpenCL.
set -u
tw="$1"
. "$(dirname "$0")/lib/check.sh"

check "unknown flag" expect_rc 2 "$tw" bench --opencl --bogus
check "bad runs" expect_rc 2 "$tw" bench --opencl --runs 0
check "bad case" expect_rc 2 "$tw" bench --opencl --case decoder
check "unknown device fails" expect_rc 1 "$tw" bench --opencl --device nosuch --case seed

if "$tw" devices 2>/dev/null | grep -q '^opencl'; then
  json=$("$tw" bench --opencl --case seed --runs 1 --json)
  check "json exits 0" [ $? -eq 0 ]
  check "one line per strategy" [ "$(grep -c '^{' <<<"$json")" -eq 9 ]
  for key in case strategy invocations submissions bytes_to_device bytes_from_device wall_s \
    gflops rel_err; do
    check "every line has $key" [ "$(grep -c "\"$key\":" <<<"$json")" -eq 9 ]
  done
  check "naive: 3008 invocations, 3008 submissions" \
    grep -q '"strategy":"naive","invocations":3008,"submissions":3008,' <<<"$json"
  check "seed 64x64x512: 376" grep -q '"strategy":"seed-64x64x512","invocations":376,' <<<"$json"
  check "seed 128x64x512: 192" grep -q '"strategy":"seed-128x64x512","invocations":192,' <<<"$json"
  # The plan follows the device's cost figures, which it measures at
  # creation (and which a loaded machine skews): whatever it picks must not
  # take more invocations than the seed's best fixed shape.
  planned=$(sed -n 's/.*"strategy":"planned","invocations":\([0-9]*\),.*/\1/p' <<<"$json")
  check "planned: at most the seed's best 192 invocations (got $planned)" \
    test -n "$planned" -a "${planned:-999}" -le 192
else
  echo "bench_opencl: no opencl device here: device part not tested"
fi

finish bench_opencl

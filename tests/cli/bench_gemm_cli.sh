#!/usr/bin/env bash
# `tilewhisper bench --gemm` (issue 13): every table has a tw-default row,
# the header names OpenBLAS's core and the OPENBLAS_* variables in effect,
# and when the autodetected core is a generic fallback (decided by the
# bench, e.g. Prescott on an AVX-512 CPU) an openblas-fair row from the
# child run with OPENBLAS_CORETYPE set; `devices` shows the calibration.
set -u
tw="$1"
. "$(dirname "$0")/lib/check.sh"

check "unknown flag" expect_rc 2 "$tw" bench --gemm --bogus
json=$("$tw" bench --gemm --threads 1 --runs 1 --shape 1x512x2048 --json)
check "json exits 0" [ $? -eq 0 ]
check "tw-default row" grep -q '"shape":"1x512x2048","impl":"tw-default"' <<<"$json"
for impl in tw-bf16 tw-fp32 tw-bf16-a32; do
  check "$impl row" grep -q "\"impl\":\"$impl\"" <<<"$json"
done
if grep -q '"impl":"openblas",' <<<"$json"; then
  check "core named" grep -q '"impl":"openblas-core","threads":1,"core":"[A-Za-z0-9]' <<<"$json"
  check "env shown" grep -q '"env":"OPENBLAS_CORETYPE=' <<<"$json"
  core=$(sed -n 's/.*"openblas-core".*"core":"\([^"]*\)","fair_core":"\([^"]*\)".*/\1 \2/p' <<<"$json")
  read -r auto fair <<<"$core"
  if [ "$auto" != "$fair" ]; then
    check "fair row when $auto is a fallback" grep -q '"impl":"openblas-fair"' <<<"$json"
    check "tw rows compare with the fair core" \
      grep -q '"impl":"openblas","threads":1,.*"vs_openblas"' <<<"$json"
  else
    check "no fair row when $auto is fair" bash -c '! grep -q openblas-fair' <<<"$json"
  fi
  text=$(OPENBLAS_CORETYPE=HASWELL "$tw" bench --gemm --threads 1 --runs 1 --shape 1x512x2048)
  check "env in effect is printed" grep -q 'OPENBLAS_CORETYPE=HASWELL' <<<"$text"
else
  echo "bench_gemm_cli: built without OpenBLAS: baseline part not tested"
fi
devices=$("$tw" devices)
check "devices shows the calibration" grep -q 'calibration: ' <<<"$devices"
check "devices shows the figures" grep -q 'measured GFLOP/s on one core' <<<"$devices"
finish bench_gemm_cli

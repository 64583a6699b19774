#!/usr/bin/env bash
# CLI contract of `tilewhisper gemm`: exit codes, usage errors, JSON keys.
# Expected numbers come from the tiling formula, not from earlier output.
set -u
tw="$1"
. "$(dirname "$0")/lib/check.sh"

check "help exits 0" expect_rc 0 "$tw" --help
check "version exits 0" expect_rc 0 "$tw" --version
check "no command is a usage error" expect_rc 2 "$tw"
check "unknown command" expect_rc 2 "$tw" frobnicate
check "unknown flag" expect_rc 2 "$tw" gemm 8 8 8 --bogus
check "bad number" expect_rc 2 "$tw" gemm 8 x 8
check "zero dimension" expect_rc 2 "$tw" gemm 0 8 8
check "negative dimension" expect_rc 2 "$tw" gemm 8 -3 8
check "missing dimension" expect_rc 2 "$tw" gemm 8 8
check "bad threads" expect_rc 2 "$tw" gemm 8 8 8 --threads zero
check "flag without value" expect_rc 2 "$tw" gemm 8 8 8 --device
check "unknown device fails" expect_rc 1 "$tw" gemm 8 8 8 --device nosuch
check "unknown kernel fails" expect_rc 1 "$tw" gemm 8 8 8 --device fixed --kernel 3x3x3

json=$("$tw" gemm 300 200 100 --device fixed --kernel 64x64x64 --host-k --json)
check "json exits 0" [ $? -eq 0 ]
for key in device kernel m k n invocations submissions bytes_to_device bytes_from_device flops \
  wall_s rel_err_vs_bf16_inputs rel_err_vs_fp32_inputs max_abs_err; do
  check "json has $key" grep -q "\"$key\":" <<<"$json"
done
# ceil(300/64) * ceil(100/64) * ceil(200/64) = 5 * 2 * 4
check "invocations from the tiling formula" grep -q '"invocations":40,' <<<"$json"
check "useful flops 2MNK" grep -q '"flops":12000000,' <<<"$json"
err=$(sed -n 's/.*"rel_err_vs_bf16_inputs":\([^,]*\),.*/\1/p' <<<"$json")
check "error within 1e-5" awk -v e="$err" 'BEGIN { exit !(e <= 1e-5) }'
if command -v python3 >/dev/null; then
  check "json parses" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$json"
fi
human=$("$tw" gemm 64 64 64 --device ref)
check "human output names the plan" grep -q "invocations 1" <<<"$human"

finish gemm_cli

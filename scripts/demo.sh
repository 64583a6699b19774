#!/usr/bin/env bash
# The main job `make demo` runs, on the Release build given as $1.
set -euo pipefail
tw="${1:-build/release/tilewhisper}"

echo "== tilewhisper $("$tw" --version | head -1 | cut -d' ' -f2): devices"
"$tw" devices
echo
for dev in $("$tw" --version | sed -n 's/^devices: //p' | sed 's/(.*//'); do
  echo "== (3001,512)@(512,512) on $dev"
  "$tw" gemm 3001 512 512 --device "$dev"
  echo
done
echo "== the invocation study (tilewhisper bench)"
"$tw" bench
echo
echo "== the Whisper-base encoder, one 30 s window (tilewhisper bench --encoder)"
"$tw" bench --encoder
echo
echo "== the cpu device against OpenBLAS and the machine's peak (tilewhisper bench --gemm)"
"$tw" bench --gemm
echo
if "$tw" --version | grep -qE "^devices:.* opencl( |$)"; then
  echo "== the seed's strategies on the OpenCL device, measured (tilewhisper bench --opencl)"
  "$tw" bench --opencl || echo "(no usable OpenCL platform on this machine)"
  echo
fi

#!/usr/bin/env bash
# Installs the Debian packages tilewhisper builds and tests with, skipping any
# already present so that a second run costs nothing and needs no network.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsndfile1-dev libsamplerate0-dev libfftw3-dev zlib1g-dev
  libopenblas-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  clang libclang-rt-14-dev
  python3 # tests: Python's json module checks the JSON writer
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs the Debian packages clcnn needs (only those missing), then
# configures and builds it in ./build. Sourced or run by tools/demo.sh,
# tools/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(gcc pkg-config meson ninja-build python3 ocl-icd-opencl-dev opencl-headers
          pocl-opencl-icd check zlib1g-dev libpng-dev python3-numpy libopenmpi-dev openmpi-bin
          libprotobuf-c-dev protobuf-c-compiler python3-torch python3-onnx python3-torchvision
          python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "clcnn setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release ${CLCNN_MESON_ARGS:-} >/dev/null
fi
ninja -C build >/dev/null

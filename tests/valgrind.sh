#!/usr/bin/env bash
# tests/valgrind.sh [BUILD_DIR]
#
# valgrind's memcheck on a short training run of the clcnn command (LeNet-5,
# one epoch on 64 bundled images, a checkpoint saved): fails on any invalid
# read or write and on any block definitely or indirectly lost whose stack
# passes through clcnn's own code. The OpenCL driver's own allocations
# (PoCL's compiler and thread pools) are reported but not counted. Slow
# (minutes: the kernels run on valgrind's simulated CPU), so not part of the
# default suite. Installs valgrind (Debian package) when missing.
set -uo pipefail
build=${1:-build}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v valgrind >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq valgrind >/dev/null || { echo "cannot install valgrind" >&2; exit 1; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-valgrind-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 - "$src/data/mnist" "$tmp/data" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
n = 64
images = gzip.open(os.path.join(src, "train-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(src, "train-labels-idx1-ubyte.gz")).read()
for split in ("train", "t10k"):
    with open(os.path.join(dst, split + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images[16:16 + n * 784])
    with open(os.path.join(dst, split + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels[8:8 + n])
PY
valgrind --leak-check=full --show-leak-kinds=definite,indirect --num-callers=40 \
    --xml=yes --xml-file="$tmp/memcheck.xml" \
    "$build/clcnn" train --model lenet5 --data "$tmp/data" --epochs 1 --batch 16 \
    --out "$tmp/m.clcnn" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: clcnn train under valgrind exited $status:" >&2; cat "$tmp/err" >&2; exit 1; }
python3 - "$tmp/memcheck.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
ours = ("clcnn", "host/", "tools/")
bad = drivers = 0
for e in ET.parse(sys.argv[1]).getroot().iter("error"):
    kind = e.findtext("kind")
    frames = [(f.findtext("fn") or "") + " " + (f.findtext("file") or "") for f in e.iter("frame")]
    mine = any(any(o in fr for o in ours) for fr in frames)
    leak = kind.startswith("Leak_")
    if mine:
        bad += 1
        what = e.findtext("what") or (e.find("xwhat").findtext("text") if e.find("xwhat") is not None else kind)
        print(f"FAIL: {kind}: {what}")
        for fr in frames[:12]:
            print("    " + fr)
    else:
        drivers += 1
print(f"memcheck: {bad} reports from clcnn, {drivers} leak reports inside the OpenCL driver only")
sys.exit(1 if bad else 0)
PY

#!/usr/bin/env bash
# tests/valgrind.sh [BUILD_DIR]
#
# valgrind's memcheck on a short training run of the clcnn command (LeNet-5,
# one epoch on 64 bundled images, a checkpoint saved): fails on any invalid
# access or use of uninitialised memory in clcnn's own code and on any block
# definitely or indirectly lost whose allocation passes through it. The OpenCL driver's own allocations
# (PoCL's compiler and thread pools) are counted apart. Slow (PoCL sees
# another CPU under valgrind and compiles every kernel again the first time:
# about 15 minutes; then a few), so not part of the default suite. Installs valgrind (Debian package) when missing.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${1:-build}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v valgrind >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq valgrind >/dev/null || { echo "cannot install valgrind" >&2; exit 1; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-valgrind-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mnist_subset "$src" "$tmp/data" 64
valgrind --leak-check=full --show-leak-kinds=definite,indirect --num-callers=40 \
    --xml=yes --xml-file="$tmp/memcheck.xml" \
    "$build/clcnn" train --model lenet5 --data "$tmp/data" --epochs 1 --batch 16 \
    --out "$tmp/m.clcnn" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: clcnn train under valgrind exited $status:" >&2; cat "$tmp/err" >&2; exit 1; }
python3 - "$tmp/memcheck.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
ours = ("clcnn", "host/", "tools/")
# PoCL keeps parts of each kernel compilation until exit (the reason in
# tests/sanitizer/lsan.supp); such a stack is the driver's even where a
# clcnn call started the build.
driver = ("pocl_check_kernel_disk_cache",)
bad = drivers = 0
for e in ET.parse(sys.argv[1]).getroot().iter("error"):
    kind = e.findtext("kind")
    frames = [(f.findtext("fn") or "") + " " + (f.findtext("file") or "") for f in e.iter("frame")]
    is_ours = lambda fr: any(o in fr for o in ours)
    if kind.startswith("Leak_"):  # allocated on a path through clcnn, never freed
        mine = any(map(is_ours, frames)) and not any(d in fr for d in driver for fr in frames)
    else:  # an invalid access or use of uninitialised memory in clcnn's own code
        mine = bool(frames) and is_ours(frames[0])
    if mine:
        bad += 1
        what = e.findtext("what") or (e.find("xwhat").findtext("text") if e.find("xwhat") is not None else kind)
        print(f"FAIL: {kind}: {what}")
        for fr in frames[:12]:
            print("    " + fr)
    else:
        drivers += 1
print(f"memcheck: {bad} reports from clcnn, {drivers} from inside the OpenCL driver")
sys.exit(1 if bad else 0)
PY

#!/usr/bin/env bash
# Remakes the pictures of the README's "Pictures" section in docs/ with the
# clcnn command itself: a LeNet-5 training chart, its first-layer filters,
# the feature maps of a test digit, its confusion matrix and the benchmark
# chart of the committed comparison run.
# Usage: tools/make_pictures.sh [BUILD_DIR]   (default build; builds it if needed)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
[ -x "$build/clcnn" ] || bash tools/setup.sh
clcnn=$build/clcnn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p docs
"$clcnn" train --model lenet5 --data data/mnist --epochs 10 --seed 1 --json \
    --out "$tmp/lenet5.clcnn" --plot docs/training.png >"$tmp/run.jsonl"
python3 - "$tmp/digit.pgm" <<'PY'
import gzip, sys
images = gzip.open("data/mnist/t10k-images-idx3-ubyte.gz").read()
with open(sys.argv[1], "wb") as f:
    f.write(b"P5 28 28 255\n" + images[16:16 + 784])  # the first test digit, a 7
PY
"$clcnn" show --model "$tmp/lenet5.clcnn" --filters docs/filters.png
"$clcnn" show --model "$tmp/lenet5.clcnn" --features "$tmp/digit.pgm" docs/features.png
"$clcnn" eval --model "$tmp/lenet5.clcnn" --data data/mnist --confusion docs/confusion.png \
    >/dev/null
"$clcnn" plot --bench "$(ls bench/results/*.jsonl | tail -n 1)" docs/benchmark.png
ls -l docs/*.png

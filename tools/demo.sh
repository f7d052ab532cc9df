#!/usr/bin/env bash
# The main job: installs what is missing, builds, then trains LeNet-5 on the
# bundled MNIST subset for 10 epochs and reports its test accuracy.
# Extra arguments go to `clcnn train` (e.g. --model convnet --epochs 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
exec ./build/clcnn train --model lenet5 --data data/mnist --epochs 10 --seed 1 \
    --out build/lenet5.clcnn "$@"

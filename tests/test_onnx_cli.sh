#!/usr/bin/env bash
# clcnn infer, import and export as a user runs them: a model exported,
# imported back and run on .npy arrays with equal outputs, predict and eval
# on an .onnx model, the same for a graph with batch norm, a join and
# dropout, and the exit status and sentence of every bad input: a
# .npy of the wrong dtype, order, rank or channel count, a garbage .onnx, a
# truncated one. A failed infer leaves no output file behind.
# Usage: test_onnx_cli.sh CLCNN_BINARY SOURCE_DIR   (meson passes both)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-onnx-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

check() { # check DESCRIPTION COMMAND...: the command must succeed
    checks=$((checks + 1))
    local what=$1
    shift
    if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
        fail "$what: exit $?; stderr: $(cat "$tmp/err")"
        return 1
    fi
}

expect_exit() { # expect_exit STATUS WORD DESCRIPTION COMMAND...: status and a message
    checks=$((checks + 1))
    local want=$1 word=$2 what=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ] || ! grep -qi -- "$word" "$tmp/err"; then
        fail "$what: exit $got (want $want), stderr lacks \"$word\": $(cat "$tmp/err")"
    fi
}

require_device

# arrays: numpy writes them, as a user's script would (Debian's python3-numpy)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! "$py" -c "import numpy" 2>/dev/null; then
    echo "SKIP: $py has no numpy (apt-get install python3-numpy)" >&2
    exit 77
fi
"$py" - "$tmp" <<'PY' || { echo "FAIL: numpy could not write the arrays" >&2; exit 1; }
import sys, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(5)
x = rng.standard_normal((7, 1, 28, 28)).astype(np.float32)
np.save(f"{t}/x.npy", x)
np.save(f"{t}/x64.npy", x.astype(np.float64))
np.save(f"{t}/xint.npy", (x * 10).astype(np.int32))
np.save(f"{t}/xbig.npy", x.astype(">f4"))
np.save(f"{t}/xf.npy", np.asfortranarray(x))
np.save(f"{t}/x3.npy", x[:, 0])
np.save(f"{t}/x3c.npy", np.repeat(x, 3, axis=1))
np.save(f"{t}/x14.npy", x[:, :, :14, :14])
np.save(f"{t}/x0.npy", x[:0])
PY
printf 'this is not an onnx model\n' >"$tmp/garbage.onnx"
head -c 1000 /dev/urandom >"$tmp/random.onnx"

check "train" "$clcnn" train --model lenet5 --data "$src/data/mnist" --train-limit 500 \
    --batch 50 --epochs 1 --out "$tmp/m.clcnn"
check "export" "$clcnn" export "$tmp/m.clcnn" "$tmp/m.onnx"
check "import" "$clcnn" import "$tmp/m.onnx" "$tmp/back.clcnn"
grep -q "spec: conv(6,5,pad=2)" "$tmp/out" || fail "import does not print the spec"
check "infer .clcnn" "$clcnn" infer --model "$tmp/m.clcnn" --input "$tmp/x.npy" --output "$tmp/y1.npy" --batch 3
check "infer .onnx" "$clcnn" infer --model "$tmp/m.onnx" --input "$tmp/x.npy" --output "$tmp/y2.npy"
check "infer re-imported" "$clcnn" infer --model "$tmp/back.clcnn" --input "$tmp/x.npy" --output "$tmp/y3.npy" --logits
check "infer logits" "$clcnn" infer --model "$tmp/m.onnx" --input "$tmp/x.npy" --output "$tmp/y4.npy" --logits
checks=$((checks + 1))
"$py" - "$tmp" <<'PY' || fail "infer outputs"
import sys, numpy as np
t = sys.argv[1]
y1, y2, y3, y4 = (np.load(f"{t}/y{i}.npy") for i in (1, 2, 3, 4))
assert y1.shape == (7, 10) and y1.dtype == np.float32, (y1.shape, y1.dtype)
# probabilities: rows sum to 1; the same model gives the same bits in every form
assert np.allclose(y1.sum(1), 1, atol=1e-5), y1.sum(1)
assert np.array_equal(y1, y2) and np.array_equal(y3, y4), "the forms of the model differ"
# softmax of the logits, in float64, is the probabilities
e = np.exp(y4.astype(np.float64) - y4.max(1, keepdims=True))
assert np.allclose(e / e.sum(1, keepdims=True), y1, atol=1e-6)
PY
check "eval .onnx" "$clcnn" eval --model "$tmp/m.onnx" --data "$src/data/mnist" --json
onnx_accuracy=$(sed 's/.*"accuracy": \([0-9.]*\).*/\1/' "$tmp/out")
check "eval .clcnn" "$clcnn" eval --model "$tmp/m.clcnn" --data "$src/data/mnist" --json
checks=$((checks + 1))
[ "$onnx_accuracy" = "$(sed 's/.*"accuracy": \([0-9.]*\).*/\1/' "$tmp/out")" ] ||
    fail "eval of the .onnx and the .clcnn differ"
check "info .onnx" "$clcnn" info --model "$tmp/m.onnx"
grep -q "61706" "$tmp/out" || fail "info of the .onnx lacks the parameter count"
check "predict .onnx" "$clcnn" predict --model "$tmp/m.onnx" "$src/data/images/digits.png"

# a graph with batch norm, a join and dropout: --logits runs in inference mode
# as predict does, in every form of the model
graph="conv(4,3,pad=1) bn relu @a conv(4,3,pad=1,groups=2) bn add(@a) dropout(0.3) maxpool(2)
    global_avgpool dense(10)"
check "train graph" "$clcnn" train --model "$graph" --data "$src/data/mnist" --train-limit 200 \
    --batch 50 --epochs 1 --out "$tmp/graph.clcnn"
check "export graph" "$clcnn" export "$tmp/graph.clcnn" "$tmp/graph.onnx"
check "import graph" "$clcnn" import "$tmp/graph.onnx" "$tmp/gback.clcnn"
grep -q "add(@v" "$tmp/out" || fail "import of the graph does not print its join"
check "infer graph" "$clcnn" infer --model "$tmp/graph.clcnn" --input "$tmp/x.npy" --output "$tmp/g1.npy"
check "infer graph logits" "$clcnn" infer --model "$tmp/graph.clcnn" --input "$tmp/x.npy" \
    --output "$tmp/g2.npy" --logits
check "infer graph .onnx" "$clcnn" infer --model "$tmp/graph.onnx" --input "$tmp/x.npy" \
    --output "$tmp/g3.npy" --logits
check "infer graph re-imported" "$clcnn" infer --model "$tmp/gback.clcnn" --input "$tmp/x.npy" \
    --output "$tmp/g4.npy" --logits
checks=$((checks + 1))
"$py" - "$tmp" <<'PY' || fail "graph infer outputs"
import sys, numpy as np
t = sys.argv[1]
p, l1, l2, l3 = (np.load(f"{t}/g{i}.npy").astype(np.float64) for i in (1, 2, 3, 4))
e = np.exp(l1 - l1.max(1, keepdims=True))
assert np.allclose(e / e.sum(1, keepdims=True), p, atol=1e-6), "logits are not predict's"
scale = np.abs(l1).max()
assert np.abs(l2 - l1).max() <= 1e-5 * scale and np.abs(l3 - l1).max() <= 1e-5 * scale
PY

infer=("$clcnn" infer --model "$tmp/m.onnx" --output "$tmp/bad.npy")
expect_exit 1 "float64" "float64 input" "${infer[@]}" --input "$tmp/x64.npy"
expect_exit 1 "int32" "int32 input" "${infer[@]}" --input "$tmp/xint.npy"
expect_exit 1 "big-endian" "big-endian input" "${infer[@]}" --input "$tmp/xbig.npy"
expect_exit 1 "fortran_order" "Fortran-order input" "${infer[@]}" --input "$tmp/xf.npy"
expect_exit 1 "rank 3" "rank-3 input" "${infer[@]}" --input "$tmp/x3.npy"
expect_exit 1 "3 channels" "3 channels" "${infer[@]}" --input "$tmp/x3c.npy"
expect_exit 1 "14 x 14" "wrong image size" "${infer[@]}" --input "$tmp/x14.npy"
expect_exit 1 "N >= 1" "no images" "${infer[@]}" --input "$tmp/x0.npy"
expect_exit 1 "magic" "not a .npy" "${infer[@]}" --input "$tmp/garbage.onnx"
expect_exit 1 "cannot open" "missing input" "${infer[@]}" --input "$tmp/none.npy"
infer=("$clcnn" infer --input "$tmp/x.npy" --output "$tmp/bad.npy")
expect_exit 1 "not an ONNX model" "garbage .onnx" "${infer[@]}" --model "$tmp/garbage.onnx"
expect_exit 1 "random.onnx" "random .onnx" "${infer[@]}" --model "$tmp/random.onnx"
head -c 2000 "$tmp/m.onnx" >"$tmp/cut.onnx"
expect_exit 1 "cut.onnx" "truncated .onnx" "${infer[@]}" --model "$tmp/cut.onnx"
expect_exit 2 "required" "no --model" "$clcnn" infer --input "$tmp/x.npy" --output "$tmp/bad.npy"
expect_exit 2 "--batch" "batch 0" "${infer[@]}" --model "$tmp/m.onnx" --batch 0
expect_exit 2 "expected 2 arguments" "import without OUT" "$clcnn" import "$tmp/m.onnx"
expect_exit 1 "not an ONNX model" "import of garbage" "$clcnn" import "$tmp/garbage.onnx" "$tmp/g.clcnn"
cp "$tmp/garbage.onnx" "$tmp/garbage.clcnn"
expect_exit 1 "magic" "export of a damaged model" "$clcnn" export "$tmp/garbage.clcnn" "$tmp/g.onnx"
checks=$((checks + 1))
[ ! -e "$tmp/bad.npy" ] && [ ! -e "$tmp/g.clcnn" ] && [ ! -e "$tmp/g.onnx" ] || fail "a failed command left its output"

echo "onnx cli: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]

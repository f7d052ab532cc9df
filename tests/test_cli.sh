#!/usr/bin/env bash
# The training commands as a user runs them: a short `clcnn train` with a
# checkpoint, an exact resume through the CLI, info, eval, predict, and the
# exit statuses and messages of wrong command lines and damaged files.
# Usage: test_cli.sh CLCNN_BINARY SOURCE_DIR   (meson passes both)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
src=$2
data=$src/data/mnist
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

check() { # check DESCRIPTION COMMAND...: the command must succeed
    checks=$((checks + 1))
    local what=$1
    shift
    if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
        echo "FAIL: $what: exit $?; stderr:" >&2
        cat "$tmp/err" >&2
        failures=$((failures + 1))
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
        echo "FAIL: $what: exit $got (want $want), stderr lacks \"$word\":" >&2
        cat "$tmp/err" >&2
        failures=$((failures + 1))
    fi
}

require_device

# the built-in graph models, as info shows them: joins and their inputs
check "info of resnet" "$clcnn" info --model resnet &&
    { grep -q "add(@s1) .* 8, 3 " "$tmp/out" && grep -q "total parameters: 308746" "$tmp/out"; } ||
    { echo "FAIL: info --model resnet lacks its join or its parameter count" >&2;
      failures=$((failures + 1)); }
check "info of mobilenet" "$clcnn" info --model mobilenet &&
    grep -q "conv(32,3,pad=1,groups=32)" "$tmp/out" ||
    { echo "FAIL: info --model mobilenet lacks its depthwise layer" >&2;
      failures=$((failures + 1)); }
expect_exit 1 "no cycles" "a spec with a cycle" "$clcnn" info --model \
    "conv(4,3,pad=1) add(@b) @b flatten dense(3)"
expect_exit 1 "layer 3 add(@a)" "a join of mismatched shapes" "$clcnn" info --model \
    "conv(4,3,pad=1) @a conv(5,3,pad=1) add(@a) flatten dense(3)"
# a small residual network trains end to end and evaluates in inference mode
check "train a graph" "$clcnn" train --model \
    "conv(8,3,pad=1) bn relu @a conv(8,3,pad=1) bn add(@a) relu maxpool(2) dropout(0.1) flatten dense(10)" \
    --data "$data" --train-limit 600 --batch 50 --epochs 1 --seed 3 --out "$tmp/graph.clcnn"
check "eval a graph" "$clcnn" eval --model "$tmp/graph.clcnn" --data "$data" --json

train=("$clcnn" train --model lenet5 --data "$data" --train-limit 600 --batch 50 --seed 3)

# two epochs straight, and one epoch then a resumed second: identical files
check "train 2 epochs" "${train[@]}" --epochs 2 --out "$tmp/straight.clcnn" --json
grep -q '"test_accuracy"' "$tmp/out" && grep -q '"train_images_per_s"' "$tmp/out" &&
    grep -q '"device"' "$tmp/out" || { echo "FAIL: train --json lacks fields" >&2; failures=$((failures + 1)); }
[ "$(grep -c '"epoch"' "$tmp/out")" -eq 2 ] || { echo "FAIL: not one JSON line per epoch" >&2; failures=$((failures + 1)); }
check "train 1 of 2 epochs" "${train[@]}" --epochs 2 --stop-after 1 --out "$tmp/resumed.clcnn"
check "resume" "$clcnn" train --resume "$tmp/resumed.clcnn" --data "$data" --train-limit 600 --epochs 2
checks=$((checks + 1))
cmp -s "$tmp/straight.clcnn" "$tmp/resumed.clcnn" ||
    { echo "FAIL: a resumed run differs from an uninterrupted one" >&2; failures=$((failures + 1)); }

check "info" "$clcnn" info --model "$tmp/straight.clcnn"
grep -q "61706" "$tmp/out" || { echo "FAIL: info lacks the parameter count" >&2; failures=$((failures + 1)); }
check "eval" "$clcnn" eval --model "$tmp/straight.clcnn" --data "$data" --json
grep -q '"accuracy": 0\.[5-9]' "$tmp/out" ||
    { echo "FAIL: eval accuracy after 2 short epochs is implausible:" >&2; cat "$tmp/out" >&2; failures=$((failures + 1)); }

# predict: the first test digit (a 7) as a PGM, dark on light so auto-invert acts
python3 - "$data/t10k-images-idx3-ubyte.gz" "$tmp/seven.pgm" <<'PY'
import gzip, sys
d = gzip.open(sys.argv[1]).read()[16:16 + 784]
open(sys.argv[2], "wb").write(b"P5\n28 28\n255\n" + bytes(255 - b for b in d))
PY
check "predict" "$clcnn" predict --model "$tmp/straight.clcnn" "$tmp/seven.pgm" --top 3
grep -q "seven.pgm: 7 " "$tmp/out" && grep -q inverted "$tmp/out" ||
    { echo "FAIL: predict did not see a 7:" >&2; cat "$tmp/out" >&2; failures=$((failures + 1)); }

# wrong command lines: exit 2 with a message naming the problem
expect_exit 2 "epochs" "bad --epochs" "$clcnn" train --model lenet5 --data "$data" --epochs x
expect_exit 2 "optimizer" "bad --optimizer" "$clcnn" train --model lenet5 --data "$data" --optimizer rmsprop
expect_exit 2 "required" "no --data" "$clcnn" train --model lenet5
expect_exit 2 "unknown" "unknown option" "$clcnn" train --model lenet5 --data "$data" --frobnicate
# failures of the work: exit 1
expect_exit 1 "spec" "bad spec" "$clcnn" train --model "conv(6" --data "$data"
expect_exit 1 "images" "missing data" "$clcnn" train --model lenet5 --data "$tmp/nothing"
expect_exit 1 "no such file" "missing model" "$clcnn" eval --model "$tmp/none.clcnn" --data "$data"
head -c 300 "$tmp/straight.clcnn" >"$tmp/cut.clcnn"
expect_exit 1 "checksum" "truncated model" "$clcnn" info --model "$tmp/cut.clcnn"
expect_exit 1 "magic" "not a model" "$clcnn" predict --model "$tmp/seven.pgm" "$tmp/seven.pgm"
expect_exit 1 "seven" "missing image" "$clcnn" predict --model "$tmp/straight.clcnn" "$tmp/seven"
expect_exit 1 "checksum" "resume from a damaged file" "$clcnn" train --resume "$tmp/cut.clcnn" --data "$data"

echo "cli: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]

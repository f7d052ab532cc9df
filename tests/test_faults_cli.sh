#!/usr/bin/env bash
# Faults as a user of the clcnn command meets them: outputs that cannot be
# written (a path under a file, /proc, a folder, /dev/full, a read-only and a
# full file system), a kernel source that does not build, a batch too large
# for the device, a learning rate that diverges, model files holding NaN or
# impossible training values, and OpenCL calls failing in the middle of a
# run (clcnn_faults, the tool on the fault-injection library).
# Each must exit 1 with a message naming the problem, and never damage a
# good checkpoint or leave a temporary file behind.
# Usage: test_faults_cli.sh CLCNN_BINARY SOURCE_DIR CLCNN_FAULTS_BINARY (meson passes them)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
src=$2
clcnn_faults=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-faults-XXXXXX")
mounts=()
cleanup() {
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect STATUS WORD DESCRIPTION COMMAND...: the exit status, and WORD in stderr
expect() {
    checks=$((checks + 1))
    local want=$1 word=$2 what=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ] || ! grep -qi -- "$word" "$tmp/err"; then
        fail "$what: exit $got (want $want), stderr lacks \"$word\":"
        cat "$tmp/err" >&2
        return 1
    fi
    printf '%-44s exit %d: %s\n' "$what" "$got" "$(grep -i -m1 -- "$word" "$tmp/err")"
}

require_device

# 64 images as both splits: an epoch takes a moment
mnist_subset "$src" "$tmp/data" 64
train=("$clcnn" train --model lenet5 --data "$tmp/data" --batch 16 --shift 0)
image=$src/data/images/digits.png

no_temporaries() { # no temporary or probe file left in folder $1
    checks=$((checks + 1))
    local left
    left=$(find "$1" -maxdepth 1 \( -name '*.tmp-*' -o -name '.clcnn-probe-*' \) 2>/dev/null)
    [ -z "$left" ] || fail "temporary files left in $1: $left"
}

# --- outputs that cannot be written: train fails before training -----------------
expect 1 "Not a directory" "train --out under a file" "${train[@]}" --out /etc/passwd/x.clcnn
grep -q "^epoch" "$tmp/out" && fail "train trained before finding --out unwritable"
expect 1 "No such file" "train --out in /proc" "${train[@]}" --out /proc/x.clcnn
expect 1 "folder" "train --out a folder" "${train[@]}" --out "$tmp"
expect 1 "No space left" "train --out /dev/full" "${train[@]}" --epochs 1 --out /dev/full
expect 1 "Not a directory" "filter into a path under a file" \
    "$clcnn" filter --kernel edge "$image" /etc/passwd/x.png
expect 1 "No such file" "filter into /proc" "$clcnn" filter --kernel edge "$image" /proc/x.png
mkdir "$tmp/folder.png"
expect 1 "directory" "filter onto a folder" "$clcnn" filter --kernel edge "$image" "$tmp/folder.png"
no_temporaries "$tmp"

# --- a read-only and a full file system (needs mount: root) -------------------------
good=$tmp/good.clcnn
"${train[@]}" --epochs 1 --out "$good" >/dev/null 2>&1 || fail "training a good checkpoint failed"
if mkdir "$tmp/ro" "$tmp/full" && mount -t tmpfs -o size=1m,ro tmpfs "$tmp/ro" 2>/dev/null; then
    mounts+=("$tmp/ro")
    expect 1 "Read-only file system" "train --out on a read-only file system" \
        "${train[@]}" --out "$tmp/ro/x.clcnn"
    expect 1 "Read-only file system" "filter onto a read-only file system" \
        "$clcnn" filter --kernel edge "$image" "$tmp/ro/x.png"
    # 1 MiB holds one LeNet-5 checkpoint (740 KiB) but not a second copy beside it
    mount -t tmpfs -o size=1m tmpfs "$tmp/full" && mounts+=("$tmp/full")
    cp "$good" "$tmp/full/ck.clcnn"
    expect 1 "No space left" "train: save onto a full file system" \
        "$clcnn" train --resume "$tmp/full/ck.clcnn" --data "$tmp/data" --epochs 2
    checks=$((checks + 1))
    grep -q "last good checkpoint (epoch 1) stays in" "$tmp/err" ||
        fail "train did not say where the last good checkpoint is"
    cmp -s "$good" "$tmp/full/ck.clcnn" || fail "a failed save changed the checkpoint"
    no_temporaries "$tmp/full"
    dd if=/dev/zero of="$tmp/full/filler" bs=4k 2>/dev/null
    expect 1 "No space left" "filter onto a full file system" \
        "$clcnn" filter --kernel edge "$image" "$tmp/full/edges.png"
    no_temporaries "$tmp/full"
    [ -e "$tmp/full/edges.png" ] && fail "filter left a partial image"
else
    echo "SKIP: read-only and full file systems (mount needs root)"
fi

# --- a kernel source that does not build, or is missing ---------------------------
mkdir "$tmp/kernels"
cp "$src"/kernels/*.cl "$tmp/kernels/"
for f in "$tmp"/kernels/conv2d*.cl; do
    printf '__kernel void broken(void) { this is not OpenCL C; }\n' >"$f"
done
CLCNN_CACHE_DIR=$tmp/cache CLCNN_KERNEL_DIR=$tmp/kernels \
    expect 1 "build log" "filter with a broken kernel source" \
    "$clcnn" filter --kernel edge "$image" "$tmp/edges.png"
CLCNN_CACHE_DIR=$tmp/cache CLCNN_KERNEL_DIR=$tmp/kernels \
    expect 1 "failed" "train with a broken kernel source" "${train[@]}" --epochs 1
CLCNN_CACHE_DIR=$tmp/cache CLCNN_KERNEL_DIR=$tmp/no-such-folder \
    expect 1 "cannot open kernel source" "filter with a missing kernel folder" \
    "$clcnn" filter --kernel edge "$image" "$tmp/edges.png"

# --- a batch too large for the device: refused before allocating --------------------
expect 1 "at most" "train with a batch too large for the device" \
    "$clcnn" train --model "conv(1024,3,pad=1) flatten dense(10)" --data "$tmp/data" \
    --batch 65536 --epochs 1

# --- a learning rate that diverges ----------------------------------------------------
cp "$good" "$tmp/diverge.clcnn"
expect 1 "became NaN at step" "train with lr 1e6 (SGD)" \
    "${train[@]}" --epochs 2 --lr 1e6 --optimizer sgd --out "$tmp/diverge.clcnn"
checks=$((checks + 1))
grep -q "first non-finite values: layer [0-9]* " "$tmp/err" ||
    fail "the divergence message does not name the layer: $(cat "$tmp/err")"
cmp -s "$good" "$tmp/diverge.clcnn" || fail "a diverged run replaced the good checkpoint"
expect 1 "loss itself overflowed" "train with lr 1e6 (Adam)" \
    "${train[@]}" --epochs 2 --lr 1e6 --out "$tmp/diverge.clcnn"
cmp -s "$good" "$tmp/diverge.clcnn" || fail "a diverged run replaced the good checkpoint"

# --- model files holding NaN (intact, checksum valid) --------------------------------
python3 - "$good" "$tmp/nan.clcnn" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read())
at = 8 + 4 + 4
at += 4 + struct.unpack_from("<I", d, at)[0]          # spec
at += 16                                              # input shape
at += 4 + 16 * struct.unpack_from("<I", d, at)[0]     # tensor shapes
at += 8                                               # parameter count
struct.pack_into("<f", d, at + 4 * 200, float("nan"))  # conv2's weights (156..2555)
struct.pack_into("<I", d, len(d) - 4, zlib.crc32(bytes(d[:-4])) & 0xffffffff)
open(sys.argv[2], "wb").write(d)
PY
expect 1 "layer 4 conv(16,5): its weights hold 1 NaN" "info on a model with NaN weights" \
    "$clcnn" info --model "$tmp/nan.clcnn"
expect 1 "NaN" "eval on a model with NaN weights" \
    "$clcnn" eval --model "$tmp/nan.clcnn" --data "$tmp/data"
expect 1 "NaN" "predict with a model with NaN weights" \
    "$clcnn" predict --model "$tmp/nan.clcnn" "$image"
expect 1 "NaN" "train --resume from a model with NaN weights" \
    "$clcnn" train --resume "$tmp/nan.clcnn" --data "$tmp/data" --epochs 2

# --- checkpoints whose values no run could have produced (checksum valid) -----------
# Each is refused by every command that loads it, naming the field, and
# nothing trains on it.
python3 - "$good" "$tmp/bad" <<'PY'
import struct, sys, zlib
d = bytes(open(sys.argv[1], "rb").read())
at = 8 + 4 + 4
at += 4 + struct.unpack_from("<I", d, at)[0]          # spec
at += 16                                              # input shape
at += 4 + 16 * struct.unpack_from("<I", d, at)[0]     # tensor shapes
at += 8 + 4 * struct.unpack_from("<Q", d, at)[0]      # parameters
optim = at                                            # u32 kind, f32 lr, decay, momentum, ...
end = len(d) - 4                                      # the training record ends at the CRC
cases = {  # name: (offset, format, value)
    "lr-nan": (optim + 4, "<f", float("nan")),
    "momentum-nan": (optim + 12, "<f", float("nan")),
    "beta1-2": (optim + 20, "<f", 2.0),
    "eps-negative": (optim + 28, "<f", -1e-8),
    "epoch-huge": (end - 120, "<i", 2**31 - 1),
    "batch-huge": (end - 116, "<i", 2**31 - 1),
    "base-lr-inf": (end - 68, "<f", float("inf")),
    "gamma-nan": (end - 60, "<f", float("nan")),
}
for name, (offset, fmt, value) in cases.items():
    b = bytearray(d)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])) & 0xffffffff)
    open(f"{sys.argv[2]}-{name}.clcnn", "wb").write(b)
PY
for crafted in lr-nan:lr momentum-nan:momentum beta1-2:beta1 eps-negative:eps \
    epoch-huge:epoch batch-huge:batch base-lr-inf:"base learning rate" gamma-nan:gamma; do
    name=${crafted%%:*} field=${crafted#*:} file=$tmp/bad-$name.clcnn
    cp "$file" "$tmp/before.clcnn"
    expect 1 "$field" "info on a checkpoint with $name" "$clcnn" info --model "$file"
    expect 1 "$field" "eval on a checkpoint with $name" \
        "$clcnn" eval --model "$file" --data "$tmp/data"
    expect 1 "$field" "predict with a checkpoint with $name" \
        "$clcnn" predict --model "$file" "$image"
    expect 1 "$field" "train --resume from a checkpoint with $name" \
        "$clcnn" train --resume "$file" --data "$tmp/data" --epochs 2
    checks=$((checks + 1))
    grep -q "^epoch" "$tmp/out" && fail "train --resume trained on a checkpoint with $name"
    cmp -s "$file" "$tmp/before.clcnn" || fail "train --resume changed the checkpoint with $name"
done
# the same resume from a good file goes through, so the refusals above are the values'
checks=$((checks + 1))
cp "$good" "$tmp/good-copy.clcnn"
"$clcnn" train --resume "$tmp/good-copy.clcnn" --data "$tmp/data" --epochs 2 >"$tmp/out" 2>&1 ||
    fail "train --resume from the good checkpoint failed: $(cat "$tmp/out")"

# --- OpenCL calls failing in the middle of a resumed run ----------------------------
# The run resumes the epoch-1 checkpoint for two more epochs; call N fails
# with CL_OUT_OF_RESOURCES, for N spread over the set-up, both epochs and
# their saves. Each run must exit 1 naming the call, and the checkpoint must
# be the last one it says was saved: whole, loadable, of that epoch.
cp "$good" "$tmp/count.clcnn"
CLCNN_FAULT_CL_COUNT=1 "$clcnn_faults" train --resume "$tmp/count.clcnn" --data "$tmp/data" \
    --epochs 3 >/dev/null 2>"$tmp/count.err" || fail "clcnn_faults without a fault failed"
total=$(sed -n 's/^clcnn_faults: \([0-9]*\) OpenCL calls$/\1/p' "$tmp/count.err")
[ -n "$total" ] && [ "$total" -gt 40 ] || fail "clcnn_faults counted no OpenCL calls: $(cat "$tmp/count.err")"
for part in 1 3 5 8 11 14 17 19; do
    n=$((total * part / 20))
    cp "$good" "$tmp/ck.clcnn"
    CLCNN_FAULT_CL_AT=$n expect 1 "CL_OUT_OF_RESOURCES" "OpenCL call $n of $total fails" \
        "$clcnn_faults" train --resume "$tmp/ck.clcnn" --data "$tmp/data" --epochs 3
    checks=$((checks + 1))
    kept=$(sed -n 's/.*the last good checkpoint (epoch \([0-9]*\)) stays in.*/\1/p' "$tmp/err")
    [ -n "$kept" ] || fail "call $n: the message does not say which checkpoint is kept: $(cat "$tmp/err")"
    epoch=$("$clcnn" info --model "$tmp/ck.clcnn" 2>&1 | sed -n 's/^checkpoint: \([0-9]*\) epoch.*/\1/p')
    [ "$epoch" = "$kept" ] ||
        fail "call $n: the checkpoint holds epoch '${epoch}', the message says $kept"
    no_temporaries "$tmp"
done

echo "faults-cli: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]

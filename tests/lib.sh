# Shared by the shell tests (sourced, not run): the device check every one
# makes first, and the small data set several train on.

# Exit 77 (meson's skip) when no OpenCL device exists, or 1 under
# CLCNN_REQUIRE_DEVICE=1 (CI), so that CI can never pass by skipping.
# Needs $clcnn, the clcnn binary.
require_device() {
    if ! "$clcnn" devices >/dev/null 2>&1; then
        if [ "${CLCNN_REQUIRE_DEVICE:-}" = 1 ]; then
            echo "FAIL: no OpenCL device" >&2
            exit 1
        fi
        echo "SKIP: no OpenCL device" >&2
        exit 77
    fi
}

# mnist_subset SOURCE_DIR DEST N: the first N bundled training images as
# both splits (plain IDX) in the new folder DEST, so that an epoch takes a
# moment.
mnist_subset() {
    python3 - "$1/data/mnist" "$2" "$3" <<'PY'
import gzip, os, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst)
images = gzip.open(os.path.join(src, "train-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(src, "train-labels-idx1-ubyte.gz")).read()
for split in ("train", "t10k"):
    with open(os.path.join(dst, split + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images[16:16 + n * 784])
    with open(os.path.join(dst, split + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels[8:8 + n])
PY
}

# The clcnn Python package (python/clcnn) against the build's libclcnn.so:
# conv2d forward and both backward passes against a float64 numpy reference
# written out tap by tap below, tensor round trips, errors, the IDX reader
# against a plain one, and a LeNet-5 trained for one epoch by `clcnn train`
# classifying the MNIST test set. Also runs the README's Python example.
# Usage: test_python.py CLCNN_BINARY SOURCE_DIR BUILD_DIR (meson passes them,
# with CLCNN_LIBRARY and PYTHONPATH). Exit 0 pass, 1 fail, 77 skip (no OpenCL
# device and CLCNN_REQUIRE_DEVICE unset).
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import traceback

import numpy as np

import clcnn

CLCNN, SOURCE, BUILD = sys.argv[1:4]
MNIST = os.path.join(SOURCE, "data", "mnist")


# ---- the float64 reference: one multiply-add per filter tap, plainly ----------

def pad4(x, pad):
    top, bottom, left, right = pad
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def out_size(h, r, lo, hi, stride, dil):
    return (h + lo + hi - (r - 1) * dil - 1) // stride + 1


def ref_forward(x, w, b, pad, stride, dil):
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    p = out_size(h, r, pad[0], pad[1], stride[0], dil[0])
    q = out_size(wd, s, pad[2], pad[3], stride[1], dil[1])
    xp = pad4(x.astype(np.float64), pad)
    y = np.zeros((n, k, p, q))
    for n_ in range(n):
        for k_ in range(k):
            for p_ in range(p):
                for q_ in range(q):
                    acc = 0.0 if b is None else float(b[k_])
                    for c_ in range(c):
                        for r_ in range(r):
                            for s_ in range(s):
                                acc += (xp[n_, c_, p_ * stride[0] + r_ * dil[0],
                                           q_ * stride[1] + s_ * dil[1]]
                                        * float(w[k_, c_, r_, s_]))
                    y[n_, k_, p_, q_] = acc
    return y


def ref_backward(x, w, dy, pad, stride, dil):
    """dx, dw, db of loss = sum(y * dy): each forward product's two partials."""
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    _, _, p, q = dy.shape
    xp = pad4(x.astype(np.float64), pad)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape)
    for n_ in range(n):
        for k_ in range(k):
            for p_ in range(p):
                for q_ in range(q):
                    g = float(dy[n_, k_, p_, q_])
                    for c_ in range(c):
                        for r_ in range(r):
                            for s_ in range(s):
                                hi, wi = p_ * stride[0] + r_ * dil[0], q_ * stride[1] + s_ * dil[1]
                                dxp[n_, c_, hi, wi] += g * float(w[k_, c_, r_, s_])
                                dw[k_, c_, r_, s_] += g * xp[n_, c_, hi, wi]
    dx = dxp[:, :, pad[0]:pad[0] + h, pad[2]:pad[2] + wd]
    db = dy.astype(np.float64).sum(axis=(0, 2, 3))
    return dx, dw, db


# (x shape, w shape, padding (top, bottom, left, right), stride, dilation, algorithms)
CASES = [
    ((2, 3, 7, 9), (5, 3, 3, 3), (1, 1, 1, 1), (1, 1), (1, 1), ["auto", "direct", "gemm",
                                                               "winograd"]),
    ((1, 2, 13, 11), (4, 2, 5, 3), (2, 1, 0, 2), (2, 2), (1, 1), ["auto", "direct", "gemm"]),
    ((3, 1, 10, 12), (2, 1, 3, 3), (2, 2, 2, 2), (1, 1), (2, 2), ["auto", "direct", "gemm"]),
    ((1, 3, 15, 13), (6, 3, 3, 2), (1, 0, 1, 1), (2, 2), (2, 2), ["auto", "gemm"]),
    ((2, 4, 9, 8), (3, 4, 2, 3), (0, 0, 0, 0), (2, 3), (1, 1), ["direct"]),
    ((2, 5, 1, 1), (7, 5, 1, 1), (0, 0, 0, 0), (1, 1), (1, 1), ["auto", "gemm_1x1"]),
]


def close(got, want, what):
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, reference {want.shape}"
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    assert err <= 2e-5 * scale, f"{what}: max error {err:.3g} (scale {scale:.3g})"
    assert np.abs(want).max() > 0, f"{what}: the reference is all zeros"


def test_conv2d(ctx):
    rng = np.random.default_rng(7)
    for xs, ws, pad, stride, dil, algos in CASES:
        x = rng.uniform(-1, 1, xs).astype(np.float32)
        w = rng.uniform(-1, 1, ws).astype(np.float32)
        b = rng.uniform(-1, 1, ws[0]).astype(np.float32)
        geometry = dict(padding=pad, stride=stride, dilation=dil)
        name = f"x {xs} w {ws} pad {pad} stride {stride} dilation {dil}"
        want = ref_forward(x, w, b, pad, stride, dil)
        assert clcnn.conv2d_output_shape(xs, ws, **geometry) == want.shape, name
        for algo in algos:
            close(clcnn.conv2d_forward(ctx, x, w, b, algo=algo, **geometry), want,
                  f"forward {algo} {name}")
        dy = rng.uniform(-1, 1, want.shape).astype(np.float32)
        dx_want, dw_want, db_want = ref_backward(x, w, dy, pad, stride, dil)
        close(clcnn.conv2d_backward_data(ctx, dy, w, xs, **geometry), dx_want,
              f"backward data {name}")
        dw, db = clcnn.conv2d_backward_filter(ctx, x, dy, ws, bias=True, **geometry)
        close(dw, dw_want, f"backward filter {name}")
        close(db, db_want, f"backward bias {name}")


def test_conv2d_tensors(ctx):
    """The same calls on device tensors: out= receives y and dx, and the
    filter gradient accumulates into out= as the C API documents."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (2, 3, 8, 7)).astype(np.float32)
    w = rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32)
    pad, stride, dil = (1, 1, 1, 1), (2, 2), (1, 1)
    want = ref_forward(x, w, None, pad, stride, dil)
    dy = rng.uniform(-1, 1, want.shape).astype(np.float32)
    dx_want, dw_want, _ = ref_backward(x, w, dy, pad, stride, dil)
    with clcnn.Tensor.from_numpy(ctx, x) as tx, clcnn.Tensor.from_numpy(ctx, w) as tw, \
            clcnn.Tensor(ctx, want.shape) as ty, clcnn.Tensor(ctx, x.shape) as tdx, \
            clcnn.Tensor.from_numpy(ctx, dy) as tdy, clcnn.Tensor(ctx, w.shape) as tdw:
        assert clcnn.conv2d_forward(ctx, tx, tw, padding=1, stride=2, out=ty) is ty
        close(ty.numpy(), want, "forward into a tensor")
        clcnn.conv2d_backward_data(ctx, tdy, tw, padding=1, stride=2, out=tdx)
        close(tdx.numpy(), dx_want, "backward data into a tensor")
        tdw.fill(0.5)
        clcnn.conv2d_backward_filter(ctx, tx, tdy, padding=1, stride=2, out=tdw)
        close(tdw.numpy(), dw_want + 0.5, "backward filter accumulated into a tensor")


def test_tensor_round_trip(ctx):
    rng = np.random.default_rng(3)
    for shape in [(1, 1, 1, 1), (3, 5, 7, 2), (2, 1, 13, 11)]:
        a = (rng.standard_normal(shape) * 10.0 ** rng.integers(-30, 30, shape)).astype(np.float32)
        a.flat[0] = -0.0
        with clcnn.Tensor.from_numpy(ctx, a) as t:
            assert t.shape == shape and t.size == a.size, (t.shape, shape)
            back = t.numpy()
            assert back.dtype == np.float32 and back.shape == shape
            assert back.tobytes() == a.tobytes(), f"round trip of {shape} changed bits"
            t.fill(-2.5)
            assert (t.numpy() == -2.5).all()
    # float64 input is rounded to float32 as numpy rounds it
    d = rng.standard_normal((2, 3, 4, 5))
    with clcnn.Tensor.from_numpy(ctx, d) as t:
        assert np.array_equal(t.numpy(), d.astype(np.float32))
    with clcnn.Tensor(ctx, (2, 3, 4, 5)) as t:
        expect_raises(ValueError, "is not the tensor's", t.write, np.zeros((2, 3, 5, 4)))
    expect_raises(ValueError, "4 dimensions", clcnn.Tensor.from_numpy, ctx, np.zeros((3, 4)))
    t = clcnn.Tensor(ctx, (1, 2, 3, 4))
    t.close()
    expect_raises(ValueError, "closed", t.numpy)


def test_lifetimes(model):
    """The C library needs a context's tensors and networks freed before the
    context: closing a Context closes them, and a Net.load without a context
    owns (and closes) its own."""
    ctx = clcnn.Context()
    t = clcnn.Tensor(ctx, (1, 2, 3, 4))
    net = clcnn.Net.load(model, context=ctx)
    ctx.close()
    assert repr(t) == "<clcnn.Tensor closed>" and repr(net) == "<clcnn.Net closed>"
    expect_raises(ValueError, "closed", clcnn.Tensor, ctx, (1, 1, 1, 1))
    net = clcnn.Net.load(model)
    own = net.context
    net.close()
    assert repr(own) == "<clcnn.Context closed>"


def expect_raises(kind, words, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except kind as e:
        assert re.search(words, str(e)), f"{kind.__name__} without '{words}': {e}"
        return e
    raise AssertionError(f"{fn.__name__} did not raise {kind.__name__} ({words})")


def test_errors(ctx):
    x = np.zeros((1, 3, 8, 8), np.float32)
    e = expect_raises(clcnn.Error, r"C = 3.*C = 2", clcnn.conv2d_forward, ctx, x,
                      np.zeros((4, 2, 3, 3), np.float32))
    assert e.name == "CLCNN_ERR_SHAPE" and e.status == 2 and len(e.message.split()) > 4, e
    # the output shape check reports through its message buffer
    e = expect_raises(clcnn.Error, "\\w+ \\w+ \\w+", clcnn.conv2d_output_shape,
                      (1, 1, 2, 2), (1, 1, 5, 5))
    assert e.name == "CLCNN_ERR_SHAPE", e
    # a wrong output tensor is the library's shape error, not a crash
    with clcnn.Tensor(ctx, (1, 4, 7, 7)) as wrong:
        e = expect_raises(clcnn.Error, "\\w+ \\w+ \\w+", clcnn.conv2d_forward, ctx, x,
                          np.zeros((4, 3, 3, 3), np.float32), out=wrong)
        assert e.name == "CLCNN_ERR_SHAPE", e
    expect_raises(ValueError, "padding", clcnn.conv2d_forward, ctx, x,
                  np.zeros((4, 3, 3, 3), np.float32), padding=(1, 2, 3))
    with tempfile.TemporaryDirectory() as tmp:
        missing = os.path.join(tmp, "no-such.clcnn")
        e = expect_raises(clcnn.Error, "no-such.clcnn", clcnn.Net.load, missing, context=ctx)
        assert e.name == "CLCNN_ERR_IO", e
        garbage = os.path.join(tmp, "garbage.clcnn")
        with open(garbage, "wb") as f:
            f.write(b"this is not a model file, only some bytes" * 3)
        e = expect_raises(clcnn.Error, "garbage.clcnn", clcnn.Net.load, garbage, context=ctx)
        assert e.name == "CLCNN_ERR_FORMAT", e
        e = expect_raises(clcnn.Error, tmp, clcnn.load_idx, tmp, "t10k")
        assert e.name == "CLCNN_ERR_IO", e
    e = expect_raises(clcnn.Error, "no-such-device-name", clcnn.Context, "no-such-device-name")
    assert e.name == "CLCNN_ERR_NO_DEVICE", e


def read_idx_plainly(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def test_load_idx():
    images, labels = clcnn.load_idx(MNIST, "t10k")
    want_images = read_idx_plainly(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"))
    want_labels = read_idx_plainly(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz"))
    assert images.dtype == np.uint8 and np.array_equal(images, want_images)
    assert np.array_equal(labels, want_labels)
    few, _ = clcnn.load_idx(MNIST, "t10k", limit=5)
    assert np.array_equal(few, want_images[:5])


def run(*args, cwd=None, env=None):
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(args)}: exit {r.returncode}\n{r.stderr}"
    return r.stdout


def train(tmp):
    model = os.path.join(tmp, "lenet5.clcnn")
    run(CLCNN, "train", "--model", "lenet5", "--data", MNIST, "--epochs", "1", "--seed", "1",
        "--out", model)
    return model


def test_net(ctx, model):
    images, labels = clcnn.load_idx(MNIST, "t10k")
    with clcnn.Net.load(model, context=ctx) as net:
        assert net.input_shape == (1, 28, 28) and net.classes == 10, net
        # the README's spec of lenet5, counted: 12 layers, and the parameters of
        # conv(6,5), conv(16,5) on 6 channels, dense 400->120->84->10
        layers = net.layers
        assert net.spec.startswith("conv(6,5,pad=2)") and len(layers) == 12, layers
        params = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) \
            + (84 * 10 + 10)
        assert net.param_count == params == sum(p for _, _, p in layers), net.param_count
        assert layers[5][1] == (16, 5, 5), layers
        probs = net.predict(images)
        assert probs.shape == (10000, 10) and probs.dtype == np.float32
        assert (probs >= 0).all() and np.abs(probs.sum(axis=1) - 1).max() < 1e-5
        accuracy = float((probs.argmax(axis=1) == labels).mean())
        print(f"python: one epoch of LeNet-5: {accuracy:.2%} of the 10,000 test digits")
        assert accuracy > 0.93, f"accuracy {accuracy:.4f}"
        # the CLI's evaluation of the same file: the same normalisation and network
        cli = json.loads(run(CLCNN, "eval", "--model", model, "--data", MNIST, "--json")
                         .strip().splitlines()[-1])
        cli_accuracy = cli["accuracy"]
        assert abs(cli_accuracy - accuracy) <= 2e-4, (cli_accuracy, accuracy)
        # uint8 pixels are normalised as normalize() does; other layouts agree
        assert np.array_equal(net.predict(clcnn.normalize(images[:40])), probs[:40])
        assert np.array_equal(net.predict(images[:40, None]), probs[:40])
        assert np.array_equal(net.predict(images[7]), probs[7:8])
        expect_raises(ValueError, r"\(N, 1, 28, 28\)", net.predict, images[:3, :27])


def test_readme_example(model):
    """The README's Python example as printed, on this build."""
    text = open(os.path.join(SOURCE, "README.md"), encoding="utf-8").read()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r'python3 -c "(.*?)"\n', section, re.S)
    assert code, "the README's Python section has no python3 -c example"
    source = code.group(1).replace("build/lenet5.clcnn", model)
    out = run(sys.executable, "-c", source, cwd=SOURCE)
    m = re.search(r"digit (\d+) classified as (\d+)", out)
    assert m and m.group(1) == m.group(2), f"README example printed: {out!r}"


def test_installed(tmp):
    """meson install puts the package where the interpreter imports it from,
    with _paths.py naming the folder of the installed library."""
    root = os.path.join(tmp, "root")
    run("meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", root)
    found = [d for d, _, files in os.walk(root) if "_paths.py" in files]
    assert len(found) == 1, f"installed _paths.py: {found}"
    package = found[0]
    site = os.path.dirname(package)[len(root):]
    assert site in sys.path, f"the package went to {site}, not on sys.path {sys.path}"
    for name in os.listdir(os.path.join(SOURCE, "python", "clcnn")):
        if name.endswith(".py"):
            assert os.path.isfile(os.path.join(package, name)), f"{name} is not installed"
    paths = {}
    exec(open(os.path.join(package, "_paths.py")).read(), paths)
    lib = root + os.path.join(paths["LIBDIR"], "libclcnn.so." + paths["SOVERSION"])
    assert os.path.exists(lib), f"_paths.py names {lib}, which the install lacks"


def test_onnx(ctx, model, tmp):
    """Net.save_onnx and Net.load of the .onnx give the same probabilities."""
    images, _ = clcnn.load_idx(MNIST, "t10k", limit=50)
    path = os.path.join(tmp, "lenet5.onnx")
    with clcnn.Net.load(model, batch=16, context=ctx) as net:
        want = net.predict(images)
        net.save_onnx(path)
    with clcnn.Net.load(path, batch=16, context=ctx) as net:
        assert net.spec.startswith("conv(6,5,pad=2)") and net.classes == 10, net
        assert np.array_equal(net.predict(images), want)
    try:
        clcnn.Net.load(os.path.join(tmp, "missing.onnx"), context=ctx)
        raise AssertionError("a missing .onnx loaded")
    except clcnn.Error as e:
        assert e.name == "CLCNN_ERR_IO", e


def main():
    try:
        ctx = clcnn.Context()
    except clcnn.Error as e:
        required = os.environ.get("CLCNN_REQUIRE_DEVICE") == "1"
        print(f"{'FAIL' if required else 'SKIP'}: no OpenCL context: {e}", file=sys.stderr)
        return 1 if required or e.name != "CLCNN_ERR_NO_DEVICE" else 77
    print(f"device: {ctx.device_name}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="clcnn-python-") as tmp:
        model = os.path.join(tmp, "lenet5.clcnn")
        tests = [("clcnn train --epochs 1", lambda: train(tmp)),
                 ("conv2d", lambda: test_conv2d(ctx)),
                 ("conv2d on tensors", lambda: test_conv2d_tensors(ctx)),
                 ("tensor round trip", lambda: test_tensor_round_trip(ctx)),
                 ("errors", lambda: test_errors(ctx)),
                 ("load_idx", test_load_idx),
                 ("Net.load and predict", lambda: test_net(ctx, model)),
                 ("lifetimes", lambda: test_lifetimes(model)),
                 ("ONNX save and load", lambda: test_onnx(ctx, model, tmp)),
                 ("README example", lambda: test_readme_example(model)),
                 ("meson install", lambda: test_installed(tmp))]
        for name, fn in tests:
            try:
                fn()
                print(f"PASS: {name}")
            except Exception:
                failures += 1
                print(f"FAIL: {name}:\n{traceback.format_exc()}", file=sys.stderr)
    ctx.close()
    print(f"{len(tests) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

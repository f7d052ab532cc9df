# ONNX against PyTorch and onnxruntime, through the clcnn command as a user
# runs it: networks with random weights exported by torch.onnx.export (every
# operator clcnn imports, several opsets; graphs: residual joins, branches,
# grouped and depthwise convolutions, stand-alone batch norm, torchvision's
# resnet18 at 64x64) run by `clcnn infer --logits` equal PyTorch's outputs
# (relative error <= 1e-4); operators clcnn cannot run are refused naming
# the node; a LeNet-5 trained by `clcnn train` and written by `clcnn export`
# runs in onnxruntime (from PyPI, in a virtual environment made here) with
# the outputs of `clcnn infer` and the accuracy of `clcnn eval`, and so do
# resnet, mobilenet and a graph spec trained a few steps.
# Usage: test_onnx.py CLCNN_BINARY SOURCE_DIR BUILD_DIR. Exit 0 pass, 1 fail,
# 77 skip (python3-torch or python3-onnx missing, or no OpenCL device and
# CLCNN_REQUIRE_DEVICE unset).
import gzip
import json
import os
import subprocess
import sys
import tempfile
import traceback

try:
    import numpy as np
    import onnx
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"SKIP: {e.name} is missing (apt-get install python3-torch python3-onnx)",
          file=sys.stderr)
    sys.exit(77)
try:
    import torchvision
except ImportError:
    torchvision = None  # resnet18 is left out (apt-get install python3-torchvision)

CLCNN, SOURCE, BUILD = sys.argv[1:4]
MNIST = os.path.join(SOURCE, "data", "mnist")
TOLERANCE = 1e-4


def run(*args, check=True):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, f"{' '.join(map(str, args))}: exit {r.returncode}\n{r.stderr}"
    return r


def relative_error(got, want):
    return float(np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), 1e-30))


# ---- networks with random weights, one per group of operators --------------------

class ListedHead(nn.Module):
    """Conv with and without bias, padding, stride, dilation, a non-square
    filter; batch norm after a conv; every activation; max and average pooling
    with padding, counted and not; Flatten; Linear (Gemm); Dropout."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(),
            nn.MaxPool2d(3, 1, padding=1),
            nn.Conv2d(5, 7, 3, stride=2, bias=False), nn.BatchNorm2d(7), nn.LeakyReLU(0.1),
            nn.Conv2d(7, 6, 3, padding=2, dilation=2), nn.Tanh(),
            nn.AvgPool2d(3, 2, padding=1, count_include_pad=True),
            nn.AvgPool2d(3, 1, padding=1, count_include_pad=False),
            nn.Conv2d(6, 8, (3, 2), padding=1), nn.Sigmoid(),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 4 * 6, 20), nn.ReLU(),
            nn.Linear(20, 10))

    def forward(self, x):
        return self.body(x)


class MatMulNet(nn.Module):
    """x @ W + b (MatMul and Add), a constant Reshape, global average pooling."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.w = nn.Parameter(torch.randn(4 * 3 * 3, 6))
        self.b = nn.Parameter(torch.randn(6))
        self.w2 = nn.Parameter(torch.randn(6, 5))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)             # 3x3
        x = x.reshape(-1, 4 * 3 * 3)
        x = torch.sigmoid(x @ self.w + self.b)
        return x @ self.w2


class GlobalPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1)
        return self.fc(torch.flatten(x, 1))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def keras_convnet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Flatten(), nn.Linear(128 * 3 * 3, 10),
        nn.Softmax(1))


def randomise(model):
    """Random weights, and batch-norm statistics far from the identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def export(model, x, path, opset, keep_bn=False):
    # eval mode folds each batch norm into the conv before it; PRESERVE (and
    # no constant folding) keeps the BatchNormalization nodes for clcnn to read
    kwargs = ({"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False}
              if keep_bn else {})
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                      **kwargs)
    onnx.checker.check_model(onnx.load(path))
    return [n.op_type for n in onnx.load(path).graph.node]


def check_against_torch(tmp, name, model, shape, opset, logits=True, keep_bn=False,
                        batch=None):
    torch.manual_seed(hash(name) % 1000)
    x = torch.randn(*shape)
    path = os.path.join(tmp, f"{name}.onnx")
    ops = export(model, x, path, opset, keep_bn)
    with torch.no_grad():
        want = model(x).double().numpy()
    xs, ys = os.path.join(tmp, f"{name}.x.npy"), os.path.join(tmp, f"{name}.y.npy")
    np.save(xs, x.numpy())
    args = [CLCNN, "infer", "--model", path, "--input", xs, "--output", ys]
    if logits:
        args.append("--logits")
    if batch:
        args += ["--batch", batch]
    run(*args)
    got = np.load(ys)
    assert got.dtype == np.float32 and got.shape == want.shape, (got.dtype, got.shape)
    err = relative_error(got, want)
    print(f"  {name} (opset {opset}; {' '.join(sorted(set(ops)))}): relative error {err:.2e}")
    assert err <= TOLERANCE, f"{name}: relative error {err} > {TOLERANCE}"
    return ops


def test_torch_models(tmp):
    torch.manual_seed(1)
    ops = set()
    for opset in (9, 11, 13, 17):
        ops |= set(check_against_torch(tmp, f"listed{opset}", randomise(ListedHead()),
                                       (5, 3, 17, 19), opset, keep_bn=True, batch=2))
    ops |= set(check_against_torch(tmp, "listed_folded", randomise(ListedHead()),
                                   (3, 3, 17, 19), 13))
    ops |= set(check_against_torch(tmp, "matmul", MatMulNet().eval(), (4, 2, 7, 7), 13))
    ops |= set(check_against_torch(tmp, "global_pool", GlobalPool().eval(), (3, 3, 9, 9), 13))
    ops |= set(check_against_torch(tmp, "lenet5", lenet5().eval(), (6, 1, 28, 28), 11))
    # the convnet ends in Softmax: probabilities without --logits
    ops |= set(check_against_torch(tmp, "convnet", keras_convnet().eval(), (3, 1, 28, 28), 13,
                                   logits=False))
    listed = {"Conv", "BatchNormalization", "Gemm", "MatMul", "Add", "Relu", "LeakyRelu",
              "Tanh", "Sigmoid", "MaxPool", "AveragePool", "Pad", "GlobalAveragePool",
              "Flatten", "Reshape", "Softmax"}
    assert listed <= ops, f"not exercised: {listed - ops}"


def expect_refusal(tmp, name, model, shape, words, keep_bn=False):
    path = os.path.join(tmp, f"{name}.onnx")
    export(model, torch.randn(*shape), path, 13, keep_bn)
    xs, ys = os.path.join(tmp, f"{name}.x.npy"), os.path.join(tmp, f"{name}.y.npy")
    np.save(xs, np.random.rand(*shape).astype(np.float32))
    r = run(CLCNN, "infer", "--model", path, "--input", xs, "--output", ys, check=False)
    assert r.returncode == 1 and not os.path.exists(ys), (r.returncode, r.stderr)
    for w in words:
        assert w in r.stderr, f"{name}: '{w}' not in: {r.stderr}"
    print(f"  {name}: {r.stderr.strip()}")


def test_refusals(tmp):
    elu = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ELU(), nn.Flatten(), nn.Linear(2 * 9, 2))
    expect_refusal(tmp, "elu", elu.eval(), (1, 1, 5, 5), ["(Elu)", "operator 'Elu'"])
    # a Softmax over the channels of a feature map is not the classifier's
    pixel_softmax = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Softmax(1))
    expect_refusal(tmp, "pixel_softmax", pixel_softmax.eval(), (1, 1, 5, 5), ["(Softmax)"])
    # broadcasting a (1, C, 1, 1) parameter is not clcnn's add
    expect_refusal(tmp, "add_constant", AddConstant().eval(), (1, 2, 5, 5),
                   ["(Add)", "constant"])
    # branches joined by concatenation, not addition
    expect_refusal(tmp, "concat", Concat().eval(), (1, 2, 5, 5),
                   ["(Concat)", "operator 'Concat'"])


# ---- graphs: residual joins, branches, grouped convolution, batch norm alone ------

class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and the shortcut, a 1x1 strided
    projection with batch norm where the shape changes (torchvision's
    BasicBlock)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.blocks = nn.Sequential(ResidualBlock(6, 6, 1), ResidualBlock(6, 10, 2))
        self.fc = nn.Linear(10, 7)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ShortcutFirst(nn.Module):
    """The Add's operands the other way round: the shortcut first, and the
    input itself read by the join (x + f(x))."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(torch.flatten(x + F.relu(self.conv(x)), 1))


class Branches(nn.Module):
    """One tensor read by three nodes; a batch norm after an Add and one
    after pooling, so that neither folds into a convolution; a dense layer's
    batch norm."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 1)
        self.bn_sum = nn.BatchNorm2d(4)
        self.bn_pool = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 6)
        self.bn_fc = nn.BatchNorm1d(6, eps=1e-3)

    def forward(self, x):
        t = F.relu(self.a(x))
        s = self.bn_sum(t + self.b(x))
        y = self.bn_pool(F.max_pool2d(s, 2)) + F.avg_pool2d(t, 2)
        return self.bn_fc(self.fc(torch.flatten(y, 1)))


class Grouped(nn.Module):
    """Grouped and depthwise convolutions (MobileNet's separable blocks)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.BatchNorm2d(6), nn.ReLU(),
            nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6), nn.BatchNorm2d(6), nn.ReLU(),
            nn.Conv2d(6, 9, 1), nn.ReLU(),
            nn.Conv2d(9, 9, 3, padding=2, dilation=2, groups=3, bias=False), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(9, 5))

    def forward(self, x):
        return self.body(x)


class AddConstant(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3)
        self.shift = nn.Parameter(torch.randn(1, 2, 1, 1))

    def forward(self, x):
        return torch.flatten(self.conv(x) + self.shift, 1)


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 2, 3)
        self.b = nn.Conv2d(2, 3, 3)

    def forward(self, x):
        return torch.flatten(torch.cat([self.a(x), self.b(x)], 1), 1)


def test_graphs(tmp):
    for keep_bn in (True, False):
        tag = "bn" if keep_bn else "folded"
        check_against_torch(tmp, f"residual_{tag}", randomise(ResidualNet()), (3, 3, 11, 13),
                            13, keep_bn=keep_bn)
        check_against_torch(tmp, f"grouped_{tag}", randomise(Grouped()), (2, 4, 9, 9), 13,
                            keep_bn=keep_bn)
    check_against_torch(tmp, "shortcut_first", ShortcutFirst().eval(), (2, 2, 5, 5), 11)
    for opset in (9, 13):
        ops = check_against_torch(tmp, f"branches{opset}", randomise(Branches()), (4, 3, 8, 8),
                                  opset, keep_bn=True)
        assert ops.count("BatchNormalization") == 3, ops
    if torchvision is None:
        print("  SKIP (part): torchvision's resnet18 (apt-get install python3-torchvision)")
        return
    for opset, keep_bn in ((13, True), (17, False)):
        check_against_torch(tmp, f"resnet18_opset{opset}{'_bn' if keep_bn else ''}",
                            randomise(torchvision.models.resnet18()), (2, 3, 64, 64), opset,
                            keep_bn=keep_bn)
    # resnet18 imported as a clcnn model, exported again and run by onnxruntime
    py = onnxruntime_python(tmp)
    if py:
        name = os.path.join(tmp, "resnet18_opset13_bn")
        run(CLCNN, "import", f"{name}.onnx", f"{name}.clcnn")
        run(CLCNN, "export", f"{name}.clcnn", f"{name}.back.onnx")
        with open(os.path.join(tmp, "ort.py"), "w") as f:
            f.write(ORT_SCRIPT)
        run(py, os.path.join(tmp, "ort.py"), f"{name}.back.onnx", f"{name}.x.npy",
            f"{name}.ort.npy")
        err = relative_error(np.load(f"{name}.ort.npy"),
                             np.load(f"{name}.y.npy").astype(np.float64))
        print(f"  resnet18 imported, exported, run by onnxruntime: relative error {err:.2e} "
              "against clcnn infer")
        assert err <= TOLERANCE, err


def test_crafted_graphs(tmp):
    """Graphs PyTorch does not write, built with onnx.helper and run by
    onnxruntime as the reference: a batch norm behind an Identity of a conv
    whose output a join reads too (it must not fold into that conv), the
    nodes stored in reverse order, and an Add whose operands are the input
    and a BatchNormalization of it."""
    from onnx import TensorProto, helper, numpy_helper
    py = onnxruntime_python(tmp)
    if not py:
        return
    rng = np.random.default_rng(11)

    def init(name, *shape, low=-1.0, high=1.0):
        return numpy_helper.from_array(rng.uniform(low, high, shape).astype(np.float32), name)

    bn = [init("g", 3, low=0.5, high=1.5), init("be", 3), init("m", 3),
          init("v", 3, low=0.5, high=2.0)]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Identity", ["c"], ["i"], name="same"),
        helper.make_node("BatchNormalization", ["i", "g", "be", "m", "v"], ["n"], name="bn",
                         epsilon=1e-3),
        helper.make_node("Add", ["c", "n"], ["s"], name="join"),
        helper.make_node("BatchNormalization", ["x", "g", "be", "m", "v"], ["xn"], name="bn_in"),
        helper.make_node("Add", ["xn", "s"], ["s2"], name="join_in"),
        helper.make_node("Relu", ["s2"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    inits = [init("w", 3, 3, 3, 3), init("b", 3), init("fw", 4, 3 * 5 * 6), init("fb", 4)] + bn
    for order, name in ((nodes, "crafted"), (nodes[::-1], "crafted_reversed")):
        graph = helper.make_graph(
            order, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 5, 6])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        path = os.path.join(tmp, f"{name}.onnx")
        onnx.save(model, path)
        x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
        xs, ys, yo = (os.path.join(tmp, f"{name}.{k}.npy") for k in ("x", "y", "ort"))
        np.save(xs, x)
        run(CLCNN, "infer", "--model", path, "--input", xs, "--output", ys, "--logits")
        script = os.path.join(tmp, "ort_x.py")
        with open(script, "w") as f:
            f.write("import sys, numpy as np, onnxruntime as ort\n"
                    "s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n"
                    "np.save(sys.argv[3], s.run(None, {'x': np.load(sys.argv[2])})[0])\n")
        run(py, script, path, xs, yo)
        err = relative_error(np.load(ys), np.load(yo).astype(np.float64))
        print(f"  {name}: against onnxruntime: relative error {err:.2e}")
        assert err <= TOLERANCE, (name, err)


# ---- clcnn -> onnxruntime ----------------------------------------------------------

def onnxruntime_python(tmp):
    """A venv with onnxruntime from PyPI (kept in the build folder for the next
    run), or None with the reason printed when pip cannot get it."""
    venv = os.path.join(BUILD, "onnx-venv")
    py = os.path.join(venv, "bin", "python")
    probe = [py, "-c", "import onnxruntime"]
    if os.path.exists(py) and subprocess.run(probe, capture_output=True).returncode == 0:
        return py
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"SKIP (part): cannot make a virtual environment: {r.stderr.strip()}")
        return None
    try:
        r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "onnxruntime"], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        print("SKIP (part): pip install onnxruntime timed out: PyPI is not reachable")
        return None
    if r.returncode != 0:
        print("SKIP (part): pip install onnxruntime failed, PyPI is not reachable from here: "
              + r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
        return None
    return py


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


ORT_SCRIPT = r"""
import sys, numpy as np, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
outputs = [session.run(None, {"input": x[i:i + 500]})[0] for i in range(0, len(x), 500)]
np.save(sys.argv[3], np.concatenate(outputs))
"""


def test_export_onnxruntime(tmp):
    model = os.path.join(tmp, "lenet5.clcnn")
    run(CLCNN, "train", "--model", "lenet5", "--data", MNIST, "--epochs", "1",
        "--train-limit", "6000", "--seed", "3", "--out", model)
    exported = os.path.join(tmp, "lenet5.onnx")
    run(CLCNN, "export", model, exported)
    onnx.checker.check_model(onnx.load(exported))
    report = json.loads(run(CLCNN, "eval", "--model", model, "--data", MNIST, "--json").stdout)
    # the same images as clcnn eval sees them: (p / 255 - mean) / std
    images = read_idx(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz"))
    x = ((images.astype(np.float32) / np.float32(255) - np.float32(0.1307))
         / np.float32(0.3081))[:, None].astype(np.float32)
    xs = os.path.join(tmp, "t10k.npy")
    np.save(xs, x)
    # clcnn eval reads the exported model too, and clcnn import brings it back
    onnx_report = json.loads(run(CLCNN, "eval", "--model", exported, "--data", MNIST,
                                 "--json").stdout)
    assert onnx_report["accuracy"] == report["accuracy"], (onnx_report, report)
    back = os.path.join(tmp, "back.clcnn")
    run(CLCNN, "import", exported, back)
    ys_clcnn = os.path.join(tmp, "clcnn.npy")
    run(CLCNN, "infer", "--model", back, "--input", xs, "--output", ys_clcnn, "--logits",
        "--batch", "500")
    print(f"  clcnn eval: accuracy {report['accuracy']:.4f} on {report['images']} images "
          "(the .clcnn, its export and its re-import agree)")
    py = onnxruntime_python(tmp)
    if not py:
        return
    ys_ort = os.path.join(tmp, "ort.npy")
    script = os.path.join(tmp, "ort.py")
    with open(script, "w") as f:
        f.write(ORT_SCRIPT)
    run(py, script, exported, xs, ys_ort)
    ort_out, clcnn_out = np.load(ys_ort), np.load(ys_clcnn)
    err = relative_error(clcnn_out, ort_out.astype(np.float64))
    accuracy = float((ort_out.argmax(1) == labels).mean())
    print(f"  onnxruntime: accuracy {accuracy:.4f}, outputs against clcnn infer: relative "
          f"error {err:.2e}")
    assert err <= TOLERANCE, err
    assert round(accuracy, 6) == round(report["accuracy"], 6), (accuracy, report["accuracy"])

    # every layer kind and option clcnn has, through onnxruntime
    spec = ("conv(4,3,pad=same,stride=2) leaky_relu(0.2) avgpool(3,2,pad=1,include_pad=1) "
            "conv(5,2,3,pad=same,dilation=2) tanh maxpool(2,1,pad=1) avgpool(2,pad=1) sigmoid "
            "dense(12) conv(6,1) relu flatten dense(10) softmax")
    model = os.path.join(tmp, "options.clcnn")
    run(CLCNN, "train", "--model", spec, "--data", MNIST, "--epochs", "1", "--train-limit",
        "500", "--out", model)
    exported = os.path.join(tmp, "options.onnx")
    run(CLCNN, "export", model, exported)
    onnx.checker.check_model(onnx.load(exported))
    xs = os.path.join(tmp, "few.npy")
    np.save(xs, x[:300])
    run(CLCNN, "infer", "--model", model, "--input", xs, "--output", ys_clcnn)
    run(py, script, exported, xs, ys_ort)
    err = relative_error(np.load(ys_clcnn), np.load(ys_ort).astype(np.float64))
    print(f"  {spec}: onnxruntime against clcnn infer: relative error {err:.2e}")
    assert err <= TOLERANCE, err


def mini_mnist(tmp, count):
    """The first count training and test images of MNIST as a data folder of
    its own, so that a few training steps take a moment."""
    folder = os.path.join(tmp, "mini-mnist")
    os.makedirs(folder, exist_ok=True)
    for kind in ("train", "t10k"):
        for what in ("images-idx3", "labels-idx1"):
            name = f"{kind}-{what}-ubyte.gz"
            with gzip.open(os.path.join(MNIST, name), "rb") as f:
                data = f.read()
            dims = 3 if what.startswith("images") else 1
            header = bytearray(data[:4 + 4 * dims])
            header[4:8] = count.to_bytes(4, "big")
            per = 28 * 28 if dims == 3 else 1
            with gzip.open(os.path.join(folder, name), "wb") as f:
                f.write(bytes(header) + data[len(header):len(header) + count * per])
    return folder


def test_export_graphs(tmp):
    """resnet, mobilenet and a spec of every graph feature, trained a few
    steps (so that the batch-norm statistics are the data's), exported, run
    by onnxruntime, and imported back: all equal clcnn infer."""
    py = onnxruntime_python(tmp)
    data = mini_mnist(tmp, 96)
    x = np.random.default_rng(5).standard_normal((7, 1, 28, 28)).astype(np.float32)
    xs = os.path.join(tmp, "graph-x.npy")
    np.save(xs, x)
    script = os.path.join(tmp, "ort.py")
    with open(script, "w") as f:
        f.write(ORT_SCRIPT)
    spec = ("conv(6,3,pad=1) bn(eps=0.001,momentum=0.3) relu @a "
            "conv(6,3,pad=1,groups=3) bn relu conv(6,1,groups=6) add(@a) @b "
            "from(@input) conv(6,5,pad=2,stride=1) bn add(@b) dropout(0.25) maxpool(2) @c "
            "global_avgpool @g from(@c) conv(6,3,pad=1,groups=2) global_avgpool add(@g) @h "
            "flatten dense(6) add(@h) dense(12) bn relu dense(10)")
    for name in ("resnet", "mobilenet", spec):
        tag = name if len(name) < 12 else "graph_spec"
        model = os.path.join(tmp, f"{tag}.clcnn")
        run(CLCNN, "train", "--model", name, "--data", data, "--epochs", "1", "--batch", "32",
            "--out", model)
        exported = os.path.join(tmp, f"{tag}.onnx")
        run(CLCNN, "export", model, exported)
        graph = onnx.load(exported)
        onnx.checker.check_model(graph)
        ops = sorted({n.op_type for n in graph.graph.node})
        ys = os.path.join(tmp, f"{tag}.y.npy")
        run(CLCNN, "infer", "--model", model, "--input", xs, "--output", ys, "--logits")
        want = np.load(ys).astype(np.float64)
        # the exported file read back by clcnn (batch norm after a conv folded)
        back = os.path.join(tmp, f"{tag}.back.npy")
        run(CLCNN, "infer", "--model", exported, "--input", xs, "--output", back, "--logits")
        err_back = relative_error(np.load(back), want)
        line = f"  {tag} ({' '.join(ops)}): clcnn infer of the export {err_back:.2e}"
        assert err_back <= TOLERANCE, (tag, err_back)
        if py:
            ys_ort = os.path.join(tmp, f"{tag}.ort.npy")
            run(py, script, exported, xs, ys_ort)
            err = relative_error(np.load(ys_ort), want)
            line += f", onnxruntime {err:.2e}"
            assert err <= TOLERANCE, (tag, err)
        print(line + " (relative errors against clcnn infer)")
        want_ops = {"BatchNormalization", "GlobalAveragePool"}
        want_ops |= {"Add"} if tag != "mobilenet" else set()
        want_ops |= {"Dropout"} if "dropout" in name else set()
        assert want_ops <= set(ops), (tag, want_ops - set(ops))
        groups = [a.i for n in graph.graph.node for a in n.attribute if a.name == "group"]
        assert (max(groups) > 1) == (tag != "resnet"), (tag, groups)


def main():
    r = run(CLCNN, "devices", check=False)
    if r.returncode != 0:
        required = os.environ.get("CLCNN_REQUIRE_DEVICE") == "1"
        print(f"{'FAIL' if required else 'SKIP'}: no OpenCL device: {r.stderr.strip()}",
              file=sys.stderr)
        return 1 if required else 77
    failures = 0
    tests = [("PyTorch models through clcnn infer", test_torch_models),
             ("operators clcnn refuses", test_refusals),
             ("graphs: residual, branches, grouped, batch norm, resnet18", test_graphs),
             ("graphs PyTorch does not write, against onnxruntime", test_crafted_graphs),
             ("clcnn export run by onnxruntime", test_export_onnxruntime),
             ("graphs exported: resnet, mobilenet, a spec", test_export_graphs)]
    with tempfile.TemporaryDirectory(prefix="clcnn-onnx-") as tmp:
        for name, fn in tests:
            try:
                fn(tmp)
                print(f"PASS: {name}")
            except Exception:
                failures += 1
                print(f"FAIL: {name}:\n{traceback.format_exc()}", file=sys.stderr)
    print(f"{len(tests) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

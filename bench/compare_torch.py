#!/usr/bin/python3
"""Runs clcnn's benchmark cases in PyTorch on the CPU, in the same run as
`clcnn bench`, and prints both figures and their ratio.

The cases are clcnn's own (`clcnn bench --list --json`: the same shapes and
batches); each is timed by one `clcnn bench` process and then in PyTorch in
this process, the order switching from case to case, so that a machine busy
with other work slows both sides alike. PyTorch gets as many threads as the
OpenCL device has compute units (PoCL runs one thread per core). The whole
networks (`clcnn bench --model`) are compared the same way: LeNet-5, the
Keras convnet, resnet and mobilenet, each built in PyTorch from the spec
`clcnn info` prints (the same layers and graph), training with Adam (batch
statistics, dropout) and inference (running statistics), in images/s.

Needs Debian's PyTorch and OpenBLAS (run with /usr/bin/python3, not a
virtual environment's interpreter):

    sudo apt-get install python3-torch libopenblas0-openmp

Usage:
    /usr/bin/python3 bench/compare_torch.py [--clcnn build/clcnn] [--suite NAMES]
        [--layer NAMES] [--pass PASSES] [--batch N] [--repeat N] [--models M,M]
        [--model-batch 64] [--json FILE] [--markdown]

The ratio column is clcnn's speed over PyTorch's (PyTorch's time divided by
clcnn's): above 1, clcnn is faster. "by CPU time" divides the CPU times of
the two processes instead (all threads): the work each needed, which other
programs on the machine disturb less than wall time (with --omp-passive,
since spinning OpenMP threads burn CPU time while they wait). --json writes
every row for plot.py.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
PASSES = ("fwd", "bwd-data", "bwd-filter")
LR = 0.002
ROUND_S = 0.2


def fail(message, status=1):
    print("compare_torch.py: " + message, file=sys.stderr)
    sys.exit(status)


def torch_missing(why):
    fail("PyTorch is missing (%s).\n"
         "Install Debian's PyTorch and OpenBLAS and run with Debian's Python:\n"
         "    sudo apt-get install python3-torch libopenblas0-openmp\n"
         "    /usr/bin/python3 bench/compare_torch.py" % why, 2)


def import_torch():
    """Imported late: OMP_NUM_THREADS must be set before."""
    try:
        import torch
        return torch
    except ImportError as e:
        torch_missing(e)


def find_clcnn(given):
    if given:
        return given
    for path in (os.path.join(HERE, "..", "build", "clcnn"), shutil.which("clcnn")):
        if path and os.access(path, os.X_OK):
            return os.path.normpath(path)
    fail("no clcnn binary: build it (meson setup build && ninja -C build) or pass --clcnn", 2)


def clcnn_json(clcnn, args):
    """Runs `clcnn ARGS --json` and returns its JSON objects."""
    proc = subprocess.run([clcnn] + args + ["--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        fail("%s %s failed (exit %d):\n%s" % (clcnn, " ".join(args), proc.returncode,
                                             proc.stderr.strip()))
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


# ---- PyTorch: the convolution passes ----

def torch_conv_runner(torch, case, pass_name):
    """A function running one pass of the case, on random data as clcnn's."""
    n, c, h, w = case["n"], case["c"], case["h"], case["w"]
    k, r, s = case["k"], case["r"], case["s"]
    stride, pad = [case["stride"]] * 2, [case["pad"]] * 2
    gen = torch.Generator().manual_seed(42)
    x = torch.rand(n, c, h, w, generator=gen) * 2 - 1
    wt = torch.rand(k, c, r, s, generator=gen) * 2 - 1
    b = torch.rand(k, generator=gen) * 2 - 1
    dy = torch.rand(n, k, case["p"], case["q"], generator=gen) * 2 - 1
    conv = torch.nn.functional.conv2d
    backward = getattr(torch.ops.aten, "convolution_backward", None)
    if pass_name == "fwd":
        return lambda: conv(x, wt, b, stride, pad)
    if backward is not None:  # the op autograd itself calls (PyTorch >= 1.11)
        mask = [True, False, False] if pass_name == "bwd-data" else [False, True, True]
        return lambda: backward(dy, x, wt, [k], stride, pad, [1, 1], False, [0, 0], 1, mask)
    if pass_name == "bwd-data":
        return lambda: torch.nn.grad.conv2d_input(x.shape, wt, dy, stride, pad)
    return lambda: (torch.nn.grad.conv2d_weight(x, wt.shape, dy, stride, pad), dy.sum((0, 2, 3)))


def time_runs(fn, warmup, repeat):
    """Median and min wall ms and CPU ms per run (all threads)."""
    for _ in range(warmup):
        fn()
    times = []
    cpu0 = time.process_time()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    cpu = (time.process_time() - cpu0) * 1e3 / repeat
    return statistics.median(times), min(times), cpu


# ---- PyTorch: whole networks ----

def clcnn_spec(clcnn, name):
    """The canonical spec text of a built-in model, as `clcnn info` prints it."""
    proc = subprocess.run([clcnn, "info", "--model", name], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("spec:"):
            return line[len("spec:"):].strip()
    fail("clcnn info --model %s printed no spec (exit %d):\n%s" % (
        name, proc.returncode, proc.stderr.strip()))


def spec_layers(spec):
    """A spec's layers as (name, positional arguments, keyword arguments)."""
    for token in spec.split():
        m = re.fullmatch(r"([@a-z_0-9]+)(?:\((.*)\))?", token)
        if not m:
            fail("cannot read spec token %r" % token)
        args, kw = [], {}
        for a in (m.group(2) or "").split(",") if m.group(2) else []:
            if "=" in a:
                key, value = a.split("=", 1)
                kw[key] = value
            else:
                args.append(a)
        yield m.group(1), args, kw


def torch_model(torch, spec, channels=1):
    """The network of a clcnn spec in PyTorch, layer for layer: the same
    graph (@name, from(@x), add(@x)), PyTorch's BatchNorm2d and Dropout with
    the same settings. A final softmax is left to the loss, as in clcnn."""
    nn = torch.nn
    warnings.filterwarnings("ignore", message="Lazy modules")  # nn.LazyLinear's notice

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = []       # (kind, module index or name)
            self.mods = nn.ModuleList()
            shapes = {"input": channels}
            c = channels
            for name, a, kw in spec_layers(spec):
                mod = None
                if name.startswith("@"):
                    self.steps.append(("name", name[1:]))
                    shapes[name[1:]] = c
                    continue
                if name == "from":
                    self.steps.append(("from", a[0][1:]))
                    c = shapes[a[0][1:]]
                    continue
                if name == "add":
                    self.steps.append(("add", a[0][1:]))
                    continue
                if name == "conv":
                    k, r = int(a[0]), int(a[1])
                    s = int(a[2]) if len(a) > 2 else r
                    pad = kw.get("pad", "0")
                    mod = nn.Conv2d(c, k, (r, s), stride=int(kw.get("stride", 1)),
                                    padding="same" if pad == "same" else int(pad),
                                    dilation=int(kw.get("dilation", 1)),
                                    groups=int(kw.get("groups", 1)))
                    c = k
                elif name == "bn":
                    mod = nn.BatchNorm2d(c, eps=float(kw.get("eps", 1e-5)),
                                         momentum=float(kw.get("momentum", 0.1)))
                elif name == "relu":
                    mod = nn.ReLU()
                elif name == "leaky_relu":
                    mod = nn.LeakyReLU(float(a[0]) if a else 0.01)
                elif name == "tanh":
                    mod = nn.Tanh()
                elif name == "sigmoid":
                    mod = nn.Sigmoid()
                elif name in ("maxpool", "avgpool"):
                    w = int(a[0])
                    t = int(a[1]) if len(a) > 1 else w
                    pad = int(kw.get("pad", 0))
                    mod = (nn.MaxPool2d(w, t, pad) if name == "maxpool" else
                           nn.AvgPool2d(w, t, pad,
                                        count_include_pad=kw.get("include_pad") == "1"))
                elif name == "global_avgpool":
                    mod = nn.AdaptiveAvgPool2d(1)
                elif name == "flatten":
                    mod = nn.Flatten()
                elif name == "dense":
                    mod = nn.Sequential(nn.Flatten(), nn.LazyLinear(int(a[0])))
                    c = int(a[0])
                elif name == "dropout":
                    mod = nn.Dropout(float(a[0]))
                elif name == "softmax":
                    continue
                else:
                    fail("PyTorch has no copy of spec layer %r" % name)
                self.steps.append(("module", len(self.mods)))
                self.mods.append(mod)

        def forward(self, x):
            named = {"input": x}
            for kind, what in self.steps:
                if kind == "module":
                    x = self.mods[what](x)
                elif kind == "name":
                    named[what] = x
                elif kind == "from":
                    x = named[what]
                else:
                    x = x + named[what]
            return x

    return Graph()


def torch_model_rates(torch, spec, batch, warmup, repeat):
    """Training and inference images/s: median of `repeat` rounds of about
    ROUND_S seconds, after warm-up steps, as `clcnn bench --model` times."""
    torch.manual_seed(1)
    model = torch_model(torch, spec)
    x = torch.rand(batch, 1, 28, 28) * 3 - 0.5
    with torch.no_grad():
        model(x)  # gives the dense layers their input sizes
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    labels = torch.arange(batch) % 10

    def train():  # batch statistics and dropout, as clcnn's training
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), labels).backward()
        opt.step()

    def infer():  # running statistics, no dropout
        model.eval()
        with torch.no_grad():
            return model(x).softmax(1)

    rates = {}
    for kind, fn in (("train", train), ("infer", infer)):
        cpu0 = time.process_time()
        step_s = 1.0
        for _ in range(max(warmup, 1)):
            t0 = time.perf_counter()
            fn()
            step_s = time.perf_counter() - t0
        steps = max(1, int(ROUND_S / max(step_s, 1e-5)))
        per_step = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            per_step.append((time.perf_counter() - t0) / steps)
        rates[kind] = batch / statistics.median(per_step)
        rates[kind + "_cpu_ms"] = (time.process_time() - cpu0) * 1e3 / (repeat * steps)
    return rates


# ---- the run ----

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clcnn", help="the clcnn binary (default: build/clcnn, then PATH)")
    ap.add_argument("--suite", default="all", help="suites, comma-separated (default all)")
    ap.add_argument("--layer", default="all", help="layers, comma-separated (default all)")
    ap.add_argument("--pass", dest="passes", default="all",
                    help="fwd, bwd-data, bwd-filter, comma-separated (default all)")
    ap.add_argument("--batch", type=int, help="batch of every layer (default: clcnn's)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per pass (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    ap.add_argument("--models", default="lenet5,convnet,resnet,mobilenet",
                    help="whole networks to compare: built-in models ('' for none; "
                    "default lenet5,convnet,resnet,mobilenet)")
    ap.add_argument("--model-batch", type=int, default=64, help="their batch (default 64)")
    ap.add_argument("--no-layers", action="store_true", help="compare the networks only")
    ap.add_argument("--cold", default="lenet5,convnet",
                    help="models whose cold start (empty kernel caches) to measure ('' for "
                    "none; default lenet5,convnet)")
    ap.add_argument("--threads", type=int, help="PyTorch threads (default: the device's "
                    "compute units)")
    ap.add_argument("--omp-passive", action="store_true",
                    help="OMP_WAIT_POLICY=PASSIVE for PyTorch: its threads sleep at once "
                    "instead of spinning, which helps it on a machine shared with other "
                    "work (PoCL's threads sleep too)")
    ap.add_argument("--json", help="write every row to this file, one JSON object a line")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = ap.parse_args()
    if args.repeat < 1 or args.warmup < 0 or args.model_batch < 1:
        fail("--repeat, --warmup and --model-batch must be positive", 2)

    if importlib.util.find_spec("torch") is None:
        torch_missing("no module named 'torch' for %s" % sys.executable)
    clcnn = find_clcnn(args.clcnn)
    peak = clcnn_json(clcnn, ["bench", "--peak", "--repeat", "3"])[0]
    threads = args.threads or peak["compute_units"] or os.cpu_count()
    os.environ["OMP_NUM_THREADS"] = str(threads)  # OpenBLAS's OpenMP threads
    if args.omp_passive:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    torch = import_torch()
    torch.set_num_threads(threads)
    blas = "OpenBLAS" if "BLAS_INFO=open" in torch.__config__.show() else "its BLAS"
    print("clcnn %s on %s (%s %s); FP32 peak %.1f GFLOP/s (best run)" % (
        peak["clcnn"], peak["device"], peak["platform"], peak["driver"], peak["peak_gflops"]))
    print("PyTorch %s on the CPU, %d thread%s, %s%s%s; %s" % (
        torch.__version__, torch.get_num_threads(), "" if threads == 1 else "s", blas,
        ", oneDNN" if torch.backends.mkldnn.is_available() else "",
        ", OMP_WAIT_POLICY=" + os.environ["OMP_WAIT_POLICY"]
        if "OMP_WAIT_POLICY" in os.environ else "",
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    load_note(threads)
    rows = []
    out = open(args.json, "w") if args.json else None
    if out:
        out.write(json.dumps(dict(peak, type="header", torch=torch.__version__,
                                  threads=threads, load=os.getloadavg()[0])) + "\n")

    def emit(row):
        rows.append(row)
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()

    if not args.no_layers:
        list_args = ["bench", "--list", "--suite", args.suite, "--layer", args.layer]
        if args.batch:
            list_args += ["--batch", str(args.batch)]
        cases = clcnn_json(clcnn, list_args)
        passes = PASSES if args.passes == "all" else tuple(args.passes.split(","))
        for p in passes:
            if p not in PASSES:
                fail("--pass: unknown pass %r" % p, 2)
        header(args.markdown, "layer")
        for i, case in enumerate(cases):
            run_clcnn = lambda: clcnn_json(clcnn, [  # noqa: E731
                "bench", "--layer", case["layer"], "--batch", str(case["n"]), "--pass",
                ",".join(passes), "--repeat", str(args.repeat), "--warmup", str(args.warmup),
                "--no-peak"])[1:]

            def run_torch():
                return {p: time_runs(torch_conv_runner(torch, case, p), args.warmup,
                                     args.repeat) for p in passes}
            if i % 2 == 0:  # alternate which side runs first
                ours, theirs = run_clcnn(), run_torch()
            else:
                theirs = run_torch()
                ours = run_clcnn()
            for r in ours:
                ms, min_ms, cpu_ms = theirs[r["pass"]]
                row = {"type": "conv", "suite": case["suite"], "layer": case["layer"],
                       "pass": r["pass"], "n": case["n"], "gflop": r["gflop"],
                       "clcnn_algo": r["variant"], "clcnn_ms": r["ms"],
                       "clcnn_gflops": r["gflops"], "clcnn_cpu_ms": r["cpu_ms"],
                       "torch_ms": ms, "torch_min_ms": min_ms, "torch_cpu_ms": cpu_ms,
                       "torch_gflops": r["gflop"] / ms * 1e3, "ratio": ms / r["ms"],
                       "peak_gflops": peak["peak_gflops"],
                       "clcnn_peak_pct": 100 * r["gflops"] / peak["peak_gflops"],
                       "ratio_cpu": cpu_ms / max(r["cpu_ms"], 1e-6), "threads": threads}
                emit(row)
                line(args.markdown, row)

    models = [m for m in args.models.split(",") if m]
    if models:
        header(args.markdown, "model")
    for name in models:
        ours = clcnn_json(clcnn, ["bench", "--model", name, "--batch", str(args.model_batch),
                                  "--repeat", str(args.repeat)])[0]
        theirs = torch_model_rates(torch, clcnn_spec(clcnn, name), args.model_batch, 3,
                                   args.repeat)
        for kind in ("train", "infer"):
            a, b = ours[kind + "_images_per_s"], theirs[kind]
            ours_cpu = ours["train_cpu_ms_per_step" if kind == "train" else
                            "infer_cpu_ms_per_batch"]
            row = {"type": "model", "model": name, "kind": kind, "n": args.model_batch,
                   "clcnn_images_per_s": a, "torch_images_per_s": b, "ratio": a / b,
                   "clcnn_cpu_ms": ours_cpu, "torch_cpu_ms": theirs[kind + "_cpu_ms"],
                   "ratio_cpu": theirs[kind + "_cpu_ms"] / max(ours_cpu, 1e-6),
                   "threads": threads}
            emit(row)
            line(args.markdown, row)
    cold = [m for m in args.cold.split(",") if m]
    if cold:
        print("\ncold start: `clcnn bench --model M` with empty clcnn and PoCL caches, then "
              "again with the caches it filled")
    for name in cold:
        row = dict(cold_start(clcnn, name), type="cold", model=name)
        emit(row)
        print("%-18s set-up %8.0f ms cold, %6.0f ms warm" % (
            name, row["setup_ms"], row["warm_setup_ms"]))
    if out:
        out.close()
    summary(rows)
    load_note(threads)


def cold_start(clcnn, name):
    """setup_ms of `clcnn bench --model NAME` in a new process with empty
    kernel caches (what a new user's first command pays), then warm."""
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as pocl:
        env = dict(os.environ, CLCNN_CACHE_DIR=ours, POCL_CACHE_DIR=pocl)
        times = []
        for _ in range(2):
            proc = subprocess.run([clcnn, "bench", "--model", name, "--repeat", "1", "--json"],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                fail("clcnn bench --model %s failed (exit %d):\n%s" % (
                    name, proc.returncode, proc.stderr.strip()))
            times.append(json.loads(proc.stdout.splitlines()[0])["setup_ms"])
    return {"setup_ms": times[0], "warm_setup_ms": times[1]}


def summary(rows):
    """Worst ratio and geometric mean per suite and pass, then over all."""
    conv = [r for r in rows if r["type"] == "conv"]
    if not conv:
        return
    print("\n%-10s %-10s %6s %8s %8s %s" % ("suite", "pass", "layers", "worst", "geomean",
                                            "(worst layer)"))
    groups = {}
    for r in conv:
        groups.setdefault((r["suite"], r["pass"]), []).append(r)
    for (suite, pass_name), group in groups.items():
        worst = min(group, key=lambda r: r["ratio"])
        print("%-10s %-10s %6d %8.2f %8.2f (%s)" % (
            suite, pass_name, len(group), worst["ratio"],
            statistics.geometric_mean([r["ratio"] for r in group]), worst["layer"]))
    worst = min(conv, key=lambda r: r["ratio"])
    print("all passes: worst %.2f (%s %s), geometric mean %.2f (by CPU time: %.2f)" % (
        worst["ratio"], worst["layer"], worst["pass"],
        statistics.geometric_mean([r["ratio"] for r in conv]),
        statistics.geometric_mean([r["ratio_cpu"] for r in conv])))


def load_note(threads):
    """Other programs' load distorts both sides, PyTorch's spinning OpenMP
    threads most: say so, so that a reader can judge the ratios."""
    load = os.getloadavg()[0]
    print("load average %.2f on %d core%s%s" % (
        load, os.cpu_count(), "" if os.cpu_count() == 1 else "s",
        "; the machine is busy: PyTorch's OpenMP threads suffer most (see --omp-passive)"
        if load > 0.5 * os.cpu_count() else ""))


def header(markdown, kind):
    if kind == "layer":
        cols = ("layer", "pass", "N", "clcnn ms", "GFLOP/s", "%peak", "PyTorch ms", "GFLOP/s",
                "clcnn/PyTorch", "by CPU time")
        fmt = "%-18s %-10s %5s %10s %8s %6s %10s %8s %13s %11s"
    else:
        cols = ("model", "run", "batch", "clcnn img/s", "", "", "PyTorch img/s", "",
                "clcnn/PyTorch", "by CPU time")
        fmt = "%-18s %-10s %5s %11s %7s %6s %13s %5s %13s %11s"
    if markdown:
        print("\n| " + " | ".join(c for c in cols if c) + " |")
        print("|" + "---|" * len([c for c in cols if c]))
    else:
        print()
        print(fmt % cols)
    sys.stdout.flush()


def line(markdown, row):
    if row["type"] == "conv":
        cells = (row["layer"], row["pass"], str(row["n"]), "%.3f" % row["clcnn_ms"],
                 "%.1f" % row["clcnn_gflops"], "%.0f%%" % row["clcnn_peak_pct"],
                 "%.3f" % row["torch_ms"], "%.1f" % row["torch_gflops"], "%.2f" % row["ratio"],
                 "%.2f" % row["ratio_cpu"])
        fmt = "%-18s %-10s %5s %10s %8s %6s %10s %8s %13s %11s"
    else:
        cells = (row["model"], "training" if row["kind"] == "train" else "inference",
                 str(row["n"]), "%.0f" % row["clcnn_images_per_s"], "", "",
                 "%.0f" % row["torch_images_per_s"], "", "%.2f" % row["ratio"],
                 "%.2f" % row["ratio_cpu"])
        fmt = "%-18s %-10s %5s %11s %7s %6s %13s %5s %13s %11s"
    if markdown:
        print("| " + " | ".join(c for c in cells if c != "") + " |")
    else:
        print(fmt % cells)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

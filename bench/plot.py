#!/usr/bin/python3
"""Draws benchmark results as a PNG bar chart.

Reads the JSON lines that `bench/compare_torch.py --json FILE` writes (clcnn
and PyTorch side by side) or that `clcnn bench --json` prints (clcnn alone):
one panel per pass with GFLOP/s per layer, the device's measured FP32 peak
as a line where it is known, and a panel of whole-network images/s.

Needs Debian's matplotlib (run with /usr/bin/python3):

    sudo apt-get install python3-matplotlib

Usage:
    /usr/bin/python3 bench/plot.py RESULTS.jsonl OUT.png [--title TEXT]
"""
import argparse
import json
import sys

PASSES = ("fwd", "bwd-data", "bwd-filter")
PASS_TITLES = {"fwd": "forward", "bwd-data": "backward to the input",
               "bwd-filter": "backward to the filters"}
CLCNN_COLOR, TORCH_COLOR = "#1f77b4", "#ff7f0e"


def load(path):
    rows, header = [], {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("type") in ("header", "peak"):
                header = row
            else:
                rows.append(row)
    convs = []
    for r in rows:
        if r.get("type") != "conv":
            continue
        if "clcnn_gflops" in r:  # compare_torch.py
            convs.append(r)
        else:  # clcnn bench --json
            convs.append(dict(r, clcnn_gflops=r["gflops"], peak_gflops=header.get("peak_gflops")))
    models = [r for r in rows if r.get("type") == "model"]
    return convs, models, header


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="JSON lines from compare_torch.py --json or clcnn bench --json")
    ap.add_argument("out", help="the PNG to write")
    ap.add_argument("--title", default="", help="a title over the chart")
    args = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        print("plot.py: matplotlib is missing (%s).\nInstall it and run with Debian's "
              "Python:\n    sudo apt-get install python3-matplotlib\n    /usr/bin/python3 "
              "bench/plot.py RESULTS.jsonl OUT.png" % e, file=sys.stderr)
        sys.exit(2)

    convs, models, header = load(args.results)
    passes = [p for p in PASSES if any(r["pass"] == p for r in convs)]
    panels = len(passes) + (1 if models else 0)
    if panels == 0:
        sys.exit("plot.py: %s holds no results" % args.results)
    has_torch = any("torch_gflops" in r for r in convs) or bool(models)
    fig, axes = plt.subplots(panels, 1, figsize=(12, 3.2 * panels), squeeze=False)
    for ax, p in zip(axes[:, 0], passes):
        rs = [r for r in convs if r["pass"] == p]
        xs = range(len(rs))
        width = 0.4 if has_torch else 0.7
        ax.bar([x - (width / 2 if has_torch else 0) for x in xs],
               [r["clcnn_gflops"] for r in rs], width, label="clcnn", color=CLCNN_COLOR)
        if has_torch:
            ax.bar([x + width / 2 for x in xs], [r.get("torch_gflops", 0) for r in rs], width,
                   label="PyTorch (CPU)", color=TORCH_COLOR)
        peak = next((r.get("peak_gflops") for r in rs if r.get("peak_gflops")), None)
        if peak:
            ax.axhline(peak / 2, color="gray", linestyle="--", linewidth=1)
            ax.text(0.995, peak / 2, "50% of the measured peak", va="bottom", ha="right",
                    fontsize=8, color="gray", transform=ax.get_yaxis_transform())
        ax.set_xticks(list(xs))
        ax.set_xticklabels(["%s\nN=%d" % (r["layer"], r["n"]) for r in rs], fontsize=7,
                           rotation=30, ha="right")
        ax.set_ylabel("GFLOP/s")
        ax.set_title(PASS_TITLES[p], fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    if models:
        ax = axes[-1, 0]
        labels = ["%s %s\nbatch %d" % (m["model"], "training" if m["kind"] == "train"
                                       else "inference", m["n"]) for m in models]
        xs = range(len(models))
        ax.bar([x - 0.2 for x in xs], [m["clcnn_images_per_s"] for m in models], 0.4,
               label="clcnn", color=CLCNN_COLOR)
        ax.bar([x + 0.2 for x in xs], [m["torch_images_per_s"] for m in models], 0.4,
               label="PyTorch (CPU)", color=TORCH_COLOR)
        for x, m in zip(xs, models):
            ax.text(x, max(m["clcnn_images_per_s"], m["torch_images_per_s"]),
                    "%.2fx" % m["ratio"], ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("images/s")
        ax.set_title("whole networks", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    title = args.title or ("clcnn on %s" % header["device"] if header.get("device") else "")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()

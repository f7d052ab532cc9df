#!/usr/bin/env python3
"""Embeds kernels/<name>.cl as `const char clcnn__kernel_<name>[]` in a C file.

Bytes are written as a brace list, not a string literal, so that no C
compiler limit on string length applies.
"""
import os
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: embed_cl.py IN.cl OUT.c", file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    name = os.path.splitext(os.path.basename(src))[0]
    with open(src, "rb") as f:
        data = f.read() + b"\0"
    lines = []
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    with open(dst, "w", encoding="ascii") as f:
        f.write(f"/* Generated from {os.path.basename(src)} by tools/embed_cl.py. */\n")
        f.write(f"extern const char clcnn__kernel_{name}[];\n")
        f.write(f"const char clcnn__kernel_{name}[] = {{\n")
        f.write("\n".join(lines))
        f.write("\n};\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

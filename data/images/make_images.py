#!/usr/bin/env python3
"""Regenerates the test images of data/images/ (Python standard library only).

digits.png   140x84 grey: the first 15 digits of the MNIST test set
             (data/mnist/t10k-images-idx3-ubyte.gz), 5 across, 3 down.
pattern.png  67x45 RGB: gradients, a disc, a checkerboard and thin lines, so
             filters meet hard edges, smooth ramps and the image border.

Run from the repository root: python3 data/images/make_images.py
"""
import gzip
import math
import struct
import zlib


def write_png(path, width, height, channels, rows):
    """Writes 8-bit grey (channels 1) or RGB (channels 3) rows as a PNG."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    color_type = {1: 0, 3: 2}[channels]
    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter type 0 per row
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def digits():
    with gzip.open("data/mnist/t10k-images-idx3-ubyte.gz", "rb") as f:
        magic, count, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and h == 28 and w == 28
        pixels = f.read(15 * 28 * 28)
    across, down = 5, 3
    rows = []
    for y in range(down * 28):
        row = []
        for x in range(across * 28):
            i = (y // 28) * across + x // 28
            row.append(pixels[i * 784 + (y % 28) * 28 + x % 28])
        rows.append(row)
    write_png("data/images/digits.png", across * 28, down * 28, 1, rows)


def pattern():
    width, height = 67, 45
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            r = round(255 * x / (width - 1))          # horizontal ramp
            g = round(255 * y / (height - 1))         # vertical ramp
            b = 40
            if (x - 20) ** 2 + (y - 22) ** 2 < 13 ** 2:  # a disc
                r, g, b = 250, 30, 200
            if x >= 44 and y < 22 and (x // 4 + y // 4) % 2:  # checkerboard
                r, g, b = 0, 0, 0
            if x >= 44 and y >= 26 and x % 5 == 0:    # thin vertical lines
                r, g, b = 255, 255, 255
            if y == 40:                               # one bright row
                r, g, b = 255, 255, 0
            b = (b + round(60 * (1 + math.sin(x * 0.5 + y * 0.3)))) % 256
            row += [r, g, b]
        rows.append(row)
    write_png("data/images/pattern.png", width, height, 3, rows)


if __name__ == "__main__":
    digits()
    pattern()

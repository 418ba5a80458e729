#!/usr/bin/env python3
"""Makes the test fixtures of the VidPredData target (Tests/VidPredDataTests/Fixtures).

Run with the project's Python environment (numpy + Pillow):

    .deps/pyenv/bin/python reference/make_data_fixtures.py

1. One small PNG per colour type / bit depth, written by a minimal PNG writer below (so the exact
   colour type, bit depth and tRNS chunk are under control). Their pixel values follow closed-form
   formulas that the Swift tests recompute (see PNGTests.swift): keep both in sync.
2. Resize references made by Pillow: a synthetic 1024x512 pattern (the lab's frame size; made of
   stripes, rings and gradients so that it compresses well yet aliases badly without a proper
   filter) resized to 64x32 and 100x50 with Image.BILINEAR, and a small 40x30 image resized up,
   down and both ways. The Swift resizer must reproduce these bit for bit (8-bit path).

The output is deterministic: running the script again rewrites identical files.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "VidPredDataTests", "Fixtures")

W, H = 7, 5  # colour-type fixtures: small and odd-sized so row strides are exercised


def write_png(path, width, height, bit_depth, colour_type, rows, palette=None, trns=None):
    """Minimal PNG writer: rows is a list of bytes objects (already packed), filter type 0."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(v for rgb in palette for v in rgb))
    if trns is not None:
        png += chunk(b"tRNS", bytes(trns))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


# The formulas (mirrored in PNGTests.swift).
def rgb8(x, y, c): return (x * 37 + y * 91 + c * 53 + 11) % 256
def grey8(x, y): return (x * 37 + y * 91 + 11) % 256
def alpha8(x, y): return (x * 61 + y * 17) % 256
def rgb16(x, y, c): return (x * 9001 + y * 4099 + c * 12345 + 7) % 65536
def grey16(x, y): return (x * 9001 + y * 4099 + 7) % 65536
def alpha16(x, y): return (x * 3000 + y * 5000) % 65536
def grey4(x, y): return (x + y * 3) % 16
PALETTE_SIZE = 23
def palette_colour(i): return ((i * 71 + 5) % 256, (i * 113 + 77) % 256, (i * 29 + 200) % 256)
def palette_index(x, y): return (x * 5 + y * 3) % PALETTE_SIZE
def palette_alpha(i): return (i * 47) % 256  # for the first 10 entries (tRNS may be shorter than PLTE)


def colour_type_fixtures():
    def rows(pixel):
        return [b"".join(pixel(x, y) for x in range(W)) for y in range(H)]

    b8 = lambda *v: bytes(v)
    b16 = lambda *v: b"".join(struct.pack(">H", x) for x in v)
    write_png(f"{OUT}/png_grey8.png", W, H, 8, 0, rows(lambda x, y: b8(grey8(x, y))))
    write_png(f"{OUT}/png_greyalpha8.png", W, H, 8, 4, rows(lambda x, y: b8(grey8(x, y), alpha8(x, y))))
    write_png(f"{OUT}/png_rgb8.png", W, H, 8, 2, rows(lambda x, y: b8(*(rgb8(x, y, c) for c in range(3)))))
    write_png(f"{OUT}/png_rgba8.png", W, H, 8, 6,
              rows(lambda x, y: b8(*(rgb8(x, y, c) for c in range(3)), alpha8(x, y))))
    palette = [palette_colour(i) for i in range(PALETTE_SIZE)]
    write_png(f"{OUT}/png_palette8.png", W, H, 8, 3, rows(lambda x, y: b8(palette_index(x, y))), palette=palette)
    write_png(f"{OUT}/png_palette_trns.png", W, H, 8, 3, rows(lambda x, y: b8(palette_index(x, y))),
              palette=palette, trns=[palette_alpha(i) for i in range(10)])
    write_png(f"{OUT}/png_rgb16.png", W, H, 16, 2, rows(lambda x, y: b16(*(rgb16(x, y, c) for c in range(3)))))
    write_png(f"{OUT}/png_grey16.png", W, H, 16, 0, rows(lambda x, y: b16(grey16(x, y))))
    write_png(f"{OUT}/png_rgba16.png", W, H, 16, 6,
              rows(lambda x, y: b16(*(rgb16(x, y, c) for c in range(3)), alpha16(x, y))))

    # 4-bit grey: two pixels per byte, high nibble first, rows padded to whole bytes.
    def grey4_row(y):
        nibbles = [grey4(x, y) for x in range(W)] + [0]
        return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, W, 2))
    write_png(f"{OUT}/png_grey4.png", W, H, 4, 0, [grey4_row(y) for y in range(H)])


def lab_pattern():
    """A 1024x512 RGB test card: stripes (aliasing), rings (edges in all directions), gradients."""
    h, w = 512, 1024
    y, x = np.mgrid[0:h, 0:w]
    r = np.where((x // 5) % 2 == 0, 40, 220)                              # 5-px vertical stripes
    g = (x // 4).astype(np.int64)                                           # horizontal ramp 0..255
    rings = (np.hypot(x - 700, y - 260) // 9) % 2
    b = np.where(rings == 0, 60, 200)                                       # 9-px rings
    # A few flat rectangles and a thin diagonal line in all channels.
    for (x0, y0, x1, y1, colour) in [(40, 40, 300, 200, (250, 30, 30)), (120, 300, 420, 480, (20, 20, 240)),
                                     (850, 30, 1000, 120, (255, 255, 255))]:
        r[y0:y1, x0:x1], g[y0:y1, x0:x1], b[y0:y1, x0:x1] = colour
    diagonal = np.abs(x - 2 * y) < 2
    r[diagonal], g[diagonal], b[diagonal] = 0, 0, 0
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def small_pattern():
    h, w = 30, 40
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 37 + y * 91 + c * 53 + 11) % 256 for c in range(3)], axis=-1).astype(np.uint8)


def resize_fixtures():
    big = Image.fromarray(lab_pattern(), "RGB")
    big.save(f"{OUT}/resize_source_1024x512.png", optimize=True)
    for (w, h) in [(64, 32), (100, 50)]:
        big.resize((w, h), Image.BILINEAR).save(f"{OUT}/resize_pil_{w}x{h}.png")
    small = Image.fromarray(small_pattern(), "RGB")
    small.save(f"{OUT}/resize_source_40x30.png")
    for (w, h) in [(97, 61), (13, 7), (80, 9)]:
        small.resize((w, h), Image.BILINEAR).save(f"{OUT}/resize_small_pil_{w}x{h}.png")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    colour_type_fixtures()
    resize_fixtures()
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, name)):>8}  {name}")

"""The layout network's output channels, and ground truth rasterised into the same maps.

Channels of the network output (N, K + 2, H/2, W/2):

- ``0 .. K-1``: region-class logits, classes in :data:`LAYOUT_CLASSES` order (0 = background);
- ``K``: line *kernel* logit. A kernel is the line box shrunk to the middle
  :data:`KERNEL_THICKNESS` of its thickness and shortened by :data:`KERNEL_END` × thickness at
  each end (the idea of DBNet's shrunk text kernels, with a fixed ratio so that growing a kernel
  back is exact arithmetic): kernels of lines a few pixels apart do not touch;
- ``K + 1``: writing-direction logit (> 0: vertical), trained on kernel pixels only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

LAYOUT_CLASSES = ("background", "text", "title", "table", "figure", "caption", "header", "furigana",
                  "handwriting", "digits")
CLASS_INDEX = {name: i for i, name in enumerate(LAYOUT_CLASSES)}
NUM_CLASSES = len(LAYOUT_CLASSES)
KERNEL_CHANNEL = NUM_CLASSES
DIRECTION_CHANNEL = NUM_CLASSES + 1
KERNEL_THICKNESS = 0.5
KERNEL_END = 0.25
# later classes paint over earlier ones (furigana sits inside text regions, captions beside figures)
PAINT_ORDER = ("figure", "table", "text", "handwriting", "digits", "caption", "title", "header", "furigana")


def pixel_span(lo: float, hi: float, size: int) -> tuple[int, int]:
    """Pixels [a, b) whose centres lie in [lo, hi); at least the pixel under the middle."""
    a, b = int(np.ceil(lo - 0.5)), int(np.ceil(hi - 0.5))
    if b <= a:
        a = int(np.floor((lo + hi) / 2))
        b = a + 1
    return min(max(a, 0), size), min(max(b, 0), size)


def fill_box(mask: np.ndarray, box: Sequence[float], value: int) -> None:
    h, w = mask.shape
    x0, x1 = pixel_span(box[0], box[2], w)
    y0, y1 = pixel_span(box[1], box[3], h)
    mask[y0:y1, x0:x1] = value


def fill_quad(mask: np.ndarray, quad: np.ndarray, value: int) -> None:
    """Fill the convex quadrilateral ``quad`` (4, 2) (pixel centres inside, at least one pixel)."""
    h, w = mask.shape
    x0, y0 = np.floor(quad.min(0)).astype(int)
    x1, y1 = np.ceil(quad.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    inside = np.ones(xs.shape, bool)
    area2 = 0.0
    for k in range(4):
        (ax, ay), (bx, by) = quad[k], quad[(k + 1) % 4]
        area2 += ax * by - bx * ay
    sign = 1.0 if area2 >= 0 else -1.0
    for k in range(4):
        (ax, ay), (bx, by) = quad[k], quad[(k + 1) % 4]
        inside &= sign * ((bx - ax) * (ys - ay) - (by - ay) * (xs - ax)) >= 0
    if inside.any():
        mask[y0:y1, x0:x1][inside] = value
    else:
        cx, cy = quad.mean(0)
        mask[min(max(int(cy), 0), h - 1), min(max(int(cx), 0), w - 1)] = value


def kernel_quad(polygon: Sequence[Sequence[float]], vertical: bool) -> tuple[np.ndarray, bool]:
    """The kernel of a line polygon (clockwise from top-left) and whether it is axis-aligned."""
    p = np.asarray(polygon, np.float64).reshape(4, 2)
    along = p[3] - p[0] if vertical else p[1] - p[0]
    across = p[1] - p[0] if vertical else p[3] - p[0]
    length, thick = np.linalg.norm(along), np.linalg.norm(across)
    u, v = along / max(length, 1e-9), across / max(thick, 1e-9)
    c = p.mean(0)
    a = max(length / 2 - KERNEL_END * thick, 0.25)
    b = KERNEL_THICKNESS * thick / 2
    q = np.stack([c - a * u - b * v, c + a * u - b * v, c + a * u + b * v, c - a * u + b * v])
    aligned = abs(u[0]) < 1e-6 or abs(u[1]) < 1e-6
    return q, aligned


def page_targets(height: int, width: int, regions: Sequence[dict[str, Any]], lines: Sequence[dict[str, Any]],
                 stride: int = 2) -> dict[str, np.ndarray]:
    """Ground-truth maps for a page of (height, width) working pixels, at 1/``stride``.

    ``regions``/``lines`` are the dicts of ``PageSample.to_dict()`` (boxes in working pixels).
    Returns ``classes`` (uint8 class index), ``kernel`` (uint8 0/1) and ``vertical`` (uint8 0/1),
    each of shape (ceil(height / stride), ceil(width / stride)).
    """
    h, w = -(-height // stride), -(-width // stride)
    classes = np.zeros((h, w), np.uint8)
    s = 1.0 / stride
    for name in PAINT_ORDER:
        for r in regions:
            if r["class"] == name:
                fill_box(classes, [v * s for v in r["bbox"]], CLASS_INDEX[name])
    kernel = np.zeros((h, w), np.uint8)
    vertical = np.zeros((h, w), np.uint8)
    for ln in lines:
        is_v = ln["direction"] == "vertical"
        quad, aligned = kernel_quad(np.asarray(ln["polygon"], np.float64) * s, is_v)
        if aligned:
            box = [quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max()]
            fill_box(kernel, box, 1)
            fill_box(vertical, box, int(is_v))
        else:
            fill_quad(kernel, quad, 1)
            fill_quad(vertical, quad, int(is_v))
    return {"classes": classes, "kernel": kernel, "vertical": vertical}

"""Preparing a page for the layout network, identically in training and in the pipeline.

A page (grey uint8, any dpi) is resized so that its long side is ``long_side`` pixels (the
*working resolution*, stored in the weights' JSON as ``working_long_side``), turned into ink
darkness ``1 - grey / 255`` (paper 0, ink 1, so zero padding is blank paper) and padded at the
right and bottom to a multiple of 32. The network's maps come out at half that resolution.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

STRIDE = 32  # the network's total stride: inputs are padded to a multiple of it
OUTPUT_STRIDE = 2  # maps are at 1/2 of the (padded) input
NORMALIZATION = "ink = 1 - grey/255; zero padding right/bottom to a multiple of 32"


def resize_page(gray: np.ndarray, long_side: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Resize ``gray`` (H, W) uint8 so that max(H, W) == ``long_side``.

    Returns the image and the scale factors (sx, sy) from page pixels to working pixels.
    """
    h, w = gray.shape
    s = long_side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    if (nw, nh) == (w, h):
        return np.ascontiguousarray(gray, np.uint8), (1.0, 1.0)
    out = np.asarray(Image.fromarray(np.ascontiguousarray(gray, np.uint8)).resize((nw, nh), Image.BILINEAR))
    return out, (nw / w, nh / h)


def padded_shape(h: int, w: int, stride: int = STRIDE) -> tuple[int, int]:
    return -(-h // stride) * stride, -(-w // stride) * stride


def to_input(gray: np.ndarray, stride: int = STRIDE) -> np.ndarray:
    """Working-resolution grey (H, W) uint8 -> network input (1, 1, H', W') float32, padded."""
    h, w = gray.shape
    ph, pw = padded_shape(h, w, stride)
    x = np.zeros((1, 1, ph, pw), np.float32)
    x[0, 0, :h, :w] = 1.0 - gray.astype(np.float32) / 255.0
    return x

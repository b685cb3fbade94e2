"""A character picture → the classifier's input, the same function in training and at inference.

:func:`prepare_char` is the only path from pixels to model input for the ``chars`` task: the
training stream calls it on every rendered sample and ``yomitori predict`` (through the
``chars`` preprocessor registered here) on every user picture. Steps, in order:

1. **Polarity.** Otsu's threshold splits the pixels in two; the larger class is the paper (ink
   covers well under half of a character's picture, also for a tight crop of 口, whose border
   is all ink, so the border is *not* used). Output ink is bright on a dark background (MNIST
   style): 1 = ink, 0 = paper.
2. **Contrast.** The paper and ink medians map to 0 and 1 (so grey ink on grey paper, a photo or
   a light pencil stroke look like the renders); a picture with no contrast is refused.
3. **Ink box.** Pixels above ``ink_threshold`` define the box; ``trim`` of the ink mass is cut
   from each side so that a speck of dust at the edge does not shrink the character.
4. **Padding and resize.** The box keeps its aspect ratio, its long side is scaled to
   ``fill × input_size`` (antialiased resampling), and it is centred on an ``input_size`` square.
5. **Normalisation.** ``(x - mean) / std``.

Consequence of step 4: size relative to a frame is gone, so small kana (ゃ/や, ッ/ツ), case pairs
that differ only in size (o/O, c/C) and dots (・/.) are told apart by shape alone. That is the
price of reading any crop of any size; a line recognizer sees them in context.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from yomitori.data.preprocess import register_preprocessor
from yomitori.errors import InputImageError

PREPROCESS_VERSION = "chars-prep-1"


@dataclass(frozen=True)
class CharPrep:
    """Preprocessing parameters; stored in the weights JSON under ``preprocess``."""

    input_size: int = 48
    fill: float = 0.875  # long side of the ink box / input size
    ink_threshold: float = 0.35  # on the contrast-normalised [0, 1] ink scale
    trim: float = 0.004  # fraction of ink mass trimmed from each side when finding the box
    min_contrast: float = 0.08  # ink - paper on a [0, 1] grey scale; below: no ink found
    mean: float = 0.29  # measured over the training mix (printed, handwriting, brush, KanjiVG)
    std: float = 0.40

    def to_meta(self) -> dict[str, Any]:
        return {"version": PREPROCESS_VERSION, **asdict(self)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> CharPrep:
        d = dict((meta or {}).get("preprocess") or {})
        version = d.pop("version", PREPROCESS_VERSION)
        if version != PREPROCESS_VERSION:
            raise InputImageError(f"weights need preprocessing {version!r}; this yomitori has "
                                  f"{PREPROCESS_VERSION!r}")
        if not d and meta and "input_size" in meta:
            d["input_size"] = int(meta["input_size"])
        return cls(**d)


class NoInkError(InputImageError):
    """The picture has no character in it (blank, uniform, or too little contrast)."""


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (256-bin histogram)."""
    hist = np.bincount(np.clip((values * 255).astype(np.int64), 0, 255).ravel(), minlength=256)
    hist = hist.astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * levels)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return (int(np.argmax(between)) + 0.5) / 255.0


def _trimmed_span(profile: np.ndarray, trim: float) -> tuple[int, int]:
    """First and last index of ``profile`` after cutting ``trim`` of its mass from each end."""
    c = np.cumsum(profile)
    total = c[-1]
    lo = int(np.searchsorted(c, trim * total, side="right"))
    hi = int(np.searchsorted(c, (1.0 - trim) * total, side="left"))
    return min(lo, hi), max(lo, hi)


def to_ink(gray: np.ndarray, prep: CharPrep) -> np.ndarray:
    """Steps 1-2: (H, W) grey (uint8 or [0, 1] float) → (H, W) float32 ink in [0, 1]."""
    g = np.asarray(gray, np.float32)
    if g.ndim != 2 or min(g.shape) < 2:
        raise InputImageError(f"expected a 2-D picture of at least 2 × 2 pixels, got shape {g.shape}")
    if gray.dtype == np.uint8 or g.max() > 1.0:
        g = g / 255.0
    if float(g.max() - g.min()) < prep.min_contrast:
        raise NoInkError("no character found: the picture is blank or has almost no contrast")
    t = _otsu(g)
    dark = g < t
    if dark.sum() * 2 > dark.size:  # dark majority: light ink on a dark background
        ink_mask = ~dark
    else:  # dark ink on light paper: flip so that ink is bright
        ink_mask, g = dark, 1.0 - g
    paper, ink = float(np.median(g[~ink_mask])), float(np.median(g[ink_mask]))
    if ink - paper < prep.min_contrast:
        raise NoInkError("no character found: ink and paper are too close in brightness")
    return np.clip((g - paper) / (ink - paper), 0.0, 1.0).astype(np.float32)


def prepare_char(gray: np.ndarray, prep: CharPrep = CharPrep()) -> np.ndarray:
    """A character picture → (input_size, input_size) float32, ink bright, normalised (steps 1-5)."""
    v = to_ink(gray, prep)
    mask = v > prep.ink_threshold
    if not mask.any():
        raise NoInkError("no character found: nothing above the ink threshold")
    mass = v * mask
    y0, y1 = _trimmed_span(mass.sum(1), prep.trim)
    x0, x1 = _trimmed_span(mass.sum(0), prep.trim)
    crop = v[y0:y1 + 1, x0:x1 + 1]
    h, w = crop.shape
    size = prep.input_size
    scale = prep.fill * size / max(h, w)
    nh, nw = max(1, min(size, round(h * scale))), max(1, min(size, round(w * scale)))
    small = np.asarray(Image.fromarray(crop, mode="F").resize((nw, nh), Image.BILINEAR), np.float32)
    out = np.zeros((size, size), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = np.clip(small, 0.0, 1.0)
    return (out - prep.mean) / prep.std


def to_display(x: torch.Tensor, prep: CharPrep = CharPrep()) -> torch.Tensor:
    """Model inputs → [0, 1] images, dark ink on light paper, for loggers and galleries."""
    return (1.0 - (x * prep.std + prep.mean)).clamp(0.0, 1.0)


@register_preprocessor("chars")
def preprocess_char_image(img: Any, meta: dict | None = None) -> torch.Tensor:
    """A PIL picture → (1, S, S) tensor for the weights described by ``meta``."""
    prep = CharPrep.from_meta(meta)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # transparent pixels are paper: composite on white before going grey
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img.convert("RGBA"))
    gray = np.asarray(img.convert("L"))
    try:
        return torch.from_numpy(prepare_char(gray, prep))[None]
    except InputImageError as exc:
        name = getattr(img, "filename", "") or "image"
        raise type(exc)(f"{name}: {exc}") from None

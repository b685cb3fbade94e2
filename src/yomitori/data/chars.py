"""Single-character samples: printed, handwriting and brush fonts, and KanjiVG strokes.

``render_char(seed, index, cfg)`` is pure (``default_rng([seed, index, SALT])``). The label is
drawn uniformly from ``cfg.chars`` (default: every non-space character of the default charset);
the source (a font style or KanjiVG) by ``cfg.source_weights``, among those that can draw that
label, so a character is only ever drawn by a font whose measured renderable set holds it.
The evaluation split draws with evaluation fonts only: KanjiVG is one glyph family and stays
on the training side.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from yomitori.charset import default_charset
from yomitori.data.fonts import FontSpec, list_fonts, renderable_chars
from yomitori.data.loading import RenderedDataset

SALT = 0xC4A5


@dataclass(frozen=True)
class CharConfig:
    size_px: int = 64
    split: str = "train"
    source_weights: tuple[tuple[str, float], ...] = (
        ("printed", 0.5), ("handwriting", 0.2), ("brush", 0.1), ("kanjivg", 0.2))
    chars: str = ""  # labels to draw from (empty: the default charset without space)
    fonts: tuple[str, ...] = ()  # restrict fonts to these family names (empty: all)
    glyph_scale: tuple[float, float] = (0.7, 0.95)  # glyph size / image size
    offset: float = 0.06  # max shift of the glyph centre, fraction of the image
    paper: tuple[int, int] = (205, 255)
    ink: tuple[int, int] = (0, 90)
    degrade_strength: float = 0.0


@dataclass
class CharSample:
    image: np.ndarray  # (size_px, size_px) uint8, dark ink on light paper
    label: str
    params: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=32)
def _labels(cfg: CharConfig) -> tuple[str, ...]:
    chars = cfg.chars or "".join(c for c in default_charset().chars if c != " ")
    return tuple(chars)


@functools.lru_cache(maxsize=64)
def _fonts_for(cfg: CharConfig, style: str) -> tuple[tuple[FontSpec, frozenset[str]], ...]:
    return tuple((f, renderable_chars(f)) for f in list_fonts(cfg.split, style)
                 if not cfg.fonts or f.family in cfg.fonts)


def _draw_font_glyph(ch: str, font: FontSpec, rng: np.random.Generator, cfg: CharConfig) -> tuple[np.ndarray, dict]:
    size = cfg.size_px
    target = rng.uniform(*cfg.glyph_scale) * size
    em = max(int(target), 4)
    mask, _offset = font.load(em).getmask2(ch, mode="L")
    arr = np.asarray(mask, np.uint8).reshape(mask.size[1], mask.size[0])
    ys, xs = np.nonzero(arr)
    arr = arr[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = arr.shape
    if max(h, w) > size - 2:  # a wide or tall glyph: fit it
        f = (size - 2) / max(h, w)
        arr = np.asarray(Image.fromarray(arr).resize((max(int(w * f), 1), max(int(h * f), 1)),
                                                     Image.BILINEAR))
        h, w = arr.shape
    canvas = np.zeros((size, size), np.uint8)
    # centre the ink, with a small random offset
    cx = (size - w) / 2 + rng.uniform(-1, 1) * cfg.offset * size
    cy = (size - h) / 2 + rng.uniform(-1, 1) * cfg.offset * size
    x0 = int(np.clip(round(cx), 0, size - w))
    y0 = int(np.clip(round(cy), 0, size - h))
    canvas[y0:y0 + h, x0:x0 + w] = arr
    return canvas, {"font": font.name, "font_path": font.path, "em_px": em}


def render_char(seed: int, index: int, cfg: CharConfig = CharConfig()) -> CharSample:
    """Render character sample ``index`` of stream ``seed``: a pure function of its arguments."""
    from yomitori.data import kanjivg

    rng = np.random.default_rng([int(seed), int(index), SALT])
    labels = _labels(cfg)
    sources = [(s, w) for s, w in cfg.source_weights if w > 0]
    if cfg.split != "train":
        sources = [(s, w) for s, w in sources if s != "kanjivg"]
    for _attempt in range(64):
        ch = labels[int(rng.integers(len(labels)))]
        options = []
        for s, w in sources:
            if s == "kanjivg":
                if ch in kanjivg.available_chars():
                    options.append((s, w, None))
            else:
                fonts = [f for f, ok in _fonts_for(cfg, s) if ch in ok]
                if fonts:
                    options.append((s, w, fonts))
        if options:
            break
    else:
        from yomitori.errors import UserError

        raise UserError("no installed font or stroke data draws these characters")
    p = np.array([w for _, w, _ in options], float)
    source, _, fonts = options[int(rng.choice(len(options), p=p / p.sum()))]
    if source == "kanjivg":
        cov, params = kanjivg.draw_strokes(ch, rng, cfg.size_px)
        params["font"] = "KanjiVG"
    else:
        font = fonts[int(rng.integers(len(fonts)))]
        cov, params = _draw_font_glyph(ch, font, rng, cfg)
    paper = float(rng.integers(cfg.paper[0], cfg.paper[1] + 1))
    ink = float(rng.integers(cfg.ink[0], cfg.ink[1] + 1))
    img = (paper - cov.astype(np.float32) / 255.0 * (paper - ink)).astype(np.uint8)
    params.update({"seed": int(seed), "index": int(index), "source": source, "paper": paper,
                   "ink": ink, "split": cfg.split})
    if cfg.degrade_strength > 0:
        from yomitori.data.degrade import degrade

        d = degrade(img, rng, cfg.degrade_strength, probs={
            "paper_texture": 0.4, "ink_bleed": 0.2, "erode": 0.15, "dilate": 0.15, "rotate": 0.3,
            "blur": 0.4, "low_dpi": 0.3, "noise": 0.5, "jpeg": 0.3})
        img = d.image
        params["degrade"] = d.applied
    return CharSample(np.ascontiguousarray(img), ch, params)


class CharDataset(RenderedDataset):
    """Map-style torch Dataset: item ``i`` is ``render_char(seed, i, cfg)`` (then ``transform``)."""

    def __init__(self, seed: int, length: int, cfg: CharConfig = CharConfig(),
                 transform=None) -> None:  # noqa: ANN001
        super().__init__(render_char, cfg, seed, length, transform)

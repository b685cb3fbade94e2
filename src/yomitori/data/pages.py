"""Synthetic Japanese pages with layout ground truth: regions, lines, directions, reading order.

``render_page(seed, index, cfg)`` is a pure function: the page depends on (seed, index, cfg)
only, through ``numpy.random.default_rng([seed, index, SALT])``. A page is A4 or B5 at a dpi
drawn from ``cfg.dpi``, of one of four kinds (see :mod:`yomitori.data.page_layouts`):

- **vertical**: bands of vertical columns read right to left, a vertical title, section
  headings, figures with captions, furigana to the right of kanji;
- **horizontal**: a title over 1-3 columns of paragraphs, headings, figures, ruled tables;
- **mixed**: a vertical body with a horizontal title and tables, or a horizontal article with a
  boxed vertical column;
- **form**: ruled rows of printed labels with handwriting (handwriting fonts: a proxy, no real
  handwriting samples are available) and digit boxes filled with MNIST digits (left out when
  the MNIST files are absent).

Running heads and page numbers sit in the margins. Ground truth: every line's box (the union of
its characters' em cells and ink), polygon, direction and text; regions (class, box, direction,
their lines; table cells), listed in reading order. Optional scan degradation uses
:mod:`yomitori.data.degrade` (skew is limited to ``max_skew_deg`` so boxes stay tight).

Preview: ``preview_pages("pages.png", n=6, seed=0)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from yomitori.charset import named_subsets
from yomitori.data.fonts import FontSpec, list_fonts, renderable_chars
from yomitori.data.page_canvas import PageCanvas, PageLine, PageRegion
from yomitori.data.page_elements import TextPool, mnist_digits
from yomitori.data.page_layouts import KINDS
from yomitori.data.page_templates import Ctx
from yomitori.types import Direction

SALT = 0x9A6E  # separates page streams from line and character streams with the same seed
PAGE_SIZES_MM = {"A4": (210.0, 297.0), "B5": (182.0, 257.0)}  # B5: JIS B5


@dataclass(frozen=True)
class PageConfig:
    """Everything that shapes a page. Frozen: hashable, safe to share across workers."""

    split: str = "train"  # fonts and text: train | eval (held-out fonts and documents)
    sizes: tuple[str, ...] = ("A4", "B5")
    dpi: tuple[int, int] = (100, 150)  # render dpi, drawn uniformly
    kinds: tuple[tuple[str, float], ...] = (("vertical", 0.35), ("horizontal", 0.3), ("mixed", 0.15),
                                           ("form", 0.2))
    body_pt: tuple[float, float] = (8.5, 11.5)
    furigana_prob: float = 0.4  # chance that a page has furigana (then ~1 line in 4 carries some)
    degrade_prob: float = 0.0  # chance that a page is degraded like a scan
    degrade_strength: float = 0.5
    max_skew_deg: float = 0.4
    text: str = "auto"  # auto | corpus | random (see yomitori.data.text)
    fonts: tuple[str, ...] = ()  # restrict printed fonts to these families (empty: all of the split)
    hand_fonts: tuple[str, ...] = ()  # restrict handwriting fonts likewise
    mnist_dir: str | None = None  # None: yomitori.data.mnist.default_data_dir()
    track_ink: bool = False  # also return the ink owner map (tests)


@dataclass
class PageSample:
    """A rendered page (uint8 grey, dark ink on light paper) and its layout ground truth."""

    image: np.ndarray  # (H, W) uint8
    dpi: int
    size: str  # A4 | B5
    kind: str  # vertical | horizontal | mixed | form
    lines: list[PageLine]
    regions: list[PageRegion]  # in reading order; each lists its lines in reading order
    ink_owner: np.ndarray | None = None  # (H, W) int32: line index, -2 other ink, -1 paper
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reading_order(self) -> list[int]:
        """Line indices in reading order (a permutation of ``range(len(lines))``)."""
        return [i for r in self.regions for i in r.lines]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ground truth (no pixels)."""
        return {
            "dpi": self.dpi, "size": self.size, "kind": self.kind,
            "width_px": int(self.image.shape[1]), "height_px": int(self.image.shape[0]),
            "lines": [{"bbox": list(ln.bbox), "polygon": [[round(x, 2), round(y, 2)] for x, y in ln.polygon],
                       "direction": ln.direction.value, "text": ln.text, "region": ln.region} for ln in self.lines],
            "regions": [{"class": r.cls.value, "bbox": list(r.bbox), "direction": r.direction.value,
                         "lines": r.lines, "cells": r.cells} for r in self.regions],
            "params": self.params,
        }


@functools.cache
def _fonts(split: str, style: str, families: tuple[str, ...]) -> tuple[tuple[FontSpec, ...], ...]:
    """Fonts of a split and style that draw kana and most Jōyō kanji, grouped by glyph family."""
    subsets = named_subsets()
    groups: dict[str, list[FontSpec]] = {}
    for f in list_fonts(split, style):
        if families and f.family not in families:
            continue
        have = renderable_chars(f)
        if len(have & subsets["kana"]) < 150 or (style == "printed" and len(have & subsets["joyo"]) < 1500):
            continue
        groups.setdefault(f.group, []).append(f)
    return tuple(tuple(groups[k]) for k in sorted(groups))


def _pick(rng: np.random.Generator, groups: tuple[tuple[FontSpec, ...], ...]) -> FontSpec:
    group = groups[int(rng.integers(len(groups)))]
    return group[int(rng.integers(len(group)))]


def render_page(seed: int, index: int, cfg: PageConfig = PageConfig()) -> PageSample:
    """Render page ``index`` of the stream ``seed``: a pure function of its arguments."""
    rng = np.random.default_rng([int(seed), int(index), SALT])
    size_name = str(cfg.sizes[int(rng.integers(len(cfg.sizes)))])
    dpi = int(rng.integers(cfg.dpi[0], cfg.dpi[1] + 1))
    wmm, hmm = PAGE_SIZES_MM[size_name]
    width, height = round(wmm / 25.4 * dpi), round(hmm / 25.4 * dpi)
    names = [k for k, _ in cfg.kinds]
    weights = np.array([w for _, w in cfg.kinds], float)
    kind = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    printed = _fonts(cfg.split, "printed", cfg.fonts)
    if not printed:
        from yomitori.errors import UserError

        raise UserError(f"no {cfg.split} fonts installed: run 'bash scripts/install_fonts.sh'")
    body_font = _pick(rng, printed)
    title_font = body_font if rng.random() < 0.5 else _pick(rng, printed)
    hand = [f for g in _fonts(cfg.split, "handwriting", cfg.hand_fonts) for f in g]
    size = max(8, round(float(rng.uniform(*cfg.body_pt)) / 72.0 * dpi))
    paper = float(rng.integers(228, 256))
    ink = float(rng.integers(0, 60))
    furigana = 0.0
    if rng.random() < cfg.furigana_prob and kind != "form":
        furigana = float(rng.uniform(0.15, 0.4))
    digits = mnist_digits(cfg.split, cfg.mnist_dir) if kind == "form" else None
    canvas = PageCanvas(width, height, paper, cfg.track_ink)
    ctx = Ctx(rng, canvas, TextPool(cfg.split, cfg.text), body_font, title_font, hand, size, ink, furigana, digits)
    mm = dpi / 25.4
    mx = round(float(rng.uniform(14, 24)) * mm)
    my_top, my_bottom = round(float(rng.uniform(16, 26)) * mm), round(float(rng.uniform(16, 26)) * mm)
    number = int(rng.integers(1, 400))
    KINDS[kind](ctx, (mx, my_top, width - mx, height - my_bottom), number)
    image = np.clip(np.round(canvas.img), 0, 255).astype(np.uint8)
    params: dict[str, Any] = {
        "seed": int(seed), "index": int(index), "split": cfg.split, "size": size_name, "dpi": dpi,
        "kind": kind, "body_font": body_font.name, "title_font": title_font.name, "body_px": size,
        "paper": paper, "ink": ink, "furigana": round(furigana, 3), "digits": digits is not None,
    }
    lines, regions = canvas.lines, canvas.regions
    owner = canvas.owner
    if cfg.degrade_prob > 0 and rng.random() < cfg.degrade_prob:
        image, applied = _degrade(image, lines, regions, rng, cfg)
        params["degrade"] = applied
        owner = None  # ink moved: the owner map no longer matches
    return PageSample(image, dpi, size_name, kind, lines, regions, owner, params)


def _degrade(image: np.ndarray, lines: list[PageLine], regions: list[PageRegion], rng: np.random.Generator,
             cfg: PageConfig) -> tuple[np.ndarray, list[dict]]:
    """Skew (ground truth rotated with the page), then photometric scan effects."""
    from yomitori.data.degrade import DEFAULT_PROBS, degrade

    applied: list[dict] = []
    if cfg.max_skew_deg > 0 and rng.random() < 0.5:
        angle = float(rng.uniform(-cfg.max_skew_deg, cfg.max_skew_deg))
        image = _rotate(image, lines, regions, angle)
        applied.append({"op": "skew", "degrees": round(angle, 3)})
    probs = dict(DEFAULT_PROBS, rotate=0.0, perspective=0.0)
    d = degrade(image, rng, cfg.degrade_strength, probs=probs)
    return d.image, applied + d.applied


def _rotate(image: np.ndarray, lines: list[PageLine], regions: list[PageRegion], degrees: float) -> np.ndarray:
    h, w = image.shape
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    cx, cy = w / 2, h / 2

    def fwd(x: float, y: float) -> tuple[float, float]:
        return c * (x - cx) - s * (y - cy) + cx, s * (x - cx) + c * (y - cy) + cy

    # PIL wants the inverse map (output -> input): rotate by -a
    inv = (c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy)
    paper = int(np.percentile(image, 90))
    out = np.asarray(Image.fromarray(image).transform((w, h), Image.AFFINE, inv, Image.BILINEAR, fillcolor=paper))
    for ln in lines:
        ln.polygon = [tuple(round(v, 2) for v in fwd(x, y)) for x, y in ln.polygon]  # type: ignore[misc]
        ln.bbox = _bounds(ln.polygon, w, h)
    for r in regions:
        x0, y0, x1, y1 = r.bbox
        r.bbox = _bounds([fwd(x0, y0), fwd(x1, y0), fwd(x1, y1), fwd(x0, y1)], w, h)
        for cell in r.cells:
            b = cell["bbox"]
            cell["bbox"] = _bounds([fwd(b[0], b[1]), fwd(b[2], b[1]), fwd(b[2], b[3]), fwd(b[0], b[3])], w, h)
    return out


def _bounds(pts: list, w: int, h: int) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (max(int(np.floor(min(xs))), 0), max(int(np.floor(min(ys))), 0),
            min(int(np.ceil(max(xs))), w), min(int(np.ceil(max(ys))), h))


def direction_counts(sample: PageSample) -> dict[str, int]:
    out = {d.value: 0 for d in Direction}
    for ln in sample.lines:
        out[ln.direction.value] += 1
    return out


def preview_pages(out_png: str | Path, n: int = 6, seed: int = 0, cfg: PageConfig | None = None,
                  long_side: int = 520) -> Path:
    """Render ``n`` pages (cycling through the kinds) with their ground truth drawn over them:
    regions coloured by class, line boxes (blue horizontal, red vertical), reading order path."""
    from yomitori.layout.draw import draw_layout, tile

    base = cfg or PageConfig()
    kinds = [k for k, _ in base.kinds]
    pics = []
    for i in range(n):
        import dataclasses

        c = dataclasses.replace(base, kinds=((kinds[i % len(kinds)], 1.0),))
        s = render_page(seed, i, c)
        scale = long_side / max(s.image.shape)
        regions = [(r.cls.value, r.bbox) for r in s.regions]
        lines = [(ln.bbox, ln.direction.value) for ln in s.lines]
        pics.append(draw_layout(s.image, regions, lines, s.reading_order, scale))
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    tile(pics, cols=min(n, 3)).save(out, optimize=True)
    return out

"""Synthetic text lines, horizontal and vertical, with exact ground truth.

``render_line(seed, index, cfg)`` is a pure function: the sample depends on (seed, index, cfg)
only, through ``numpy.random.default_rng([seed, index, SALT])``, so it is the same whatever the
worker count, rank or resume point. Horizontal lines have a fixed height (``cfg.height_px``) and a
variable width; vertical lines a fixed width (``cfg.height_px``) and a variable height.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from yomitori.charset import default_charset, display_variants
from yomitori.data.fonts import FontSpec, list_fonts, renderable_chars
from yomitori.data.loading import RenderedDataset, RenderedStream
from yomitori.data.text import text_source
from yomitori.data.typeset import LineLayout, _ink_box, _union, ink_canvas, is_latin, layout_line

SALT = 0x11E5  # separates line streams from character streams with the same seed


@dataclass(frozen=True)
class LineConfig:
    """Everything that shapes a line sample. Frozen: hashable, safe to share across workers."""

    height_px: int = 32  # height of horizontal lines, width of vertical ones
    split: str = "train"  # font and text split: train | eval
    vertical_prob: float = 0.0  # 0: horizontal only, 1: vertical only
    style_weights: tuple[tuple[str, float], ...] = (
        ("printed", 0.8), ("handwriting", 0.15), ("brush", 0.05))
    min_chars: int = 4
    max_chars: int = 24
    font_size_px: tuple[int, int] = (28, 56)  # drawing size, before scaling to height_px
    spacing_em: tuple[float, float] = (-0.04, 0.2)
    jitter_em: float = 0.03  # baseline jitter (std) as a fraction of the font size
    margin_em: tuple[float, float] = (0.05, 0.35)
    fullwidth_prob: float = 0.3  # chance that a line draws its ASCII as full-width forms
    # Drawn from a second random stream of (seed, index), so that 0 leaves every line as it was:
    latin_font_prob: float = 0.0  # chance that a line draws its ASCII in a separate Latin font
    academic_prob: float = 0.0  # chance that a horizontal line punctuates with ，． (label ,.) for 、。
    ruby_prob: float = 0.0  # chance of ruby (small kana) over a kanji run, horizontal lines
    # From a third random stream: chance that a horizontal line gets a TeX logo, macro code or
    # curly quotes (yomitori.data.tex), its Latin in a Latin face
    tex_prob: float = 0.0
    smallcaps_prob: float = 0.0  # a fourth stream: chance of a name in small capitals (TeX's \textsc)
    # A fifth stream: chance that a line's kana and kanji are drawn from KanjiVG strokes by one
    # "writer" (pen or brush, uneven sizes) instead of the font: shapes no font has
    hand_prob: float = 0.0
    paper: tuple[int, int] = (205, 255)
    ink: tuple[int, int] = (0, 90)
    degrade_strength: float = 0.0  # 0 = clean; see yomitori.data.degrade
    text: str = "auto"  # auto (corpus if built, else random) | corpus | random
    fonts: tuple[str, ...] = ()  # restrict to these family names (empty: all of the split)
    max_width_px: int = 2048  # horizontal lines (height for vertical) are scaled down to fit


@dataclass
class LineSample:
    """A rendered line: uint8 grayscale image (dark ink on light paper) and its ground truth."""

    image: np.ndarray  # (H, W) uint8
    text: str  # normalised label, only charset characters
    vertical: bool
    char_boxes: np.ndarray  # (len(text), 4) int32 x0, y0, x1, y1 in image pixels
    params: dict = field(default_factory=dict)


def _font_pool(cfg: LineConfig, style: str) -> list[list[FontSpec]]:
    """Fonts of ``style`` grouped by glyph family; fonts that lack kana are left out."""
    kana_needed = 150
    groups: dict[str, list[FontSpec]] = {}
    for f in list_fonts(cfg.split, style):
        if cfg.fonts and f.family not in cfg.fonts:
            continue
        from yomitori.charset import named_subsets

        if len(renderable_chars(f) & named_subsets()["kana"]) < kana_needed:
            continue
        groups.setdefault(f.group, []).append(f)
    return [groups[k] for k in sorted(groups)]


_POOLS: dict[tuple[LineConfig, str], list[list[FontSpec]]] = {}


def choose_font(rng: np.random.Generator, cfg: LineConfig) -> FontSpec:
    """A font of the split: style by weight, then glyph group uniformly, then a face uniformly."""
    styles = [s for s, w in cfg.style_weights if w > 0]
    weights = np.array([w for s, w in cfg.style_weights if w > 0], float)
    pools = []
    for s in styles:
        key = (cfg, s)
        if key not in _POOLS:
            _POOLS[key] = _font_pool(cfg, s)
        pools.append(_POOLS[key])
    weights = weights * np.array([bool(p) for p in pools])
    if weights.sum() == 0:
        from yomitori.errors import UserError

        raise UserError(f"no {cfg.split} fonts installed: run 'bash scripts/install_fonts.sh'")
    pool = pools[int(rng.choice(len(pools), p=weights / weights.sum()))]
    group = pool[int(rng.integers(len(pool)))]
    return group[int(rng.integers(len(group)))]


def choose_text(rng: np.random.Generator, cfg: LineConfig, font: FontSpec) -> tuple[str, float]:
    """Normalised text the font draws completely, and the fraction of characters dropped."""
    n = int(rng.integers(cfg.min_chars, cfg.max_chars + 1))
    raw = text_source(cfg.split, cfg.text).sample(rng, n)
    ok = renderable_chars(font)
    text = default_charset().filter(raw)
    kept = "".join(c for c in text if c in ok)
    kept = " ".join(kept.split())
    return kept, 1.0 - len(kept) / max(len(text), 1)


def _display(rng: np.random.Generator, text: str, font: FontSpec, prob: float) -> str:
    """Draw the line's ASCII as full-width forms (one choice per line, as documents do)."""
    if prob <= 0 or rng.random() >= prob:
        return text
    variants = display_variants()
    ok = renderable_chars(font, {v for vs in variants.values() for v in vs})
    out = []
    for ch in text:
        alts = [v for v in variants.get(ch, ()) if v in ok and v != "\u3000"]
        out.append(alts[0] if alts else ch)
    return "".join(out)


def choose_latin_font(rng: np.random.Generator, split: str) -> FontSpec | None:
    """A Latin font of the split (group uniformly, then a face), or None if none is installed."""
    pool: dict[str, list[FontSpec]] = {}
    for f in list_fonts(split, "latin"):
        pool.setdefault(f.group, []).append(f)
    if not pool:
        return None
    group = pool[sorted(pool)[int(rng.integers(len(pool)))]]
    return group[int(rng.integers(len(group)))]


ACADEMIC = {"。": (".", "．"), "、": (",", "，")}  # label, drawn


def _latin_face(rng: np.random.Generator, split: str, display: str) -> FontSpec | None:
    """A Latin face of the split that draws all of ``display``'s ASCII, else None (a face without
    some of it: the main font draws it all)."""
    latin = choose_latin_font(rng, split)
    needed = {d for d in display if is_latin(d)}
    if latin is not None and renderable_chars(latin, needed) != needed:
        return None
    return latin


def academic_punctuation(text: str, display: str, font: FontSpec) -> tuple[str, str]:
    """Technical and academic Japanese punctuates with ，． where prose has 、。 (full-width forms;
    their label is the normalised ``,`` ``.``). Unchanged if the font lacks them. Printed fonts
    only: brush and handwriting fonts may draw ， like 、."""
    if not any(c in ACADEMIC for c in text):
        return text, display
    if renderable_chars(font, {"．", "，"}) != {"．", "，"}:
        return text, display
    new_text = "".join(ACADEMIC[c][0] if c in ACADEMIC else c for c in text)
    new_display = "".join(ACADEMIC[c][1] if c in ACADEMIC else d for c, d in zip(text, display, strict=True))
    return new_text, new_display


def _with_tex(seed: int, index: int, cfg: LineConfig, text: str, display: str, jitter: list[float],
              font: FontSpec, latin: FontSpec | None) -> tuple[str, str, list[float], FontSpec | None, Any, str]:
    """TeX-flavoured Latin (:mod:`yomitori.data.tex`): a logo, macro code or curly quotes from the
    line's third random stream, a name in small capitals from a fourth; the first two streams stay
    as they were. Added characters sit on the baseline (no jitter)."""
    from yomitori.data.tex import CHARS, SMALL_CAPS_CHARS, TexSnippet, add_small_caps, add_tex

    rng = np.random.default_rng([int(seed), int(index), SALT, 2])
    caps = np.random.default_rng([int(seed), int(index), SALT, 3])
    use_tex = cfg.tex_prob > 0 and rng.random() < cfg.tex_prob
    use_caps = cfg.smallcaps_prob > 0 and caps.random() < cfg.smallcaps_prob
    if not (use_tex or use_caps):
        return text, display, jitter, latin, None, ""
    if latin is None:  # TeX sets its Latin in a Latin face
        latin = _latin_face(rng if use_tex else caps, cfg.split, display)
    wanted = CHARS | SMALL_CAPS_CHARS
    own = renderable_chars(font, wanted)
    drawable = own if latin is None else {c for c in wanted if c in own and not is_latin(c)} | renderable_chars(
        latin, {c for c in wanted if is_latin(c)})
    got = TexSnippet(text, display, None, list(range(len(text))), "")
    if use_tex:
        got = add_tex(rng, text, display, drawable)
    if use_caps:
        got = add_small_caps(caps, got, drawable)
    jitter = [jitter[i] if i >= 0 else 0.0 for i in got.source]
    return got.text, got.display, jitter, latin, got.shape, got.added


def _is_kana_or_kanji(ch: str) -> bool:
    return "\u3041" <= ch <= "\u30fa" or "\u4e00" <= ch <= "\u9fff" or ch in "々〆ヶ"


def hand_drawn(lay: LineLayout, rng: np.random.Generator) -> dict[str, Any] | None:
    """Redraw most upright kana and kanji of ``lay`` (in place) from their KanjiVG strokes, as
    one writer would: one pen width and one brush pressure for the line, a size and an offset
    per character. Latin, digits, punctuation and rotated or shifted forms keep the font's
    drawing. Returns what was drawn, or None when KanjiVG is not installed."""
    from yomitori.data import kanjivg

    have = kanjivg.available_chars()
    if not have:
        return None
    size = lay.size_px
    brush = float(rng.uniform(0.3, 1.0)) if rng.random() < 0.6 else 0.0
    pen = float(rng.uniform(2.0, 5.0))
    share = float(rng.uniform(0.6, 1.0))
    jitter = float(rng.uniform(0.6, 1.4))
    done = 0
    for g in lay.glyphs:
        if g.cell is None or g.drawn != g.label or g.drawn not in have or not _is_kana_or_kanji(g.drawn):
            continue
        if rng.random() >= share:
            continue
        k = max(round(size * rng.uniform(0.8, 1.08)), 4)
        cov, _ = kanjivg.draw_strokes(g.drawn, rng, k, pen_px=(0.9 * pen, 1.1 * pen), jitter=jitter, brush=brush)
        off = rng.normal(0.0, 0.03 * size, 2)
        x = g.cell[0] + (size - k) // 2 + round(off[0])
        y = g.cell[1] + (size - k) // 2 + round(off[1])
        g.mask, g.x, g.y = np.ascontiguousarray(cov), x, y
        g.box = _union(g.cell, _ink_box(g.mask, x, y))
        done += 1
    return {"chars": done, "brush": round(brush, 3), "pen": round(pen, 3), "jitter": round(jitter, 3)}


def render_line(seed: int, index: int, cfg: LineConfig = LineConfig()) -> LineSample:
    """Render line ``index`` of the stream ``seed``: a pure function of its arguments."""
    rng = np.random.default_rng([int(seed), int(index), SALT])
    vertical = bool(rng.random() < cfg.vertical_prob)
    for _attempt in range(8):
        font = choose_font(rng, cfg)
        text, dropped = choose_text(rng, cfg, font)
        if text and dropped <= 0.2:
            break
    if not text:
        text = "日本"
    size = int(rng.integers(cfg.font_size_px[0], cfg.font_size_px[1] + 1))
    spacing = float(rng.uniform(*cfg.spacing_em))
    jitter = (rng.normal(0.0, cfg.jitter_em * size, len(text))).round().tolist()
    display = _display(rng, text, font, cfg.fullwidth_prob)
    extra = np.random.default_rng([int(seed), int(index), SALT, 1])  # leaves ``rng``'s stream as it was
    latin = None
    if extra.random() < cfg.latin_font_prob and any(is_latin(d) for d in display):
        latin = _latin_face(extra, cfg.split, display)
    if not vertical and extra.random() < cfg.academic_prob and font.style == "printed":
        text, display = academic_punctuation(text, display, font)
    shape, tex = None, ""
    if not vertical and (cfg.tex_prob > 0 or cfg.smallcaps_prob > 0):
        text, display, jitter, latin, shape, tex = _with_tex(seed, index, cfg, text, display, jitter, font, latin)
    lay = layout_line(text, font, size, vertical=vertical, spacing_em=spacing,
                      jitter_px=jitter, display=display, latin_font=latin, shape=shape)
    hand = None
    if cfg.hand_prob > 0:
        writer = np.random.default_rng([int(seed), int(index), SALT, 4])
        if writer.random() < cfg.hand_prob:
            hand = hand_drawn(lay, writer)
    ruby = None
    if not vertical and cfg.ruby_prob > 0 and rng.random() < cfg.ruby_prob:
        from yomitori.data.ruby import add_ruby

        lay, ruby = add_ruby(rng, lay, font)
    n_label = len(lay.glyphs)  # ruby glyphs, if any, follow: ink without a label
    if ruby is not None:
        lay.glyphs = lay.glyphs + lay.ruby_glyphs  # type: ignore[attr-defined]
    m = rng.uniform(*cfg.margin_em, size=4) * size  # left, top, right, bottom
    x0, y0, x1, y1 = lay.bbox
    ox, oy = round(m[0]) - x0, round(m[1]) - y0
    w, h = x1 - x0 + round(m[0]) + round(m[2]), y1 - y0 + round(m[1]) + round(m[3])
    lay = lay.shifted(ox, oy)
    cov = ink_canvas(lay, w, h).astype(np.float32) / 255.0
    if ruby is not None:
        ruby["box"] = [ruby["box"][0] + ox, ruby["box"][1] + oy, ruby["box"][2] + ox,
                       ruby["box"][3] + oy]
    lay.glyphs = lay.glyphs[:n_label]
    paper = float(rng.integers(cfg.paper[0], cfg.paper[1] + 1))
    ink = float(rng.integers(cfg.ink[0], cfg.ink[1] + 1))
    img = paper - cov * (paper - ink)
    boxes = np.array(lay.boxes, np.float64).reshape(-1, 4)
    # scale so that the fixed side is height_px (width for vertical lines)
    scale = cfg.height_px / (w if vertical else h)
    long_side = (h if vertical else w) * scale
    if long_side > cfg.max_width_px:
        scale *= cfg.max_width_px / long_side
    new_w, new_h = max(round(w * scale), 1), max(round(h * scale), 1)
    if vertical:
        new_w = cfg.height_px
    else:
        new_h = cfg.height_px
    sx, sy = new_w / w, new_h / h
    image = np.asarray(Image.fromarray(img.astype(np.uint8)).resize((new_w, new_h), Image.BILINEAR))
    boxes = np.stack([np.floor(boxes[:, 0] * sx), np.floor(boxes[:, 1] * sy),
                      np.ceil(boxes[:, 2] * sx), np.ceil(boxes[:, 3] * sy)], axis=1)
    boxes = np.clip(boxes, 0, [new_w, new_h, new_w, new_h]).astype(np.int32)
    if ruby is not None:
        b = ruby["box"]
        ruby["box"] = [int(b[0] * sx), int(b[1] * sy), int(np.ceil(b[2] * sx)), int(np.ceil(b[3] * sy))]
    params = {
        "seed": int(seed), "index": int(index), "font": font.name, "font_path": font.path,
        "font_index": font.index, "style": font.style, "split": cfg.split, "size_px": size,
        "spacing_em": round(spacing, 4), "display": display, "paper": paper, "ink": ink,
        "scale": round(scale, 5), "vertical": vertical, "ruby": ruby,
    }
    if latin is not None:
        params["latin_font"] = latin.name
    if tex:
        params["tex"] = tex
    if hand:
        params["hand"] = hand
    if cfg.degrade_strength > 0:
        from yomitori.data.degrade import degrade_line

        image, boxes, applied = degrade_line(image, boxes, rng, cfg.degrade_strength, vertical)
        params["degrade"] = applied
    return LineSample(np.ascontiguousarray(image, np.uint8), text, vertical, boxes, params)


def config_with(cfg: LineConfig, **changes: object) -> LineConfig:
    """A copy of ``cfg`` with some fields changed (``dataclasses.replace`` with a clear name)."""
    return dataclasses.replace(cfg, **changes)



class LineDataset(RenderedDataset):
    """Map-style torch Dataset: item ``i`` is ``render_line(seed, i, cfg)`` (then ``transform``)."""

    def __init__(self, seed: int, length: int, cfg: LineConfig = LineConfig(),
                 transform: Callable[[LineSample], Any] | None = None) -> None:
        super().__init__(render_line, cfg, seed, length, transform)


class LineStream(RenderedStream):
    """IterableDataset over line indices [start, stop), sharded across DDP ranks and workers."""

    def __init__(self, seed: int, stop: int, cfg: LineConfig = LineConfig(), start: int = 0,
                 transform: Callable[[LineSample], Any] | None = None) -> None:
        super().__init__(render_line, cfg, seed, stop, start, transform)

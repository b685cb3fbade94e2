"""Typesetting one line of Japanese text, horizontal or vertical, with exact per-character boxes.

The primitives here are what the line renderer and the page renderer share:

- :func:`layout_line` places every glyph of a line relative to the top-left corner of the
  line's first em box and returns a :class:`LineLayout` (glyph masks, boxes, extent);
- :func:`draw_line` draws such a line onto any PIL image at a position and returns the absolute
  per-character boxes and the line box.

Coordinates are pixels, origin top-left, boxes ``(x0, y0, x1, y1)`` with exclusive ends. A
character's box is the union of its nominal cell (advance × em) and its ink, so it always
contains the ink; the line box is the union of the character boxes.

Vertical text (tategaki) follows Japanese typesetting: 、。 sit in the upper right of their
cell, brackets, ー and 〜 turn 90°, runs of three or more Latin characters turn 90° clockwise
as a run, two-digit numbers sit side by side in one cell (tate-chu-yoko). A font's own
``vert`` forms are used when HarfBuzz applies them; otherwise the Unicode vertical
presentation form when the font draws it; otherwise the glyph is shifted or rotated here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from yomitori.data.fonts import FontSpec

EM_TOP = 0.88  # the ideographic em box spans baseline - 0.88 em .. baseline + 0.12 em
VERT_FEATURES = ("vert", "vrt2")
VERT_SHIFT = frozenset("、。，．,.")
VERT_ROTATE = frozenset("ー―‐-〜~…‥「」『』（）［］｛｝〈〉《》【】〔〕()[]{}<>＝=：:；;｜|_")
PRESENTATION = {
    "、": "︑", "。": "︒", "「": "﹁", "」": "﹂", "『": "﹃", "』": "﹄", "（": "︵", "）": "︶",
    "(": "︵", ")": "︶", "［": "﹇", "］": "﹈", "[": "﹇", "]": "﹈", "｛": "︷", "｝": "︸",
    "{": "︷", "}": "︸", "〈": "︿", "〉": "﹀", "《": "︽", "》": "︾", "【": "︻", "】": "︼",
    "〔": "︹", "〕": "︺", "…": "︙", "‥": "︰", "―": "︱",
}
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,:;/+\-_@#%&'\"!?=]{2,}")
_DIGIT_PAIR = re.compile(r"(?<![0-9])[0-9]{2}(?![0-9])")

Box = tuple[int, int, int, int]


@dataclass
class Glyph:
    """One drawn character: its ink mask placed at (x, y) and its box."""

    label: str
    drawn: str
    mask: np.ndarray | None  # uint8 coverage, or None for a space
    x: int
    y: int
    box: Box
    mode: str = "plain"
    cell: Box | None = None  # the em box of an upright full-size character (what may be redrawn)


@dataclass
class LineLayout:
    """A line's glyphs relative to the top-left of its first em box, and their extent."""

    text: str
    vertical: bool
    size_px: int
    glyphs: list[Glyph] = field(default_factory=list)

    @property
    def boxes(self) -> list[Box]:
        return [g.box for g in self.glyphs]

    @property
    def bbox(self) -> Box:
        b = np.array(self.boxes) if self.glyphs else np.zeros((1, 4), int)
        return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())

    def shifted(self, dx: int, dy: int) -> LineLayout:
        out = LineLayout(self.text, self.vertical, self.size_px)
        def move(b: Box) -> Box:
            return b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy

        for g in self.glyphs:
            out.glyphs.append(Glyph(g.label, g.drawn, g.mask, g.x + dx, g.y + dy, move(g.box), g.mode,
                                    None if g.cell is None else move(g.cell)))
        return out


@functools.lru_cache(maxsize=65536)
def _glyph(font: FontSpec, size: int, text: str, vert: bool) -> tuple[np.ndarray, int, int]:
    """Ink mask of ``text`` anchored at its left baseline: (mask, offset_x, offset_y)."""
    pil = font.load(size)
    feats = list(VERT_FEATURES) if vert else None
    mask, (ox, oy) = pil.getmask2(text, mode="L", anchor="ls", features=feats)
    arr = np.asarray(mask, dtype=np.uint8).reshape(mask.size[1], mask.size[0])
    return arr, int(ox), int(oy)


@functools.lru_cache(maxsize=65536)
def _advance(font: FontSpec, size: int, text: str) -> float:
    return float(font.load(size).getlength(text))


@functools.lru_cache(maxsize=65536)
def vertical_mode(font: FontSpec, ch: str) -> str:
    """How ``ch`` is drawn in vertical text with ``font``: vert, pres, shift, rotate or upright."""
    if ch not in VERT_SHIFT and ch not in VERT_ROTATE and ch not in PRESENTATION:
        if not ("\u3041" <= ch <= "\u30ff"):
            return "upright"
    plain = _glyph(font, 32, ch, False)
    vert = _glyph(font, 32, ch, True)
    if plain[1:] != vert[1:] or plain[0].tobytes() != vert[0].tobytes():
        return "vert"
    pres = PRESENTATION.get(ch)
    if pres is not None:
        from yomitori.data.fonts import renderable_chars

        if pres in renderable_chars(font, PRESENTATION.values()):
            return "pres"
    if ch in VERT_SHIFT:
        return "shift"
    if ch in VERT_ROTATE:
        return "rotate"
    return "upright"


def _ink_box(mask: np.ndarray | None, x: int, y: int) -> Box | None:
    if mask is None or mask.size == 0:
        return None
    rows = np.flatnonzero(mask.max(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.max(axis=0))
    return x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1


def _union(a: Box, b: Box | None) -> Box:
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def is_latin(ch: str) -> bool:
    """Printable ASCII other than space: what a separate Latin font draws in mixed typesetting."""
    return "!" <= ch <= "~"


def _face(font: FontSpec, latin: FontSpec | None, ch: str) -> FontSpec:
    return latin if latin is not None and is_latin(ch) else font


def _em_tile(font: FontSpec, size: int, text: str, width: int, top: int, height: int,
             latin: FontSpec | None = None) -> np.ndarray:
    """``text`` drawn horizontally into a (height, width) tile whose em box starts at row ``top``."""
    tile = np.zeros((height, width), np.uint8)
    pen = 0.0
    base = top + round(EM_TOP * size)
    for ch in text:
        f = _face(font, latin, ch)
        if not ch.isspace():
            m, ox, oy = _glyph(f, size, ch, False)
            _paste_max(tile, m, round(pen) + ox, base + oy)
        pen += _advance(f, size, ch)
    return tile


def _paste_max(canvas: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
    h, w = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    sub = mask[y0 - y:y1 - y, x0 - x:x1 - x]
    np.maximum(canvas[y0:y1, x0:x1], sub, out=canvas[y0:y1, x0:x1])


def _layout_horizontal(text: str, display: str, font: FontSpec, size: int, spacing: float,
                       jitter: Sequence[float], latin: FontSpec | None = None,
                       shape: Sequence[tuple[float, float, float]] = ()) -> LineLayout:
    out = LineLayout(text, False, size)
    pen = 0.0
    base = round(EM_TOP * size)
    for i, (ch, d) in enumerate(zip(text, display, strict=True)):
        f = _face(font, latin, d)
        kern, lower, scale = shape[i] if shape else (0.0, 0.0, 1.0)
        pen += kern * size
        gsize = max(round(size * scale), 1)
        adv = _advance(f, gsize, d) or gsize * 0.3
        dy = round(jitter[i]) if jitter else 0
        cell = (round(pen), dy, max(round(pen + adv), round(pen) + 1), size + dy)
        if d.isspace():
            out.glyphs.append(Glyph(ch, d, None, cell[0], cell[1], cell, "space"))
        else:
            m, ox, oy = _glyph(f, gsize, d, False)
            x, y = round(pen) + ox, base + oy + dy + round(lower * size)
            em = (round(pen), dy, round(pen) + size, size + dy) if gsize == size and f is font else None
            out.glyphs.append(Glyph(ch, d, m, x, y, _union(cell, _ink_box(m, x, y)), cell=em))
        pen += adv + spacing * size
    return out


def _vertical_runs(text: str) -> list[tuple[int, int, str]]:
    """Split ``text`` into (start, end, kind) runs: 'rotated' Latin, 'tcy' digit pairs, 'char'."""
    marks = ["char"] * len(text)
    for m in _LATIN_RUN.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] == " ":
            end -= 1
        if end - m.start() >= 3:
            marks[m.start():end] = ["rotated"] * (end - m.start())
    for m in _DIGIT_PAIR.finditer(text):
        if all(k == "char" for k in marks[m.start():m.end()]):
            marks[m.start():m.end()] = ["tcy"] * 2
    runs, i = [], 0
    while i < len(text):
        j = i + 1
        if marks[i] != "char":
            while j < len(text) and marks[j] == marks[i]:
                j += 1
        runs.append((i, j, marks[i]))
        i = j
    return runs


def _layout_vertical(text: str, display: str, font: FontSpec, size: int, spacing: float,
                     jitter: Sequence[float], latin: FontSpec | None = None) -> LineLayout:
    out = LineLayout(text, True, size)
    pen = 0.0
    base = round(EM_TOP * size)
    for start, end, kind in _vertical_runs(display):
        dx = round(jitter[start]) if jitter else 0
        top = round(pen)
        if kind == "rotated":
            run = display[start:end]
            advs = [_advance(_face(font, latin, c), size, c) for c in run]
            length = max(round(sum(advs)), 1)
            margin = size // 4
            tile = _em_tile(font, size, run, length, margin, size + 2 * margin, latin)
            rot = np.ascontiguousarray(np.rot90(tile, k=-1))  # clockwise
            x, y = dx - margin, top
            acc = 0.0
            for k, c in enumerate(run):
                cell = (dx, top + round(acc), dx + size, top + max(round(acc + advs[k]), round(acc) + 1))
                sub = rot[round(acc):round(acc + advs[k]), :]
                ink = _ink_box(sub, x, top + round(acc))
                out.glyphs.append(Glyph(text[start + k], c, sub if k else rot, x, top + round(acc),
                                        _union(cell, ink), "rotated"))
                acc += advs[k]
            # draw the whole rotated run once, through its first glyph; the others carry no ink
            for g in out.glyphs[len(out.glyphs) - len(run) + 1:]:
                g.mask = None
            pen += length + spacing * size
            continue
        if kind == "tcy":
            run = display[start:end]
            width = max(round(sum(_advance(font, size, c) for c in run)), 1)
            tile = _em_tile(font, size, run, width, 0, size)
            if width > size:
                tile = np.asarray(Image.fromarray(tile).resize((size, size), Image.BILINEAR))
                width = size
            x = dx + (size - width) // 2
            for k, c in enumerate(run):
                cx0 = x + k * width // len(run)
                cx1 = x + (k + 1) * width // len(run)
                cell = (cx0, top, max(cx1, cx0 + 1), top + size)
                out.glyphs.append(Glyph(text[start + k], c, tile if k == 0 else None, x, top,
                                        _union(cell, _ink_box(tile[:, cx0 - x:cx1 - x], cx0, top)),
                                        "tcy"))
            pen += size + spacing * size
            continue
        ch, d = text[start], display[start]
        cell = (dx, top, dx + size, top + size)
        if d.isspace():
            out.glyphs.append(Glyph(ch, d, None, dx, top, cell, "space"))
            pen += size * (1.0 if d == "\u3000" else 0.5) + spacing * size
            continue
        mode = vertical_mode(font, d)
        if mode in ("vert", "pres", "shift", "upright"):
            drawn = PRESENTATION[d] if mode == "pres" else d
            m, ox, oy = _glyph(font, size, drawn, mode == "vert")
            adv = _advance(font, size, drawn)
            x = dx + round((size - adv) / 2) + ox
            y = top + base + oy
            ink = _ink_box(m, x, y) if mode == "shift" else None
            if ink is not None:  # move the ink into the upper right corner of its cell
                x += dx + round(0.92 * size) - ink[2]
                y += top + round(0.08 * size) - ink[1]
        else:  # rotate the glyph's em box a quarter turn clockwise
            adv = max(round(_advance(font, size, d)), 1)
            tile = _em_tile(font, size, d, max(adv, size), 0, size)
            m = np.ascontiguousarray(np.rot90(tile, k=-1))
            x, y, drawn = dx, top, d
        out.glyphs.append(Glyph(ch, drawn, m, x, y, _union(cell, _ink_box(m, x, y)), mode,
                                cell if mode == "upright" else None))
        pen += size + spacing * size
    return out


def layout_line(text: str, font: FontSpec, size_px: int, *, vertical: bool = False,
                spacing_em: float = 0.0, jitter_px: Sequence[float] | None = None,
                display: str | None = None, latin_font: FontSpec | None = None,
                shape: Sequence[tuple[float, float, float]] | None = None) -> LineLayout:
    """Place ``text`` (labels) drawn as ``display`` (same length; default ``text``).

    ``jitter_px`` moves each character across the line (baseline jitter for horizontal text,
    a sideways wobble for vertical text); ``spacing_em`` adds letter spacing. ``latin_font``
    draws the printable ASCII of ``display`` (horizontal text, and the turned Latin runs of
    vertical text) in a separate Latin font, as mixed Japanese/Latin typesetting does.
    ``shape`` (horizontal text): per character, a kern before it and a baseline shift down
    (both in em) and a scale, as the TeX logos need (:mod:`yomitori.data.tex`).
    """
    display = text if display is None else display
    if len(display) != len(text):
        raise ValueError("display must have one character per label character")
    if jitter_px is not None and len(jitter_px) != len(text):
        raise ValueError("jitter_px needs one value per character")
    if shape is not None and (vertical or len(shape) != len(text)):
        raise ValueError("shape needs horizontal text and one (kern, lower, scale) per character")
    if vertical:
        return _layout_vertical(text, display, font, int(size_px), float(spacing_em), jitter_px or (), latin_font)
    return _layout_horizontal(text, display, font, int(size_px), float(spacing_em), jitter_px or (), latin_font,
                              shape or ())


def ink_canvas(layout: LineLayout, width: int, height: int) -> np.ndarray:
    """The layout's ink coverage (uint8, 255 = full ink) on a (height, width) canvas."""
    canvas = np.zeros((height, width), np.uint8)
    for g in layout.glyphs:
        if g.mask is not None:
            _paste_max(canvas, g.mask, g.x, g.y)
    return canvas


@dataclass(frozen=True)
class DrawnLine:
    """What :func:`draw_line` drew: labels, per-character boxes and the line box (absolute px)."""

    text: str
    vertical: bool
    char_boxes: list[Box]
    bbox: Box


def draw_line(image: Image.Image, origin: tuple[int, int], text: str, font: FontSpec,
              size_px: int, *, vertical: bool = False, spacing_em: float = 0.0,
              jitter_px: Sequence[float] | None = None, display: str | None = None,
              fill: int | tuple[int, ...] = 0) -> DrawnLine:
    """Draw a line whose first em box has its top-left corner at ``origin`` onto ``image``."""
    lay = layout_line(text, font, size_px, vertical=vertical, spacing_em=spacing_em,
                      jitter_px=jitter_px, display=display).shifted(*origin)
    x0, y0, x1, y1 = lay.bbox
    cov = ink_canvas(lay.shifted(-x0, -y0), x1 - x0, y1 - y0)
    image.paste(fill, (x0, y0), Image.fromarray(cov, "L"))
    return DrawnLine(text, vertical, lay.boxes, lay.bbox)

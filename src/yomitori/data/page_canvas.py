"""Drawing primitives for synthetic pages: text lines whose ink is owned, rules, frames, pictures.

A :class:`PageCanvas` is a float page (paper grey level, ink darker) plus the ground truth drawn
so far: lines (:class:`PageLine`) and regions (:class:`PageRegion`). With ``track_ink`` it also
keeps an *owner map*: for each pixel, the index of the line whose ink covers it, ``-2`` for ink
that belongs to no line (rules, frames, figures) and ``-1`` for paper. Tests use it to prove
that every line box holds its own ink and nothing of any other line.

Boxes are ``(x0, y0, x1, y1)`` ints in page pixels, far edges exclusive (see ``yomitori.types``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from yomitori.data.fonts import FontSpec
from yomitori.data.typeset import LineLayout, ink_canvas, layout_line
from yomitori.types import Direction, RegionClass

Box = tuple[int, int, int, int]
PAPER, OTHER_INK = -1, -2  # owner-map values that are not line indices
# closing punctuation that may not begin a line (kinsoku shori)
NO_LINE_START = frozenset("、。，．,.)）」』】〕〉》ー・：；？！ゃゅょっャュョッぁぃぅぇぉァィゥェォ々")


@dataclass
class PageLine:
    """One text line: box, writing direction, label text and the region that holds it."""

    bbox: Box
    direction: Direction
    text: str
    region: int = -1
    polygon: list[tuple[float, float]] = field(default_factory=list)  # clockwise from top-left

    def __post_init__(self) -> None:
        if not self.polygon:
            x0, y0, x1, y1 = self.bbox
            self.polygon = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


@dataclass
class PageRegion:
    """One region: class, box, direction and its lines (indices into ``PageSample.lines``)."""

    cls: RegionClass
    bbox: Box
    direction: Direction
    lines: list[int] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # tables: row, col, row_span, col_span, bbox


def union_boxes(boxes: Sequence[Box]) -> Box:
    b = np.asarray(boxes, np.int64).reshape(-1, 4)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


class PageCanvas:
    """A page being drawn: pixels (float32, paper level minus ink) and its ground truth."""

    def __init__(self, width: int, height: int, paper: float, track_ink: bool = False) -> None:
        self.width, self.height, self.paper = int(width), int(height), float(paper)
        self.img = np.full((self.height, self.width), self.paper, np.float32)
        self.owner = np.full((self.height, self.width), PAPER, np.int32) if track_ink else None
        self.lines: list[PageLine] = []
        self.regions: list[PageRegion] = []

    # ------------------------------------------------------------------ pixels
    def paste(self, cov: np.ndarray, x: int, y: int, ink: float, owner: int = OTHER_INK) -> None:
        """Darken the page by coverage ``cov`` (uint8, 255 = full ink) placed at (x, y)."""
        h, w = cov.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
        if x1 <= x0 or y1 <= y0:
            return
        sub = cov[y0 - y:y1 - y, x0 - x:x1 - x]
        dark = self.paper - sub.astype(np.float32) * ((self.paper - ink) / 255.0)
        np.minimum(self.img[y0:y1, x0:x1], dark, out=self.img[y0:y1, x0:x1])
        if self.owner is not None:
            self.owner[y0:y1, x0:x1][sub > 0] = owner

    def rect(self, box: Box, ink: float) -> None:
        """A filled rectangle of ink (rules, frame sides); owned by no line."""
        x0, y0, x1, y1 = box
        if x1 > x0 and y1 > y0:
            self.paste(np.full((y1 - y0, x1 - x0), 255, np.uint8), x0, y0, ink)

    def frame(self, box: Box, width: int, ink: float) -> None:
        x0, y0, x1, y1 = box
        self.rect((x0, y0, x1, y0 + width), ink)
        self.rect((x0, y1 - width, x1, y1), ink)
        self.rect((x0, y0, x0 + width, y1), ink)
        self.rect((x1 - width, y0, x1, y1), ink)

    def shade(self, box: Box, level: float) -> None:
        """Tint a background area (table header cells) without drawing ink."""
        x0, y0, x1, y1 = box
        np.minimum(self.img[y0:y1, x0:x1], level, out=self.img[y0:y1, x0:x1])

    # ------------------------------------------------------------------ text
    def draw_layout(self, lay: LineLayout, ink: float, text: str | None = None) -> int:
        """Draw an already placed layout as a new line; returns its index."""
        x0, y0, x1, y1 = lay.bbox
        idx = len(self.lines)
        cov = ink_canvas(lay.shifted(-x0, -y0), x1 - x0, y1 - y0)
        self.paste(cov, x0, y0, ink, owner=idx)
        direction = Direction.VERTICAL if lay.vertical else Direction.HORIZONTAL
        label = text if text is not None else "".join(g.label for g in lay.glyphs)
        self.lines.append(PageLine((x0, y0, x1, y1), direction, label.strip()))
        return idx

    def text_line(self, text: str, font: FontSpec, size: int, origin: tuple[int, int], *,
                  vertical: bool, ink: float, spacing: float = 0.0,
                  jitter: Sequence[float] | None = None) -> int:
        lay = layout_line(text, font, size, vertical=vertical, spacing_em=spacing,
                          jitter_px=jitter).shifted(*origin)
        return self.draw_layout(lay, ink, text)

    def add_region(self, cls: RegionClass, lines: Sequence[int], direction: Direction | None = None,
                   bbox: Box | None = None, cells: list[dict] | None = None) -> int:
        """Group ``lines`` into a new region (box: the union of the lines unless given)."""
        lines = [i for i in lines if i >= 0]
        if bbox is None:
            bbox = union_boxes([self.lines[i].bbox for i in lines])
        if direction is None:
            dirs = [self.lines[i].direction for i in lines]
            direction = max(set(dirs), key=dirs.count) if dirs else Direction.HORIZONTAL
        idx = len(self.regions)
        for i in lines:
            self.lines[i].region = idx
        self.regions.append(PageRegion(cls, bbox, direction, list(lines), cells or []))
        return idx

    def overlaps_line(self, box: Box) -> bool:
        """Whether ``box`` overlaps the box of any line drawn so far."""
        if not self.lines:
            return False
        b = np.asarray([ln.bbox for ln in self.lines], np.int64)
        x0, y0, x1, y1 = box
        return bool(((np.minimum(x1, b[:, 2]) > np.maximum(x0, b[:, 0]))
                     & (np.minimum(y1, b[:, 3]) > np.maximum(y0, b[:, 1]))).any())

    def free(self, box: Box) -> bool:
        """Whether ``box`` lies on the page and overlaps no region drawn so far."""
        x0, y0, x1, y1 = box
        if x0 < 0 or y0 < 0 or x1 > self.width or y1 > self.height:
            return False
        for r in self.regions:
            a = r.bbox
            if min(x1, a[2]) > max(x0, a[0]) and min(y1, a[3]) > max(y0, a[1]):
                return False
        return True


# ---------------------------------------------------------------------- line breaking


def line_extent(lay: LineLayout) -> int:
    """Length of a layout along its writing direction, from the pen origin (0)."""
    x0, y0, x1, y1 = lay.bbox
    return y1 if lay.vertical else x1


def fit_chars(text: str, font: FontSpec, size: int, length_px: int, *, vertical: bool,
              spacing: float = 0.0) -> int:
    """How many leading characters of ``text`` fit in ``length_px``, breaking between runs.

    Rotated Latin runs and tate-chu-yoko digit pairs are never split, and a line never starts
    with closing punctuation or a small kana (kinsoku): the character before moves down too.
    """
    cap = min(len(text), max(1, int(length_px / max(size * (0.45 + spacing), 1)) + 2))
    lay = layout_line(text[:cap], font, size, vertical=vertical, spacing_em=spacing)
    axis = 3 if vertical else 2
    n = 0
    for g in lay.glyphs:
        if g.box[axis] > length_px:
            break
        n += 1
    if n >= len(text):
        return len(text)
    glyphs = lay.glyphs
    while 0 < n < len(glyphs) and glyphs[n].mode in ("rotated", "tcy") and glyphs[n - 1].mode == glyphs[n].mode:
        n -= 1  # do not split a run
    while 1 < n < len(text) and text[n] in NO_LINE_START:
        n -= 1
    n = max(n, 1)
    # the shorter text may lay out differently (a Latin run cut short stands upright): check
    while n > 1 and line_extent(layout_line(text[:n], font, size, vertical=vertical,
                                            spacing_em=spacing)) > length_px:
        n -= 1
    return n


def break_lines(text: str, font: FontSpec, size: int, lengths: Sequence[int], *, vertical: bool,
                spacing: float = 0.0) -> tuple[list[str], str]:
    """Break ``text`` into lines of the given lengths; returns (lines, text left over)."""
    out: list[str] = []
    rest = text
    for length in lengths:
        rest = rest.lstrip(" ")
        if not rest:
            break
        n = fit_chars(rest, font, size, length, vertical=vertical, spacing=spacing)
        out.append(rest[:n].rstrip(" "))
        rest = rest[n:]
    return [s for s in out if s.strip()], rest.lstrip(" ")

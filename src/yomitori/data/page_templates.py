"""Page templates: vertical (tategaki) pages, horizontal articles, mixed pages and forms.

Templates draw regions *in reading order*: running heads first, then the body (vertical pages:
bands top to bottom, columns right to left; horizontal pages: columns left to right, elements
top to bottom; forms: rows top to bottom, label before field), page numbers last. Furigana
regions follow the region of their base text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from yomitori.data.fonts import FontSpec
from yomitori.data.page_canvas import Box, PageCanvas, fit_chars
from yomitori.data.page_elements import TextPool, add_ruby, draw_figure, draw_table, drawable
from yomitori.data.typeset import layout_line
from yomitori.types import Direction, RegionClass


@dataclass
class Ctx:
    """Everything a template needs: randomness, canvas, text, fonts, sizes in pixels."""

    rng: np.random.Generator
    canvas: PageCanvas
    pool: TextPool
    body_font: FontSpec
    title_font: FontSpec
    hand_fonts: list[FontSpec]
    size: int  # body text em size in px
    ink: float
    furigana: float  # probability that a body line gets furigana
    digits: tuple[np.ndarray, np.ndarray] | None
    pending_ruby: list[int] = field(default_factory=list)

    def em(self, lo: float, hi: float | None = None) -> int:
        k = lo if hi is None else float(self.rng.uniform(lo, hi))
        return max(1, round(k * self.size))

    def draw(self, text: str, origin: tuple[int, int], vertical: bool, font: FontSpec | None = None,
             size: int | None = None, ruby: bool = False) -> int:
        font = font or self.body_font
        text, display = drawable(text, font)
        lay = layout_line(text, font, size or self.size, vertical=vertical, display=display).shifted(*origin)
        idx = self.canvas.draw_layout(lay, self.ink, text)
        if ruby and self.furigana > 0 and self.rng.random() < self.furigana:
            self.pending_ruby += add_ruby(self.canvas, self.rng, lay, font, self.ink,
                                          int(self.rng.integers(1, 3)))
        return idx

    def region(self, cls: RegionClass, lines: list[int], **kw: object) -> int:
        """A region of ``lines``, followed by one furigana region per reading drawn over them."""
        if not lines:
            return -1
        idx = self.canvas.add_region(cls, lines, **kw)  # type: ignore[arg-type]
        for r in self.pending_ruby:
            self.canvas.add_region(RegionClass.FURIGANA, [r])
        self.pending_ruby = []
        return idx


class Flow:
    """Running text in paragraphs, handed out one line at a time (first lines indented)."""

    def __init__(self, ctx: Ctx, vertical: bool, font: FontSpec | None = None) -> None:
        self.ctx, self.vertical, self.font = ctx, vertical, font or ctx.body_font
        self.rest, self.new_par = "", True

    def next_line(self, length: int) -> tuple[str, int]:
        ctx = self.ctx
        if not self.rest:
            self.rest = ctx.pool.paragraph(ctx.rng, self.font, int(ctx.rng.integers(30, 400)))
            self.new_par = True
        indent = ctx.size if self.new_par else 0
        n = fit_chars(self.rest, self.font, ctx.size, length - indent, vertical=self.vertical)
        text, self.rest = self.rest[:n].strip(), self.rest[n:].lstrip(" ")
        self.new_par = False
        return text, indent


def text_columns(ctx: Ctx, flow: Flow, x_right: int, x_left: int, y0: int, y1: int, gap: int) -> list[int]:
    """Vertical lines right to left between ``x_right`` and ``x_left``."""
    lines, x = [], x_right - ctx.size
    while x >= x_left:
        text, indent = flow.next_line(y1 - y0)
        if text:
            lines.append(ctx.draw(text, (x, y0 + indent), True, ruby=True))
        x -= ctx.size + gap
    return lines


def text_rows(ctx: Ctx, flow: Flow, x0: int, x1: int, y0: int, n: int, gap: int) -> list[int]:
    """``n`` horizontal lines from ``y0`` down."""
    lines = []
    for k in range(n):
        text, indent = flow.next_line(x1 - x0)
        if text:
            lines.append(ctx.draw(text, (x0 + indent, y0 + k * (ctx.size + gap)), False, ruby=True))
    return lines


def short_lines(ctx: Ctx, text: str, font: FontSpec, size: int, length: int, vertical: bool,
                max_lines: int) -> list[str]:
    out, rest = [], text
    while rest and len(out) < max_lines:
        n = fit_chars(rest, font, size, length, vertical=vertical)
        out.append(rest[:n].strip())
        rest = rest[n:].strip()
    return [t for t in out if t]


def title_block(ctx: Ctx, x0: int, x1: int, y: int, vertical: bool = False) -> int:
    """A horizontal title (1-2 lines) from ``y``; returns the y below it (``y`` if none)."""
    size = ctx.em(1.5, 2.4)
    texts = short_lines(ctx, ctx.pool.phrase(ctx.rng, ctx.title_font, 6, 30), ctx.title_font, size,
                        x1 - x0, False, 2)
    center = ctx.rng.random() < 0.5
    lines = []
    for k, t in enumerate(texts):
        w = layout_line(t, ctx.title_font, size).bbox[2]
        ox = (x0 + x1 - w) // 2 if center else x0
        lines.append(ctx.draw(t, (ox, y + k * round(size * 1.3)), False, ctx.title_font, size))
    if not lines:
        return y
    ctx.region(RegionClass.TITLE, lines)
    return ctx.canvas.regions[-1].bbox[3] + ctx.em(1.2, 2.2)


def running_head(ctx: Ctx, box: Box) -> None:
    x0, y0, x1, _ = box
    if ctx.rng.random() > 0.75:
        return
    size = ctx.em(0.75, 0.9)
    text = ctx.pool.phrase(ctx.rng, ctx.body_font, 4, 18)
    n = fit_chars(text, ctx.body_font, size, (x1 - x0) // 2, vertical=False)
    text = text[:n].strip()
    if not text:
        return
    w = layout_line(text, ctx.body_font, size).bbox[2]
    y = y0 - ctx.em(1.4, 2.6)
    if y < size // 2:
        return
    pos = ctx.rng.choice(["left", "center", "right"])
    ox = {"left": x0, "center": (x0 + x1 - w) // 2, "right": x1 - w}[str(pos)]
    ctx.region(RegionClass.HEADER, [ctx.draw(text, (ox, y), False, size=size)])
    if ctx.rng.random() < 0.3:
        ry = y + size + max(2, size // 3)
        if ry + 2 < y0 - 2:
            ctx.canvas.rect((x0, ry, x1, ry + max(1, size // 12)), ctx.ink)


def page_number(ctx: Ctx, box: Box, number: int) -> None:
    x0, _, x1, y1 = box
    if ctx.rng.random() > 0.85:
        return
    size = ctx.em(0.75, 0.95)
    text = str(ctx.rng.choice([f"{number}", f"- {number} -", f"p. {number}", f"{number}"]))
    w = layout_line(text, ctx.body_font, size).bbox[2]
    y = y1 + ctx.em(1.0, 2.2)
    if y + size >= ctx.canvas.height - 2:
        return
    pos = ctx.rng.choice(["left", "center", "right"], p=[0.25, 0.5, 0.25])
    ox = {"left": x0, "center": (x0 + x1 - w) // 2, "right": x1 - w}[str(pos)]
    ctx.region(RegionClass.HEADER, [ctx.draw(text, (ox, y), False, size=size)])


def figure_with_caption(ctx: Ctx, x0: int, x1: int, y: int, max_h: int, number: int,
                        vertical_caption_left: bool = False) -> int:
    """Figure centred in [x0, x1] from ``y`` with a caption below; returns the bottom y (-1: no room)."""
    cap_size = ctx.em(0.8, 0.95)
    w = round((x1 - x0) * ctx.rng.uniform(0.5, 1.0))
    h = min(round(w * ctx.rng.uniform(0.4, 0.85)), max_h - cap_size * 3)
    if h < ctx.size * 4 or w < ctx.size * 4:
        return -1
    fx = x0 + (x1 - x0 - w) // 2 if ctx.rng.random() < 0.6 else x0
    draw_figure(ctx.canvas, ctx.rng, (fx, y, fx + w, y + h), ctx.ink)
    ctx.canvas.add_region(RegionClass.FIGURE, [], Direction.HORIZONTAL, bbox=(fx, y, fx + w, y + h))
    cap = f"図{number} " + ctx.pool.phrase(ctx.rng, ctx.body_font, 4, 40)
    texts = short_lines(ctx, cap, ctx.body_font, cap_size, x1 - x0, False, 2)
    lines, cy = [], y + h + ctx.em(0.5, 0.9)
    for k, t in enumerate(texts):
        tw = layout_line(t, ctx.body_font, cap_size).bbox[2]
        ox = (x0 + x1 - tw) // 2 if len(texts) == 1 else x0
        lines.append(ctx.draw(t, (max(ox, x0), cy + k * round(cap_size * 1.5)), False, size=cap_size))
    ctx.region(RegionClass.CAPTION, lines)
    return ctx.canvas.regions[-1].bbox[3] if lines else y + h


def table_with_caption(ctx: Ctx, x0: int, x1: int, y: int, max_h: int, number: int) -> int:
    cap_size = ctx.em(0.8, 0.95)
    cap = f"表{number} " + ctx.pool.phrase(ctx.rng, ctx.body_font, 4, 30)
    texts = short_lines(ctx, cap, ctx.body_font, cap_size, x1 - x0, False, 1)
    above = ctx.rng.random() < 0.7
    ty = y + (cap_size + ctx.em(0.6, 0.9) if above and texts else 0)
    width = round((x1 - x0) * ctx.rng.uniform(0.6, 1.0))
    tsize = max(round(ctx.size * ctx.rng.uniform(0.85, 1.0)), 8)
    cap_line = -1
    if above and texts:
        cap_line = ctx.draw(texts[0], (x0, y), False, size=cap_size)
        ctx.region(RegionClass.CAPTION, [cap_line])
    r = draw_table(ctx.canvas, ctx.rng, ctx.pool, ctx.body_font, tsize, (x0, ty), width,
                   max_h - (ty - y) - (0 if above else cap_size * 2), ctx.ink)
    if r < 0:
        return ctx.canvas.regions[-1].bbox[3] if cap_line >= 0 else -1
    bottom = ctx.canvas.regions[r].bbox[3]
    if not above and texts:
        cy = bottom + ctx.em(0.5, 0.8)
        ctx.region(RegionClass.CAPTION, [ctx.draw(texts[0], (x0, cy), False, size=cap_size)])
        bottom = ctx.canvas.regions[-1].bbox[3]
    return bottom


Template = Callable[[Ctx, Box, int], None]

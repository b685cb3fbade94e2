"""Page elements beyond plain text lines: furigana, figures, ruled tables, form fields.

Every function draws onto a :class:`~yomitori.data.page_canvas.PageCanvas` with randomness from
the generator it is handed, and returns the indices of the lines or regions it created.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from yomitori.charset import default_charset
from yomitori.data.fonts import FontSpec, renderable_chars
from yomitori.data.page_canvas import Box, PageCanvas, PageLine, break_lines, fit_chars
from yomitori.data.text import text_source
from yomitori.data.typeset import LineLayout, layout_line
from yomitori.types import Direction, RegionClass

KANJI = ("\u3400", "\u9fff")


class TextPool:
    """Text of one split, cleaned to what a font draws."""

    def __init__(self, split: str, kind: str = "auto") -> None:
        self.source = text_source(split, kind)
        self.charset = default_charset()

    def clean(self, raw: str, font: FontSpec) -> str:
        ok = renderable_chars(font)
        text = "".join(c for c in self.charset.filter(raw) if c in ok or c == " ")
        return " ".join(text.split())

    def paragraph(self, rng: np.random.Generator, font: FontSpec, n_chars: int) -> str:
        parts, total = [], 0
        while total < n_chars:
            s = self.clean(self.source.sample(rng, 160), font)
            if s:
                parts.append(s)
                total += len(s)
        return "".join(parts)[:n_chars]

    def phrase(self, rng: np.random.Generator, font: FontSpec, lo: int, hi: int) -> str:
        for _ in range(8):
            s = self.clean(self.source.sample(rng, int(rng.integers(lo, hi + 1))), font).strip(" 、。")
            if len(s) >= max(lo // 2, 1):
                return s
        return "日本語の文書"


def drawable(text: str, font: FontSpec) -> tuple[str, str]:
    """(label, display) for ``text`` in ``font``: characters the font lacks are drawn as their
    full-width form when it has one (the label keeps the normalised character), else dropped."""
    from yomitori.charset import display_variants

    ok = renderable_chars(font)
    variants = display_variants()
    label, display = [], []
    for ch in text:
        if ch in ok or ch == " ":
            label.append(ch)
            display.append(ch)
            continue
        alt = next((v for v in variants.get(ch, ()) if v in renderable_chars(font, variants.get(ch, ()))), None)
        if alt is not None and alt != "\u3000":
            label.append(ch)
            display.append(alt)
    return "".join(label), "".join(display)


# ---------------------------------------------------------------------- furigana


@functools.cache
def _tagger():  # noqa: ANN202 - fugashi.Tagger, or None when fugashi is absent
    try:
        import fugashi

        return fugashi.Tagger()
    except Exception:  # noqa: BLE001 - no fugashi or no dictionary: random readings instead
        return None


def _hiragana(kana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in kana)


def kanji_words(text: str, rng: np.random.Generator) -> list[tuple[int, int, str]]:
    """(start, end, reading) of all-kanji words in ``text`` with their hiragana readings."""
    tagger = _tagger()
    out: list[tuple[int, int, str]] = []
    if tagger is not None:
        pos = 0
        for w in tagger(text):
            surf = w.surface
            start = text.find(surf, pos)
            if start < 0:
                continue
            pos = start + len(surf)
            kana = getattr(w.feature, "kana", None)
            if surf and all(KANJI[0] <= c <= KANJI[1] for c in surf) and kana and kana != "*":
                out.append((start, pos, _hiragana(kana)))
        return out
    for i, c in enumerate(text):  # fallback: a random reading per kanji
        if KANJI[0] <= c <= KANJI[1]:
            hira = "あいうえおかきくけこさしすせそたちつてとなにのはひふへほまみむめもやゆよらりるれろわん"
            out.append((i, i + 1, "".join(hira[int(k)] for k in rng.integers(len(hira), size=2))))
    return out


def add_ruby(canvas: PageCanvas, rng: np.random.Generator, lay: LineLayout, font: FontSpec,
             ink: float, max_count: int = 2) -> list[int]:
    """Furigana over (horizontal) or right of (vertical) kanji words of a drawn line.

    Each reading becomes a line of its own; the caller groups them into furigana regions.
    """
    words = kanji_words("".join(g.label for g in lay.glyphs), rng)
    if not words:
        return []
    size = max(round(lay.size_px * 0.45), 5)
    order = rng.permutation(len(words))[:max_count]
    taken: list[tuple[int, int]] = []
    x0, y0, x1, y1 = lay.bbox
    ok = renderable_chars(font)
    out = []
    for k in sorted(order):
        start, end, reading = words[k]
        if not all(c in ok for c in reading) or len(reading) > 3 * (end - start) + 1:
            continue
        base = lay.glyphs[start:end]
        ruby = layout_line(reading, font, size, vertical=lay.vertical)
        rx0, ry0, rx1, ry1 = ruby.bbox
        if lay.vertical:
            mid = (min(g.box[1] for g in base) + max(g.box[3] for g in base)) / 2
            dx, dy = x1 + 1 - rx0, round(mid - (ry0 + ry1) / 2)
            span = (ry0 + dy, ry1 + dy)
            limits = (y0 - lay.size_px // 2, y1 + lay.size_px // 2)
        else:
            mid = (min(g.box[0] for g in base) + max(g.box[2] for g in base)) / 2
            dx, dy = round(mid - (rx0 + rx1) / 2), y0 - 1 - ry1
            span = (rx0 + dx, rx1 + dx)
            limits = (x0 - lay.size_px // 2, x1 + lay.size_px // 2)
        if span[0] < limits[0] or span[1] > limits[1]:
            continue
        if any(span[0] < b + 2 and a < span[1] + 2 for a, b in taken):
            continue
        moved = ruby.shifted(dx, dy)
        bx = moved.bbox
        if bx[0] < 0 or bx[1] < 0 or bx[2] > canvas.width or bx[3] > canvas.height:
            continue
        if canvas.overlaps_line(bx):  # a neighbour whose glyphs reach past its em box
            continue
        taken.append(span)
        out.append(canvas.draw_layout(moved, ink, reading))
    return out


# ---------------------------------------------------------------------- figures


def draw_figure(canvas: PageCanvas, rng: np.random.Generator, box: Box, ink: float) -> None:
    """A text-free figure: bar chart, line plot, photo-like picture, diagram or pie."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cov = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(cov)
    lw = max(1, round(min(w, h) / 150))
    kind = str(rng.choice(["bars", "plot", "photo", "diagram", "pie"], p=[0.22, 0.22, 0.26, 0.18, 0.12]))
    m = max(4, min(w, h) // 10)
    if kind == "photo":
        coarse = rng.uniform(0, 1, (int(rng.integers(3, 9)), int(rng.integers(3, 9)))).astype(np.float32)
        field = np.asarray(Image.fromarray(coarse * 255).resize((w, h), Image.BICUBIC), np.float32)
        grain = rng.normal(0, 12, (h, w))
        arr = np.clip(field * rng.uniform(0.5, 0.95) + 20 + grain, 0, 255).astype(np.uint8)
        cov = Image.fromarray(arr)
        d = ImageDraw.Draw(cov)
        for _ in range(int(rng.integers(1, 5))):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.3) * min(w, h)
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(rng.integers(60, 255)))
        d.rectangle((0, 0, w - 1, h - 1), outline=255, width=lw)
    elif kind in ("bars", "plot"):
        d.line((m, m, m, h - m), fill=255, width=lw)
        d.line((m, h - m, w - m, h - m), fill=255, width=lw)
        for t in np.linspace(m, h - m, int(rng.integers(3, 7))):
            d.line((m - lw * 3, t, m, t), fill=255, width=lw)
        n = int(rng.integers(3, 12))
        vals = rng.uniform(0.1, 1.0, n)
        xs = np.linspace(m * 1.5, w - m * 1.5, n)
        if kind == "bars":
            bw = (w - 3 * m) / n * rng.uniform(0.4, 0.8)
            fill = int(rng.integers(60, 256))
            for x, v in zip(xs, vals, strict=True):
                d.rectangle((x - bw / 2, h - m - v * (h - 2 * m), x + bw / 2, h - m), fill=fill, outline=255)
        else:
            for _series in range(int(rng.integers(1, 4))):
                vals = np.clip(vals + rng.normal(0, 0.15, n), 0.05, 1)
                pts = [(float(x), float(h - m - v * (h - 2 * m))) for x, v in zip(xs, vals, strict=True)]
                d.line(pts, fill=255, width=lw + 1)
                for px, py in pts:
                    d.ellipse((px - 2 * lw, py - 2 * lw, px + 2 * lw, py + 2 * lw), fill=255)
    elif kind == "diagram":
        k = int(rng.integers(2, 6))
        centres = [(rng.uniform(0.2, 0.8) * w, (i + 0.5) / k * h) for i in range(k)]
        bw, bh = w * rng.uniform(0.2, 0.4), h / k * 0.5
        for i, (cx, cy) in enumerate(centres):
            shape = d.rectangle if rng.random() < 0.6 else d.ellipse
            shape((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), outline=255, width=lw + 1)
            if i:
                px, py = centres[i - 1]
                d.line((px, py + bh / 2, cx, cy - bh / 2), fill=255, width=lw)
                d.polygon([(cx, cy - bh / 2), (cx - 3 * lw, cy - bh / 2 - 5 * lw),
                           (cx + 3 * lw, cy - bh / 2 - 5 * lw)], fill=255)
    else:
        r = min(w, h) * 0.4
        a0 = 0.0
        for frac in rng.dirichlet(np.ones(int(rng.integers(2, 6)))):
            a1 = a0 + 360 * float(frac)
            d.pieslice((w / 2 - r, h / 2 - r, w / 2 + r, h / 2 + r), a0, a1,
                       fill=int(rng.integers(30, 220)), outline=255, width=lw)
            a0 = a1
    canvas.paste(np.asarray(cov, np.uint8), x0, y0, ink)


# ---------------------------------------------------------------------- tables


def _cell_text(rng: np.random.Generator, pool: TextPool, font: FontSpec, numeric: bool) -> str:
    if numeric:
        v = rng.choice(["int", "dec", "pct", "yen"])
        n = int(rng.integers(0, 100000))
        return {"int": f"{n:,}", "dec": f"{n / 100:.1f}", "pct": f"{n % 100}%", "yen": f"{n:,}円"}[str(v)]
    return pool.phrase(rng, font, 2, 10)


def draw_table(canvas: PageCanvas, rng: np.random.Generator, pool: TextPool, font: FontSpec, size: int,
               origin: tuple[int, int], width: int, max_height: int, ink: float) -> int:
    """A ruled table of horizontal cell text at ``origin``; returns its region index (-1: no room)."""
    row_h = round(size * rng.uniform(1.7, 2.3))
    nrows = min(int(rng.integers(3, 10)), max_height // row_h)
    if nrows < 2:
        return -1
    ncols = int(rng.integers(2, 6))
    while ncols > 1 and width / ncols < size * 3:
        ncols -= 1
    shares = rng.uniform(0.6, 1.6, ncols)
    xs = np.round(np.concatenate([[0], np.cumsum(shares / shares.sum())]) * width).astype(int) + origin[0]
    ys = origin[1] + np.arange(nrows + 1) * row_h
    lw = max(1, round(size / 14))
    full_grid = rng.random() < 0.8
    merged = ncols >= 3 and rng.random() < 0.3  # a header cell spanning the first two data columns
    if rng.random() < 0.4:
        canvas.shade((int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[1])), canvas.paper - rng.uniform(15, 40))
    numeric_cols = rng.random(ncols) < 0.4
    numeric_cols[0] = False
    pad = max(2, size // 3)
    lines, cells = [], []
    for r in range(nrows):
        c = 0
        while c < ncols:
            span = 2 if (merged and r == 0 and c == 1) else 1
            cx0, cx1 = int(xs[c]) + pad, int(xs[c + span]) - pad
            box = (int(xs[c]), int(ys[r]), int(xs[c + span]), int(ys[r + 1]))
            cells.append({"row": r, "col": c, "row_span": 1, "col_span": span, "bbox": box})
            if r == 0 or rng.random() < 0.93:
                text = drawable(_cell_text(rng, pool, font, bool(numeric_cols[c]) and r > 0), font)[0]
                n = fit_chars(text, font, size, cx1 - cx0, vertical=False) if text else 0
                text, display = drawable(text[:n].strip(), font)
                if text.strip():
                    lay = layout_line(text, font, size, display=display)
                    tw = lay.bbox[2]
                    align = "right" if numeric_cols[c] and r > 0 else str(rng.choice(["left", "center"]))
                    tx = {"left": cx0, "center": (cx0 + cx1 - tw) // 2, "right": cx1 - tw}[align]
                    ty = int(ys[r]) + (row_h - size) // 2
                    lines.append(canvas.draw_layout(lay.shifted(tx, ty), ink, text))
            c += span
    x_lo, x_hi, y_lo, y_hi = int(xs[0]), int(xs[-1]), int(ys[0]), int(ys[-1])
    for r, y in enumerate(ys):
        if full_grid or r in (0, 1, nrows):
            canvas.rect((x_lo, int(y) - lw // 2, x_hi, int(y) - lw // 2 + lw), ink)
    for c, x in enumerate(xs):
        if not full_grid and 0 < c < ncols:
            continue
        if merged and c == 2:  # the span's inner rule starts below the header row
            canvas.rect((int(x) - lw // 2, int(ys[1]), int(x) - lw // 2 + lw, y_hi), ink)
        else:
            canvas.rect((int(x) - lw // 2, y_lo, int(x) - lw // 2 + lw, y_hi), ink)
    bbox = (x_lo - lw, y_lo - lw, x_hi + lw, y_hi + lw)
    return canvas.add_region(RegionClass.TABLE, lines, Direction.HORIZONTAL, bbox=bbox, cells=cells)


# ---------------------------------------------------------------------- form fields


def handwriting(canvas: PageCanvas, rng: np.random.Generator, pool: TextPool, font: FontSpec,
                box: Box, ink: float) -> list[int]:
    """Handwritten text inside a form box (1-2 lines); handwriting fonts are the proxy."""
    x0, y0, x1, y1 = box
    n_lines = 2 if (y1 - y0) > 90 and rng.random() < 0.3 else 1
    size = int(min((y1 - y0) / n_lines * rng.uniform(0.5, 0.7), (x1 - x0) / 3))
    if size < 8:
        return []
    pad = max(3, size // 3)
    gap = ((y1 - y0) - n_lines * size) // (n_lines + 1)
    texts, _ = break_lines(pool.phrase(rng, font, 4, 24), font, size,
                           [x1 - x0 - 2 * pad - size // 2] * n_lines, vertical=False)
    out = []
    for k, t in enumerate(texts):
        jitter = rng.normal(0, 0.04 * size, len(t)).round().tolist()
        lay = layout_line(t, font, size, jitter_px=jitter, spacing_em=float(rng.uniform(-0.02, 0.1)))
        if lay.bbox[2] > x1 - x0 - 2 * pad:
            continue
        oy = y0 + gap + k * (size + gap) + int(rng.integers(-gap // 3, gap // 3 + 1))
        lay = lay.shifted(x0 + pad + int(rng.integers(0, max(size // 2, 1))), oy)
        if lay.bbox[1] <= y0 or lay.bbox[3] >= y1:
            continue
        out.append(canvas.draw_layout(lay, ink, t))
    return out


@functools.cache
def mnist_digits(split: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """MNIST images as uint8 (N, 28, 28) white-on-black and labels; None when the files are absent."""
    try:
        from yomitori.data.mnist import MEAN, STD, load_mnist

        d = load_mnist(data_dir, "train" if split == "train" else "test")
    except Exception:  # noqa: BLE001 - DataError, or torch missing: skip digit fields
        return None
    x = (d.images.numpy()[:, 0] * STD + MEAN) * 255.0
    return np.clip(x, 0, 255).astype(np.uint8), d.labels.numpy().astype(np.int64)


def digit_field(canvas: PageCanvas, rng: np.random.Generator, digits: tuple[np.ndarray, np.ndarray],
                origin: tuple[int, int], n: int, side: int, ink: float, pen: float) -> int:
    """A row of ``n`` boxes, each with one handwritten MNIST digit; returns the line index."""
    images, labels = digits
    lw = max(1, side // 18)
    x, y = origin
    text = []
    for k in range(n):
        cx = x + k * side
        canvas.frame((cx, y, cx + side + lw, y + side + lw), lw, ink)
        i = int(rng.integers(len(images)))
        d = side - 2 * lw - max(2, side // 8)
        img = np.asarray(Image.fromarray(images[i]).resize((d, d), Image.BILINEAR))
        ox = cx + lw + (side - lw - d) // 2 + int(rng.integers(-1, 2))
        oy = y + lw + (side - lw - d) // 2 + int(rng.integers(-1, 2))
        canvas.paste(img, ox, oy, pen, owner=len(canvas.lines))
        text.append(str(int(labels[i])))
    box = (x + lw, y + lw, x + n * side, y + side)
    canvas.lines.append(PageLine(box, Direction.HORIZONTAL, "".join(text)))
    return len(canvas.lines) - 1


def quad(box: Sequence[float]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

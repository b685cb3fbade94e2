"""Optional ruby (furigana) over a kanji run of a horizontal line.

Ruby is drawn above the line at half size and is *not* part of the line's label: a line
recognizer must learn to ignore it. The reading is random hiragana (1-2 per kanji), which looks
right at line-crop resolution; real readings (PyPI fugashi + unidic-lite) are for the page
renderer, where furigana is ground truth of its own.
"""

from __future__ import annotations

import numpy as np

from yomitori.data.fonts import FontSpec
from yomitori.data.typeset import Glyph, LineLayout, layout_line

HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん"


def add_ruby(rng: np.random.Generator, lay: LineLayout,
             font: FontSpec) -> tuple[LineLayout, dict | None]:
    """Add ruby over one kanji run of ``lay``; returns the new layout and what was added."""
    kanji = [i for i, g in enumerate(lay.glyphs) if "\u3400" <= g.label <= "\u9fff"]
    if not kanji:
        return lay, None
    start = kanji[int(rng.integers(len(kanji)))]
    end = start + 1
    while end < len(lay.glyphs) and end - start < 3 and "\u3400" <= lay.glyphs[end].label <= "\u9fff":
        end += 1
    n = int(sum(rng.integers(1, 3) for _ in range(end - start)))
    reading = "".join(HIRAGANA[int(i)] for i in rng.integers(len(HIRAGANA), size=n))
    size = max(lay.size_px // 2, 6)
    ruby = layout_line(reading, font, size)
    base = lay.glyphs[start:end]
    bx0, bx1 = min(g.box[0] for g in base), max(g.box[2] for g in base)
    top = min(g.box[1] for g in base)
    rx0, ry0, rx1, ry1 = ruby.bbox
    dx = round((bx0 + bx1) / 2 - (rx0 + rx1) / 2)
    dy = top - ry1 - 1
    out = LineLayout(lay.text, lay.vertical, lay.size_px, list(lay.glyphs))
    moved = ruby.shifted(dx, dy)
    # ruby glyphs carry ink but no label: attach them to the first base glyph's drawing only
    extra = [Glyph("", g.drawn, g.mask, g.x, g.y, g.box, "ruby") for g in moved.glyphs]
    out.ruby_glyphs = extra  # type: ignore[attr-defined]
    info = {"start": start, "end": end, "reading": reading, "box": list(moved.bbox)}
    return out, info

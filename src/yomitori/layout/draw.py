"""Draw regions, lines and reading order over a page (galleries, previews, debugging)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

# one colour per region class (RegionClass values)
CLASS_COLORS = {
    "text": (30, 110, 230), "title": (220, 30, 30), "table": (20, 160, 60), "figure": (240, 150, 0),
    "caption": (150, 60, 200), "header": (0, 170, 170), "furigana": (230, 60, 170),
    "handwriting": (140, 90, 30), "digits": (90, 90, 90),
}
LINE_COLORS = {"horizontal": (0, 150, 255), "vertical": (255, 60, 0)}


def draw_layout(image: np.ndarray, regions: Sequence[tuple[str, Sequence[float]]],
                lines: Sequence[tuple[Sequence[float], str]], order: Sequence[int] | None = None,
                scale: float = 1.0) -> Image.Image:
    """RGB picture of ``image`` with region boxes (by class), line boxes (by direction) and the
    reading order as a path through the line centres, numbered every few lines.

    ``regions``: (class name, box); ``lines``: (box, direction name); ``order``: line indices.
    Boxes are page pixels; ``scale`` resizes everything for a smaller picture.
    """
    pil = Image.fromarray(image).convert("RGB")
    if scale != 1.0:
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.BILINEAR)
    tint = Image.new("RGB", pil.size, (255, 255, 255))
    td = ImageDraw.Draw(tint)
    for cls, box in regions:
        b = [v * scale for v in box]
        td.rectangle(b, fill=tuple(int(255 - (255 - c) * 0.25) for c in CLASS_COLORS.get(cls, (0, 0, 0))))
    pil = Image.fromarray(np.minimum(np.asarray(pil), np.asarray(tint)))
    d = ImageDraw.Draw(pil)
    for cls, box in regions:
        d.rectangle([v * scale for v in box], outline=CLASS_COLORS.get(cls, (0, 0, 0)), width=2)
    for box, direction in lines:
        d.rectangle([v * scale for v in box], outline=LINE_COLORS.get(direction, (0, 0, 0)), width=1)
    if order:
        centres = [((lines[i][0][0] + lines[i][0][2]) / 2 * scale, (lines[i][0][1] + lines[i][0][3]) / 2 * scale)
                   for i in order]
        if len(centres) > 1:
            d.line(centres, fill=(255, 0, 200), width=1)
        step = max(1, len(order) // 40)
        for k in range(0, len(order), step):
            x, y = centres[k]
            d.text((x + 2, y - 6), str(k + 1), fill=(200, 0, 150))
    return pil


def tile(images: Sequence[Image.Image], cols: int, pad: int = 8) -> Image.Image:
    """Images in a grid, each cell the size of the largest."""
    w = max(i.width for i in images)
    h = max(i.height for i in images)
    rows = -(-len(images) // cols)
    out = Image.new("RGB", (cols * w + (cols + 1) * pad, rows * h + (rows + 1) * pad), (255, 255, 255))
    for k, im in enumerate(images):
        r, c = divmod(k, cols)
        out.paste(im, (pad + c * (w + pad), pad + r * (h + pad)))
    return out

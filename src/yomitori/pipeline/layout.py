"""Layout stage: a page image to regions in reading order, each with its lines and direction.

    model = load_layout_model("auto", threads=2)      # the shipped weights on a runtime backend
    regions = analyze_layout(page, model)              # list[Region], reading order

``model`` is any callable ``np.ndarray (N, 1, H, W) float32 -> np.ndarray | tuple`` (a runtime
``InferenceModel`` or a test double); its ``meta`` (the weights' JSON), when present, gives the
working resolution. The page is prepared exactly as in training (:mod:`yomitori.layout.prepare`),
the maps go through NumPy post-processing (:mod:`yomitori.layout.postprocess`), writing
direction is decided per line by the network and per region by its lines' majority, tables get a
cell grid from their ruling lines (:mod:`yomitori.layout.tables`), and the reading order follows
:mod:`yomitori.layout.reading_order`. No torch here: the runtime backend runs the network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from yomitori.document import Line, Region, TableCell
from yomitori.layout.maps import NUM_CLASSES
from yomitori.layout.postprocess import (
    LineBox,
    RegionBox,
    check_furigana,
    maps_to_layout,
    scale_layout,
    split_regions,
    split_ruby,
)
from yomitori.layout.prepare import OUTPUT_STRIDE, resize_page, to_input
from yomitori.layout.reading_order import OrderItem, order_page, xy_cut
from yomitori.layout.tables import Cell, table_cells
from yomitori.types import BBox, Direction, PageImage, RegionClass

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "layout_resnet_small.safetensors"
DEFAULT_LONG_SIDE = 768
# ``read`` finds lines at 4/3 of the resolution the network was trained at (768 -> 1024 px long
# side): real PDFs set lines closer together and smaller (code listings, footnotes, lists) than
# the page engine, and at 768 px the network merges and breaks such lines. Measured on selection
# pages (texlive-lang-japanese pages other than the bench's, 16 clean + 16 degraded): CER
# 10.2 / 10.6 % at 768, 8.2 / 8.2 at 896, 7.1 / 7.3 at 1024, 7.7 / 7.1 at 1152. Region classes,
# though, depend on the text's size (large body text at 1024 px is taken for titles, which broke
# the reading order of synthetic pages set in large type), so their logits are averaged with a
# second pass at the training resolution (``detect_layout(class_long_side=...)``). See docs/read.md.
READ_UPSCALE = 4 / 3

LayoutModel = Callable[[np.ndarray], Any]


def load_layout_model(backend: str = "auto", *, threads: int | None = None,
                      weights: str | Path | None = None, precision: str = "fp32") -> Any:
    """The layout network on a runtime backend (``auto``: the fastest installed)."""
    from yomitori.runtime import get_backend

    return get_backend(backend).load(weights or DEFAULT_WEIGHTS, precision=precision, threads=threads)


def predict_maps(gray: np.ndarray, model: LayoutModel, long_side: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Network maps (K + 2, h, w) of a page, cropped to the page, and page px -> map px factors."""
    small, (sx, sy) = resize_page(gray, long_side)
    out = model(to_input(small))
    maps = out[0] if isinstance(out, tuple | list) else out
    maps = np.asarray(maps, np.float32)[0]
    h, w = -(-small.shape[0] // OUTPUT_STRIDE), -(-small.shape[1] // OUTPUT_STRIDE)
    return maps[:, :h, :w], (sx / OUTPUT_STRIDE, sy / OUTPUT_STRIDE)


def detect_layout(gray: np.ndarray, model: LayoutModel, long_side: int | None = None,
                  kernel_threshold: float = 0.5, table_grid: bool = True, class_long_side: int | None = None,
                  ) -> tuple[list[RegionBox], list[LineBox], list[int]]:
    """Regions (tables with cells) and lines in page pixels, and the region reading order.

    ``class_long_side``: when given and unlike ``long_side``, a second pass at that resolution
    has its region-class logits resampled onto the first pass's grid and averaged with the first
    pass's (a two-scale ensemble); lines and their direction come from the pass at ``long_side``.
    """
    long_side = int(long_side or trained_long_side(model))
    maps, factors = predict_maps(gray, model, long_side)
    if class_long_side and int(class_long_side) != long_side:
        class_maps, _ = predict_maps(gray, model, int(class_long_side))
        maps = maps.copy()
        maps[:NUM_CLASSES] = (maps[:NUM_CLASSES] + resample_maps(class_maps[:NUM_CLASSES], maps.shape[1:])) / 2
    return layout_from_maps(gray, maps, factors, kernel_threshold, table_grid)


def trained_long_side(model: LayoutModel) -> int:
    """The page long side (px) the network was trained at (its JSON), else :data:`DEFAULT_LONG_SIDE`."""
    return int((getattr(model, "meta", None) or {}).get("working_long_side", DEFAULT_LONG_SIDE))


def resample_maps(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(C, h, w) float maps -> (C, *shape), bilinear, each map stretched over the same page."""
    from PIL import Image

    h, w = int(shape[0]), int(shape[1])
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(m, np.float32), mode="F")
                                .resize((w, h), Image.BILINEAR)) for m in maps]).astype(np.float32)


def layout_from_maps(gray: np.ndarray, maps: np.ndarray, factors: tuple[float, float],
                     kernel_threshold: float = 0.5, table_grid: bool = True,
                     ) -> tuple[list[RegionBox], list[LineBox], list[int]]:
    """The NumPy half of :func:`detect_layout`: maps (from :func:`predict_maps`) to the layout."""
    fx, fy = factors
    regions, lines = maps_to_layout(maps, kernel_threshold)
    scale_layout(regions, lines, 1.0 / fx, 1.0 / fy)
    regions = split_ruby(check_furigana(split_regions(regions, lines), lines), lines)
    h, w = gray.shape
    for ln in lines:
        ln.polygon = np.clip(ln.polygon, 0, [w, h])
    for r in regions:
        x0, y0, x1, y1 = r.bbox
        r.bbox = (max(x0, 0.0), max(y0, 0.0), min(x1, float(w)), min(y1, float(h)))
    items = [_order_item(r, lines) for r in regions]
    order = order_page([r.cls for r in regions], items, float(h))
    for r in regions:  # lines inside each region in reading order
        if len(r.lines) > 1:
            sub = [OrderItem(lines[i].bbox, lines[i].direction, lines[i].length, lines[i].thickness) for i in r.lines]
            r.lines = [r.lines[k] for k in xy_cut(sub, direction=r.direction)]
        if r.cls == "table" and table_grid:
            r.cells = _cells(gray, r, lines)
    return regions, lines, order


def _order_item(r: RegionBox, lines: list[LineBox]) -> OrderItem:
    thick = [lines[i].thickness for i in r.lines]
    weight = sum(lines[i].length for i in r.lines)
    return OrderItem(r.bbox, r.direction, weight, float(np.median(thick)) if thick else 0.0)


def read_long_side(model: LayoutModel) -> int:
    """The line-finding resolution of ``read``: :data:`READ_UPSCALE` × the one the network was trained at."""
    return int(round(trained_long_side(model) * READ_UPSCALE / OUTPUT_STRIDE)) * OUTPUT_STRIDE


def analyze_layout(page: PageImage, model: LayoutModel, *, long_side: int | None = None,
                   kernel_threshold: float = 0.5, table_grid: bool = True,
                   class_long_side: int | None = None) -> list[Region]:
    """Regions of ``page`` in reading order, with their lines (text empty) and table cells.

    Lines are found at ``long_side`` px (default :func:`read_long_side`); region classes average
    that pass with one at ``class_long_side`` (default: the training resolution; one pass when equal)."""
    gray = np.asarray(page.pixels)
    if gray.ndim == 3:
        gray = gray.mean(axis=2).astype(np.uint8)
    long_side = long_side or read_long_side(model)
    class_long_side = class_long_side or trained_long_side(model)
    regions, lines, order = detect_layout(gray, model, long_side, kernel_threshold, table_grid, class_long_side)
    out = []
    for k in order:
        r = regions[k]
        doc_lines = [_to_line(lines[i]) for i in r.lines]
        cells = [TableCell(c.row, c.col, BBox(*c.bbox), "", c.row_span, c.col_span) for c in r.cells]
        out.append(Region(RegionClass(r.cls), BBox(*r.bbox), Direction(r.direction), doc_lines,
                          confidence=round(r.score, 4), cells=cells))
    return out


def _to_line(ln: LineBox) -> Line:
    poly = [(round(float(x), 2), round(float(y), 2)) for x, y in ln.polygon]
    return Line("", BBox(*ln.bbox), Direction(ln.direction), round(ln.score, 4), [], poly)


def _cells(gray: np.ndarray, r: RegionBox, lines: list[LineBox]) -> list[Cell]:
    x0, y0 = int(np.floor(r.bbox[0])), int(np.floor(r.bbox[1]))
    x1, y1 = int(np.ceil(r.bbox[2])), int(np.ceil(r.bbox[3]))
    boxes = [(b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0) for b in (lines[i].bbox for i in r.lines)]
    thick = float(np.median([lines[i].thickness for i in r.lines])) if r.lines else 0.0
    cells = table_cells(gray[y0:y1, x0:x1], boxes, thick)
    for c in cells:  # back to page pixels
        c.bbox = (c.bbox[0] + x0, c.bbox[1] + y0, c.bbox[2] + x0, c.bbox[3] + y0)
    return cells


__all__ = ["DEFAULT_WEIGHTS", "READ_UPSCALE", "analyze_layout", "detect_layout", "layout_from_maps",
           "load_layout_model", "predict_maps", "read_long_side", "resample_maps", "trained_long_side"]

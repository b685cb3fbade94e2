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
from yomitori.layout.components import DisjointSets
from yomitori.layout.maps import LAYOUT_CLASSES, NUM_CLASSES
from yomitori.layout.postprocess import (
    LineBox,
    RegionBox,
    absorb_into_tables,
    check_furigana,
    maps_lines,
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
# Small text (footnotes, notes) is found again at ZOOM × that resolution: lines thinner than
# SMALL_LINE map px (about 10 px at the 1024 px pass, i.e. under ~8 pt at 300 dpi on A4; body text
# is ~6 map px) — see :func:`refine_small_lines`.
ZOOM = 1.5
SMALL_LINE = 5.0

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
                  zoom: float | None = None) -> tuple[list[RegionBox], list[LineBox], list[int]]:
    """Regions (tables with cells) and lines in page pixels, and the region reading order.

    ``zoom``: find small text's lines again at that × the resolution (:func:`refine_small_lines`).

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
    lines = maps_lines(maps, kernel_threshold)
    if zoom:
        tables = maps[:NUM_CLASSES].argmax(0) == LAYOUT_CLASSES.index("table")
        lines = refine_small_lines(gray, model, lines, factors, zoom, kernel_threshold, protect=tables)
    return layout_from_maps(gray, maps, factors, kernel_threshold, table_grid, lines=lines)


def trained_long_side(model: LayoutModel) -> int:
    """The page long side (px) the network was trained at (its JSON), else :data:`DEFAULT_LONG_SIDE`."""
    return int((getattr(model, "meta", None) or {}).get("working_long_side", DEFAULT_LONG_SIDE))


def resample_maps(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(C, h, w) float maps -> (C, *shape), bilinear, each map stretched over the same page."""
    from PIL import Image

    h, w = int(shape[0]), int(shape[1])
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(m, np.float32), mode="F")
                                .resize((w, h), Image.BILINEAR)) for m in maps]).astype(np.float32)


def _groups(boxes: np.ndarray, reach: np.ndarray) -> list[list[int]]:
    """Boxes (n, 4) that touch once each is grown by its ``reach``, grouped."""
    sets = DisjointSets(len(boxes))
    g = boxes + np.stack([-reach, -reach, reach, reach], 1)
    for i in range(len(boxes)):
        near = (g[:, 0] <= g[i, 2]) & (g[:, 2] >= g[i, 0]) & (g[:, 1] <= g[i, 3]) & (g[:, 3] >= g[i, 1])
        for j in np.nonzero(near)[0]:
            sets.union(i, int(j))
    return list(sets.groups().values())


def _overlap(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection areas of ``box`` (4,) with each of ``boxes`` (n, 4)."""
    ox = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    oy = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    return np.clip(ox, 0, None) * np.clip(oy, 0, None)


def refine_small_lines(gray: np.ndarray, model: LayoutModel, lines: list[LineBox], factors: tuple[float, float],
                       zoom: float = ZOOM, kernel_threshold: float = 0.5, small: float = SMALL_LINE,
                       protect: np.ndarray | None = None) -> list[LineBox]:
    """Find the lines of small text again at ``zoom`` × the resolution: footnotes, captions and
    notes set in a smaller size with tight leading come out of the first pass merged or broken.

    Lines (map pixels) thinner than ``small`` map px and than 0.8 × the page's median line, and at
    least five times as long as thick, two or more within two median line thicknesses of each
    other (a merged pair of them may sit in between), make a band; the band (with a margin) is
    cropped from the page and run through the network again at ``zoom`` × the first pass's scale.
    In the band, a first-pass line gives way to the crop's lines over it when it is small and they
    are longer (it was broken off short), when it is far thicker than the page's lines, or when the
    crop splits it across its thickness into lines stacked one over another (two lines merged);
    crop lines are added where they overlap nothing kept. ``protect`` (bool, first-pass map px):
    where lines are left as they are — the table class, whose cells hold short lines of small text
    side by side that the zoomed pass joins across the cells. Returns lines in the first pass's
    map pixels."""
    if len(lines) < 3:
        return lines
    fx, fy = factors
    thick = np.array([ln.thickness for ln in lines])
    length = np.array([ln.length for ln in lines])
    boxes = np.array([ln.bbox for ln in lines])
    long_ = length >= 3 * thick
    median = float(np.median(thick[long_])) if long_.any() else float(np.median(thick))

    def protected(b: np.ndarray) -> np.ndarray:  # line boxes (n, 4) whose centre is protected
        if protect is None:
            return np.zeros(len(b), bool)
        ph, pw = protect.shape
        x = np.clip(((b[:, 0] + b[:, 2]) / 2).astype(int), 0, pw - 1)
        y = np.clip(((b[:, 1] + b[:, 3]) / 2).astype(int), 0, ph - 1)
        return protect[y, x]

    fixed = protected(boxes)
    cand = np.nonzero((thick < small) & (length >= 5 * thick) & (thick < 0.8 * median) & ~fixed)[0]
    if len(cand) < 2:
        return lines
    h, w = gray.shape
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    replaced: set[int] = set()
    added: list[LineBox] = []
    for group in _groups(boxes[cand], np.maximum(1.5 * thick[cand], 2.0 * median)):
        if len(group) < 2:
            continue
        members = cand[group]
        gx0, gy0 = boxes[members, 0].min(), boxes[members, 1].min()
        gx1, gy1 = boxes[members, 2].max(), boxes[members, 3].max()
        m = 2.0 * float(thick[members].max())
        x0, y0 = max(int((gx0 - m) / fx), 0), max(int((gy0 - m) / fy), 0)
        x1, y1 = min(int(np.ceil((gx1 + m) / fx)), w), min(int(np.ceil((gy1 + m) / fy)), h)
        crop = gray[y0:y1, x0:x1]
        if min(crop.shape) < 8:
            continue
        maps2, (cx, cy) = predict_maps(crop, model, int(round(max(crop.shape) * fx * OUTPUT_STRIDE * zoom)))
        new = maps_lines(maps2, kernel_threshold)
        for ln in new:  # crop map px -> page px -> first-pass map px
            ln.polygon = (ln.polygon / [cx, cy] + [x0, y0]) * [fx, fy]
            ln.thickness *= (fx / cx) if ln.direction == "vertical" else (fy / cy)
        nb = np.array([ln.bbox for ln in new]).reshape(-1, 4)
        n_area = np.maximum((nb[:, 2] - nb[:, 0]) * (nb[:, 3] - nb[:, 1]), 1e-6)
        inside = np.nonzero((centre[:, 0] >= gx0) & (centre[:, 0] <= gx1) & (centre[:, 1] >= gy0)
                            & (centre[:, 1] <= gy1))[0]
        for i in inside:
            if fixed[i]:
                continue
            vert = lines[i].direction == "vertical"
            area_i = max((boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1]), 1e-6)
            kids = np.nonzero(_overlap(boxes[i], nb) >= 0.5 * np.minimum(n_area, area_i))[0]
            give_way = thick[i] > 1.6 * median
            if not give_way and len(kids) >= 2:  # lines merged into one: the crop has them stacked
                across = (nb[kids, 0] + nb[kids, 2]) / 2 if vert else (nb[kids, 1] + nb[kids, 3]) / 2
                give_way = float(np.ptp(across)) > 0.5 * min(new[k].thickness for k in kids)
            if not give_way and thick[i] < small and len(kids):  # broken off short? (the same line stays)
                a = (1, 3) if vert else (0, 2)
                give_way = nb[kids, a[1]].max() - nb[kids, a[0]].min() > 1.05 * (boxes[i, a[1]] - boxes[i, a[0]])
            if give_way:
                replaced.add(int(i))
        stay = np.array([boxes[i] for i in range(len(lines)) if i not in replaced]
                        + [ln.bbox for ln in added]).reshape(-1, 4)
        new_fixed = protected(nb)
        for k, ln in enumerate(new):
            mx, my = (nb[k, 0] + nb[k, 2]) / 2, (nb[k, 1] + nb[k, 3]) / 2
            if new_fixed[k] or not (gx0 <= mx <= gx1 and gy0 <= my <= gy1):
                continue
            if _overlap(nb[k], stay).sum() > 0.3 * n_area[k]:
                continue  # a line found already: it stays
            added.append(ln)
    if not replaced and not added:
        return lines
    return [ln for i, ln in enumerate(lines) if i not in replaced] + added


def layout_from_maps(gray: np.ndarray, maps: np.ndarray, factors: tuple[float, float],
                     kernel_threshold: float = 0.5, table_grid: bool = True, lines: list[LineBox] | None = None,
                     ) -> tuple[list[RegionBox], list[LineBox], list[int]]:
    """The NumPy half of :func:`detect_layout`: maps (from :func:`predict_maps`) to the layout;
    ``lines`` (map pixels), when given, replace the ones the maps would give."""
    fx, fy = factors
    regions, lines = maps_to_layout(maps, kernel_threshold, lines)
    scale_layout(regions, lines, 1.0 / fx, 1.0 / fy)
    regions = split_ruby(check_furigana(absorb_into_tables(split_regions(regions, lines)), lines), lines)
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
                   class_long_side: int | None = None, zoom: float | None = ZOOM) -> list[Region]:
    """Regions of ``page`` in reading order, with their lines (text empty) and table cells.

    Lines are found at ``long_side`` px (default :func:`read_long_side`), small text's again at
    ``zoom`` × that (None: not); region classes average that pass with one at ``class_long_side``
    (default: the training resolution; one pass when equal)."""
    gray = np.asarray(page.pixels)
    if gray.ndim == 3:
        gray = gray.mean(axis=2).astype(np.uint8)
    long_side = long_side or read_long_side(model)
    class_long_side = class_long_side or trained_long_side(model)
    regions, lines, order = detect_layout(gray, model, long_side, kernel_threshold, table_grid, class_long_side,
                                          zoom)
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

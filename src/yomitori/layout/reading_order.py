"""Reading order for Japanese pages: recursive XY-cut with the conventions of each direction.

At every node the *dominant direction* (line length weighted) chooses the cut:

- **vertical** (tategaki): cut into horizontal bands first (段, read top to bottom), then into
  columns read **right to left**;
- **horizontal** (yokogaki): cut into columns first (read left to right) unless every band of a
  row cut is short (a form or a table: rows of fields are read row by row), then into bands
  read top to bottom; with no column cut, bands are peeled off the top one at a time until the
  rest has columns (so a gap that happens to line up across two columns is not a cut).

So a vertical page with a horizontal title reads the title band first, a two-column article reads
the left column before the right one, and a boxed vertical column inside a horizontal article is
one item whose own lines read right to left. Running heads (class ``header`` in the top half)
come first and footers and page numbers (bottom half) last; furigana follows the region of its
base text. Pure NumPy; items are boxes in any pixel unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHORT_BAND = 4.0  # bands at most this many line thicknesses tall are "rows"


@dataclass(frozen=True)
class OrderItem:
    bbox: tuple[float, float, float, float]
    direction: str = "horizontal"  # horizontal | vertical
    weight: float = 1.0  # how much text it holds (dominant direction); 0 for figures
    thickness: float = 0.0  # typical line thickness inside (0: unknown)


def _cuts(lo: np.ndarray, hi: np.ndarray, tol: float) -> list[float]:
    """Positions in the gaps of the union of intervals [lo, hi] (each shrunk by ``tol``)."""
    a = lo + tol
    b = np.maximum(hi - tol, a)
    order = np.argsort(a, kind="stable")
    cuts, end = [], b[order[0]]
    for k in order[1:]:
        if a[k] > end:
            cuts.append(float((end + a[k]) / 2))
        end = max(end, b[k])
    return cuts


def dominant_direction(items: Sequence[OrderItem], idxs: Sequence[int]) -> str:
    v = sum(items[i].weight for i in idxs if items[i].direction == "vertical")
    h = sum(items[i].weight for i in idxs if items[i].direction != "vertical")
    return "vertical" if v > h else "horizontal"


def _fallback(items: Sequence[OrderItem], idxs: list[int], direction: str) -> list[int]:
    if direction == "vertical":
        return sorted(idxs, key=lambda i: (-(items[i].bbox[0] + items[i].bbox[2]) / 2, items[i].bbox[1]))
    return sorted(idxs, key=lambda i: ((items[i].bbox[1] + items[i].bbox[3]) / 2, items[i].bbox[0]))


def xy_cut(items: Sequence[OrderItem], idxs: Sequence[int] | None = None, direction: str | None = None,
           tolerance: float = 0.2) -> list[int]:
    """Indices of ``items`` in reading order.

    ``direction`` forces the convention (lines inside one region); None decides it per node.
    ``tolerance`` (× line thickness) lets slightly overlapping boxes still be cut apart.
    """
    idxs = list(range(len(items)) if idxs is None else idxs)
    if len(idxs) <= 1:
        return idxs
    dom = direction or dominant_direction(items, idxs)
    b = np.array([items[i].bbox for i in idxs], np.float64)
    thick = np.array([items[i].thickness for i in idxs])
    med = float(np.median(thick[thick > 0])) if (thick > 0).any() else 0.0
    tol = tolerance * med
    hc = _cuts(b[:, 1], b[:, 3], tol)
    vc = _cuts(b[:, 0], b[:, 2], tol)
    if not hc and not vc:
        return _fallback(items, idxs, dom)
    if dom == "vertical":
        use_rows = bool(hc)
    elif hc and vc:
        use_rows = _short_bands(b, hc, med)
    else:
        use_rows = bool(hc)
        if hc and len(hc) > 1:
            # a horizontal node with no column cut yet: peel bands off the top until one side
            # has columns, so that a gap that happens to line up across columns is no cut
            cy = (b[:, 1] + b[:, 3]) / 2
            for c in hc:
                above = [idxs[k] for k in np.nonzero(cy < c)[0]]
                below = [idxs[k] for k in np.nonzero(cy >= c)[0]]
                if _has_column_cut(items, above, tol) or _has_column_cut(items, below, tol):
                    return xy_cut(items, above, direction, tolerance) + xy_cut(items, below, direction, tolerance)
    if use_rows:
        key, cuts, reverse = (b[:, 1] + b[:, 3]) / 2, hc, False
    else:
        key, cuts, reverse = (b[:, 0] + b[:, 2]) / 2, vc, dom == "vertical"
    group = np.searchsorted(np.asarray(cuts), key)
    out: list[int] = []
    for g in sorted(set(group.tolist()), reverse=reverse):
        members = [idxs[k] for k in np.nonzero(group == g)[0]]
        if len(members) == len(idxs):  # no progress (degenerate boxes): stop cutting
            return _fallback(items, members, dom)
        out += xy_cut(items, members, direction, tolerance)
    return out


def _has_column_cut(items: Sequence[OrderItem], idxs: list[int], tol: float) -> bool:
    if len(idxs) < 2:
        return False
    b = np.array([items[i].bbox for i in idxs], np.float64)
    return bool(_cuts(b[:, 0], b[:, 2], tol))


def _short_bands(b: np.ndarray, cuts: list[float], med: float) -> bool:
    if med <= 0:
        return False
    group = np.searchsorted(np.asarray(cuts), (b[:, 1] + b[:, 3]) / 2)
    for g in set(group.tolist()):
        sel = group == g
        if b[sel, 3].max() - b[sel, 1].min() > SHORT_BAND * med:
            return False
    return True


def order_page(classes: Sequence[str], items: Sequence[OrderItem], page_height: float) -> list[int]:
    """Order a page's regions: running heads, then the body by :func:`xy_cut`, then footers;
    each furigana region right after the text region nearest to it."""
    n = len(items)
    heads = [i for i in range(n) if classes[i] == "header" and _cy(items[i]) < page_height / 2]
    feet = [i for i in range(n) if classes[i] == "header" and _cy(items[i]) >= page_height / 2]
    furigana = [i for i in range(n) if classes[i] == "furigana"]
    body = [i for i in range(n) if classes[i] not in ("header", "furigana")]
    heads.sort(key=lambda i: (items[i].bbox[1], items[i].bbox[0]))
    feet.sort(key=lambda i: (items[i].bbox[1], items[i].bbox[0]))
    order = heads + xy_cut(items, body) + feet
    if not furigana:
        return order
    anchors = [i for i in order if classes[i] not in ("figure", "table")] or order
    after: dict[int, list[int]] = {}
    for f in xy_cut(items, furigana):
        base = min(anchors, key=lambda i: _box_distance(items[i].bbox, items[f].bbox)) if anchors else -1
        after.setdefault(base, []).append(f)
    out = []
    for i in order:
        out.append(i)
        out += after.get(i, [])
    return out + after.get(-1, [])


def _cy(item: OrderItem) -> float:
    return (item.bbox[1] + item.bbox[3]) / 2


def _box_distance(a: Sequence[float], b: Sequence[float]) -> float:
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))

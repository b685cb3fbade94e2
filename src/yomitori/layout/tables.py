"""Tables as a cell grid: ruling lines found in the page pixels, completed by the text lines.

Rulings are ink runs at least ``min_run`` pixels long (a morphological opening along rows, and
along columns, computed with cumulative sums): text strokes are shorter, and a slightly skewed
ruling survives in short pieces that still line up. Separators missing from the rulings (tables
ruled only horizontally, say) are taken from gaps that no text line crosses. A separator absent
across part of a row or column merges the cells it would have split (row and column spans).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Cell:
    row: int
    col: int
    bbox: tuple[float, float, float, float]
    row_span: int = 1
    col_span: int = 1


def _open_runs(ink: np.ndarray, length: int) -> np.ndarray:
    """Keep ink pixels that belong to a horizontal run of at least ``length`` pixels."""
    h, w = ink.shape
    if length > w:
        return np.zeros_like(ink)
    c = np.zeros((h, w + 1), np.int32)
    np.cumsum(ink, axis=1, out=c[:, 1:])
    full = (c[:, length:] - c[:, :-length]) == length  # window [x, x + length) is all ink: (h, w - length + 1)
    f = np.zeros((h, w + 1), np.int32)
    np.cumsum(np.pad(full, ((0, 0), (0, length - 1))), axis=1, out=f[:, 1:])
    # pixel x is covered if some full window starts in [x - length + 1, x]
    lo = np.clip(np.arange(w) - length + 1, 0, None)
    return (f[:, np.arange(w) + 1] - f[:, lo]) > 0


def _rulings(opened: np.ndarray, min_cover: float) -> list[tuple[float, int, int]]:
    """Bands of rows holding ruling pixels: (centre row, first row, last row + 1) whose pixels
    cover at least ``min_cover`` of the width."""
    counts = opened.sum(axis=1)
    rows = counts > 0
    out = []
    k, n = 0, len(rows)
    while k < n:
        if not rows[k]:
            k += 1
            continue
        j = k
        while j < n and rows[j]:
            j += 1
        cover = opened[k:j].any(axis=0).sum() / opened.shape[1]
        if cover >= min_cover:
            w = counts[k:j].astype(np.float64)
            out.append((float((np.arange(k, j) * w).sum() / w.sum()) + 0.5, k, j))
        k = j
    return out


def _text_gaps(lo: np.ndarray, hi: np.ndarray, start: float, end: float, min_gap: float) -> list[tuple[float, float]]:
    """Intervals inside (start, end) that no text line [lo, hi] crosses."""
    if len(lo) == 0:
        return []
    order = np.argsort(lo)
    gaps, cur = [], hi[order[0]]
    for k in order[1:]:
        if lo[k] - cur >= min_gap:
            gaps.append((float(cur), float(lo[k])))
        cur = max(cur, hi[k])
    return [(a, b) for a, b in gaps if start < a and b < end]


def _separators(ruled: list[float], gaps: list[tuple[float, float]], start: float, end: float,
                tol: float) -> list[float]:
    """Rulings inside (start, end), plus the middle of every text gap that holds no ruling."""
    inner = [p for p in ruled if start + tol < p < end - tol]
    inner += [(a + b) / 2 for a, b in gaps if not any(a - tol <= p <= b + tol for p in inner)]
    seps = [start, *sorted(inner), end]
    # the crop may reach past the frame: a sliver between the edge and the outer rule is no cell
    while len(seps) > 2 and seps[1] - seps[0] <= 3 * tol and seps[1] in ruled:
        seps.pop(0)
    while len(seps) > 2 and seps[-1] - seps[-2] <= 3 * tol and seps[-2] in ruled:
        seps.pop()
    return seps


def table_cells(gray: np.ndarray, lines: Sequence[Sequence[float]] = (), thickness: float = 0.0) -> list[Cell]:
    """Cells of the table whose pixels are ``gray`` (uint8 crop of the table region).

    ``lines``: boxes of the text lines inside, relative to the crop; ``thickness``: their typical
    thickness (sets the minimum ruling length and the tolerances). Returns row-major cells with
    boxes relative to the crop.
    """
    h, w = gray.shape
    if h < 4 or w < 4:
        return [Cell(0, 0, (0.0, 0.0, float(w), float(h)))]
    paper, dark = np.percentile(gray, 90), np.percentile(gray, 1)
    ink = (gray < (paper + dark) / 2) if paper - dark > 30 else np.zeros_like(gray, bool)
    run = int(max(20, 2.5 * thickness))
    hor = _open_runs(ink, min(run, max(w // 3, 4)))
    ver = _open_runs(ink.T, min(run, max(h // 3, 4))).T
    h_rules = _rulings(hor, 0.5)
    v_rules = _rulings(ver.T, 0.3)
    tol = max(2.0, 0.3 * thickness)
    lb = np.asarray(lines, np.float64).reshape(-1, 4)
    min_gap = max(2.0, 0.25 * thickness)
    ys = _separators([r[0] for r in h_rules], _text_gaps(lb[:, 1], lb[:, 3], 0, h, min_gap), 0.0, float(h), tol)
    xs = _separators([r[0] for r in v_rules], _text_gaps(lb[:, 0], lb[:, 2], 0, w, min_gap), 0.0, float(w), tol)
    nr, nc = len(ys) - 1, len(xs) - 1

    def present_v(c: int, r: int) -> bool:  # separator between columns c and c+1 inside row r
        x = xs[c + 1]
        band = ver[int(ys[r]):int(np.ceil(ys[r + 1])), max(int(x - tol), 0):int(x + tol) + 1]
        ruled = any(abs(x - v[0]) <= tol for v in v_rules)
        return not ruled or band.size == 0 or band.any(axis=1).mean() >= 0.5

    def present_h(r: int, c: int) -> bool:  # separator between rows r and r+1 inside column c
        y = ys[r + 1]
        band = hor[max(int(y - tol), 0):int(y + tol) + 1, int(xs[c]):int(np.ceil(xs[c + 1]))]
        ruled = any(abs(y - hr[0]) <= tol for hr in h_rules)
        return not ruled or band.size == 0 or band.any(axis=0).mean() >= 0.5

    owner = -np.ones((nr, nc), np.int64)
    cells: list[Cell] = []
    for r in range(nr):
        for c in range(nc):
            if owner[r, c] >= 0:
                continue
            cs = 1
            while c + cs < nc and owner[r, c + cs] < 0 and not present_v(c + cs - 1, r):
                cs += 1
            rs = 1
            while r + rs < nr and all(owner[r + rs, c + k] < 0 and not present_h(r + rs - 1, c + k) for k in range(cs)):
                rs += 1
            owner[r:r + rs, c:c + cs] = len(cells)
            cells.append(Cell(r, c, (float(xs[c]), float(ys[r]), float(xs[c + cs]), float(ys[r + rs])), rs, cs))
    return cells

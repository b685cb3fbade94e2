"""Connected components in pure NumPy (run-length union-find), with per-component statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DisjointSets:
    """Union-find over 0..n-1 (path halving); :meth:`union` keeps the first argument's root."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, keep: int, other: int) -> None:
        rk, ro = self.find(keep), self.find(other)
        if rk != ro:
            self.parent[ro] = rk

    def groups(self) -> dict[int, list[int]]:
        """Root -> members, in order of first member."""
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return out


def label_components(mask: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label the connected components of a boolean (H, W) mask.

    Returns ``(labels, n)``: int32 labels (0 = background, components 1..n in raster order of
    their first run). Works on runs of each row, so the cost follows the number of runs.
    """
    m = np.asarray(mask, bool)
    h, w = m.shape
    labels = np.zeros((h, w), np.int32)
    if not m.any():
        return labels, 0
    d = np.diff(np.pad(m.view(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)  # exclusive; same order as the starts (row-major)
    n = len(rows)
    touch = 1 if connectivity == 8 else 0
    # runs are sorted by (row, column): search all rows at once with keys row * stride + column
    stride = w + 4
    key_start, key_end = rows * stride + starts, rows * stride + ends
    # runs of the next row that overlap run k: end > start_k - touch and start < end_k + touch
    lo = np.searchsorted(key_end, (rows + 1) * stride + starts - touch, side="right")
    hi = np.searchsorted(key_start, (rows + 1) * stride + ends + touch, side="left")
    cnt = np.maximum(hi - lo, 0)
    edges_a: list[np.ndarray] = []
    edges_b: list[np.ndarray] = []
    if cnt.sum():
        edges_a.append(np.repeat(np.arange(n), cnt))
        edges_b.append(np.repeat(lo, cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    parent = np.arange(n)
    if edges_a:
        ea_, eb_ = np.concatenate(edges_a), np.concatenate(edges_b)
        while True:  # min-label propagation with pointer jumping
            pa, pb = parent[ea_], parent[eb_]
            low = np.minimum(pa, pb)
            new = parent.copy()
            np.minimum.at(new, pa, low)
            np.minimum.at(new, pb, low)
            new = new[new]
            while True:
                nxt = new[new]
                if np.array_equal(nxt, new):
                    break
                new = nxt
            if np.array_equal(new, parent):
                break
            parent = new
    roots, run_label = np.unique(parent, return_inverse=True)
    run_label = run_label.astype(np.int32) + 1
    lengths = ends - starts
    flat = np.repeat(rows * w + starts, lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths,
                                                                                          lengths))
    labels.ravel()[flat] = np.repeat(run_label, lengths)
    return labels, len(roots)


@dataclass
class ComponentStats:
    """Per-component sums over pixels (index k is label k + 1)."""

    area: np.ndarray  # (n,)
    x0: np.ndarray  # pixel extents, far edge exclusive
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    mean_x: np.ndarray  # centre of mass (pixel centres)
    mean_y: np.ndarray
    cov: np.ndarray  # (n, 2, 2) of pixel centres
    sums: dict[str, np.ndarray]  # sums of the given maps over each component


def component_stats(labels: np.ndarray, n: int, maps: dict[str, np.ndarray] | None = None) -> ComponentStats:
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs] - 1
    area = np.bincount(lab, minlength=n).astype(np.float64)
    order = np.argsort(lab, kind="stable")
    bounds = np.searchsorted(lab[order], np.arange(n))
    xo, yo = xs[order], ys[order]
    cx, cy = xs + 0.5, ys + 0.5
    safe = np.maximum(area, 1)
    mx, my = np.bincount(lab, cx, n) / safe, np.bincount(lab, cy, n) / safe
    cxx = np.bincount(lab, cx * cx, n) / safe - mx * mx
    cyy = np.bincount(lab, cy * cy, n) / safe - my * my
    cxy = np.bincount(lab, cx * cy, n) / safe - mx * my
    cov = np.stack([np.stack([cxx, cxy], -1), np.stack([cxy, cyy], -1)], -2)
    sums = {k: np.bincount(lab, v[ys, xs].astype(np.float64), n) for k, v in (maps or {}).items()}
    if n == 0:
        empty = np.zeros(0)
        return ComponentStats(empty, empty, empty, empty, empty, empty, empty, np.zeros((0, 2, 2)), sums)
    return ComponentStats(area, np.minimum.reduceat(xo, bounds), np.minimum.reduceat(yo, bounds),
                          np.maximum.reduceat(xo, bounds) + 1, np.maximum.reduceat(yo, bounds) + 1, mx, my, cov, sums)

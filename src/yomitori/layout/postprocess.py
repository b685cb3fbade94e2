"""Network maps to lines and regions: kernels grown back into line polygons, per-line direction,
collinear pieces joined (tate-chu-yoko), region components, lines assigned to regions.

Everything works in *map* pixels (the network's 1/2-resolution output); :func:`scale_layout`
maps the result to page pixels. Pure NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from yomitori.layout.components import DisjointSets, component_stats, label_components
from yomitori.layout.maps import (
    DIRECTION_CHANNEL,
    KERNEL_CHANNEL,
    KERNEL_END,
    KERNEL_THICKNESS,
    LAYOUT_CLASSES,
    NUM_CLASSES,
)
from yomitori.types import BBox

TEXT_CLASSES = frozenset(LAYOUT_CLASSES[1:]) - {"figure"}


@dataclass
class LineBox:
    """A detected line: polygon (clockwise from top-left), box, direction and scores."""

    polygon: np.ndarray  # (4, 2)
    vertical_prob: float
    score: float  # mean kernel probability
    thickness: float  # full line thickness (px)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        p = self.polygon
        return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())

    @property
    def direction(self) -> str:
        return "vertical" if self.vertical_prob >= 0.5 else "horizontal"

    @property
    def length(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return (y1 - y0) if self.direction == "vertical" else (x1 - x0)


@dataclass
class RegionBox:
    cls: str
    bbox: tuple[float, float, float, float]
    score: float
    lines: list[int] = field(default_factory=list)
    direction: str = "horizontal"
    cells: list = field(default_factory=list)  # tables: yomitori.layout.tables.Cell, page pixels


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def extract_lines(kernel_prob: np.ndarray, vertical_prob: np.ndarray, threshold: float = 0.5,
                  min_area: int = 2, min_score: float = 0.6) -> list[LineBox]:
    """Line kernels (probabilities, map pixels) -> lines grown back to full size.

    Kernels of neighbouring lines that touch show up as one component about twice as thick as
    its neighbours: such components are cut again at higher thresholds.
    """
    labels, n = label_components(kernel_prob > threshold, connectivity=4)
    if n == 0:
        return []
    labels, n = _split_thick(labels, n, kernel_prob, threshold)
    st = component_stats(labels, n, {"p": kernel_prob, "v": vertical_prob})
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs] - 1
    area = st.area
    vert = st.sums["v"] / area
    score = st.sums["p"] / area
    # principal axis of elongated components (skewed lines); others are axis-aligned
    cxx, cyy, cxy = st.cov[:, 0, 0], st.cov[:, 1, 1], st.cov[:, 0, 1]
    tr, det = cxx + cyy, cxx * cyy - cxy * cxy
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0))
    l1, l2 = tr / 2 + disc, np.maximum(tr / 2 - disc, 1e-9)
    theta = 0.5 * np.arctan2(2 * cxy, cxx - cyy)
    along_x = np.abs(np.cos(theta)) >= np.abs(np.sin(theta))
    snapped = np.where(along_x, 0.0, np.pi / 2)
    elongated = (l1 / l2 > 9) & (np.abs(np.sin(theta - snapped)) < np.sin(np.deg2rad(8)))
    theta = np.where(elongated, theta, np.where(vert >= 0.5, np.pi / 2, 0.0))
    cos, sin = np.cos(theta), np.sin(theta)
    cx, cy = xs + 0.5, ys + 0.5
    pu = cx * cos[lab] + cy * sin[lab]
    pv = -cx * sin[lab] + cy * cos[lab]
    order = np.argsort(lab, kind="stable")
    bounds = np.searchsorted(lab[order], np.arange(n))
    umin = np.minimum.reduceat(pu[order], bounds) - 0.5
    umax = np.maximum.reduceat(pu[order], bounds) + 0.5
    vmean = np.bincount(lab, pv, n) / area
    keep = (area >= min_area) & (score >= min_score)
    length_k = umax - umin
    thick = np.maximum(area / np.maximum(length_k, 1.0), 1.0) / KERNEL_THICKNESS
    half_u = length_k / 2 + KERNEL_END * thick
    half_v = thick / 2
    cu = (umin + umax) / 2
    u = np.stack([cos, sin], 1)
    v = np.stack([-sin, cos], 1)
    # orient: horizontal lines u right / v down, vertical lines u down / v right
    flip_u = np.where(np.abs(u[:, 0]) >= np.abs(u[:, 1]), u[:, 0] < 0, u[:, 1] < 0)
    u = np.where(flip_u[:, None], -u, u)
    flip_v = np.where(np.abs(u[:, 0]) >= np.abs(u[:, 1]), v[:, 1] < 0, v[:, 0] < 0)
    v = np.where(flip_v[:, None], -v, v)
    c = cu[:, None] * np.stack([cos, sin], 1) + vmean[:, None] * np.stack([-sin, cos], 1)
    a, b = half_u[:, None] * u, half_v[:, None] * v
    horiz = np.abs(u[:, 0]) >= np.abs(u[:, 1])
    # corners clockwise from top-left
    p0 = c - a - b
    p1 = np.where(horiz[:, None], c + a - b, c - a + b)
    p2 = c + a + b
    p3 = np.where(horiz[:, None], c - a + b, c + a - b)
    polys = np.stack([p0, p1, p2, p3], 1)
    out = [LineBox(polys[k], float(vert[k]), float(score[k]), float(thick[k])) for k in np.nonzero(keep)[0]]
    return merge_collinear(out)


def _split_thick(labels: np.ndarray, n: int, prob: np.ndarray, threshold: float,
                 ratio: float = 1.7) -> tuple[np.ndarray, int]:
    st = component_stats(labels, n)
    length = np.maximum(st.x1 - st.x0, st.y1 - st.y0).astype(np.float64)
    thick = st.area / np.maximum(length, 1)
    big = st.area >= 8
    if big.sum() < 3:
        return labels, n
    typical = float(np.median(thick[big]))
    suspects = np.nonzero(big & (thick > ratio * typical) & (length > 3 * typical))[0]
    for k in suspects:
        ys, xs = slice(int(st.y0[k]), int(st.y1[k])), slice(int(st.x0[k]), int(st.x1[k]))
        own = labels[ys, xs] == k + 1
        for t in (threshold + 0.2, threshold + 0.35, threshold + 0.45):
            sub, m = label_components(own & (prob[ys, xs] > t), connectivity=4)
            sizes = np.bincount(sub.ravel(), minlength=m + 1)[1:]
            if (sizes >= max(4, 0.15 * st.area[k])).sum() >= 2:
                sub = _grow(sub, own)  # seeds grown back over the component: thickness kept
                region = labels[ys, xs]
                region[own] = 0
                for j in np.nonzero(sizes >= 2)[0]:
                    n += 1
                    region[sub == j + 1] = n
                labels[ys, xs] = region
                break
    if suspects.size:  # renumber 1..n without gaps
        uniq, inv = np.unique(labels, return_inverse=True)
        labels = inv.reshape(labels.shape).astype(np.int32)
        n = len(uniq) - 1 if uniq[0] == 0 else len(uniq)
    return labels, n


def _grow(seeds: np.ndarray, mask: np.ndarray, steps: int = 8) -> np.ndarray:
    """Spread seed labels over ``mask`` one pixel per step (4-neighbours)."""
    out = seeds.copy()
    for _ in range(steps):
        free = mask & (out == 0)
        if not free.any():
            break
        nb = np.zeros_like(out)
        nb[1:] = np.maximum(nb[1:], out[:-1])
        nb[:-1] = np.maximum(nb[:-1], out[1:])
        nb[:, 1:] = np.maximum(nb[:, 1:], out[:, :-1])
        nb[:, :-1] = np.maximum(nb[:, :-1], out[:, 1:])
        out[free] = nb[free]
    return out


def merge_collinear(lines: list[LineBox], max_gap: float = 0.35) -> list[LineBox]:
    """Join pieces of one line: collinear neighbours whose gap along the line is under
    ``max_gap`` × thickness. A short piece joins a longer line whatever its own direction, so
    a tate-chu-yoko number read as horizontal stays inside its vertical line."""
    n = len(lines)
    if n < 2:
        return lines
    b = np.array([ln.bbox for ln in lines])
    t = np.array([ln.thickness for ln in lines])
    is_v = np.array([ln.direction == "vertical" for ln in lines])
    length = np.where(is_v, b[:, 3] - b[:, 1], b[:, 2] - b[:, 0])
    sets = DisjointSets(n)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    for i in np.argsort(-length):  # anchor: the longer line of a pair
        vi = bool(is_v[i])
        ox = np.minimum(b[i, 2], b[:, 2]) - np.maximum(b[i, 0], b[:, 0])
        oy = np.minimum(b[i, 3], b[:, 3]) - np.maximum(b[i, 1], b[:, 1])
        across = ox if vi else oy
        gap = -(oy if vi else ox)
        size = np.minimum(w, w[i]) if vi else np.minimum(h, h[i])
        ok = (across >= 0.6 * size) & (gap < max_gap * t[i]) & (length <= length[i])
        ok &= (is_v == vi) | (length <= 1.5 * t[i])
        ok[i] = False
        for j in np.nonzero(ok)[0]:
            sets.union(int(i), int(j))
    out = []
    for root, members in sets.groups().items():
        if len(members) == 1:
            out.append(lines[members[0]])
            continue
        x0, y0 = b[members, 0].min(), b[members, 1].min()
        x1, y1 = b[members, 2].max(), b[members, 3].max()
        weights = length[members]
        out.append(LineBox(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), lines[root].vertical_prob,
                           float(np.average([lines[m].score for m in members], weights=weights)),
                           float(lines[root].thickness)))
    return out


def softmax(logits: np.ndarray, axis: int = 0) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def figure_blocks(prob: np.ndarray, threshold: float = 0.85, min_area: int = 300, cut: float = 0.3,
                  min_run: int = 2, core: float = 0.99, min_core: float = 0.1,
                  ) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Figures from the figure-class probability map (map pixels): ``[(box, mask inside box)]``.

    The figure class bleeds into the white space round a picture, and over a caption set between
    two stacked pictures, at probabilities well under those inside the picture. So a figure is
    a component of ``prob > threshold`` (not of the arg-max), cut along rows or columns where
    its share of the fullest row (column) drops under ``cut`` for at least ``min_run`` pixels
    with ``min_area`` pixels on either side (a caption or a blank band crossing it); a piece is
    kept when it has ``min_area`` pixels and at least ``min_core`` of them above ``core``: the
    network is sure inside real pictures, and unsure where it bleeds over blank ruled form
    cells or dense text. All thresholds were chosen on the model-selection pages (seed 7).
    """
    labels, n = label_components(prob > threshold, connectivity=8)
    if n == 0:
        return []
    st = component_stats(labels, n)
    out = []
    for k in np.nonzero(st.area >= min_area)[0]:
        y0, x0 = int(st.y0[k]), int(st.x0[k])
        stack = [(labels[y0:int(st.y1[k]), x0:int(st.x1[k])] == k + 1, y0, x0, 0)]
        while stack:
            m, y0, x0, depth = stack.pop()
            ys, xs = np.nonzero(m)
            if ys.size < min_area:
                continue
            m = m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
            y0, x0 = y0 + int(ys.min()), x0 + int(xs.min())
            parts = _cut_block(m, cut, min_run, min_area) if depth < 6 else None
            if parts is not None:
                (a, b), axis = parts
                if axis == 0:
                    stack += [(m[:a], y0, x0, depth + 1), (m[b:], y0 + b, x0, depth + 1)]
                else:
                    stack += [(m[:, :a], y0, x0, depth + 1), (m[:, b:], y0, x0 + b, depth + 1)]
                continue
            p = prob[y0:y0 + m.shape[0], x0:x0 + m.shape[1]][m]
            if (p > core).mean() >= min_core:
                out.append(((x0, y0, x0 + m.shape[1], y0 + m.shape[0]), m))
    return sorted(out, key=lambda o: (o[0][1], o[0][0]))


def _cut_block(m: np.ndarray, cut: float, min_run: int, min_area: int) -> tuple[tuple[int, int], int] | None:
    """The first run of rows (axis 0), else of columns (axis 1), inside ``m`` whose pixel counts
    stay under ``cut`` × the fullest one for ``min_run`` or more, with ``min_area`` pixels on each
    side: ``((first, end), axis)``, or None."""
    for axis in (0, 1):
        prof = m.sum(axis=1 - axis)
        weak = prof < cut * prof.max()
        strong = np.nonzero(~weak)[0]
        k, last = int(strong[0]), int(strong[-1])
        while k < last:
            if not weak[k]:
                k += 1
                continue
            e = k
            while weak[e]:
                e += 1
            if e - k >= min_run and prof[:k].sum() >= min_area and prof[e:].sum() >= min_area:
                return (k, e), axis
            k = e
    return None


def extract_regions(class_prob: np.ndarray, lines: list[LineBox], min_area: int = 12,
                    min_block_area: int = 150, min_table_score: float = 0.75) -> list[RegionBox]:
    """Region components per class, lines assigned to the region under most of their box.

    Text-bearing regions take the union of their lines as box (regions without lines are
    dropped); figures (:func:`figure_blocks`) hold no lines (a line found on a figure becomes a
    region of its own, classed by the probabilities under it); tables keep the union of their
    component box and their lines, and a table the network is unsure of (mean probability <
    ``min_table_score``) is read as text. Table components smaller than ``min_block_area`` are
    noise.
    """
    cls_map = class_prob.argmax(0)
    h, w = cls_map.shape
    region_id = np.zeros((h, w), np.int32)
    regions: list[RegionBox] = []
    figure = LAYOUT_CLASSES.index("figure")
    for c in range(1, class_prob.shape[0]):
        if c == figure:
            for (x0, y0, x1, y1), m in figure_blocks(class_prob[figure]):
                regions.append(RegionBox("figure", (float(x0), float(y0), float(x1), float(y1)),
                                         float(class_prob[figure, y0:y1, x0:x1][m].mean())))
                region_id[y0:y1, x0:x1][m] = len(regions)
            continue
        mask = cls_map == c
        if not mask.any():
            continue
        labels, n = label_components(mask, connectivity=8)
        st = component_stats(labels, n, {"p": class_prob[c]})
        keep = np.zeros(n + 1, np.int32)
        need = min_block_area if LAYOUT_CLASSES[c] == "table" else min_area
        for k in range(n):
            if st.area[k] >= need:
                regions.append(RegionBox(LAYOUT_CLASSES[c], (float(st.x0[k]), float(st.y0[k]), float(st.x1[k]),
                                                               float(st.y1[k])), float(st.sums["p"][k] / st.area[k])))
                keep[k + 1] = len(regions)
        region_id[mask] = keep[labels[mask]]
    for i, ln in enumerate(lines):
        x0, y0, x1, y1 = (int(round(v)) for v in ln.bbox)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(max(x1, x0 + 1), w), min(max(y1, y0 + 1), h)
        votes = np.bincount(region_id[y0:y1, x0:x1].ravel(), minlength=len(regions) + 1)
        votes[0] = 0
        for k, r in enumerate(regions):  # figures hold no lines here
            if r.cls == "figure":
                votes[k + 1] = 0
        if votes.sum() == 0:  # a line on background or a figure: a region of its own, class by vote
            probs = class_prob[:, y0:y1, x0:x1].reshape(class_prob.shape[0], -1).mean(1)
            probs[0] = probs[figure] = 0
            regions.append(RegionBox(LAYOUT_CLASSES[int(probs.argmax())], ln.bbox, float(probs.max()), [i]))
        else:
            regions[int(votes.argmax()) - 1].lines.append(i)
    out = []
    for r in regions:
        if not r.lines and r.cls != "figure":  # a table holds text: without lines it is a misreading
            continue
        if r.cls == "table" and r.score < min_table_score:
            # ruled forms look like tables: an unsure table is read as text (threshold chosen on the
            # model-selection pages, seed 7, not on the held-out evaluation pages)
            r.cls = "text"
        if r.lines:
            lb = np.array([lines[i].bbox for i in r.lines])
            union = (lb[:, 0].min(), lb[:, 1].min(), lb[:, 2].max(), lb[:, 3].max())
            if r.cls == "table":
                union = (min(union[0], r.bbox[0]), min(union[1], r.bbox[1]), max(union[2], r.bbox[2]),
                         max(union[3], r.bbox[3]))
            r.bbox = tuple(float(v) for v in union)  # type: ignore[assignment]
            lengths = np.array([lines[i].length for i in r.lines])
            vert = np.array([lines[i].direction == "vertical" for i in r.lines])
            r.direction = "vertical" if lengths[vert].sum() > lengths[~vert].sum() else "horizontal"
        out.append(r)
    return out


def maps_lines(maps: np.ndarray, kernel_threshold: float = 0.5) -> list[LineBox]:
    """The lines of one page's network output (K + 2, h, w), in map pixels."""
    return extract_lines(sigmoid(maps[KERNEL_CHANNEL]), sigmoid(maps[DIRECTION_CHANNEL]), kernel_threshold)


def maps_to_layout(maps: np.ndarray, kernel_threshold: float = 0.5, lines: list[LineBox] | None = None,
                   ) -> tuple[list[RegionBox], list[LineBox]]:
    """One page's network output (K + 2, h, w) -> (regions, lines) in map pixels.

    ``lines``: found beforehand (:func:`maps_lines`, perhaps refined), else found here."""
    if lines is None:
        lines = maps_lines(maps, kernel_threshold)
    regions = extract_regions(softmax(maps[:NUM_CLASSES]), lines)
    used = {i for r in regions for i in r.lines}
    keep = sorted(used)
    remap = {old: new for new, old in enumerate(keep)}
    for r in regions:
        r.lines = [remap[i] for i in r.lines]
    return regions, [lines[i] for i in keep]


def scale_layout(regions: list[RegionBox], lines: list[LineBox], sx: float, sy: float) -> None:
    """Multiply every coordinate by (sx, sy) in place (map pixels -> page pixels)."""
    s = np.array([sx, sy])
    for ln in lines:
        ln.polygon = ln.polygon * s
        ln.thickness *= sx if ln.direction == "vertical" else sy
    for r in regions:
        x0, y0, x1, y1 = r.bbox
        r.bbox = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)


def _gaps_split(lo: np.ndarray, hi: np.ndarray, min_gap: float) -> list[np.ndarray]:
    """Groups of intervals separated by gaps of at least ``min_gap``."""
    order = np.argsort(lo, kind="stable")
    groups, cur, end = [], [order[0]], hi[order[0]]
    for k in order[1:]:
        if lo[k] - end >= min_gap:
            groups.append(np.array(cur))
            cur = []
        cur.append(k)
        end = max(end, hi[k])
    groups.append(np.array(cur))
    return groups


def _blocks(idx: np.ndarray, b: np.ndarray, direction: str, thick: float) -> list[np.ndarray]:
    """Split a column of lines where the space between two lines is clearly wider than the
    usual line gap: a new block (paragraph group) starts there."""
    if len(idx) < 3:
        return [idx]
    if direction == "vertical":  # columns right to left: gap = left edge of one - right edge of next
        order = idx[np.argsort(-b[idx, 2], kind="stable")]
        gaps = b[order[:-1], 0] - b[order[1:], 2]
    else:
        order = idx[np.argsort(b[idx, 1], kind="stable")]
        gaps = b[order[1:], 1] - b[order[:-1], 3]
    typical = float(np.median(gaps))
    cut = np.nonzero((gaps >= 1.45 * max(typical, 0.0)) & (gaps >= typical + 0.35 * thick))[0]
    if cut.size == 0:
        return [idx]
    return [np.asarray(part) for part in np.split(order, cut + 1)]


def split_regions(regions: list[RegionBox], lines: list[LineBox], gap: float = 1.2) -> list[RegionBox]:
    """Split text regions that span a column gutter (horizontal text) or a band gap (vertical
    text): a gap wider than ``gap`` × the line thickness that no line crosses; then split each
    column of lines where the space between two lines is clearly wider than the usual gap."""
    out = []
    for r in regions:
        if r.cls in ("figure", "table") or len(r.lines) < 2:
            out.append(r)
            continue
        b = np.array([lines[i].bbox for i in r.lines])
        t = float(np.median([lines[i].thickness for i in r.lines]))
        axis = 1 if r.direction == "vertical" else 0
        groups = [blk for g in _gaps_split(b[:, axis], b[:, axis + 2], gap * t) for blk in _blocks(g, b, r.direction, t)]
        if len(groups) == 1:
            out.append(r)
            continue
        for g in groups:
            members = [r.lines[k] for k in g]
            gb = b[g]
            lengths = np.array([lines[i].length for i in members])
            vert = np.array([lines[i].direction == "vertical" for i in members])
            out.append(RegionBox(r.cls, (float(gb[:, 0].min()), float(gb[:, 1].min()), float(gb[:, 2].max()),
                                         float(gb[:, 3].max())), r.score, members,
                                 "vertical" if lengths[vert].sum() > lengths[~vert].sum() else "horizontal"))
    return out



def absorb_into_tables(regions: list[RegionBox], min_overlap: float = 0.1) -> list[RegionBox]:
    """Move text regions that lie largely inside a table's box into the table.

    On real pages the network can class a table's long, wrapped cells as text and leave the table
    region to the short cells beside them (seen on the selection pages: a two-column table whose
    right column came out as two paragraphs read after the table). A text region at least
    ``min_overlap`` of whose box lies inside a table's box is merged into it, so that the table's
    cells are read row by row; the table's box grows to hold it (repeated until nothing moves).
    """
    tables = [r for r in regions if r.cls == "table"]
    if not tables:
        return regions
    absorbed: set[int] = set()
    moved = True
    while moved:
        moved = False
        for t in tables:
            for k, r in enumerate(regions):
                if r.cls != "text" or k in absorbed:
                    continue
                box, table = BBox(*r.bbox), BBox(*t.bbox)
                if box.intersection(table) >= min_overlap * max(box.area, 1e-6):
                    t.lines = t.lines + r.lines
                    u = table.union(box)
                    t.bbox = (u.x0, u.y0, u.x1, u.y1)
                    absorbed.add(k)
                    moved = True
    return [r for k, r in enumerate(regions) if k not in absorbed]


def check_furigana(regions: list[RegionBox], lines: list[LineBox], max_ratio: float = 0.7,
                   min_lines: int = 3) -> list[RegionBox]:
    """Relabel as text the "furigana" regions whose lines are as thick as the page's body text.

    Ruby is set at about half the size of its base text (0.45 em in the page engine), and a
    furigana region is left out of the reading text, so a false one loses real text (seen on
    real PDFs: short code lines and list items taken for ruby). A region is kept as furigana
    only if its lines' median thickness is below ``max_ratio`` times the median thickness of
    the page's other lines (needs ``min_lines`` of those to judge; otherwise nothing changes).
    """
    others = [lines[i].thickness for r in regions if r.cls != "furigana" for i in r.lines]
    if len(others) < min_lines:
        return regions
    body = float(np.median(others))
    for r in regions:
        if r.cls == "furigana" and r.lines:
            if float(np.median([lines[i].thickness for i in r.lines])) >= max_ratio * body:
                r.cls = "text"
    return regions


def split_ruby(regions: list[RegionBox], lines: list[LineBox], max_ratio: float = 0.6, min_lines: int = 3,
               max_gap: float = 0.6, min_overlap: float = 0.5) -> list[RegionBox]:
    """Move ruby lines out of text regions into furigana regions of their own.

    A line is taken for ruby when it is thinner than ``max_ratio`` × the page's median line
    thickness (ruby is set at about half size) and runs beside a full-size line (at least 0.8 ×
    the median) of the same direction: the gap between them under ``max_gap`` × the median, and
    the base line covering at least ``min_overlap`` of the ruby's length. At the resolution
    ``read`` finds lines (1024 px) the network resolves ruby as lines of their own, and the
    region maps put them inside the text they annotate, where they would be read as text.
    Tables, figures and furigana regions are left as they are.
    """
    if len(lines) < min_lines:
        return regions
    t = float(np.median([ln.thickness for ln in lines]))
    out: list[RegionBox] = []
    for r in regions:
        if r.cls in ("table", "figure", "furigana") or len(r.lines) < 2:
            out.append(r)
            continue
        ruby = []
        for i in r.lines:
            a = lines[i]
            if a.thickness >= max_ratio * t:
                continue
            vert = a.direction == "vertical"
            ax0, ay0, ax1, ay1 = a.bbox
            for j in r.lines:
                b = lines[j]
                if j == i or b.direction != a.direction or b.thickness < 0.8 * t:
                    continue
                bx0, by0, bx1, by1 = b.bbox
                if vert:
                    gap = max(bx0 - ax1, ax0 - bx1)
                    overlap = min(ay1, by1) - max(ay0, by0)
                    length = ay1 - ay0
                else:
                    gap = max(by0 - ay1, ay0 - by1)
                    overlap = min(ax1, bx1) - max(ax0, bx0)
                    length = ax1 - ax0
                if gap < max_gap * t and overlap >= min_overlap * max(length, 1e-6):
                    ruby.append(i)
                    break
        if not ruby:
            out.append(r)
            continue
        keep = [i for i in r.lines if i not in ruby]
        for group, cls in ((keep, r.cls), (ruby, "furigana")):
            b = np.array([lines[i].bbox for i in group])
            out.append(RegionBox(cls, (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()),
                                       float(b[:, 3].max())), r.score, group, r.direction))
    return out

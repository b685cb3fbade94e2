"""Assemble: what the writers need beyond the raw tree — paragraphs, table grids, captions.

Regions arrive in reading order from layout (vertical columns right to left, horizontal blocks
top to bottom, mixed pages handled there); this stage does not reorder them. It works per page:

- :func:`assemble_page` fills a table's cells with the text of the lines inside them (or builds
  the cells from its lines when layout gave none), and gives each figure and table the text of
  the caption region next to it;
- :func:`text_lines` is the one definition of "the page's text": every line of every region in
  reading order, furigana left out (its reading sits beside the base text, and interleaving it
  would break the sentence). The text output and the PDF text layer both use it;
- :func:`paragraphs` splits a region's lines where the gap between lines widens or a line starts
  indented (the Japanese paragraph's one-character indent);
- :func:`table_grid` lays the cells out as rows of strings for Markdown and text.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from yomitori.document import Line, Page, Region, TableCell
from yomitori.types import BBox, Direction, RegionClass

SKIP_IN_TEXT = frozenset({RegionClass.FURIGANA})
CAPTIONED = frozenset({RegionClass.FIGURE, RegionClass.TABLE})


def text_lines(page: Page) -> Iterator[tuple[Region, Line]]:
    """(region, line) for every line of the page's text, in reading order."""
    for region in page.regions:
        if region.cls in SKIP_IN_TEXT:
            continue
        for line in region.lines:
            yield region, line


def _across(b: BBox, direction: Direction) -> tuple[float, float]:
    """The line's extent across the writing direction, in reading order (right to left for
    vertical lines, so the first column has the smallest key)."""
    return (-b.x1, -b.x0) if direction == Direction.VERTICAL else (b.y0, b.y1)


def _along_start(b: BBox, direction: Direction) -> float:
    return b.y0 if direction == Direction.VERTICAL else b.x0


def paragraphs(region: Region) -> list[list[Line]]:
    """The region's lines grouped into paragraphs (each a non-empty list, in order)."""
    lines = [ln for ln in region.lines if ln.text.strip()]
    if len(lines) < 2:
        return [lines] if lines else []
    d = region.direction
    spans = [_across(ln.bbox, d) for ln in lines]
    thickness = statistics.median(max(hi - lo, 1e-6) for lo, hi in spans)
    gaps = [spans[i + 1][0] - spans[i][1] for i in range(len(lines) - 1)]
    usual_gap = statistics.median(gaps) if gaps else 0.0
    start = min(_along_start(ln.bbox, d) for ln in lines)
    out: list[list[Line]] = [[lines[0]]]
    for i, line in enumerate(lines[1:]):
        wide_gap = gaps[i] > max(usual_gap, 0.0) + 0.8 * thickness
        indented = _along_start(line.bbox, d) - start > 0.6 * thickness or line.text[:1] == "\u3000"
        if wide_gap or indented:
            out.append([line])
        else:
            out[-1].append(line)
    return out


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def join_lines(lines: list[Line]) -> str:
    """A paragraph's lines as one string: no separator where either side is CJK (Japanese
    does not put spaces between lines), one space between Latin words."""
    out = ""
    for line in lines:
        text = line.text.strip()
        if out and text and not (_is_cjk(out[-1]) or _is_cjk(text[0])):
            out += " "
        out += text
    return out


def _clusters(intervals: list[tuple[float, float]]) -> list[int]:
    """Group 1-D intervals that overlap (by more than a third of the smaller) into bands;
    returns the band index of each interval, bands numbered in increasing position."""
    order = sorted(range(len(intervals)), key=lambda i: intervals[i])
    band_of = [0] * len(intervals)
    band, band_end, band_start = -1, float("-inf"), float("-inf")
    for i in order:
        lo, hi = intervals[i]
        overlap = min(hi, band_end) - max(lo, band_start)
        if band < 0 or overlap < min(hi - lo, band_end - band_start) / 3:
            band, band_start, band_end = band + 1, lo, hi
        else:
            band_end = max(band_end, hi)
        band_of[i] = band
    return band_of


def cells_from_lines(region: Region) -> list[TableCell]:
    """A table's cells inferred from its lines' boxes: rows are bands of overlapping y, columns
    bands of overlapping x; lines in the same cell are joined in reading order."""
    lines = [ln for ln in region.lines if ln.text.strip()]
    if not lines:
        return []
    rows = _clusters([(ln.bbox.y0, ln.bbox.y1) for ln in lines])
    cols = _clusters([(ln.bbox.x0, ln.bbox.x1) for ln in lines])
    cells: dict[tuple[int, int], TableCell] = {}
    for line, r, c in zip(lines, rows, cols, strict=True):
        cell = cells.get((r, c))
        if cell is None:
            cells[(r, c)] = TableCell(r, c, line.bbox, line.text)
        else:
            cell.bbox = cell.bbox.union(line.bbox)
            cell.text = join_lines([Line(cell.text, cell.bbox, line.direction, 1.0), line])
    return [cells[k] for k in sorted(cells)]


def fill_cells(region: Region) -> None:
    """Give the layout's cells (boxes from the ruling lines, text empty) the text of the lines
    inside them: each line goes to the cell it overlaps most (the nearest cell when it overlaps
    none), and a cell's lines are joined in the region's reading order."""
    if not region.cells or any(c.text for c in region.cells):
        return
    members: dict[int, list[Line]] = {}
    for line in region.lines:
        if not line.text.strip():
            continue
        overlaps = [line.bbox.intersection(c.bbox) for c in region.cells]
        best = max(range(len(overlaps)), key=overlaps.__getitem__)
        if overlaps[best] <= 0:
            cx, cy = line.bbox.center
            best = min(range(len(region.cells)), key=lambda k: (region.cells[k].bbox.center[0] - cx) ** 2
                       + (region.cells[k].bbox.center[1] - cy) ** 2)
        members.setdefault(best, []).append(line)
    for k, lines in members.items():
        region.cells[k].text = join_lines(lines)


def table_grid(region: Region) -> list[list[str]]:
    """The table as rows × columns of text; a spanning cell's text sits in its first slot."""
    cells = region.cells or cells_from_lines(region)
    if not cells:
        return []
    n_rows = max(c.row + c.row_span for c in cells)
    n_cols = max(c.col + c.col_span for c in cells)
    grid = [[""] * n_cols for _ in range(n_rows)]
    for c in cells:
        grid[c.row][c.col] = c.text
    return grid


def attach_captions(regions: list[Region]) -> None:
    """Give each figure/table without a caption the text of the nearest caption region that
    touches it along one axis (above, below or beside; vertical captions sit beside)."""
    captions = [r for r in regions if r.cls == RegionClass.CAPTION and r.lines]
    for target in regions:
        if target.cls not in CAPTIONED or target.caption or not captions:
            continue
        best, best_dist = None, float("inf")
        for cap in captions:
            b, t = cap.bbox, target.bbox
            overlap_x = min(b.x1, t.x1) - max(b.x0, t.x0)
            overlap_y = min(b.y1, t.y1) - max(b.y0, t.y0)
            if overlap_x <= 0 and overlap_y <= 0:
                continue
            dist = max(b.y0 - t.y1, t.y0 - b.y1, 0) if overlap_x > 0 else max(b.x0 - t.x1, t.x0 - b.x1, 0)
            if dist < best_dist and dist <= 0.5 * max(t.height, t.width):
                best, best_dist = cap, dist
        if best is not None:
            target.caption = join_lines(best.lines)


def assemble_page(page: Page) -> Page:
    """Finish a recognized page in place (table cells, captions) and return it."""
    for region in page.regions:
        if region.cls == RegionClass.TABLE:
            if region.cells:
                fill_cells(region)
            else:
                region.cells = cells_from_lines(region)
    attach_captions(page.regions)
    return page

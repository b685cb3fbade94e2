"""Layout post-processing and reading order on hand-made maps: vertical, horizontal, mixed and
multi-column pages, tate-chu-yoko, tables. No network: a fake model returns the maps that the
ground truth rasterises to (logits of +-10), so every step after the network is exercised."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from yomitori.layout.components import label_components
from yomitori.layout.maps import NUM_CLASSES, page_targets
from yomitori.layout.metrics import match_boxes, pairwise_order
from yomitori.layout.reading_order import OrderItem, order_page, xy_cut
from yomitori.layout.tables import table_cells
from yomitori.pipeline.layout import analyze_layout, detect_layout, read_long_side
from yomitori.types import Direction, PageImage, RegionClass

H, W = 768, 544  # already the working size: resizing is the identity


def _bfs_count(mask: np.ndarray, conn: int) -> int:
    seen = np.zeros_like(mask, bool)
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0)] + ([(1, 1), (1, -1), (-1, 1), (-1, -1)] if conn == 8 else [])
    n = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        n += 1
        q = deque([(y, x)])
        seen[y, x] = True
        while q:
            cy, cx = q.popleft()
            for dy, dx in steps:
                ny, nx = cy + dy, cx + dx
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    q.append((ny, nx))
    return n


@pytest.mark.parametrize("conn", [4, 8])
def test_label_components_matches_flood_fill(conn):
    rng = np.random.default_rng(conn)
    for p in (0.3, 0.55):
        mask = rng.random((40, 57)) < p
        labels, n = label_components(mask, conn)
        assert n == _bfs_count(mask, conn)
        assert set(np.unique(labels[mask])) == set(range(1, n + 1)) and (labels[~mask] == 0).all()


class Page:
    """Hand-made ground truth: regions in reading order, each with lines in reading order."""

    def __init__(self) -> None:
        self.regions: list[dict] = []
        self.lines: list[dict] = []

    def region(self, cls: str, boxes: list[tuple], direction: str = "horizontal", bbox: tuple | None = None) -> None:
        ids = []
        for b in boxes:
            ids.append(len(self.lines))
            x0, y0, x1, y1 = b
            self.lines.append({"bbox": list(b), "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                               "direction": direction, "region": len(self.regions)})
        if bbox is None:
            a = np.array(boxes)
            bbox = (a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max())
        self.regions.append({"class": cls, "bbox": list(bbox), "lines": ids, "direction": direction})

    def model(self):
        t = page_targets(H, W, self.regions, self.lines)
        maps = np.full((NUM_CLASSES + 2, *t["kernel"].shape), -10.0, np.float32)
        for c in range(NUM_CLASSES):
            maps[c][t["classes"] == c] = 10.0
        maps[NUM_CLASSES][t["kernel"] > 0] = 10.0
        maps[NUM_CLASSES + 1][t["vertical"] > 0] = 10.0
        return FakeModel(maps)

    @property
    def order(self) -> list[int]:
        return [i for r in self.regions for i in r["lines"]]


class FakeModel:
    meta = {"working_long_side": H}

    def __init__(self, maps: np.ndarray) -> None:
        self.maps = maps

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.full((1, self.maps.shape[0], x.shape[2] // 2, x.shape[3] // 2), -10.0, np.float32)
        out[0, :, : self.maps.shape[1], : self.maps.shape[2]] = self.maps
        return out


def columns(x_right: int, y0: int, y1: int, n: int, size: int = 12, gap: int = 8) -> list[tuple]:
    """``n`` vertical lines right to left."""
    return [(x_right - (k + 1) * size - k * gap, y0, x_right - k * size - k * gap, y1) for k in range(n)]


def rows(x0: int, x1: int, y0: int, n: int, size: int = 12, gap: int = 8) -> list[tuple]:
    return [(x0, y0 + k * (size + gap), x1, y0 + k * size + k * gap + size) for k in range(n)]


def check(page: Page) -> None:
    """Every line found with its direction, regions with their classes, lines in reading order."""
    gray = np.full((H, W), 255, np.uint8)
    regions, lines, order = detect_layout(gray, page.model())
    gt_boxes = [ln["bbox"] for ln in page.lines]
    pairs = match_boxes(gt_boxes, [ln.bbox for ln in lines])
    assert len(pairs) == len(page.lines) == len(lines), (len(pairs), len(page.lines), len(lines))
    g2p = dict(pairs)
    for g, p in pairs:
        assert lines[p].direction == page.lines[g]["direction"]
    pred_rank = {}
    for k in (i for ri in order for i in regions[ri].lines):
        pred_rank[k] = len(pred_rank)
    rank_of_gt = {g: pred_rank[g2p[g]] for g in range(len(page.lines))}
    correct, total = pairwise_order(page.order, rank_of_gt)
    assert correct == total, [page.order, sorted(rank_of_gt, key=rank_of_gt.get)]
    r_pairs = match_boxes([r["bbox"] for r in page.regions], [r.bbox for r in regions])
    assert len(r_pairs) == len(page.regions) == len(regions)
    for g, p in r_pairs:
        assert regions[p].cls == page.regions[g]["class"]


def test_vertical_page_two_bands_right_to_left():
    p = Page()
    p.region("header", [(40, 30, 200, 42)])
    p.region("title", columns(500, 80, 330, 1, size=24), "vertical")
    p.region("text", columns(450, 80, 380, 12), "vertical")
    p.region("text", columns(500, 420, 700, 14), "vertical")
    p.region("header", [(262, 730, 282, 742)])
    check(p)


def test_horizontal_two_columns_with_figure_and_caption():
    p = Page()
    p.region("title", [(60, 40, 480, 70)])
    p.region("text", rows(40, 260, 100, 10))
    p.region("figure", [], bbox=(60, 320, 240, 460))
    p.region("caption", [(70, 470, 230, 480)])
    p.region("text", rows(40, 260, 500, 8))
    p.region("text", rows(290, 510, 100, 20))
    p.region("header", [(262, 730, 282, 742)])
    check(p)


def test_mixed_page_vertical_box_inside_horizontal_article():
    p = Page()
    p.region("title", [(40, 40, 400, 70)])
    p.region("text", rows(40, 500, 100, 8))
    p.region("text", columns(420, 280, 480, 9), "vertical")  # a boxed vertical column (コラム)
    p.region("text", rows(40, 500, 520, 6))
    check(p)


def test_three_columns_and_form_rows():
    p = Page()
    p.region("title", [(150, 30, 400, 60)])
    for c in range(3):
        p.region("text", rows(40 + c * 160, 180 + c * 160, 90, 12))
    # a form below: label then field, row by row
    for r in range(3):
        y = 380 + r * 40
        p.region("text", [(40, y, 110, y + 12)])
        p.region("handwriting", [(160, y - 2, 400, y + 16)])
    check(p)


def test_tate_chu_yoko_stays_inside_its_vertical_line():
    """A vertical line whose kernel is interrupted by a horizontally read digit pair."""
    p = Page()
    p.region("text", columns(400, 100, 500, 4), "vertical")
    model = p.model()
    x0, x1 = (400 - 12) // 2, 400 // 2  # the first column, in map pixels
    k = NUM_CLASSES
    model.maps[k, 150:153, x0:x1] = -10.0  # a hole above and below the digits...
    model.maps[k, 157:160, x0:x1] = -10.0
    model.maps[k + 1, 153:157, x0:x1] = -10.0  # ...which the direction map reads as horizontal
    regions, lines, _ = detect_layout(np.full((H, W), 255, np.uint8), model)
    assert len(lines) == 4 and all(ln.direction == "vertical" for ln in lines)
    first = max(lines, key=lambda ln: ln.bbox[2])
    assert first.bbox[1] < 110 and first.bbox[3] > 490


def test_analyze_layout_returns_document_regions_in_order():
    p = Page()
    p.region("header", [(40, 30, 200, 42)])
    p.region("text", columns(500, 80, 700, 10), "vertical")
    model = p.model()
    assert read_long_side(model) == 1024  # read works at 4/3 of the training resolution
    regions = analyze_layout(PageImage(np.full((H, W), 255, np.uint8), 150.0, 1), model, long_side=H)
    assert [r.cls for r in regions] == [RegionClass.HEADER, RegionClass.TEXT]
    body = regions[1]
    assert body.direction == Direction.VERTICAL and len(body.lines) == 10
    xs = [ln.bbox.x0 for ln in body.lines]
    assert xs == sorted(xs, reverse=True)  # right to left
    assert all(ln.text == "" and ln.polygon and 0 < ln.confidence <= 1 for ln in body.lines)


def test_reading_order_rules_on_boxes():
    v = [OrderItem((x, 0, x + 10, 100), "vertical", 100, 10) for x in (0, 40, 80)]
    assert xy_cut(v) == [2, 1, 0]
    h = [OrderItem((0, y, 100, y + 10), "horizontal", 100, 10) for y in (60, 0, 30)]
    assert xy_cut(h) == [1, 2, 0]
    two_col = [OrderItem((0, 0, 100, 300), weight=30, thickness=10), OrderItem((120, 0, 220, 300), weight=30,
                                                                               thickness=10)]
    assert xy_cut(two_col) == [0, 1]
    classes = ["header", "text", "furigana", "header"]
    items = [OrderItem((0, 0, 50, 10)), OrderItem((0, 50, 100, 300), "vertical", 10, 10),
             OrderItem((101, 60, 106, 80), "vertical", 1, 5), OrderItem((40, 380, 60, 390))]
    assert order_page(classes, items, 400) == [0, 1, 2, 3]


def _ruled_table(widths: list[int], row_h: int, n_rows: int, merged: bool) -> tuple[np.ndarray, list]:
    xs = np.concatenate([[0], np.cumsum(widths)]) + 5
    ys = np.arange(n_rows + 1) * row_h + 5
    img = np.full((ys[-1] + 6, xs[-1] + 6), 250, np.uint8)
    for y in ys:
        img[y:y + 2, xs[0]:xs[-1] + 2] = 10
    for c, x in enumerate(xs):
        top = ys[1] if merged and c == 2 else ys[0]
        img[top:ys[-1], x:x + 2] = 10
    lines = []
    for r in range(n_rows):  # a text-like blob in each cell
        for c in range(len(widths)):
            if merged and r == 0 and c == 2:
                continue
            x0, y0 = xs[c] + 6, ys[r] + row_h // 3
            img[y0:y0 + row_h // 3, x0:x0 + 12:3] = 30
            lines.append((x0, y0, x0 + 12, y0 + row_h // 3))
    return img, lines


def test_table_cells_from_rulings_with_a_merged_header():
    img, lines = _ruled_table([60, 50, 50, 70], 24, 4, merged=True)
    cells = table_cells(img, lines, 8)
    spans = {(c.row, c.col): (c.row_span, c.col_span) for c in cells}
    assert len(cells) == 4 * 4 - 1
    assert spans[(0, 1)] == (1, 2) and spans[(1, 1)] == (1, 1)
    assert (0, 2) not in spans


def test_table_cells_from_text_when_only_horizontal_rules():
    img, lines = _ruled_table([60, 50, 70], 24, 3, merged=False)
    img[:, 5 + 60:5 + 60 + 2] = 250  # remove the inner vertical rules
    img[:, 5 + 110:5 + 110 + 2] = 250
    cells = table_cells(img, lines, 8)
    assert len(cells) == 9 and max(c.col for c in cells) == 2


def test_figures_from_probabilities_trim_bleed_split_stacked_and_drop_unsure():
    """Two pictures stacked with a caption between: the figure class bleeds round them (0.7)
    and over the caption (0.9 down a narrow strip), which the arg-max reads as one figure
    with its margins. A blob the network is never sure of (0.9 throughout) is no figure."""
    from yomitori.layout.maps import LAYOUT_CLASSES
    from yomitori.layout.postprocess import extract_regions

    h, w, figure = 120, 180, LAYOUT_CLASSES.index("figure")
    fig = np.full((h, w), 0.02)
    fig[4:96, 12:88] = 0.7  # bleed into the white space round both pictures
    fig[40:62, 45:56] = 0.9  # and over the caption between them
    fig[10:40, 20:80] = 0.999  # picture 1
    fig[62:90, 20:80] = 0.999  # picture 2
    fig[10:40, 110:150] = 0.9  # unsure everywhere
    prob = np.empty((NUM_CLASSES, h, w))
    prob[:] = ((1 - fig) / (NUM_CLASSES - 1))[None]
    prob[figure] = fig
    assert prob.argmax(0)[4:96, 12:88].min() == figure  # the arg-max: one figure with the margins
    regions = extract_regions(prob, [])
    boxes = sorted(r.bbox for r in regions if r.cls == "figure")
    assert boxes == [(20.0, 10.0, 80.0, 40.0), (20.0, 62.0, 80.0, 90.0)]


def test_check_furigana_relabels_body_sized_lines_and_keeps_small_ruby():
    from yomitori.layout.postprocess import LineBox, RegionBox, check_furigana

    def line(y: float, thick: float) -> LineBox:
        poly = np.array([[10, y], [400, y], [400, y + thick], [10, y + thick]], np.float32)
        return LineBox(poly, 0.0, 0.9, thick)

    lines = [line(100 + 60 * k, 36) for k in range(4)] + [line(400, 16), line(460, 34)]
    regions = [RegionBox("text", (10, 100, 400, 316), 0.9, [0, 1, 2, 3]),
               RegionBox("furigana", (10, 400, 400, 416), 0.8, [4]),  # ruby: 0.44 of the body
               RegionBox("furigana", (10, 460, 400, 494), 0.8, [5])]  # as thick as the body: text
    out = check_furigana(regions, lines)
    assert [r.cls for r in out] == ["text", "furigana", "text"]
    # too few other lines to judge: nothing changes
    few = [RegionBox("text", (10, 100, 400, 136), 0.9, [0]), RegionBox("furigana", (10, 460, 400, 494), 0.8, [5])]
    assert [r.cls for r in check_furigana(few, lines)] == ["text", "furigana"]


def test_resample_maps_stretches_each_map_over_the_page():
    from yomitori.pipeline.layout import resample_maps

    m = np.zeros((2, 4, 6), np.float32)
    m[0] = 3.0
    m[1, :, 3:] = 1.0  # right half
    out = resample_maps(m, (8, 12))
    assert out.shape == (2, 8, 12) and out.dtype == np.float32
    assert np.allclose(out[0], 3.0)
    assert out[1, :, :5].max() < 0.01 and out[1, :, 7:].min() > 0.99


def test_read_finds_lines_at_1024_and_averages_region_classes_with_the_training_resolution():
    """Two passes (lines at 4/3 of the training size, classes averaged with a pass at the training
    size): the class logits of the second pass reach the regions."""
    from yomitori.layout.maps import NUM_CLASSES
    from yomitori.pipeline.layout import detect_layout

    sizes = []

    class TwoScale:
        meta = {"working_long_side": 768}

        def __call__(self, x: np.ndarray) -> np.ndarray:
            sizes.append(max(x.shape[2:]))
            h, w = x.shape[2] // 2, x.shape[3] // 2
            out = np.full((1, NUM_CLASSES + 2, h, w), -10.0, np.float32)
            band = slice(int(0.3 * h), int(0.32 * h) + 1)
            out[0, NUM_CLASSES, band, int(0.1 * w):int(0.9 * w)] = 10.0  # one horizontal line
            out[0, 0] = 0.0  # background everywhere...
            # ...the line is "text" at the training size and weakly "title" at 1024
            out[0, 1 if len(sizes) == 2 else 2, band, int(0.1 * w):int(0.9 * w)] = 8.0 if len(sizes) == 2 else 2.0
            return out

    gray = np.full((1536, 1088), 255, np.uint8)
    regions, lines, order = detect_layout(gray, TwoScale(), long_side=1024, class_long_side=768)
    assert sizes == [1024, 768] and len(lines) == 1
    assert [r.cls for r in regions] == ["text"]  # title (2 - 10) / 2 < text (-10 + 8) / 2
    sizes.clear()
    regions, _, _ = detect_layout(gray, TwoScale(), long_side=1024)
    assert sizes == [1024] and [r.cls for r in regions] == ["title"]


def test_split_ruby_moves_half_size_lines_beside_a_base_line_to_furigana():
    from yomitori.layout.postprocess import LineBox, RegionBox, split_ruby

    def vline(x: float, thick: float, y0: float = 100, y1: float = 900) -> LineBox:
        poly = np.array([[x, y0], [x + thick, y0], [x + thick, y1], [x, y1]], np.float32)
        return LineBox(poly, 1.0, 0.9, thick)

    # three vertical base lines (40 px), ruby (18 px) just right of the middle one, and a thin
    # line far from any base line (a rule of dots: not ruby)
    lines = [vline(500, 40), vline(440, 40), vline(380, 40), vline(482, 18, 300, 360), vline(100, 18)]
    regions = [RegionBox("text", (380, 100, 540, 900), 0.9, [0, 1, 2, 3], "vertical"),
               RegionBox("text", (100, 100, 118, 900), 0.9, [4], "vertical"),
               RegionBox("table", (0, 0, 50, 50), 0.9, [], "horizontal")]
    out = split_ruby(regions, lines)
    assert [(r.cls, r.lines) for r in out] == [("text", [0, 1, 2]), ("furigana", [3]), ("text", [4]),
                                              ("table", [])]
    assert out[1].bbox == (482.0, 300.0, 500.0, 360.0) and out[1].direction == "vertical"


def test_text_regions_inside_a_table_box_join_the_table():
    from yomitori.layout.postprocess import RegionBox, absorb_into_tables

    # a two-column table whose long right-hand cells the network classed as text: the table region
    # holds the left column and reaches a little into the right; a paragraph below is apart
    table = RegionBox("table", (600, 1200, 1140, 1620), 0.9, [0, 1, 2])
    right_a = RegionBox("text", (910, 1300, 2090, 1460), 0.9, [3, 4])
    right_b = RegionBox("text", (920, 1500, 2090, 1670), 0.9, [5, 6])  # reached once the table grew
    below = RegionBox("text", (640, 1860, 2110, 2150), 0.9, [7, 8])
    caption = RegionBox("caption", (900, 1150, 1500, 1190), 0.9, [9])
    out = absorb_into_tables([table, right_a, caption, right_b, below])
    assert [r.cls for r in out] == ["table", "caption", "text"]
    assert sorted(out[0].lines) == [0, 1, 2, 3, 4, 5, 6] and out[0].bbox == (600, 1200, 2090, 1670)
    assert out[2] is below
    assert absorb_into_tables([right_a, below]) == [right_a, below]  # no table: nothing moves

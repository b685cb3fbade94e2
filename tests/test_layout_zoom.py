"""Small text found again at a higher resolution (``refine_small_lines``), with a stand-in
network that sees the ink of its input and, like the real one on footnotes, joins thin lines set
close together into one."""

from __future__ import annotations

import numpy as np

from yomitori.layout.components import component_stats, label_components
from yomitori.layout.maps import NUM_CLASSES, page_targets
from yomitori.pipeline.layout import detect_layout

H, W = 768, 544  # the working size: the first pass does not resize
THIN, GAP = 10, 6  # input px: thinner lines closer than GAP come out joined


class InkModel:
    meta = {"working_long_side": H}

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        ink = x[0, 0] > 0.5
        self.calls.append(ink.shape)
        labels, n = label_components(ink, 8)
        st = component_stats(labels, n)
        boxes = sorted([float(st.x0[k]), float(st.y0[k]), float(st.x1[k]), float(st.y1[k])] for k in range(n))
        boxes.sort(key=lambda b: b[1])
        joined: list[list[float]] = []
        for b in boxes:
            last = joined[-1] if joined else None
            if (last is not None and b[3] - b[1] < THIN and last[3] - last[1] < THIN and b[1] - last[3] < GAP
                    and min(b[2], last[2]) > max(b[0], last[0])):
                joined[-1] = [min(b[0], last[0]), last[1], max(b[2], last[2]), b[3]]
            else:
                joined.append(list(b))
        lines = [{"bbox": b, "polygon": [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]],
                  "direction": "horizontal"} for b in joined]
        regions = [{"class": "text", "bbox": b, "lines": [i]} for i, b in enumerate(joined)]
        t = page_targets(ink.shape[0], ink.shape[1], regions, lines)
        maps = np.full((1, NUM_CLASSES + 2, *t["kernel"].shape), -10.0, np.float32)
        for c in range(NUM_CLASSES):
            maps[0, c][t["classes"] == c] = 10.0
        maps[0, NUM_CLASSES][t["kernel"] > 0] = 10.0
        return maps


def page(footnote_gaps: list[int]) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Four body lines 20 px thick, then footnote lines 8 px thick with the given gaps."""
    gray = np.full((H, W), 255, np.uint8)
    truth = []
    y = 60
    for _ in range(4):
        truth.append((40, y, 500, y + 20))
        y += 32
    y += 40
    for gap in [0, *footnote_gaps]:
        y += gap
        truth.append((40, y, 500, y + 8))
        y += 8
    for x0, y0, x1, y1 in truth:
        gray[y0:y1, x0:x1] = 0
    return gray, truth


def found(gray: np.ndarray, zoom: float | None) -> tuple[list[tuple[float, ...]], InkModel]:
    model = InkModel()
    _, lines, _ = detect_layout(gray, model, long_side=H, zoom=zoom)
    return sorted((ln.bbox for ln in lines), key=lambda b: b[1]), model


def test_joined_footnote_lines_are_found_again_at_the_zoomed_resolution():
    gray, truth = page([8, 8, 4, 8])  # the third and fourth footnote lines touch at the first pass
    plain, _ = found(gray, None)
    assert len(plain) == len(truth) - 1  # one line holds two
    zoomed, model = found(gray, 1.5)
    assert len(model.calls) == 2 and model.calls[1][0] < H // 2  # a crop of the footnote band
    assert len(zoomed) == len(truth)
    for got, want in zip(zoomed, truth, strict=True):
        assert np.allclose(got, want, atol=4), (got, want)


def test_a_page_without_small_text_is_not_read_twice():
    gray = np.full((H, W), 255, np.uint8)
    for k in range(6):
        gray[60 + 32 * k:80 + 32 * k, 40:500] = 0
    zoomed, model = found(gray, 1.5)
    plain, _ = found(gray, None)
    assert len(model.calls) == 1 and zoomed == plain and len(plain) == 6

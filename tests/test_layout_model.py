"""The layout network: shapes, gradients, the task's loss and collate, and a tiny network that
overfits one page (maps -> post-processing recovers its lines with their directions)."""

from __future__ import annotations

import numpy as np
import torch

from yomitori.layout.maps import NUM_CLASSES, page_targets
from yomitori.layout.metrics import match_boxes
from yomitori.layout.postprocess import maps_to_layout
from yomitori.models import create_model, list_models


def test_segmentation_models_registered_with_a_tiny_variant():
    names = {e.name: e for e in list_models(family="segmentation")}
    assert "layoutnet_resnet_small" in names and names["layoutnet_resnet_tiny"].tiny


def test_forward_shapes_and_gradients():
    m = create_model("layoutnet_resnet_tiny")
    for h, w in ((64, 64), (128, 96)):
        x = torch.randn(2, 1, h, w)
        out = m(x)
        assert out.shape == (2, NUM_CLASSES + 2, h // 2, w // 2)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def _one_page(seed: int = 0) -> tuple[np.ndarray, list[dict], list[dict]]:
    """A 128 x 128 page: a title, horizontal text lines, a block of vertical columns, a figure."""
    rng = np.random.default_rng(seed)
    img = np.full((128, 128), 250, np.uint8)
    regions, lines = [], []

    def add(cls: str, boxes: list[tuple], direction: str, bbox: tuple | None = None) -> None:
        ids = []
        for x0, y0, x1, y1 in boxes:
            for x in range(x0, x1, 4):  # "characters": blobs of ink along the line
                cw = min(3, x1 - x) if direction == "horizontal" else x1 - x0
                if direction == "horizontal":
                    img[y0:y1, x:x + cw] = rng.integers(0, 60)
            if direction == "vertical":
                for y in range(y0, y1, 4):
                    img[y:y + 3, x0:x1] = rng.integers(0, 60)
            ids.append(len(lines))
            lines.append({"bbox": [x0, y0, x1, y1], "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                          "direction": direction, "region": len(regions)})
        b = np.array(boxes) if boxes else None
        box = bbox or (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        regions.append({"class": cls, "bbox": [float(v) for v in box], "lines": ids})

    add("title", [(10, 6, 90, 16)], "horizontal")
    add("text", [(10, 24 + 10 * k, 70, 30 + 10 * k) for k in range(5)], "horizontal")
    add("text", [(118 - 10 * k, 24, 124 - 10 * k, 90) for k in range(4)], "vertical")
    img[80:120, 10:60] = 120  # a grey picture
    add("figure", [], "horizontal", (10, 80, 60, 120))
    return img, regions, lines


def test_tiny_network_overfits_one_page():
    torch.manual_seed(0)
    img, regions, lines = _one_page()
    t = page_targets(128, 128, regions, lines)
    x = torch.from_numpy(1.0 - img.astype(np.float32) / 255.0)[None, None]
    target = {"classes": torch.from_numpy(t["classes"].astype(np.int64))[None],
              "kernel": torch.from_numpy(t["kernel"].astype(np.float32))[None],
              "vertical": torch.from_numpy(t["vertical"].astype(np.float32))[None], "lines": [[]]}
    from yomitori.train.layout_task import LayoutTask

    task = LayoutTask(eval_postprocess=False)
    m = create_model("layoutnet_resnet_tiny", num_classes=NUM_CLASSES)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = task.loss(m(x), target)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.2 * first
    m.eval()
    with torch.no_grad():
        maps = m(x)[0].numpy()
    assert (maps[:NUM_CLASSES].argmax(0) == t["classes"]).mean() > 0.9
    found_regions, found = maps_to_layout(maps)
    gt = [[v / 2 for v in ln["bbox"]] for ln in lines]
    pairs = match_boxes(gt, [ln.bbox for ln in found])
    assert len(pairs) >= len(lines) - 1, (len(pairs), len(lines), [ln.bbox for ln in found])
    assert all(found[p].direction == lines[g]["direction"] for g, p in pairs)
    assert "figure" in {r.cls for r in found_regions}


def test_collate_pads_pages_and_targets():
    from yomitori.train.layout_task import collate_pages

    img, regions, lines = _one_page()
    t = page_targets(128, 100, regions, lines)
    items = [(np.zeros((128, 100), np.float32), {**t, "lines": [], "size": (128, 100)}),
             (np.zeros((120, 90), np.float32), {**page_targets(120, 90, regions, lines), "lines": [], "size": (120, 90)})]
    x, target = collate_pages(items)
    assert x.shape == (2, 1, 128, 128) and target["classes"].shape == (2, 64, 64)
    assert target["classes"].dtype == torch.long and target["kernel"].dtype == torch.float32

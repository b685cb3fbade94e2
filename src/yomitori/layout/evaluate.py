"""Scoring a page's predicted layout against its ground truth, and summing over many pages.

Definitions (all at IoU >= 0.5, one-to-one greedy matching by IoU):

- **lines**: precision, recall, F1 over all lines except furigana; a predicted line that matches
  a furigana reading is neither a hit nor a false alarm (furigana recall is reported apart);
- **direction accuracy**: matched lines whose predicted direction is the true one;
- **regions**: per class, predicted regions of that class matched to true regions of that class;
- **reading order**: over pairs of matched non-furigana lines, the share whose predicted order
  (regions in order, lines in order within them) agrees with the true order;
- **mIoU**: pixel IoU of the class maps, per class summed over pages, then averaged;
- **table cells**: cells of matched tables, matched by box.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from yomitori.layout.maps import LAYOUT_CLASSES
from yomitori.layout.metrics import f1, match_boxes, pairwise_order


class LayoutScore:
    """Additive counts over pages; :meth:`summary` turns them into rates."""

    def __init__(self) -> None:
        self.c: dict[str, float] = defaultdict(float)

    def add_page(self, gt: dict[str, Any], regions: Sequence[Any], lines: Sequence[Any], order: Sequence[int],
                 kind: str = "") -> dict[str, float]:
        """``gt``: a ground-truth record (``PageSample.to_dict()`` in the same pixels as the
        prediction); ``regions``/``lines``: :class:`RegionBox`/:class:`LineBox`; ``order``:
        region indices in reading order. Returns this page's own counts."""
        page: dict[str, float] = defaultdict(float)
        gcls = [gt["regions"][ln["region"]]["class"] for ln in gt["lines"]]
        main = [i for i, c in enumerate(gcls) if c != "furigana"]
        fur = [i for i, c in enumerate(gcls) if c == "furigana"]
        pboxes = [ln.bbox for ln in lines]
        pairs = match_boxes([gt["lines"][i]["bbox"] for i in main], pboxes)
        used = {p for _, p in pairs}
        rest = [p for p in range(len(lines)) if p not in used]
        fpairs = match_boxes([gt["lines"][i]["bbox"] for i in fur], [pboxes[p] for p in rest])
        page["gt_lines"], page["pred_lines"] = len(main), len(lines) - len(fpairs)
        page["tp_lines"] = len(pairs)
        page["dir_ok"] = sum(lines[p].direction == gt["lines"][main[g]]["direction"] for g, p in pairs)
        page["gt_furigana"], page["tp_furigana"] = len(fur), len(fpairs)
        # reading order over matched main lines
        rank: dict[int, int] = {}
        for ri in order:
            for li in regions[ri].lines:
                rank[li] = len(rank)
        gt_rank = {main[g]: rank[p] for g, p in pairs if p in rank}
        gt_order = [i for r in gt["regions"] for i in r["lines"] if i in gt_rank]
        ok, total = pairwise_order(gt_order, gt_rank)
        page["order_ok"], page["order_pairs"] = ok, total
        # regions per class
        for name in LAYOUT_CLASSES[1:]:
            g = [r["bbox"] for r in gt["regions"] if r["class"] == name]
            p = [r.bbox for r in regions if r.cls == name]
            page[f"gt_{name}"], page[f"pred_{name}"] = len(g), len(p)
            page[f"tp_{name}"] = len(match_boxes(g, p))
        # table cells of matched tables
        gt_tables = [r for r in gt["regions"] if r["class"] == "table"]
        pred_tables = [r for r in regions if r.cls == "table"]
        for g, p in match_boxes([t["bbox"] for t in gt_tables], [t.bbox for t in pred_tables]):
            gcells = [c["bbox"] for c in gt_tables[g]["cells"]]
            pcells = [getattr(c, "bbox", c) for c in getattr(pred_tables[p], "cells", [])]
            page["gt_cells"] += len(gcells)
            page["pred_cells"] += len(pcells)
            page["tp_cells"] += len(match_boxes(gcells, pcells))
        for k, v in page.items():
            self.c[k] += v
            if kind:
                self.c[f"{kind}/{k}"] += v
        self.c["pages"] += 1
        return page

    def add_pixels(self, inter: np.ndarray, union: np.ndarray) -> None:
        for k in range(len(inter)):
            self.c[f"inter_{k}"] += float(inter[k])
            self.c[f"union_{k}"] += float(union[k])

    def summary(self, kinds: Sequence[str] = ()) -> dict[str, Any]:
        c = self.c
        out: dict[str, Any] = {"pages": int(c["pages"])}
        out["lines"] = {k: round(v, 4) for k, v in f1(c["tp_lines"], c["pred_lines"], c["gt_lines"]).items()}
        out["lines"]["count"] = int(c["gt_lines"])
        out["direction_accuracy"] = round(c["dir_ok"] / max(c["tp_lines"], 1), 4)
        out["reading_order_pairwise"] = round(c["order_ok"] / max(c["order_pairs"], 1), 4)
        out["furigana_recall"] = round(c["tp_furigana"] / max(c["gt_furigana"], 1), 4)
        out["regions_f1"] = {name: round(f1(c[f"tp_{name}"], c[f"pred_{name}"], c[f"gt_{name}"])["f1"], 4)
                             for name in LAYOUT_CLASSES[1:] if c[f"gt_{name}"] > 0}
        out["regions_count"] = {name: int(c[f"gt_{name}"]) for name in LAYOUT_CLASSES[1:] if c[f"gt_{name}"] > 0}
        ious = {LAYOUT_CLASSES[k]: c[f"inter_{k}"] / c[f"union_{k}"] for k in range(len(LAYOUT_CLASSES))
                if c.get(f"union_{k}", 0) > 0}
        if ious:
            out["pixel_iou"] = {k: round(v, 4) for k, v in ious.items()}
            out["miou"] = round(float(np.mean(list(ious.values()))), 4)
        if c["gt_cells"]:
            out["table_cells"] = {k: round(v, 4) for k, v in f1(c["tp_cells"], c["pred_cells"], c["gt_cells"]).items()}
        for kind in kinds:
            if c[f"{kind}/gt_lines"]:
                out[f"by_kind/{kind}"] = {
                    "line_f1": round(f1(c[f"{kind}/tp_lines"], c[f"{kind}/pred_lines"], c[f"{kind}/gt_lines"])["f1"], 4),
                    "direction_accuracy": round(c[f"{kind}/dir_ok"] / max(c[f"{kind}/tp_lines"], 1), 4),
                    "reading_order_pairwise": round(c[f"{kind}/order_ok"] / max(c[f"{kind}/order_pairs"], 1), 4),
                }
        return out

"""Layout evaluation: box matching at IoU 0.5, per-class region F1, line detection, direction
accuracy, pairwise reading-order accuracy and pixel mIoU. Pure NumPy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def iou_matrix(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> np.ndarray:
    """IoU of every box in ``a`` (n, 4) with every box in ``b`` (m, 4)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def match_boxes(gt: Sequence[Sequence[float]], pred: Sequence[Sequence[float]],
                threshold: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one (gt index, pred index) pairs with IoU >= threshold, greedily by IoU."""
    if len(gt) == 0 or len(pred) == 0:
        return []
    m = iou_matrix(gt, pred)
    gi, pj = np.nonzero(m >= threshold)
    order = np.argsort(-m[gi, pj], kind="stable")
    used_g, used_p, pairs = set(), set(), []
    for k in order:
        g, p = int(gi[k]), int(pj[k])
        if g not in used_g and p not in used_p:
            used_g.add(g)
            used_p.add(p)
            pairs.append((g, p))
    return sorted(pairs)


def f1(tp: float, n_pred: float, n_gt: float) -> dict[str, float]:
    p, r = tp / max(n_pred, 1e-9) if n_pred else 0.0, tp / max(n_gt, 1e-9) if n_gt else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9)}


def pairwise_order(gt_order: Sequence[int], pred_position: dict[int, int]) -> tuple[int, int]:
    """(correct, total) over pairs of ground-truth items that both have a predicted position.

    ``gt_order``: ground-truth item ids in reading order; ``pred_position``: id -> rank in the
    predicted order. A pair is correct when the two ranks keep the ground-truth order.
    """
    ranks = np.array([pred_position[i] for i in gt_order if i in pred_position])
    n = len(ranks)
    if n < 2:
        return 0, 0
    upper = np.triu(np.ones((n, n), bool), 1)
    correct = (ranks[None, :] > ranks[:, None]) & upper
    return int(correct.sum()), int(n * (n - 1) // 2)


def pixel_iou(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class intersection and union pixel counts of two class maps."""
    inter = np.bincount(gt[pred == gt].ravel(), minlength=num_classes)[:num_classes]
    area_p = np.bincount(pred.ravel(), minlength=num_classes)[:num_classes]
    area_g = np.bincount(gt.ravel(), minlength=num_classes)[:num_classes]
    return inter.astype(np.float64), (area_p + area_g - inter).astype(np.float64)

"""The page-layout task: pre-rendered synthetic pages, region + line-kernel + direction maps.

Pages come from :mod:`yomitori.data.page_store` (render them first, in the background)::

    nohup .venv/bin/python -m yomitori.data.page_store --out data/pages_v1 --split train --count 3000 --seed 1 &
    nohup .venv/bin/python -m yomitori.data.page_store --out data/pages_v1 --split eval --count 200 --seed 7 &
    nohup .venv/bin/yomitori train --task layout --model layoutnet_resnet_small --optimizer adamw --lr 2e-3 \\
        --epochs 12 --batch-size 4 --test-batch-size 4 --threads 2 --out runs/layout \\
        --set data=data/pages_v1 --save-weights src/yomitori/weights/layout_resnet_small.safetensors \\
        > logs/layout_train.log 2>&1 &

Loss: class-weighted cross-entropy on region classes, BCE + Dice on line kernels, BCE on the
direction map over kernel pixels. Evaluation runs the real post-processing on held-out pages
(held-out fonts and documents) and reports line detection F1 at IoU 0.5, direction accuracy and
pixel mIoU; the primary metric is their mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from yomitori.data.page_store import load_record, scale_record, stored_indices
from yomitori.layout.maps import (
    DIRECTION_CHANNEL,
    KERNEL_CHANNEL,
    LAYOUT_CLASSES,
    NUM_CLASSES,
    page_targets,
)
from yomitori.layout.metrics import match_boxes
from yomitori.layout.postprocess import maps_to_layout
from yomitori.layout.prepare import NORMALIZATION, OUTPUT_STRIDE, padded_shape, resize_page
from yomitori.train.tasks import TASKS, EvalStats

# rare and small classes weigh more in the cross-entropy
CLASS_WEIGHTS = (1.0, 1.0, 2.0, 1.5, 1.5, 2.0, 3.0, 3.0, 2.0, 2.0)


class PageFiles(Dataset):
    """Stored pages -> (ink (1, H, W) float32, targets at 1/2 and the ground-truth lines)."""

    def __init__(self, root: Path, split: str, limit: int | None = None, augment: bool = False,
                 seed: int = 0, long_side: int = 768) -> None:
        self.root, self.split, self.long_side = Path(root), split, int(long_side)
        self.indices = stored_indices(self.root, split)[: limit or None]
        if not self.indices:
            raise FileNotFoundError(f"no pages in {self.root / split}: render them with yomitori.data.page_store")
        self.augment, self.seed, self.epoch = augment, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        image, rec = load_record(self.root, self.split, self.indices[i])
        if max(image.shape) != self.long_side:  # stored at another working size: resize like the pipeline
            image, (sx, sy) = resize_page(image, self.long_side)
            rec = scale_record(rec, sx, sy)
        if self.augment:  # contrast and brightness: scans differ more than the renderer does
            rng = np.random.default_rng([self.seed, self.epoch, i])
            lo, hi = rng.uniform(0, 60), rng.uniform(200, 255)
            image = np.clip(lo + image.astype(np.float32) * (hi - lo) / 255.0, 0, 255).astype(np.uint8)
        h, w = image.shape
        t = page_targets(h, w, rec["regions"], rec["lines"], OUTPUT_STRIDE)
        lines = [(tuple(ln["bbox"]), ln["direction"], rec["regions"][ln["region"]]["class"]) for ln in rec["lines"]]
        return 1.0 - image.astype(np.float32) / 255.0, {**t, "lines": lines, "size": (h, w)}


def collate_pages(items: list) -> tuple[torch.Tensor, dict[str, Any]]:
    """Pad pages to a common multiple-of-32 size (zero ink = paper; class 0 = background)."""
    ph = max(padded_shape(*x.shape)[0] for x, _ in items)
    pw = max(padded_shape(*x.shape)[1] for x, _ in items)
    x = torch.zeros(len(items), 1, ph, pw)
    oh, ow = ph // OUTPUT_STRIDE, pw // OUTPUT_STRIDE
    maps = {k: torch.zeros(len(items), oh, ow, dtype=torch.long if k == "classes" else torch.float32)
            for k in ("classes", "kernel", "vertical")}
    for i, (img, t) in enumerate(items):
        x[i, 0, : img.shape[0], : img.shape[1]] = torch.from_numpy(img)
        for k in maps:
            m = t[k]
            maps[k][i, : m.shape[0], : m.shape[1]] = torch.from_numpy(m.astype(np.int64 if k == "classes" else np.float32))
    target = {**maps, "lines": [t["lines"] for _, t in items], "size": [t["size"] for _, t in items]}
    return x, target


class LayoutTask:
    name = "layout"
    metric = "score"  # mean of line F1, direction accuracy and region mIoU
    labels = list(LAYOUT_CLASSES)

    def __init__(self, data: str = "data/pages_v1", working_long_side: int = 768, augment: bool = True,
                 eval_postprocess: bool = True, init: str | None = None) -> None:
        self.data, self.long_side, self.augment = data, int(working_long_side), bool(augment)
        self.init = init  # warm start: weights of an earlier stage (.safetensors with its .json)
        self.eval_postprocess = bool(eval_postprocess)
        self.collate = collate_pages
        self._weights = torch.tensor(CLASS_WEIGHTS)

    def datasets(self, cfg: Any) -> tuple[Dataset, Dataset]:
        root = Path(self.data)
        return (PageFiles(root, "train", cfg.limit_train, self.augment, cfg.seed, self.long_side),
                PageFiles(root, "eval", cfg.limit_test, long_side=self.long_side))

    def model_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"num_classes": NUM_CLASSES, "in_chans": 1}
        if self.init:
            kw["init_weights"] = self.init
        return kw

    def weights_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "classes": list(LAYOUT_CLASSES), "working_long_side": self.long_side, "output_stride": OUTPUT_STRIDE,
            "input_normalization": NORMALIZATION,
            "channels": {"classes": [0, NUM_CLASSES], "kernel": KERNEL_CHANNEL, "direction": DIRECTION_CHANNEL},
            # the shipped model rebuilds without the warm-start file
            "model_kwargs": {"num_classes": NUM_CLASSES, "in_chans": 1}}
        if self.init:
            import json

            earlier = json.loads(Path(self.init).with_suffix(".json").read_text(encoding="utf-8"))
            meta["warm_start"] = {"weights": self.init, "command": earlier.get("command"),
                                  "metrics": earlier.get("metrics"), "warm_start": earlier.get("warm_start")}
        return meta

    @staticmethod
    def batch_size_of(target: dict[str, Any]) -> int:
        return len(target["lines"])

    def loss(self, output: torch.Tensor, target: dict[str, Any]) -> torch.Tensor:
        output = output.float()
        ce = F.cross_entropy(output[:, :NUM_CLASSES], target["classes"], weight=self._weights.to(output.device))
        kernel = target["kernel"]
        k_logit = output[:, KERNEL_CHANNEL]
        bce = F.binary_cross_entropy_with_logits(k_logit, kernel, pos_weight=torch.tensor(2.0, device=output.device))
        p = torch.sigmoid(k_logit)
        dice = 1 - (2 * (p * kernel).sum() + 1) / (p.sum() + kernel.sum() + 1)
        d = F.binary_cross_entropy_with_logits(output[:, DIRECTION_CHANNEL], target["vertical"], reduction="none")
        direction = (d * kernel).sum() / kernel.sum().clamp_min(1)
        return ce + bce + dice + 0.5 * direction

    def to_display(self, images: torch.Tensor) -> torch.Tensor:
        return 1.0 - images.clamp(0, 1)

    def eval_batch(self, stats: EvalStats, output: torch.Tensor, target: dict[str, Any], inputs: Any) -> None:
        output = output.float()
        stats.add("loss_sum", self.loss(output, target).item() * len(target["lines"]))
        stats.add("count", len(target["lines"]))
        pred = output[:, :NUM_CLASSES].argmax(1)
        cls = target["classes"]
        for c in range(NUM_CLASSES):
            stats.add(f"inter_{c}", ((pred == c) & (cls == c)).sum().item())
            stats.add(f"union_{c}", ((pred == c) | (cls == c)).sum().item())
        if not self.eval_postprocess:
            return
        maps = output.cpu().numpy()
        for i, gt in enumerate(target["lines"]):
            _, lines = maps_to_layout(maps[i])
            pb = [tuple(v * OUTPUT_STRIDE for v in ln.bbox) for ln in lines]
            main = [g for g in gt if g[2] != "furigana"]
            pairs = match_boxes([g[0] for g in main], pb)
            # furigana: recall only (a predicted reading that matches nothing else)
            fur = [g for g in gt if g[2] == "furigana"]
            stats.add("gt_lines", len(main))
            stats.add("pred_lines", len(pb))
            stats.add("tp_lines", len(pairs))
            stats.add("dir_ok", sum(lines[j].direction == main[g][1] for g, j in pairs))
            used = {j for _, j in pairs}
            fpairs = match_boxes([g[0] for g in fur], [b for j, b in enumerate(pb) if j not in used])
            stats.add("gt_furigana", len(fur))
            stats.add("tp_furigana", len(fpairs))

    def summarize(self, stats: EvalStats) -> dict[str, float]:
        s = stats.sums
        n = max(s.get("count", 0.0), 1.0)
        ious = [s.get(f"inter_{c}", 0.0) / s[f"union_{c}"] for c in range(NUM_CLASSES) if s.get(f"union_{c}", 0.0) > 0]
        out = {"loss": s.get("loss_sum", 0.0) / n, "miou": float(np.mean(ious)) if ious else 0.0, "count": n}
        if "gt_lines" in s:
            tp = s["tp_lines"]
            prec, rec = tp / max(s["pred_lines"] - s["tp_furigana"], 1.0), tp / max(s["gt_lines"], 1.0)
            out.update({"line_precision": prec, "line_recall": rec,
                        "line_f1": 2 * prec * rec / max(prec + rec, 1e-9),
                        "direction_accuracy": s["dir_ok"] / max(tp, 1.0),
                        "furigana_recall": s["tp_furigana"] / max(s["gt_furigana"], 1.0)})
            out["score"] = (out["line_f1"] + out["direction_accuracy"] + out["miou"]) / 3
        else:
            out["score"] = out["miou"]
        return out


TASKS["layout"] = LayoutTask

"""Tasks tell the trainer what data, loss and metrics a model trains with.

A task is small: datasets, the model's constructor arguments, a loss, and an evaluation that
sums statistics over batches (so they can be all-reduced across ranks) and then summarises.
Classification tasks share :class:`ClassificationTask`; CTC lines and layout add their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset


@dataclass
class EvalStats:
    """Additive statistics of an evaluation pass (all-reducible), plus a few samples to show."""

    sums: dict[str, float] = field(default_factory=dict)
    confusion: np.ndarray | None = None
    examples: list[tuple[torch.Tensor, str]] = field(default_factory=list)

    def add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + float(value)


class ClassificationTask:
    """Single-label image classification (MNIST digits, Japanese characters)."""

    name = "classification"
    metric = "accuracy"  # primary metric, higher is better
    num_classes = 10
    input_size = 28
    labels: list[str] = [str(i) for i in range(10)]

    def datasets(self, cfg: Any) -> tuple[Dataset, Dataset]:
        raise NotImplementedError

    def model_kwargs(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "in_chans": 1, "input_size": self.input_size}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def to_display(self, images: torch.Tensor) -> torch.Tensor:
        """Model inputs -> [0, 1] images for loggers."""
        lo, hi = images.amin(dim=(1, 2, 3), keepdim=True), images.amax(dim=(1, 2, 3), keepdim=True)
        return (images - lo) / (hi - lo).clamp_min(1e-6)

    def eval_batch(self, stats: EvalStats, output: torch.Tensor, target: torch.Tensor,
                   inputs: torch.Tensor, max_examples: int = 32) -> None:
        output = output.float()
        stats.add("loss_sum", F.cross_entropy(output, target, reduction="sum").item())
        stats.add("count", len(target))
        pred = output.argmax(1)
        stats.add("correct", (pred == target).sum().item())
        k = min(5, output.shape[1])
        stats.add("correct_top5", (output.topk(k, 1).indices == target[:, None]).any(1).sum().item())
        if self.num_classes <= 100:
            if stats.confusion is None:
                stats.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
            np.add.at(stats.confusion, (target.cpu().numpy(), pred.cpu().numpy()), 1)
        wrong = (pred != target).nonzero().flatten().tolist()
        for i in wrong[: max(0, max_examples - len(stats.examples))]:
            caption = f"true {self.labels[target[i]]} pred {self.labels[pred[i]]}"
            stats.examples.append((inputs[i].detach().cpu(), caption))

    def summarize(self, stats: EvalStats) -> dict[str, float]:
        n = max(stats.sums.get("count", 0.0), 1.0)
        return {
            "loss": stats.sums.get("loss_sum", 0.0) / n,
            "accuracy": stats.sums.get("correct", 0.0) / n,
            "top5": stats.sums.get("correct_top5", 0.0) / n,
            "count": stats.sums.get("count", 0.0),
        }


class MnistTask(ClassificationTask):
    name = "mnist"

    def datasets(self, cfg: Any) -> tuple[Dataset, Dataset]:
        from yomitori.data.mnist import load_mnist

        train = load_mnist(cfg.data_dir, "train", download_missing=cfg.download, limit=cfg.limit_train)
        test = load_mnist(cfg.data_dir, "test", download_missing=cfg.download, limit=cfg.limit_test)
        return TensorDataset(train.images, train.labels), TensorDataset(test.images, test.labels)


TASKS: dict[str, type] = {"mnist": MnistTask}
# Tasks defined in their own modules, imported on first use.
TASK_MODULES = {"lines": "yomitori.train.lines_task", "chars": "yomitori.train.chars_task",
                "layout": "yomitori.train.layout_task"}


def register_task(name: str, cls: type) -> None:
    if name in TASKS:
        raise ValueError(f"task {name!r} already registered")
    TASKS[name] = cls


def create_task(name: str, **kwargs: Any) -> Any:
    if name not in TASKS and name in TASK_MODULES:
        import importlib

        importlib.import_module(TASK_MODULES[name])
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}")
    return TASKS[name](**kwargs)

"""Experiment loggers behind one small interface: TensorBoard, Visdom, or none.

Every logger receives the same calls from the trainer; ``create_loggers("tensorboard,visdom")``
returns a :class:`MultiLogger`. Only rank 0 creates real loggers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch


class Logger(Protocol):
    def log_scalars(self, step: int, scalars: dict[str, float]) -> None: ...
    def log_images(self, step: int, tag: str, images: torch.Tensor, captions: list[str] | None = None) -> None: ...
    def log_confusion(self, step: int, tag: str, matrix: np.ndarray, labels: list[str]) -> None: ...
    def log_hparams(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None: ...
    def close(self) -> None: ...


class NullLogger:
    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        pass

    def log_images(self, step: int, tag: str, images: torch.Tensor, captions: list[str] | None = None) -> None:
        pass

    def log_confusion(self, step: int, tag: str, matrix: np.ndarray, labels: list[str]) -> None:
        pass

    def log_hparams(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        pass

    def close(self) -> None:
        pass


def confusion_image(matrix: np.ndarray, cell_px: int = 24) -> np.ndarray:
    """Render a confusion matrix as an RGB uint8 heat map (rows: truth, columns: prediction)."""
    m = matrix.astype(np.float64)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    k = m.shape[0]
    cell_px = max(2, min(cell_px, 1024 // max(k, 1)))
    v = np.kron(norm, np.ones((cell_px, cell_px)))
    # white -> dark blue ramp; the diagonal stands out, off-diagonal mass shows as tint
    rgb = np.stack([255 * (1 - v), 255 * (1 - 0.7 * v), 255 * (1 - 0.2 * v)], axis=-1)
    return rgb.clip(0, 255).astype(np.uint8)


def images_to_grid(images: torch.Tensor, nrow: int = 8, pad: int = 2) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> (C, H', W') grid, without torchvision."""
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    nrows = (n + ncol - 1) // ncol
    grid = torch.ones(c, nrows * (h + pad) + pad, ncol * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, y : y + h, x : x + w] = images[i]
    return grid


class TensorBoardLogger:
    """Scalars, image grids (with captions in the tag's text), confusion matrices, hparams."""

    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)

    def log_images(self, step: int, tag: str, images: torch.Tensor, captions: list[str] | None = None) -> None:
        if len(images) == 0:
            return
        self.writer.add_image(tag, images_to_grid(images.float().clamp(0, 1)), step)
        if captions:
            self.writer.add_text(f"{tag}/captions", " | ".join(captions), step)

    def log_confusion(self, step: int, tag: str, matrix: np.ndarray, labels: list[str]) -> None:
        self.writer.add_image(tag, confusion_image(matrix), step, dataformats="HWC")

    def log_hparams(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        clean = {k: (v if isinstance(v, int | float | str | bool) else str(v)) for k, v in hparams.items()}
        self.writer.add_hparams(clean, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=".")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


class MultiLogger:
    def __init__(self, loggers: list[Any]) -> None:
        self.loggers = loggers

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            for logger in self.loggers:
                getattr(logger, name)(*args, **kwargs)

        return call


def create_loggers(spec: str, log_dir: str | Path, run_name: str = "yomitori", **options: Any) -> MultiLogger:
    """``spec``: comma-separated names among tensorboard, visdom, none."""
    loggers: list[Any] = []
    for name in [s.strip() for s in spec.split(",") if s.strip()]:
        if name in ("none", "null"):
            continue
        if name in ("tensorboard", "tb"):
            loggers.append(TensorBoardLogger(Path(log_dir) / "tensorboard"))
        elif name == "visdom":
            from yomitori.train.visdom_logger import VisdomLogger

            loggers.append(VisdomLogger(env=run_name, **options))
        else:
            raise ValueError(f"unknown logger {name!r} (choose tensorboard, visdom, none)")
    return MultiLogger(loggers)

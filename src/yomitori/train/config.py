"""The resolved configuration of one training run (saved beside the run and in checkpoints)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    task: str = "mnist"
    model: str = "cnn"
    epochs: int = 20
    batch_size: int = 64  # per process; the global batch is batch_size × world_size × accum_steps
    test_batch_size: int = 1000
    optimizer: str = "adadelta"  # adadelta (+ StepLR, the classic recipe) | adamw (+ warm-up, cosine)
    lr: float | None = None  # default: 1.0 for adadelta, 1e-3 for adamw
    gamma: float = 0.7  # StepLR decay per epoch (adadelta recipe)
    weight_decay: float = 0.05  # adamw only
    warmup_epochs: float = 1.0  # adamw only
    scale_lr: bool = False  # multiply lr by world_size × accum_steps (linear scaling rule)
    accum_steps: int = 1
    grad_clip: float | None = None
    amp: str = "none"  # none | bf16 | fp16 (autocast, CUDA; bf16 also on CPU)
    device: str = "auto"  # cpu | cuda | auto
    seed: int = 1
    deterministic: bool = True
    early_stop: int | None = None  # patience in epochs on the primary metric
    num_workers: int = 0
    data_dir: str | None = None
    download: bool = False
    limit_train: int | None = None
    limit_test: int | None = None
    out: str = "runs/mnist"
    logger: str = "tensorboard"
    progress: str = "auto"  # auto | bar | lines | off
    log_every: int = 100
    ckpt_every_steps: int = 0  # 0: per-epoch checkpoints only
    max_steps: int | None = None  # stop after this many optimizer steps (tests, benches)
    sync_bn: bool = False
    channels_last: bool = False
    compile: bool = False
    threads: int | None = None  # torch intra-op threads per process
    task_options: dict[str, Any] = field(default_factory=dict)
    # passed to the loggers, e.g. {"port": 8098} for Visdom (TOML: logger_options = {port = 8098})
    logger_options: dict[str, Any] = field(default_factory=dict)

    @property
    def resolved_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return 1.0 if self.optimizer == "adadelta" else 1e-3

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**d)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))

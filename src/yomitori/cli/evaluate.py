"""``yomitori eval``: evaluate a checkpoint or shipped weights on its task's test data."""

from __future__ import annotations

import argparse
import json

HELP = "evaluate a checkpoint"
DESCRIPTION = """Evaluate a training checkpoint (.pt) or shipped weights (.safetensors + .json) on the
test split of the task it was trained on, and print the metrics as JSON.

Example:
  yomitori eval src/yomitori/weights/mnist_cnn.safetensors --data-dir ../shared/data/mnist"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint from `yomitori train`, or .safetensors weights")
    p.add_argument("--data-dir", help="task data folder (MNIST: the four IDX files)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--limit-test", type=int)


def run(args: argparse.Namespace) -> int:
    from yomitori.cli.predict import load_any
    from yomitori.train.config import TrainConfig
    from yomitori.train.loop import DistInfo, evaluate, make_loaders, resolve_device
    from yomitori.train.tasks import create_task

    model, meta = load_any(args.checkpoint)
    cfg = TrainConfig.from_dict(meta["config"]) if meta.get("config") else TrainConfig(task=meta["task"])
    cfg.data_dir = args.data_dir or cfg.data_dir
    cfg.limit_test, cfg.limit_train = args.limit_test, 1
    cfg.test_batch_size, cfg.download, cfg.num_workers = args.batch_size, False, 0
    task = create_task(cfg.task, **(cfg.task_options or {}))
    device = resolve_device(args.device)
    train_ds, test_ds = task.datasets(cfg)
    _, loader, _ = make_loaders(task, cfg, train_ds, test_ds, DistInfo(), device)
    metrics, _ = evaluate(model.to(device), loader, task, device)
    print(json.dumps({"checkpoint": str(args.checkpoint), "task": cfg.task, **metrics}, indent=2))
    return 0

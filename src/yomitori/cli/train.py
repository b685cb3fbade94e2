"""``yomitori train``: train a model on a task with checkpoints, logging and resume."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

from yomitori.errors import UserError

HELP = "train a model"
DESCRIPTION = """Train a model on a task (MNIST digits, Japanese characters, text lines, layout).

Examples:
  yomitori train --task mnist --model cnn --epochs 20             # the classic MNIST run (~99.2%)
  yomitori train --task mnist --model resnet18 --optimizer adamw --epochs 5
  yomitori train --task mnist --resume auto --out runs/mnist       # continue where it stopped
  yomitori train --task mnist --logger tensorboard,visdom          # watch it live
  yomitori train --task mnist --nproc 2 --threads 1                # 2 CPU processes (DDP, gloo)
  torchrun --nproc-per-node 2 -m yomitori.cli train --task mnist   # distributed (docs/distributed.md)

Each epoch writes OUT/last.pt and OUT/best.pt (full training state); --save-weights writes the
best model as safetensors + JSON metadata for `yomitori predict` and `yomitori read`."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = {f.name: f.default for f in dataclasses.fields(_cfg_cls())}
    p.add_argument("--config", help="TOML file with defaults for any option below")
    p.add_argument("--task", default=None, help=f"task to train (default {d['task']})")
    p.add_argument("--model", default=None, help="registered model name, see `yomitori models`")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="per process; global = batch × processes × accum")
    p.add_argument("--test-batch-size", type=int)
    p.add_argument("--optimizer", choices=["adadelta", "adamw"])
    p.add_argument("--lr", type=float, help="learning rate (default 1.0 adadelta, 1e-3 adamw)")
    p.add_argument("--gamma", type=float, help="StepLR decay per epoch for adadelta (default 0.7)")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--scale-lr", action="store_true", default=None, help="linear lr scaling by global batch")
    p.add_argument("--accum-steps", type=int, help="gradient accumulation steps")
    p.add_argument("--grad-clip", type=float, help="clip gradient norm to this value")
    p.add_argument("--amp", choices=["none", "bf16", "fp16"], help="mixed precision (autocast)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int)
    p.add_argument("--no-deterministic", dest="deterministic", action="store_false", default=None)
    p.add_argument("--early-stop", type=int, metavar="PATIENCE", help="stop after N epochs without gain")
    p.add_argument("--num-workers", type=int, help="DataLoader worker processes")
    p.add_argument("--data-dir", help="folder with the task's data (MNIST: the four IDX files)")
    p.add_argument("--download", action="store_true", default=None, help="download missing data")
    p.add_argument("--limit-train", type=int, help="use only the first N training samples")
    p.add_argument("--limit-test", type=int, help="use only the first N test samples")
    p.add_argument("--out", help="run folder for checkpoints and logs (default runs/TASK)")
    p.add_argument("--logger", help="comma list: tensorboard, visdom, none (default tensorboard)")
    p.add_argument("--progress", choices=["auto", "bar", "lines", "off"])
    p.add_argument("--log-every", type=int, help="steps between progress lines / step scalars")
    p.add_argument("--ckpt-every-steps", type=int, help="also checkpoint every N steps (elastic runs)")
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    p.add_argument("--sync-bn", action="store_true", default=None)
    p.add_argument("--channels-last", action="store_true", default=None)
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    p.add_argument("--threads", type=int, help="torch threads per process")
    p.add_argument("--resume", help="checkpoint to resume from, or 'auto' for OUT/last.pt if present")
    p.add_argument("--save-weights", help="write the best model here as .safetensors + .json")
    p.add_argument("--weights-from", choices=["last", "best"], default="last",
                   help="checkpoint that --save-weights exports: the final model (default) or the best "
                   "epoch by the evaluation metric (selecting on the evaluation set biases its figure)")
    p.add_argument("--init-weights", help="start from these .safetensors weights (warm start, new schedule)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="task option (e.g. --set height=32); repeatable")
    try:
        from yomitori.train.dist import add_dist_arguments
    except ImportError:  # pragma: no cover - before distributed support lands
        return
    add_dist_arguments(p)


def _cfg_cls():
    from yomitori.train.config import TrainConfig

    return TrainConfig


def build_config(args: argparse.Namespace):
    from yomitori.train.config import TrainConfig

    base = TrainConfig.from_toml(args.config).to_dict() if args.config else TrainConfig().to_dict()
    for f in dataclasses.fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None:
            base[f.name] = v
    if args.out is None and not (args.config and "out" in base and base["out"] != TrainConfig.out):
        base["out"] = f"runs/{base['task']}"
    opts = dict(base.get("task_options") or {})
    for item in args.set:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        try:
            opts[k] = json.loads(v)
        except json.JSONDecodeError:
            opts[k] = v
    base["task_options"] = opts
    return TrainConfig.from_dict(base)


def run(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    try:
        from yomitori.train.dist import maybe_launch
    except ImportError:  # pragma: no cover
        maybe_launch = None
    if maybe_launch is not None:
        launched = maybe_launch(args, cfg, _train_in_process)
        if launched is not None:
            return launched
    return _train_in_process(args, cfg)


def _train_in_process(args: argparse.Namespace, cfg) -> int:
    from yomitori.data.mnist import DataError  # noqa: F401 - errors surface as UserError
    from yomitori.models import create_model, get_entry
    from yomitori.train.loop import dist_info, fit, seed_everything
    from yomitori.train.tasks import create_task

    try:
        task = create_task(cfg.task, **cfg.task_options)
        get_entry(cfg.model)
    except (KeyError, TypeError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    seed_everything(cfg.seed, cfg.deterministic)  # model initialisation draws from the global RNG
    try:
        model = create_model(cfg.model, **task.model_kwargs())
    except (TypeError, ValueError, OSError) as exc:  # an option this model lacks, a bad warm-start file
        raise UserError(f"cannot build {cfg.model}: {str(exc).splitlines()[0]}") from None
    if args.init_weights:
        from safetensors.torch import load_file

        try:
            model.load_state_dict(load_file(args.init_weights))
        except Exception as exc:  # noqa: BLE001 - missing file, other shapes, not safetensors
            raise UserError(f"{args.init_weights}: cannot warm-start {cfg.model} from it "
                            f"({str(exc).splitlines()[0]})") from None
    resume = args.resume
    if resume == "auto":
        last = Path(cfg.out) / "last.pt"
        resume = last if last.exists() else None
    fit(cfg, task, model, resume=resume)
    if args.save_weights and dist_info().is_main:
        write_weights(Path(cfg.out), args.save_weights, cfg, task, args.weights_from,
                      "yomitori " + shlex.join(sys.argv[1:]))
    return 0


def write_weights(out: Path, path: str, cfg, task, which: str = "last", command: str = "") -> None:
    """Export OUT/{last,best}.pt as shipped weights (.safetensors + .json with metrics and command)."""
    from yomitori.models import create_model
    from yomitori.models.io import save_weights
    from yomitori.train.checkpoint import load_checkpoint

    ck = load_checkpoint(out / f"{which}.pt")
    model = create_model(ck["model_name"], **json.loads(ck["model_kwargs"]))
    model.load_state_dict(ck["model"])
    hist = json.loads(ck["history"])
    meta = {
        "task": cfg.task, "labels": getattr(task, "labels", None), "epochs": ck["epoch"], "seed": cfg.seed,
        "checkpoint": which, "metrics": dict(hist[-1]) if hist else {},
        "best_metric": {task.metric: ck["best_metric"]}, "config": cfg.to_dict(), "command": command,
        **getattr(task, "weights_meta", lambda: {})(),
    }
    save_weights(model, path, meta)
    print(f"wrote {path} (+ .json) from {which}.pt")

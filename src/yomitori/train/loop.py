"""The training loop as plain functions: ``train_one_epoch``, ``evaluate``, ``fit``.

``fit`` runs alone or under ``torchrun`` (it reads the process group if one is initialised):
rank 0 alone logs and writes checkpoints; every rank resumes from the same file. Checkpoints
are written every epoch (``last.pt``, ``best.pt``) and, with ``ckpt_every_steps``, inside the
epoch, so an elastic restart loses at most one interval. Resuming is exact: the sampler's order
depends only on (seed, epoch) and RNG states are restored.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset

from yomitori.atomic import atomic_write_text
from yomitori.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from yomitori.train.config import TrainConfig
from yomitori.train.loggers import MultiLogger, create_loggers
from yomitori.train.progress import Progress
from yomitori.train.sampler import EpochSampler
from yomitori.train.tasks import EvalStats


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        import os

        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


def seed_everything(seed: int, deterministic: bool = True) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        # deterministic mode also NaN-fills every new tensor (a debugging aid for code that reads
        # uninitialised memory): 3-5 % of a CPU MNIST step (bench/bench_trainer.py), 15 % of a
        # CRNN step; yomitori never reads uninitialised memory, so skip that fill
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = False


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda requested but no CUDA device is available")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(name)


def autocast_context(device: torch.device, amp: str):
    if amp == "none":
        return contextlib.nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
    return torch.autocast(device_type=device.type, dtype=dtype)


def build_optimizer(model: nn.Module, cfg: TrainConfig, steps_per_epoch: int, world_size: int = 1):
    lr = cfg.resolved_lr * (world_size * cfg.accum_steps if cfg.scale_lr else 1)
    if cfg.optimizer == "adadelta":
        opt = torch.optim.Adadelta(model.parameters(), lr=lr)
        # StepLR stepped once per epoch; expressed per optimizer step so that both schedules
        # are stepped the same way (and mid-epoch resume restores it exactly).
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(steps_per_epoch, 1), gamma=cfg.gamma)
    elif cfg.optimizer == "adamw":
        decay, no_decay = [], []
        for p in model.parameters():
            (no_decay if p.ndim <= 1 else decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=lr)
        total = max(cfg.epochs * steps_per_epoch, 1)
        warm = min(max(int(cfg.warmup_epochs * steps_per_epoch), 1), total - 1) if total > 1 else 1
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [
            torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-3, total_iters=warm),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total - warm, 1)),
        ], milestones=[warm])
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r} (adadelta or adamw)")
    return opt, sched


def _to_device(batch: Any, device: torch.device, channels_last: bool = False) -> Any:
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.ndim == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(b, device, channels_last) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device, channels_last) for k, v in batch.items()}
    return batch


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, task: Any, device: torch.device,
             amp: str = "none") -> tuple[dict[str, float], EvalStats]:
    """Sum statistics over this rank's share, all-reduce them, and summarise."""
    model.eval()
    stats = EvalStats()
    for inputs, target in loader:
        inputs, target = _to_device(inputs, device), _to_device(target, device)
        with autocast_context(device, amp):
            output = task.forward(model, inputs) if hasattr(task, "forward") else model(inputs)
        task.eval_batch(stats, output, target, inputs)
    if dist.is_available() and dist.is_initialized():
        keys = sorted(stats.sums)
        t = torch.tensor([stats.sums[k] for k in keys], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        stats.sums = dict(zip(keys, t.tolist(), strict=True))
        if stats.confusion is not None:
            c = torch.from_numpy(stats.confusion).to(device)
            dist.all_reduce(c)
            stats.confusion = c.cpu().numpy()
    return task.summarize(stats), stats


def _stack_padded(images: list[torch.Tensor]) -> torch.Tensor:
    """Stack (C, H_i, W_i) tensors into (N, C, H, W), zero-padded to the largest."""
    c = images[0].shape[0]
    h, w = max(i.shape[1] for i in images), max(i.shape[2] for i in images)
    out = images[0].new_zeros((len(images), c, h, w))
    for k, img in enumerate(images):
        out[k, :, : img.shape[1], : img.shape[2]] = img
    return out


class _State:
    """Where training stands; saved in checkpoints."""

    def __init__(self) -> None:
        self.epoch = 0  # epoch being run (0-based)
        self.step_in_epoch = 0  # optimizer steps done inside it
        self.global_step = 0
        self.best_metric = -math.inf
        self.epochs_without_improvement = 0
        self.history: list[dict[str, Any]] = []


def _checkpoint_state(model: nn.Module, opt, sched, scaler, st: _State, cfg: TrainConfig) -> dict[str, Any]:
    core = model.module if hasattr(model, "module") else model
    core = getattr(core, "_orig_mod", core)
    return {
        "model": core.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else {}, "rng": rng_state(),
        "epoch": st.epoch, "step_in_epoch": st.step_in_epoch, "global_step": st.global_step,
        "best_metric": st.best_metric, "epochs_without_improvement": st.epochs_without_improvement,
        "history": json.dumps(st.history), "config": json.dumps(cfg.to_dict()),
        "model_name": core.yomitori_name, "model_kwargs": json.dumps(core.yomitori_config),
    }


def train_one_epoch(model: nn.Module, loader: DataLoader, task: Any, opt, sched, *, cfg: TrainConfig,
                    device: torch.device, st: _State, scaler=None, progress: Progress | None = None,
                    on_step=None) -> dict[str, float]:
    """One pass over this rank's share of the epoch; returns mean loss and samples/s."""
    model.train()
    loss_sum, n_samples, t0 = 0.0, 0, time.perf_counter()
    micro, group_samples, completed = 0, 0, False
    n_batches = len(loader)  # this rank's batches left in the epoch (equal on every rank)
    for inputs, target in loader:
        inputs = _to_device(inputs, device, cfg.channels_last)
        target = _to_device(target, device)
        micro += 1
        # a short last group still steps: no gradient leaks into the next epoch, and the number
        # of steps matches steps_per_epoch (the scheduler and mid-epoch resume count on it)
        group = min(cfg.accum_steps, n_batches - (micro - 1) // cfg.accum_steps * cfg.accum_steps)
        boundary = micro % cfg.accum_steps == 0 or micro == n_batches
        # skip the gradient all-reduce on accumulation steps
        sync = contextlib.nullcontext() if boundary or not hasattr(model, "no_sync") else model.no_sync()
        with sync:
            with autocast_context(device, cfg.amp):
                output = task.forward(model, inputs) if hasattr(task, "forward") else model(inputs)
                loss = task.loss(output, target)
            scaled = loss / group
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
        # every micro-batch counts in the epoch's loss, not only the last of each group
        bs = task.batch_size_of(target) if hasattr(task, "batch_size_of") else len(target)
        loss_v = loss.item()
        loss_sum += loss_v * bs
        n_samples += bs
        group_samples += bs
        if not boundary:
            continue
        if cfg.grad_clip:
            if scaler is not None:
                scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
        st.step_in_epoch += 1
        st.global_step += 1
        if progress is not None:
            progress.update(group_samples, loss_v)
        group_samples = 0
        if on_step is not None:
            on_step(loss_v)
        if cfg.max_steps is not None and st.global_step >= cfg.max_steps:
            break
    else:
        completed = True
    elapsed = time.perf_counter() - t0
    return {"loss": loss_sum / max(n_samples, 1), "samples_per_s": n_samples / max(elapsed, 1e-9),
            "seconds": elapsed, "completed": completed}


def make_loaders(task: Any, cfg: TrainConfig, train_ds: Dataset, test_ds: Dataset, info: DistInfo,
                 device: torch.device):
    collate = getattr(task, "collate", None)
    lengths = getattr(train_ds, "lengths", None)  # variable-size samples: bucket batches by length
    train_sampler = EpochSampler(len(train_ds), cfg.seed, True, info.rank, info.world_size, pad=True,
                                 lengths=lengths, batch_size=cfg.batch_size if lengths is not None else None)
    test_sampler = EpochSampler(len(test_ds), cfg.seed, False, info.rank, info.world_size, pad=False)
    common = {"num_workers": cfg.num_workers, "pin_memory": device.type == "cuda", "collate_fn": collate,
              "persistent_workers": False}
    # worker seeds come from this generator, never from the global RNG (exact resume)
    g = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(train_ds, batch_size=cfg.batch_size, sampler=train_sampler, drop_last=False,
                              generator=g, **common)
    test_loader = DataLoader(test_ds, batch_size=cfg.test_batch_size, sampler=test_sampler, **common)
    return train_loader, test_loader, train_sampler


def fit(cfg: TrainConfig, task: Any, model: nn.Module, resume: str | Path | None = None,
        loggers: MultiLogger | None = None) -> dict[str, Any]:
    """Train ``model`` on ``task`` for ``cfg.epochs``; returns the final summary.

    Writes ``{out}/last.pt``, ``{out}/best.pt``, ``{out}/config.json``, ``{out}/history.json``
    and TensorBoard/Visdom logs (rank 0 only).
    """
    info = dist_info()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed, cfg.deterministic)
    device = resolve_device(cfg.device, info.local_rank)
    out = Path(cfg.out)
    train_ds, test_ds = task.datasets(cfg)
    train_loader, test_loader, train_sampler = make_loaders(task, cfg, train_ds, test_ds, info, device)
    steps_per_epoch = math.ceil(math.ceil(len(train_sampler) / cfg.batch_size) / cfg.accum_steps)

    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    if cfg.sync_bn and info.world_size > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    core = model
    opt, sched = build_optimizer(core, cfg, steps_per_epoch, info.world_size)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" and device.type == "cuda" else None
    st = _State()
    if resume:
        ck = load_checkpoint(resume, map_location=device)
        core.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if scaler is not None and ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        set_rng_state(ck["rng"])
        st.epoch, st.step_in_epoch, st.global_step = ck["epoch"], ck["step_in_epoch"], ck["global_step"]
        st.best_metric, st.epochs_without_improvement = ck["best_metric"], ck["epochs_without_improvement"]
        st.history = json.loads(ck["history"])
    if info.world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    train_model = torch.compile(model) if cfg.compile else model

    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2) + "\n")
    if loggers is None:
        loggers = create_loggers(cfg.logger if info.is_main else "none", out, run_name=out.name,
                                 **cfg.logger_options)

    def save(name: str) -> None:
        if info.is_main:
            save_checkpoint(out / name, _checkpoint_state(model, opt, sched, scaler, st, cfg))

    def on_step(loss_v: float) -> None:
        if info.is_main and st.global_step % cfg.log_every == 0:
            loggers.log_scalars(st.global_step, {"train/loss_step": loss_v, "lr": opt.param_groups[0]["lr"]})
        if cfg.ckpt_every_steps and st.global_step % cfg.ckpt_every_steps == 0:
            save("last.pt")

    stopped_early = False
    while st.epoch < cfg.epochs:
        train_sampler.set_epoch(st.epoch, start=st.step_in_epoch * cfg.batch_size * cfg.accum_steps)
        if hasattr(train_ds, "set_epoch"):  # streams whose samples differ per epoch
            train_ds.set_epoch(st.epoch)
        progress = Progress(steps_per_epoch, f"epoch {st.epoch + 1}/{cfg.epochs}",
                            cfg.progress if info.is_main else "off", cfg.log_every, initial=st.step_in_epoch)
        train_metrics = train_one_epoch(train_model, train_loader, task, opt, sched, cfg=cfg, device=device,
                                        st=st, scaler=scaler, progress=progress, on_step=on_step)
        progress.close()
        if not train_metrics["completed"] and st.step_in_epoch < steps_per_epoch:
            save("last.pt")  # stopped inside the epoch (max_steps): keep the exact mid-epoch state
            break
        if info.world_size > 1:  # report the whole group's loss and throughput, not rank 0's share
            t = torch.tensor([train_metrics["loss"], train_metrics["samples_per_s"]], dtype=torch.float64,
                             device=device)
            dist.all_reduce(t)
            train_metrics["loss"], train_metrics["samples_per_s"] = t[0].item() / info.world_size, t[1].item()
        metrics, stats = evaluate(train_model, test_loader, task, device, cfg.amp)
        record = {"epoch": st.epoch + 1, "train_loss": train_metrics["loss"],
                  "samples_per_s": train_metrics["samples_per_s"], "seconds": train_metrics["seconds"],
                  "lr": opt.param_groups[0]["lr"], **{f"test_{k}": v for k, v in metrics.items()}}
        st.history.append(record)
        improved = metrics[task.metric] > st.best_metric
        if improved:
            st.best_metric, st.epochs_without_improvement = metrics[task.metric], 0
        else:
            st.epochs_without_improvement += 1
        st.epoch += 1
        st.step_in_epoch = 0
        if info.is_main:
            loggers.log_scalars(st.global_step, {"train/loss": train_metrics["loss"], "lr": record["lr"],
                                                 **{f"test/{k}": v for k, v in metrics.items()}})
            if stats.examples:
                imgs = task.to_display(_stack_padded([e[0] for e in stats.examples]))
                loggers.log_images(st.global_step, "test/misclassified", imgs, [e[1] for e in stats.examples])
            if stats.confusion is not None:
                loggers.log_confusion(st.global_step, "test/confusion", stats.confusion, task.labels)
            line = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "count")
            print(f"epoch {record['epoch']}/{cfg.epochs}: train loss {record['train_loss']:.4f}, test {line}, "
                  f"{record['samples_per_s']:.0f} samples/s, {record['seconds']:.1f}s", flush=True)
            save("last.pt")
            if improved:
                save("best.pt")
            atomic_write_text(out / "history.json", json.dumps(st.history, indent=2) + "\n")
        done_steps = cfg.max_steps is not None and st.global_step >= cfg.max_steps
        if cfg.early_stop and st.epochs_without_improvement >= cfg.early_stop:
            stopped_early = True
        if done_steps or stopped_early:
            break
    final = st.history[-1] if st.history else {}
    if info.is_main:
        hp = {k: v for k, v in cfg.to_dict().items() if k not in ("task_options", "logger_options")}
        loggers.log_hparams(hp, {"best_" + task.metric: st.best_metric, **{
            k: v for k, v in final.items() if k.startswith("test_") and isinstance(v, float)}})
    loggers.close()
    return {"history": st.history, "best_metric": st.best_metric, "final": final, "stopped_early": stopped_early,
            "global_step": st.global_step, "model": model.module if hasattr(model, "module") else model}

"""Trainer overhead: yomitori's ``fit`` against a bare loop written like the PyTorch MNIST example.

Both train the registry's ``cnn`` on the same real MNIST samples (Adadelta lr 1.0, StepLR γ 0.7,
batch 64, cross-entropy, a DataLoader over a TensorDataset) for the same number of steps with the
same torch threads. ``fit`` runs as a user would run it: progress bar and TensorBoard on,
checkpoints, deterministic algorithms (its default). After one warm-up each, the two alternate
(A B B A A B ...) so drift in machine load hits both alike; the medians are compared.

    .venv/bin/python bench/bench_trainer.py --data-dir ../shared/data/mnist --steps 200 --rounds 3

"loop" covers the training steps only (``train_one_epoch`` inside ``fit``, the bare loop's own
loop); "end to end" is the whole ``fit`` call (set-up, loggers, a 1,000-sample evaluation,
checkpoints), data already in memory for both. Each is given per wall-clock second and per CPU
second of the process (all its threads): on a shared machine wall time measures the neighbours
too, CPU time much less so (use ``--threads 1`` there). The overhead budget (≤ 10 %) is about the
loop; the exit status is 1 if the CPU-time loop ratio is below 0.9.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from yomitori.data.mnist import load_mnist
from yomitori.models import create_model
from yomitori.train import loop
from yomitori.train.config import TrainConfig
from yomitori.train.tasks import MnistTask


class PreloadedMnist(MnistTask):
    """The MNIST task with its tensors already in memory, so neither side times file parsing."""

    def __init__(self, train: TensorDataset, test: TensorDataset) -> None:
        self.train, self.test = train, test

    def datasets(self, cfg):
        return self.train, self.test


@contextmanager
def clock(into: dict[str, float]):
    """Wall and process CPU seconds of the block, added to ``into``."""
    w, c = time.perf_counter(), time.process_time()
    yield
    into["wall"] = into.get("wall", 0.0) + time.perf_counter() - w
    into["cpu"] = into.get("cpu", 0.0) + time.process_time() - c


def run_bare(train: TensorDataset, steps: int, seed: int) -> dict[str, float]:
    """The PyTorch MNIST example's train loop; returns its wall and CPU seconds."""
    torch.use_deterministic_algorithms(False)  # the example does not ask for determinism
    torch.manual_seed(seed)
    model = create_model("cnn")
    loader = DataLoader(train, batch_size=64, shuffle=True)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    model.train()
    times: dict[str, float] = {}
    with clock(times):
        for batch_idx, (data, target) in enumerate(loader):
            optimizer.zero_grad()
            output = model(data)
            loss = F.cross_entropy(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % 10 == 0:  # the example prints the loss every 10 batches
                loss.item()
            if batch_idx + 1 == steps:
                break
    scheduler.step()
    assert batch_idx + 1 == steps
    return times


def run_trainer(train: TensorDataset, test: TensorDataset, steps: int, seed: int, threads: int,
                out: Path) -> tuple[dict[str, float], dict[str, float]]:
    """``fit`` for exactly one epoch of ``steps`` batches; returns the loop's and the whole call's
    wall and CPU seconds."""
    cfg = TrainConfig(task="mnist", model="cnn", epochs=1, batch_size=64, test_batch_size=1000,
                      optimizer="adadelta", seed=seed, out=str(out), logger="tensorboard", progress="bar",
                      threads=threads)
    torch.manual_seed(seed)
    model = create_model("cnn")
    inner, outer = {}, {}
    original = loop.train_one_epoch

    def timed_epoch(*a, **kw):  # fit looks the function up at call time
        with clock(inner):
            return original(*a, **kw)

    loop.train_one_epoch = timed_epoch
    try:
        with clock(outer):
            res = loop.fit(cfg, PreloadedMnist(train, test), model)
    finally:
        loop.train_one_epoch = original
    assert res["global_step"] == steps, res["global_step"]
    return inner, outer


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("YOMITORI_MNIST", "../shared/data/mnist"))
    p.add_argument("--steps", type=int, default=200, help="optimizer steps per run (batch 64)")
    p.add_argument("--rounds", type=int, default=3, help="timed runs of each, alternating")
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    train_split = load_mnist(args.data_dir, "train", limit=args.steps * 64)
    test_split = load_mnist(args.data_dir, "test", limit=1000)
    train = TensorDataset(train_split.images, train_split.labels)
    test = TensorDataset(test_split.images, test_split.labels)
    warm = TensorDataset(train_split.images[: args.warmup_steps * 64], train_split.labels[: args.warmup_steps * 64])
    print(f"torch {torch.__version__}, {args.threads} threads, {args.steps} steps × 64 = {args.steps * 64} samples, "
          f"{args.rounds} rounds, load {os.getloadavg()[0]:.2f}", flush=True)

    samples = args.steps * 64
    bare: list[dict[str, float]] = []
    trainer: list[dict[str, float]] = []
    e2e: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        run_bare(warm, args.warmup_steps, args.seed)
        run_trainer(warm, test, args.warmup_steps, args.seed, args.threads, Path(tmp) / "warm")
        for r in range(args.rounds):
            order = ("bare", "trainer") if r % 2 == 0 else ("trainer", "bare")
            for which in order:
                if which == "bare":
                    bare.append(run_bare(train, args.steps, args.seed))
                else:
                    a, b = run_trainer(train, test, args.steps, args.seed, args.threads, Path(tmp) / f"r{r}")
                    trainer.append(a)
                    e2e.append(b)
            print(f"round {r + 1}: bare {samples / bare[-1]['wall']:.0f}, trainer {samples / trainer[-1]['wall']:.0f} "
                  "samples/s", file=sys.stderr, flush=True)

    def rate(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(samples / t[key] for t in runs)

    print(f"\n{'samples/s (median)':<24}{'per wall s':>12}{'per CPU s':>12}")
    for name, runs in (("bare loop", bare), ("trainer (loop)", trainer), ("trainer (end to end)", e2e)):
        print(f"{name:<24}{rate(runs, 'wall'):>12.0f}{rate(runs, 'cpu'):>12.0f}")
    wall = rate(trainer, "wall") / rate(bare, "wall")
    cpu = rate(trainer, "cpu") / rate(bare, "cpu")
    print(f"\ntrainer / bare (loop): {wall:.3f} per wall s, {cpu:.3f} per CPU s; overhead "
          f"{100 * (1 - cpu):+.1f} % of CPU (budget 10 %); end to end {rate(e2e, 'wall') / rate(bare, 'wall'):.3f}; "
          f"load {os.getloadavg()[0]:.2f}")
    return 0 if cpu >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())

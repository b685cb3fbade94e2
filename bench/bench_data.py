"""Samples per second of the synthetic data engine through a DataLoader, 1 and 2 workers, next to
the speed the line recognizer trains at.

    .venv/bin/python bench/bench_data.py [--seconds 8] [--batch 32] [--train-steps 20]

Characters (64 × 64), lines (32 px high, half vertical; clean and scan-degraded) and whole pages
(the layout model's page engine, A4-like at its default size), rendered on the fly; the first
batch (font coverage, caches, worker start-up) is not timed. The last rows time training steps of
the shipped line recognizer (crnn_resnet_small, batch 32, AdamW, one thread per worker count's
remaining core) on pre-rendered lines of the same engine, so that the table says whether
rendering keeps up with training or must be pre-rendered into shards (``yomitori data build``).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader


def _collate(samples: list) -> int:
    return len(samples)


def bench(dataset: torch.utils.data.Dataset, workers: int, seconds: float, batch: int) -> float:
    loader = DataLoader(dataset, batch_size=batch, num_workers=workers, collate_fn=_collate,
                        persistent_workers=workers > 0)
    it = iter(loader)
    next(it)  # warm-up
    n, t0 = 0, time.perf_counter()
    for got in it:
        n += got
        if time.perf_counter() - t0 > seconds:
            break
    return n / (time.perf_counter() - t0)


def train_rate(steps: int, batch: int, threads: int) -> float:
    """Lines/s of the line recognizer's training steps (the lines task's own collate, forward and
    CTC loss; AdamW) on lines rendered before the clock starts."""
    from yomitori.data.lines import LineConfig
    from yomitori.models import create_model
    from yomitori.train.lines_task import LinesTask, LineStream

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    task = LinesTask(height=32)
    data = LineStream(7, batch * 4, LineConfig(height_px=32, vertical_prob=0.5), 32, task.charset)
    items = [data[i] for i in range(len(data))]
    batches = [task.collate(items[k * batch:(k + 1) * batch]) for k in range(4)]
    model = create_model("crnn_resnet_small", **task.model_kwargs()).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(b: tuple) -> None:
        inputs, target = b
        loss = task.loss(task.forward(model, inputs), target)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(batches[0])  # warm-up
    t0 = time.perf_counter()
    for i in range(steps):
        step(batches[i % len(batches)])
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    from yomitori.data.chars import CharConfig, CharDataset
    from yomitori.data.lines import LineConfig, LineDataset
    from yomitori.data.loading import RenderedDataset
    from yomitori.data.pages import PageConfig, render_page

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train-steps", type=int, default=20, help="0: skip the training-speed rows")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = (("chars", CharDataset(0, 10**7, CharConfig()), args.batch),
             ("lines", LineDataset(0, 10**7, LineConfig(height_px=32, vertical_prob=0.5)), args.batch),
             ("lines (degraded)", LineDataset(0, 10**7, LineConfig(height_px=32, vertical_prob=0.5,
                                                                     degrade_strength=0.6)), args.batch),
             ("pages", RenderedDataset(render_page, PageConfig(), 0, 10**6), 2))
    print("| what | workers | samples/s |\n| --- | ---: | ---: |")
    for name, ds, batch in cases:
        for workers in (1, 2):
            rate = bench(ds, workers, args.seconds, batch)
            print(f"| render {name} | {workers} | {rate:.1f} |", flush=True)
    if args.train_steps:
        for threads in (1, 2):
            rate = train_rate(args.train_steps, args.batch, threads)
            print(f"| train line recognizer (crnn_resnet_small, batch {args.batch}), {threads} thread(s) "
                  f"| — | {rate:.1f} |", flush=True)


if __name__ == "__main__":
    main()

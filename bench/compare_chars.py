"""CNN, VGG, GoogLeNet and ResNet side by side on Japanese characters, for the same budget.

Each architecture trains with yomitori's ``fit`` on the *same* pre-rendered samples of the
``chars`` task (training fonts + KanjiVG, ``prepare_char`` preprocessing), AdamW with warm-up
and a cosine schedule that ends exactly at the budget, then is evaluated on the same held-out
streams: printed (BIZ UD, Motoya, Dejima), handwriting (Klee One, Yusei Magic — a proxy, no
real handwriting is available) and brush (Aoyagi Soseki), broken down by kana / Jōyō / JIS
level 1 / JIS level 2, with ECE before and after temperature scaling (fitted on a separate
held-out stream). One table is printed and written to ``OUT/table.md`` (+ ``OUT/results.json``).

Budget: ``--budget-steps N`` (same optimizer steps) or ``--budget-seconds S`` (same *CPU*
seconds of this process, measured on a few warm-up steps and turned into steps: on a shared
machine wall time would measure the neighbours). Latency is the median CPU time per forward
pass at batch 1 and 256 with ``--threads`` torch threads.

Pilot (a few hundred classes, minutes per model, one core)::

    OMP_NUM_THREADS=1 .venv/bin/python bench/compare_chars.py --classes kana+random:200 \\
        --budget-seconds 180 --pool 40000 --eval-size 500 --calib-size 500 --threads 1

Full comparison (every class; a GPU or many cores)::

    .venv/bin/python bench/compare_chars.py --classes all --budget-seconds 3600 --pool 2000000 \\
        --eval-size 3000 --calib-size 3000 --device cuda --batch-size 256 --threads 16
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from yomitori.models import count_flops, count_parameters, create_model
from yomitori.train.chars_task import GROUPS, STYLES, CharsTask
from yomitori.train.config import TrainConfig
from yomitori.train.loop import fit, seed_everything

GROUP_TITLES = {"kana": "kana", "joyo": "Jōyō", "jis1": "JIS1", "jis2": "JIS2"}


class Pool(Dataset):
    """``length`` items cycling over pre-rendered samples (uint8 ink, dequantised per item)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, length: int, mean: float, std: float) -> None:
        self.images, self.labels, self.length, self.mean, self.std = images, labels, length, mean, std

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        j = i % len(self.labels)
        x = self.images[j].float().div_(255.0).sub_(self.mean).div_(self.std)
        return x[None], int(self.labels[j])


def render_pool(task: CharsTask, n: int, seed: int, cache: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Render and prepare ``n`` training samples once (cached as .npz), as uint8 ink in [0, 255]."""
    if cache.exists():
        d = np.load(cache)
        return torch.from_numpy(d["images"]), torch.from_numpy(d["labels"])
    cfg = TrainConfig(seed=seed, limit_train=n, limit_test=1)
    train, _ = task.datasets(cfg)
    images = np.empty((n, task.input_size, task.input_size), np.uint8)
    labels = np.empty(n, np.int64)
    t0 = time.perf_counter()
    for i in range(n):
        x, y = train[i]
        ink = x[0].numpy() * task.prep.std + task.prep.mean
        images[i] = np.clip(np.rint(ink * 255.0), 0, 255).astype(np.uint8)
        labels[i] = y
        if (i + 1) % 5000 == 0:
            print(f"  rendered {i + 1}/{n} ({(i + 1) / (time.perf_counter() - t0):.0f}/s)", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=images, labels=labels)
    return torch.from_numpy(images), torch.from_numpy(labels)


def render_eval(task: CharsTask, cache: Path) -> TensorDataset:
    if cache.exists():
        d = np.load(cache)
        return TensorDataset(torch.from_numpy(d["x"]), torch.from_numpy(d["t"]))
    _, ev = task.datasets(TrainConfig(limit_train=1))
    xs, ts = zip(*(ev[i] for i in range(len(ev))), strict=True)
    x, t = torch.stack(xs), torch.stack(ts)
    np.savez(cache, x=x.numpy(), t=t.numpy())
    return TensorDataset(x, t)


def cpu_latency_ms(model: torch.nn.Module, size: int, batch: int, runs: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of one forward pass at ``batch`` after one warm-up."""
    model.eval()
    x = torch.randn(batch, 1, size, size)
    cpu, wall = [], []
    with torch.inference_mode():
        model(x)
        for _ in range(runs):
            c0, w0 = time.process_time(), time.perf_counter()
            model(x)
            cpu.append((time.process_time() - c0) * 1e3)
            wall.append((time.perf_counter() - w0) * 1e3)
    return statistics.median(cpu), statistics.median(wall)


def step_cpu_seconds(model: torch.nn.Module, pool: Pool, batch: int, steps: int = 4) -> float:
    """CPU seconds of one training step (forward, backward, AdamW), median of a few."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    xs = torch.stack([pool[i][0] for i in range(batch)])
    ys = torch.tensor([pool[i][1] for i in range(batch)])
    times = []
    for k in range(steps + 1):
        c0 = time.process_time()
        loss = torch.nn.functional.cross_entropy(model(xs), ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if k:
            times.append(time.process_time() - c0)
    return statistics.median(times)


def run_model(name: str, task: CharsTask, pool: Pool, eval_ds: TensorDataset, args: argparse.Namespace) -> dict:
    seed_everything(args.seed)
    model = create_model(name, **task.model_kwargs())
    size = task.input_size
    row = {"model": name, "params": count_parameters(model),
           "flops": count_flops(model, torch.zeros(1, 1, size, size))}
    if args.budget_steps:
        steps = args.budget_steps
    else:
        per_step = step_cpu_seconds(model, pool, args.batch_size)
        steps = max(10, int(args.budget_seconds / per_step))
        seed_everything(args.seed)
        model = create_model(name, **task.model_kwargs())  # the probe's updates are thrown away
    pool.length = steps * args.batch_size

    bench_task = copy.copy(task)
    bench_task._epochs = []
    bench_task.datasets = lambda cfg: (pool, eval_ds)  # every model: the same pre-rendered data
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(task="chars", model=name, epochs=1, batch_size=args.batch_size, test_batch_size=250,
                          optimizer="adamw", lr=args.lr, warmup_epochs=0.05, seed=args.seed, out=tmp,
                          logger="none", progress="off", threads=args.threads, device=args.device)
        c0, w0 = time.process_time(), time.perf_counter()
        result = fit(cfg, bench_task, model)
        row.update(train_cpu_s=time.process_time() - c0, train_wall_s=time.perf_counter() - w0)
    row.update(steps=steps, samples=steps * args.batch_size,
               metrics={k[5:]: v for k, v in result["final"].items() if k.startswith("test_")},
               samples_per_s=result["final"].get("samples_per_s"))
    model = result["model"].cpu().eval()
    row["confusions"] = top_confusions(model, eval_ds, task.labels)
    if args.save_models:
        from yomitori.models.io import save_weights

        save_weights(model, args.out / f"{name}.safetensors",
                     {"task": "chars", "labels": task.labels, **bench_task.weights_meta()})
    row["lat_b1_cpu_ms"], row["lat_b1_wall_ms"] = cpu_latency_ms(model, size, 1, args.latency_runs)
    row["lat_b256_cpu_ms"], row["lat_b256_wall_ms"] = cpu_latency_ms(model, size, 256, 2)
    return row


@torch.inference_mode()
def top_confusions(model: torch.nn.Module, eval_ds: TensorDataset, labels: list[str], n: int = 20) -> list:
    """The most frequent (true, predicted, style, count) mistakes on the held-out test streams."""
    x, t = eval_ds.tensors
    test = t[:, 1] < len(STYLES)
    pred = torch.cat([model(x[test][i:i + 250]).argmax(1) for i in range(0, int(test.sum()), 250)])
    counts: dict[tuple[str, str, str], int] = {}
    for y, p, s in zip(t[test, 0].tolist(), pred.tolist(), t[test, 1].tolist(), strict=True):
        if y != p:
            key = (labels[y], labels[p], STYLES[s])
            counts[key] = counts.get(key, 0) + 1
    return [[*k, v] for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:n]]


def sample_counts(task: CharsTask, eval_ds: TensorDataset) -> str:
    """A footnote: held-out samples per style and group, so that small cells read as small."""
    t = eval_ds.tensors[1]
    parts = []
    for sid, style in enumerate(STYLES):
        m = t[:, 1] == sid
        if m.any():
            g = task.groups[t[m, 0]].sum(0).tolist()
            parts.append(f"{style} {int(m.sum())} (" + ", ".join(
                f"{GROUP_TITLES[name]} {int(g[i])}" for i, name in enumerate(GROUPS) if name in GROUP_TITLES) + ")")
    return "Held-out samples: " + "; ".join(parts) + "."


def _pct(m: dict, key: str) -> str:
    return f"{m[key] * 100:.1f}" if key in m else "–"


def format_table(rows: list[dict]) -> str:
    head = ("| model | params | MFLOPs | ms b1 | ms b256 | steps (CPU s) | eval style | top-1 | top-5 | "
            + " | ".join(GROUP_TITLES.values()) + " | ECE → scaled (T) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        m = r["metrics"]
        first = True
        for style in STYLES:
            if f"{style}_top1" not in m:
                continue
            label = style + (" (proxy)" if style == "handwriting" else "")
            groups = " | ".join(_pct(m, f"{style}_{g}_top1") for g in GROUPS if g in GROUP_TITLES)
            if first:
                lead = (f"| {r['model']} | {r['params'] / 1e6:.2f} M | {r['flops'] / 1e6:.0f} | "
                        f"{r['lat_b1_cpu_ms']:.1f} | {r['lat_b256_cpu_ms']:.0f} | "
                        f"{r['steps']} ({r['train_cpu_s']:.0f}) |")
                ece = f"{m['ece'] * 100:.1f} → {m['ece_calibrated'] * 100:.1f} % ({m['temperature']:.2f})"
            else:
                lead, ece = "| | | | | | |", ""
            lines.append(f"{lead} {label} | {_pct(m, f'{style}_top1')} | {_pct(m, f'{style}_top5')} | "
                         f"{groups} | {ece} |")
            first = False
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="cnn,vgg,googlenet,resnet18")
    p.add_argument("--input-size", type=int, default=48, choices=(48, 64))
    p.add_argument("--classes", default="kana+random:200", help="class spec of the chars task, or 'all'")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-steps", type=int, help="optimizer steps per model")
    budget.add_argument("--budget-seconds", type=float, help="CPU seconds of training per model")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--pool", type=int, default=40000, help="pre-rendered training samples (cycled)")
    p.add_argument("--eval-size", type=int, default=500, help="held-out samples per style")
    p.add_argument("--calib-size", type=int, default=500, help="held-out samples for the temperature")
    p.add_argument("--degrade", type=float, default=0.0, help="scan degradation of training samples")
    p.add_argument("--fonts", default="", help="restrict to these font families (comma list; smoke tests)")
    p.add_argument("--latency-runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save-models", action="store_true", help="write OUT/MODEL.safetensors (+ .json)")
    p.add_argument("--table-from", type=Path, help="re-print the table of this results.json, train nothing")
    p.add_argument("--out", type=Path, default=Path("runs/compare_chars"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    task = CharsTask(input_size=args.input_size, classes=args.classes, eval_size=args.eval_size,
                     calib_size=args.calib_size, degrade=args.degrade, fonts=args.fonts)
    key = hashlib.sha256(json.dumps([args.classes, args.input_size, args.seed, args.degrade, args.eval_size,
                                     args.calib_size, args.fonts]).encode()).hexdigest()[:10]
    print(f"{task.num_classes} classes at {args.input_size} px; rendering {args.pool} training samples",
          flush=True)
    images, labels = render_pool(task, args.pool, args.seed, args.out / f"pool-{key}-{args.pool}.npz")
    pool = Pool(images, labels, len(labels), task.prep.mean, task.prep.std)
    eval_ds = render_eval(task, args.out / f"eval-{key}.npz")
    task.styles_used = [s for s in STYLES if (eval_ds.tensors[1][:, 1] == STYLES.index(s)).any()]
    rows = []
    if args.table_from:  # re-print a finished comparison (same data arguments)
        rows = json.loads(args.table_from.read_text("utf-8"))["rows"]
    for name in [] if args.table_from else args.models.split(","):
        print(f"== {name}", flush=True)
        rows.append(run_model(name, task, pool, eval_ds, args))
        print(format_table(rows[-1:]), flush=True)
    budget = (f"{args.budget_steps} steps" if args.budget_steps else f"{args.budget_seconds:.0f} CPU s")
    table = format_table(rows)
    title = (f"{task.num_classes} classes ({args.classes}), {args.input_size} px, budget {budget} per model "
             f"at batch {args.batch_size}, {args.threads} thread(s); top-1/top-5 in %, group columns top-1 "
             f"of that style; latency = median CPU ms per forward pass")
    table += "\n\n" + sample_counts(task, eval_ds)
    print("\n" + title + "\n\n" + table)
    if not args.table_from:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.md").write_text(f"{title}\n\n{table}\n\ncommand: {' '.join(sys.argv)}\n", "utf-8")
        (args.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                           "rows": rows}, indent=1, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

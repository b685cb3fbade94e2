"""The four classic architectures side by side on MNIST, trained the same way in one run.

Prints a Markdown table: parameters, MFLOPs per image (28 × 28), test accuracy after N epochs,
seconds per epoch on this machine. Each model: Adadelta + StepLR (the classic recipe), seed 1.

    .venv/bin/python bench/mnist_zoo.py --epochs 1 --threads 2 [--models cnn,vgg,googlenet,resnet18]
"""

from __future__ import annotations

import argparse
import json
import tempfile

import torch

from yomitori.models import count_flops, count_parameters, create_model
from yomitori.train.config import TrainConfig
from yomitori.train.loop import fit, seed_everything
from yomitori.train.tasks import MnistTask


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--models", default="cnn,vgg,googlenet,resnet18")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--json-out", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models.split(","):
        with tempfile.TemporaryDirectory() as out:
            cfg = TrainConfig(task="mnist", model=name, epochs=args.epochs, data_dir=args.data_dir, out=out,
                              logger="none", progress="lines", log_every=200, seed=1, threads=args.threads,
                              limit_train=args.limit_train)
            task = MnistTask()
            seed_everything(cfg.seed)
            model = create_model(name, **task.model_kwargs())
            params = count_parameters(model)
            flops = count_flops(model, torch.zeros(1, 1, 28, 28))
            res = fit(cfg, task, model)
            secs = sum(h["seconds"] for h in res["history"]) / len(res["history"])
            rows.append({"model": name, "params": params, "mflops": flops / 1e6, "epochs": args.epochs,
                         "test_accuracy": res["final"]["test_accuracy"], "seconds_per_epoch": secs})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n| model | parameters | MFLOPs / image | test accuracy after {args.epochs} epoch(s) | s / epoch |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {r['params']:,} | {r['mflops']:.1f} | {100 * r['test_accuracy']:.2f} % "
              f"| {r['seconds_per_epoch']:.0f} |")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()

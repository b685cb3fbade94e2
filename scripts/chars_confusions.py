"""List the confusions of a character classifier on the held-out streams (truth→prediction).

    .venv/bin/python scripts/chars_confusions.py src/yomitori/weights/chars_resnet_lines.safetensors \\
        --per-style 3000

The same streams as ``yomitori eval`` (held-out fonts, ``--seed`` = the task's ``eval_seed``,
20240 by default): top-1 per style, then every error in stream order.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import torch

from yomitori.models.io import load_weights
from yomitori.train.chars_task import STYLES, CharsTask
from yomitori.train.config import TrainConfig


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights")
    p.add_argument("--per-style", type=int, default=1000)
    p.add_argument("--seed", type=int, default=20240)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, meta = load_weights(args.weights)
    task = CharsTask(input_size=meta["input_size"], classes=meta.get("classes", "all"),
                     eval_size=args.per_style, calib_size=0, eval_seed=args.seed)
    cfg = TrainConfig(task="chars")
    cfg.limit_train = 1
    _, test = task.datasets(cfg)
    errors: dict[str, list[str]] = defaultdict(list)
    total, right = Counter(), Counter()
    with torch.no_grad():
        for x, t in torch.utils.data.DataLoader(test, batch_size=250):
            for pred, (label, style) in zip(model(x).argmax(1).tolist(), t.tolist(), strict=True):
                name = STYLES[style]
                total[name] += 1
                right[name] += pred == label
                if pred != label:
                    errors[name].append(f"{task.labels[label]}→{task.labels[pred]}")
    for name in total:
        print(f"{name}: top-1 {right[name] / total[name] * 100:.2f} % of {total[name]}, {len(errors[name])} errors")
        print("  " + " ".join(errors[name]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``yomitori predict``: classify images (digits, characters) with a checkpoint or weights."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from yomitori.errors import UserError

HELP = "classify images"
DESCRIPTION = """Classify picture files with a trained classifier and print the top-k labels with their
probabilities. Digits may be any size, dark-on-light or light-on-dark: they are normalised to
MNIST style (ink box scaled to 20 px, centred by mass in 28 × 28).

Examples:
  yomitori predict src/yomitori/weights/mnist_cnn.safetensors examples/digits/*.png
  yomitori predict runs/mnist/best.pt my_digit.jpg --top-k 3 --json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help=".safetensors weights (with .json beside) or a .pt checkpoint")
    p.add_argument("images", nargs="+", help="PNG or JPEG files")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("-o", "--output", help="also write the JSON result to this file (atomically)")


def load_any(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load shipped weights (.safetensors) or a training checkpoint (.pt) → (model, meta)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from yomitori.models.io import load_weights

        return load_weights(path)
    from yomitori.models import create_model
    from yomitori.train.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    try:
        cfg = json.loads(ck["config"])
        model = create_model(ck["model_name"], **json.loads(ck["model_kwargs"]))
        model.load_state_dict(ck["model"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise UserError(f"{path}: not a yomitori training checkpoint ({str(exc).splitlines()[0]})") from None
    model.eval()
    labels = [str(i) for i in range(10)] if cfg["task"] == "mnist" else None
    meta = {"task": cfg["task"], "config": cfg, "labels": labels, "model": ck["model_name"],
            "model_kwargs": json.loads(ck["model_kwargs"])}
    if cfg["task"] == "lines":
        from yomitori.charset import default_charset

        meta.update(height=meta["model_kwargs"].get("height", 32), charset_sha256=default_charset().sha256)
    return model, meta


def run(args: argparse.Namespace) -> int:
    import torch

    from yomitori.atomic import atomic_write_text
    from yomitori.data.preprocess import get_preprocessor
    from yomitori.imageio import open_image

    if args.output:
        out_dir = Path(args.output).resolve().parent
        if not out_dir.is_dir():
            raise UserError(f"{args.output}: output folder does not exist")
    images = [open_image(p) for p in args.images]  # validate every input before any work
    model, meta = load_any(args.checkpoint)
    task = meta.get("task", "mnist")
    try:
        prep = get_preprocessor(task)
    except KeyError as exc:
        raise UserError(f"{args.checkpoint}: {exc.args[0]}") from None
    labels = meta.get("labels") or [str(i) for i in range(10)]
    x = torch.stack([prep(img, meta) for img in images])
    from yomitori.recognition.calibration import calibrated_probs

    with torch.no_grad():
        probs = calibrated_probs(model(x), meta)  # temperature from the weights JSON (1.0 if none)
    k = min(args.top_k, probs.shape[1])
    top = probs.topk(k, dim=1)
    results = []
    for path, values, indices in zip(args.images, top.values.tolist(), top.indices.tolist(), strict=True):
        results.append({"image": path, "top": [{"label": labels[i], "probability": round(v, 6)}
                                               for v, i in zip(values, indices, strict=True)]})
    text = json.dumps(results, ensure_ascii=False, indent=2)
    if args.output:
        atomic_write_text(args.output, text + "\n")
    if args.json:
        print(text)
    else:
        for r in results:
            alts = "  ".join(f"{t['label']} {t['probability']:.4f}" for t in r["top"])
            print(f"{r['image']}: {r['top'][0]['label']}   ({alts})")
    return 0

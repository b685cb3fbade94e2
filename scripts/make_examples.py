"""Regenerate the shipped examples (deterministic): digit pictures and the sample scan.

    .venv/bin/python scripts/make_examples.py digits   # examples/digits/*.png from the MNIST test set
    .venv/bin/python scripts/make_examples.py scan     # examples/sample_scan.pdf + ground truth

Digits: MNIST test images 0-9 (first of each class), enlarged to 140 px and drawn dark on light
paper, so `yomitori predict` shows its normalisation back to MNIST style.
Scan: two held-out synthetic pages (evaluation fonts and documents, never trained on) rendered
with the page engine at 200 dpi, lightly scan-degraded, as an image-only PDF; the ground truth
(lines, boxes, text, reading order) beside it as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def make_digits() -> None:
    from yomitori.data.mnist import load_mnist

    test = load_mnist(None, "test")
    out = ROOT / "examples" / "digits"
    out.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        i = int((test.labels == digit).nonzero()[0])
        x = test.images[i, 0].numpy() * 0.3081 + 0.1307  # undo normalisation -> [0, 1]
        img = Image.fromarray((255 - x * 255).clip(0, 255).astype(np.uint8)).resize((140, 140), Image.BICUBIC)
        img.save(out / f"digit_{digit}.png", optimize=True)
    print(f"wrote {out}/digit_0..9.png")


def make_scan() -> None:
    import dataclasses

    from yomitori.atomic import atomic_write_text
    from yomitori.data.pages import PageConfig, render_page

    base = PageConfig(split="eval", dpi=(200, 200), degrade_prob=1.0, degrade_strength=0.25, sizes=("A4",),
                      furigana_prob=1.0)
    pages, truth = [], []
    for index, kind in enumerate(("vertical", "horizontal")):
        sample = render_page(20261129, index, dataclasses.replace(base, kinds=((kind, 1.0),)))
        pages.append(Image.fromarray(sample.image).convert("L"))
        truth.append(sample.to_dict())
    out = ROOT / "examples" / "sample_scan.pdf"
    pages[0].save(out, save_all=True, append_images=pages[1:], resolution=200.0)
    atomic_write_text(out.with_suffix(".truth.json"), json.dumps(truth, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {out} and its ground truth")


if __name__ == "__main__":
    what = sys.argv[1:] or ["digits", "scan"]
    if "digits" in what:
        make_digits()
    if "scan" in what:
        make_scan()

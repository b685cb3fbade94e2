"""Pre-rendered pages on disk: render once in the background, train many epochs from the files.

Each page ``i`` of a split becomes ``{out}/{split}/{i:06d}.png`` (grey, resized to the working
long side with :func:`yomitori.layout.prepare.resize_page`) and ``{i:06d}.json`` (the ground
truth of :meth:`PageSample.to_dict`, boxes and polygons scaled to the stored image). Rendering
is resumable: existing pages are skipped. Run it in the background::

    nohup .venv/bin/python -m yomitori.data.page_store --out data/pages_v1 --split train \\
        --count 3000 --seed 1 > logs/pages_train.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from yomitori.atomic import atomic_write_bytes, atomic_write_text
from yomitori.data.pages import PageConfig, PageSample, render_page
from yomitori.layout.prepare import resize_page

# the page streams behind the shipped layout weights
TRAIN_CONFIG = PageConfig(split="train", degrade_prob=0.4, degrade_strength=0.6)
EVAL_CONFIG = PageConfig(split="eval", degrade_prob=0.5, degrade_strength=0.6)


def scaled_record(sample: PageSample, sx: float, sy: float) -> dict[str, Any]:
    """Ground truth with every box and polygon multiplied by (sx, sy)."""
    d = scale_record(sample.to_dict(), sx, sy)
    d["page_width_px"], d["page_height_px"] = d["width_px"], d["height_px"]
    return d


def scale_record(rec: dict[str, Any], sx: float, sy: float) -> dict[str, Any]:
    """A copy of a ground-truth record with boxes, polygons and cells scaled by (sx, sy)."""
    d = json.loads(json.dumps(rec))

    def box(b: list[float]) -> list[float]:
        return [round(b[0] * sx, 2), round(b[1] * sy, 2), round(b[2] * sx, 2), round(b[3] * sy, 2)]

    for ln in d["lines"]:
        ln["bbox"] = box(ln["bbox"])
        ln["polygon"] = [[round(x * sx, 2), round(y * sy, 2)] for x, y in ln["polygon"]]
    for r in d["regions"]:
        r["bbox"] = box(r["bbox"])
        for c in r["cells"]:
            c["bbox"] = box(c["bbox"])
    old = d.get("scale", [1.0, 1.0])
    d["scale"] = [old[0] * sx, old[1] * sy]
    return d


def store_page(out: Path, split: str, index: int, seed: int, cfg: PageConfig, long_side: int) -> None:
    sample = render_page(seed, index, cfg)
    image, (sx, sy) = resize_page(sample.image, long_side)
    rec = scaled_record(sample, sx, sy)
    rec["width_px"], rec["height_px"] = int(image.shape[1]), int(image.shape[0])
    import io

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=3)
    atomic_write_bytes(out / split / f"{index:06d}.png", buf.getvalue())
    atomic_write_text(out / split / f"{index:06d}.json", json.dumps(rec, ensure_ascii=False) + "\n")


def prerender(out: Path, split: str, start: int, stop: int, seed: int, long_side: int = 1024,
              cfg: PageConfig | None = None, log_every: int = 50) -> int:
    """Render pages [start, stop) of ``split`` that are not on disk yet; returns how many were made."""
    cfg = cfg or (TRAIN_CONFIG if split == "train" else EVAL_CONFIG)
    cfg = replace(cfg, split=split)
    (out / split).mkdir(parents=True, exist_ok=True)
    made, t0 = 0, time.time()
    for i in range(start, stop):
        if (out / split / f"{i:06d}.json").exists():
            continue
        store_page(out, split, i, seed, cfg, long_side)
        made += 1
        if made % log_every == 0:
            print(f"{split}: {made} pages, {made / (time.time() - t0):.2f} pages/s (index {i})", flush=True)
    meta = {"split": split, "seed": seed, "long_side": long_side, "config": repr(cfg)}
    atomic_write_text(out / split / "meta.json", json.dumps(meta, indent=2) + "\n")
    return made


def load_record(out: Path, split: str, index: int) -> tuple[np.ndarray, dict[str, Any]]:
    image = np.asarray(Image.open(out / split / f"{index:06d}.png").convert("L"))
    rec = json.loads((out / split / f"{index:06d}.json").read_text(encoding="utf-8"))
    return image, rec


def stored_indices(out: Path, split: str) -> list[int]:
    return sorted(int(p.stem) for p in (out / split).glob("[0-9]*.json"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="data/pages_v1")
    p.add_argument("--split", default="train", choices=["train", "eval"])
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--long-side", type=int, default=1024)
    a = p.parse_args(argv)
    n = prerender(Path(a.out), a.split, a.start, a.start + a.count, a.seed, a.long_side)
    print(f"done: {n} new pages in {a.out}/{a.split}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

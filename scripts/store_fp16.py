"""Store a weights file's float32 tensors as float16 (half the size; loading casts them back).

    .venv/bin/python scripts/store_fp16.py src/yomitori/weights/chars_resnet_lines.safetensors

Rewrites ``W.safetensors`` atomically and records ``"storage_dtype": "float16"`` in ``W.json``.
``load_weights`` copies the tensors into the float32 model, so nothing else changes; check the
accuracy after (``yomitori eval W``): fp16 keeps 11 significant bits, far below what moves a
classifier's top-1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from yomitori.atomic import atomic_write_bytes, atomic_write_text
from yomitori.models.io import meta_path, read_meta


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", type=Path)
    args = p.parse_args()
    meta = read_meta(args.weights)
    state = {k: (v.half() if v.dtype == torch.float32 else v).contiguous() for k, v in load_file(args.weights).items()}
    atomic_write_bytes(args.weights, save(state, metadata={"model": meta["model"]}))
    meta["storage_dtype"] = "float16"
    atomic_write_text(meta_path(args.weights), json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {args.weights} ({args.weights.stat().st_size / 1e6:.1f} MB, float16 storage)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

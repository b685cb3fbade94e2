"""Shipped weights: safetensors for the tensors, a JSON beside it for the metadata.

``foo.safetensors`` + ``foo.json``; the JSON holds ``model`` (registry name), ``model_kwargs``
(constructor arguments), and free metadata (task, data, epochs, seed, metrics, the exact command).
Loading needs no pickle at all, so a weights file from anywhere is safe to open.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save
from torch import nn

from yomitori.atomic import atomic_write_bytes, atomic_write_text
from yomitori.errors import UserError
from yomitori.models.registry import create_model


def meta_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def save_weights(model: nn.Module, path: str | Path, meta: dict[str, Any]) -> None:
    """Write ``path`` (safetensors) and its JSON atomically. ``meta`` must be JSON-serialisable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"model": model.yomitori_name, "model_kwargs": model.yomitori_config, **meta}  # type: ignore[attr-defined]
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={"model": meta["model"]}))
    atomic_write_text(meta_path(path), json.dumps(meta, ensure_ascii=False, indent=2) + "\n")


def read_meta(path: str | Path) -> dict[str, Any]:
    mp = meta_path(path)
    try:
        return json.loads(mp.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{mp}: missing metadata JSON beside the weights") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{mp}: unreadable metadata ({exc})") from None


def load_weights(path: str | Path, map_location: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model named in the JSON and load the safetensors tensors into it (eval mode)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such weights file")
    meta = read_meta(path)
    model = create_model(meta["model"], **meta.get("model_kwargs", {}))
    try:
        state = load_file(str(path), device=map_location)
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types
        raise UserError(f"{path}: not a valid safetensors file ({exc})") from None
    model.load_state_dict(state)
    model.eval()
    return model, meta

"""Training checkpoints: full state, written atomically, loaded with ``weights_only=True``.

A checkpoint is a dict of tensors and plain Python values only (no pickled objects), so it
loads with ``torch.load(..., weights_only=True)``:

    model, optimizer, scheduler, scaler   state dicts
    rng                                   torch / numpy / python generator states
    epoch, step_in_epoch, global_step     where training stands (next step to run)
    best_metric, history, config          metrics so far and the resolved run configuration
    model_name, model_kwargs              to rebuild the model from the file alone

A kill during a save leaves the previous file intact (write to a temp sibling, fsync, rename).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from yomitori.atomic import atomic_write_bytes
from yomitori.errors import UserError


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": [py_version, list(py_internal), py_gauss],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    v, internal, gauss = state["python"]
    random.setstate((v, tuple(internal), gauss))


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt zip, pickle refusal, truncated file...
        raise UserError(f"{path}: not a loadable yomitori checkpoint ({type(exc).__name__}: {exc})") from None

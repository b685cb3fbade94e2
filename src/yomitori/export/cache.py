"""Export-on-first-use cache for the ONNX Runtime and OpenVINO backends.

``<root>/export/<key>/model.onnx`` (or ``model.xml`` + ``model.bin``) + ``model.json``, where
``<root>`` is ``$YOMITORI_CACHE`` or ``~/.cache/yomitori`` and ``<key>`` is the SHA-256 of the
weights file, its metadata JSON, the format, precision, opset and :data:`EXPORT_VERSION`.
An entry is built in a temporary sibling folder and renamed into place, so concurrent readers
see a complete entry or none; two processes racing both build, one rename wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from yomitori.export.onnx import DEFAULT_OPSET
from yomitori.export.quantize import Calibration

EXPORT_VERSION = 1  # bump when the export code changes what it writes


def cache_root(cache_dir: str | Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("YOMITORI_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "yomitori") / "export"


def cache_key(weights: str | Path, fmt: str, precision: str, opset: int = DEFAULT_OPSET) -> str:
    from yomitori.models.io import meta_path

    h = hashlib.sha256()
    with open(weights, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    mp = meta_path(weights)
    h.update(mp.read_bytes() if mp.exists() else b"")
    h.update(f"|{fmt}|{precision}|{opset}|v{EXPORT_VERSION}".encode())
    return h.hexdigest()


def cached_export(weights: str | Path, fmt: str, precision: str = "fp32", *,
                  opset: int = DEFAULT_OPSET, calibration: Calibration | None = None,
                  cache_dir: str | Path | None = None, threads: int | None = None) -> Path:
    """Path of the exported graph for ``weights``, exporting it first if not cached."""
    from yomitori.errors import UserError
    from yomitori.export.build import SUFFIX, export_model
    from yomitori.models.io import load_weights

    weights = Path(weights)
    if not weights.exists():
        raise UserError(f"{weights}: no such weights file")
    root = cache_root(cache_dir)
    final = root / cache_key(weights, fmt, precision, opset)
    target = final / f"model{SUFFIX[fmt]}"
    if target.exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    model, meta = load_weights(weights)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        export_model(model, meta, tmp, fmt=fmt, precision=precision, stem="model", opset=opset,
                     calibration=calibration, evaluate=False, threads=threads)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: keep its entry
            if not target.exists():
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return target

"""Locating what a backend loads: shipped weights (exported through the cache) or an export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from yomitori.errors import UserError


def resolve_artifact(path: str | Path, fmt: str, precision: str, suffixes: tuple[str, ...],
                     **cache_options: Any) -> Path:
    """``.safetensors`` → cached export for ``fmt``/``precision``; an export file as it is."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from yomitori.export.cache import cached_export

        return cached_export(path, fmt, precision, **cache_options)
    if path.suffix not in suffixes:
        raise UserError(f"{path}: expected .safetensors or {' / '.join(suffixes)}")
    if not path.exists():
        raise UserError(f"{path}: no such file")
    return path


def artifact_meta(path: Path, precision: str) -> dict[str, Any]:
    """The export's JSON (empty for a foreign graph); its precision must be the one asked for."""
    mp = path.with_suffix(".json")
    if not mp.exists():
        return {}
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{mp}: unreadable export metadata ({exc})") from None
    actual = meta.get("export", {}).get("precision", precision)
    if actual != precision:
        raise UserError(f"{path}: this is a {actual} export; load it with precision={actual!r}")
    return meta

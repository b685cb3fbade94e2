"""Pre-rendered data in tar shards, so that rendering never starves a training run.

A shard is a plain tar file ``{kind}-{seed}-{n:05d}.tar`` holding, per sample, ``{index:09d}.png``
(lossless grayscale) and ``{index:09d}.json`` (label, boxes, render parameters), the layout
WebDataset reads too. ``index.json`` beside the shards records the kind, seed, index range,
config and charset hash. :func:`write_shards` renders in worker processes, and since each sample
is a pure function of (seed, index) the shards are the same whatever the worker count.
:class:`ShardStream` reads them back, shards split across DDP ranks and DataLoader workers.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from yomitori.atomic import atomic_write_text
from yomitori.charset import default_charset
from yomitori.data.loading import dist_rank_world


def sample_record(sample: Any) -> tuple[bytes, dict]:
    """(PNG bytes, JSON-able ground truth) of a LineSample or CharSample."""
    buf = io.BytesIO()
    Image.fromarray(sample.image).save(buf, format="PNG", compress_level=1)
    meta: dict[str, Any] = {"params": sample.params}
    if hasattr(sample, "text"):
        meta.update(text=sample.text, vertical=sample.vertical,
                    char_boxes=np.asarray(sample.char_boxes).tolist())
    else:
        meta["label"] = sample.label
    return buf.getvalue(), meta


def _render_range(render: Callable, cfg: Any, seed: int, start: int, stop: int) -> list[tuple[int, bytes, bytes]]:
    out = []
    for i in range(start, stop):
        png, meta = sample_record(render(seed, i, cfg))
        out.append((i, png, json.dumps(meta, ensure_ascii=False).encode("utf-8")))
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # byte-identical shards from identical samples
    tar.addfile(info, io.BytesIO(data))


def write_shards(kind: str, render: Callable, cfg: Any, seed: int, count: int, out_dir: Path,
                 shard_size: int = 1000, workers: int = 1, start: int = 0,
                 progress: bool = True) -> list[Path]:
    """Render indices ``[start, start + count)`` into tar shards under ``out_dir``.

    Resumable: a shard is a pure function of the build, so rerunning the same command after an
    interruption keeps the finished shards (recorded in ``build.json``) and renders the rest; a
    folder that holds another build is refused.
    """
    from tqdm import tqdm

    from yomitori.errors import UserError

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_dict = dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else repr(cfg)
    build = {"kind": kind, "seed": seed, "start": start, "count": count, "shard_size": shard_size,
             "config": json.loads(json.dumps(cfg_dict)), "charset_sha256": default_charset().sha256}
    build_file = out_dir / "build.json"
    before_count = count
    if build_file.exists():
        try:
            before = json.loads(build_file.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            before = None
        # Same build with another --count: the finished shards stay valid (a shard is a pure
        # function of its index range), so a build can be cut short or extended.
        if not isinstance(before, dict) or {**before, "count": count} != build:
            raise UserError(f"{out_dir}: holds shards of another build (see its build.json); use a new --out")
        before_count = int(before["count"])
    elif any(out_dir.glob("*.tar")):
        raise UserError(f"{out_dir}: holds shards of another build; use a new --out")
    ranges = [(a, min(a + shard_size, start + count)) for a in range(start, start + count, shard_size)]
    if before_count != count:  # a finished last shard of the old count covers another range: redo it
        (out_dir / "index.json").unlink(missing_ok=True)
        for n, (a, b) in enumerate(ranges):
            if b - a != min(shard_size, start + before_count - a):
                (out_dir / f"{kind}-{seed}-{n:05d}.tar").unlink(missing_ok=True)
    if before_count != count or not build_file.exists():
        atomic_write_text(build_file, json.dumps(build, ensure_ascii=False, indent=1) + "\n")
    paths = []
    bar = tqdm(total=count, unit="sample", disable=not progress, desc=f"{kind} shards")
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for n, (a, b) in enumerate(ranges):
            path = out_dir / f"{kind}-{seed}-{n:05d}.tar"
            if path.exists():  # finished by an earlier, interrupted run of this build
                paths.append(path)
                bar.update(b - a)
                continue
            if pool is not None:
                step = max(1, (b - a) // (workers * 4))
                futs = [pool.submit(_render_range, render, cfg, seed, x, min(x + step, b))
                        for x in range(a, b, step)]
                rows = []
                for f in futs:
                    got = f.result()
                    rows.extend(got)
                    bar.update(len(got))
            else:
                rows = []
                for x in range(a, b):
                    rows.extend(_render_range(render, cfg, seed, x, x + 1))
                    bar.update(1)
            tmp = path.with_suffix(".tar.tmp")
            with tarfile.open(tmp, "w") as tar:
                for i, png, meta in rows:
                    _add(tar, f"{i:09d}.png", png)
                    _add(tar, f"{i:09d}.json", meta)
            tmp.replace(path)
            paths.append(path)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    atomic_write_text(out_dir / "index.json", json.dumps({
        "format": "yomitori-shards-1", "kind": kind, "seed": seed, "start": start,
        "count": count, "shard_size": shard_size, "shards": [p.name for p in paths],
        "config": cfg_dict, "charset_sha256": default_charset().sha256,
    }, ensure_ascii=False, indent=1) + "\n")
    return paths


def shard_records(roots: list[str] | list[Path], kind: str) -> Iterator[tuple[bytes, dict]]:
    """``(PNG bytes, ground truth)`` of every sample in the shard folders ``roots``, undecoded.

    For map-style datasets that keep the compressed samples in memory and decode per item.
    """
    from yomitori.errors import UserError

    for root in roots:
        try:
            index = json.loads((Path(root) / "index.json").read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{root}: not a shard folder ({exc})") from None
        if index.get("kind") != kind:
            raise UserError(f"{root}: shards of kind {index.get('kind')!r}, expected {kind!r}")
        for name in index["shards"]:
            pngs: dict[str, bytes] = {}
            with tarfile.open(Path(root) / name) as tar:
                for member in tar:
                    key, ext = member.name.rsplit(".", 1)
                    data = tar.extractfile(member).read()
                    if ext == "png":
                        pngs[key] = data
                    else:
                        yield pngs.pop(key), json.loads(data)


def read_shard(path: Path) -> Iterator[dict]:
    """Samples of one shard: ``{"key", "image" (uint8 array), ...ground truth}``."""
    with tarfile.open(path, "r") as tar:
        pending: dict[str, dict] = {}
        for member in tar:
            key, ext = member.name.rsplit(".", 1)
            data = tar.extractfile(member).read()
            row = pending.setdefault(key, {"key": key})
            if ext == "png":
                row["image"] = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
            else:
                row.update(json.loads(data))
            if "image" in row and ("params" in row):
                yield pending.pop(key)


class ShardStream(IterableDataset):
    """Samples from the shards in ``root``; shard files split across DDP ranks × workers."""

    def __init__(self, root: Path, transform: Callable[[dict], Any] | None = None,
                 rank: int | None = None, world_size: int | None = None) -> None:
        self.root = Path(root)
        index = json.loads((self.root / "index.json").read_text("utf-8"))
        self.shards = [self.root / name for name in index["shards"]]
        self.index = index
        self.transform = transform
        self.rank, self.world_size = rank, world_size

    def my_shards(self) -> list[Path]:
        rank, world = dist_rank_world()
        rank = self.rank if self.rank is not None else rank
        world = self.world_size if self.world_size is not None else world
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        return self.shards[rank * nw + wid::world * nw]

    def __iter__(self) -> Iterator[Any]:
        for path in self.my_shards():
            for row in read_shard(path):
                yield self.transform(row) if self.transform else row

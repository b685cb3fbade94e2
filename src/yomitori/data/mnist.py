"""MNIST: an IDX reader (gzip or raw), a checksummed downloader, and a tensor dataset.

IDX format (LeCun): big-endian magic ``0x00 0x00 <dtype> <ndim>``, then ``ndim`` uint32 sizes,
then the data. MNIST uses dtype 0x08 (uint8): images ``(N, 28, 28)``, labels ``(N,)``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from yomitori.atomic import atomic_write_bytes
from yomitori.errors import DataError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# MD5 of the uncompressed originals (as published with the data set).
MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MEAN, STD = 0.1307, 0.3081  # the classic normalisation constants


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (gzip-compressed or raw) into an array; raise DataError on any defect."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise DataError(f"{name}: corrupt gzip stream ({exc})") from None
    if len(data) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
        raise DataError(f"{name}: not an IDX file (bad magic {data[:4].hex()})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[dtype_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = len(data) - header
    if body != expected:
        kind = "truncated" if body < expected else "has trailing bytes"
        raise DataError(f"{name}: {kind}: header says {shape} ({expected} bytes), found {body}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray) -> bytes:
    """Serialise a uint8 array as IDX (used by tests and to make tiny data sets)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _find(data_dir: Path, stem: str) -> Path | None:
    for candidate in (data_dir / f"{stem}.gz", data_dir / stem):
        if candidate.exists():
            return candidate
    return None


def read_idx_file(path: Path) -> np.ndarray:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_idx(data, str(path))


def download(data_dir: Path, mirrors: tuple[str, ...] = MIRRORS) -> None:
    """Fetch the four files from the first mirror that answers, verifying MD5 checksums."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for stem, md5 in MD5.items():
        if _find(data_dir, stem):
            continue
        errors = []
        for mirror in mirrors:
            url = f"{mirror}{stem}.gz"
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - fixed https mirrors
                    blob = resp.read()
                raw = gzip.decompress(blob)
            except Exception as exc:  # noqa: BLE001 - try the next mirror
                errors.append(f"{url}: {exc}")
                continue
            if hashlib.md5(raw).hexdigest() != md5:  # noqa: S324 - checksum, not security
                errors.append(f"{url}: MD5 mismatch")
                continue
            atomic_write_bytes(data_dir / f"{stem}.gz", blob)
            break
        else:
            raise DataError(f"could not download {stem}: " + "; ".join(errors))


def default_data_dir() -> Path:
    """$YOMITORI_MNIST, else the shared copy beside the repo, else ~/.cache/yomitori/mnist."""
    if env := os.environ.get("YOMITORI_MNIST"):
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        shared = parent / "shared" / "data" / "mnist"
        if shared.exists():
            return shared
    return Path.home() / ".cache" / "yomitori" / "mnist"


@dataclass
class MnistSplit:
    images: torch.Tensor  # (N, 1, 28, 28) float32, normalised with MEAN/STD
    labels: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.labels)


def load_mnist(data_dir: str | os.PathLike | None = None, split: str = "train",
               download_missing: bool = False, limit: int | None = None) -> MnistSplit:
    """Load one split as normalised tensors. Missing files: download if asked, else DataError."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    prefix = "train" if split == "train" else "test"
    stems = (FILES[f"{prefix}_images"], FILES[f"{prefix}_labels"])
    if download_missing and not all(_find(data_dir, s) for s in stems):
        download(data_dir)
    arrays = []
    for stem in stems:
        path = _find(data_dir, stem)
        if path is None:
            raise DataError(f"{data_dir / stem}[.gz]: missing (use --data-dir, or --download)")
        arrays.append(read_idx_file(path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{data_dir}: {split} images {images.shape} and labels {labels.shape} do not match")
    if labels.size and labels.max() > 9:
        raise DataError(f"{data_dir}: {split} labels outside 0-9")
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return MnistSplit(((x - MEAN) / STD).contiguous(), torch.from_numpy(labels.astype(np.int64)))


def to_mnist_style(img) -> np.ndarray:  # noqa: ANN001 - PIL.Image
    """Normalise a digit picture of any size and polarity to MNIST style: (28, 28) float in [0, 1].

    White digit on black, the ink's bounding box scaled to fit 20 × 20 (aspect kept), placed so
    that its centre of mass sits at the centre of the 28 × 28 field — as in the original data.
    """
    from PIL import Image

    g = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if border.mean() > 0.5:  # dark ink on light paper -> invert
        g = 1.0 - g
    lo, hi = np.percentile(g, 1), g.max()
    g = np.clip((g - lo) / max(hi - lo, 1e-6), 0, 1)
    ys, xs = np.nonzero(g > 0.2)
    out = np.zeros((28, 28), np.float32)
    if len(ys) == 0:
        return out
    crop = g[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.LANCZOS),
                       dtype=np.float32) / 255.0
    total = small.sum()
    cy, cx = ((np.arange(nh)[:, None] * small).sum() / total, (np.arange(nw)[None, :] * small).sum() / total)
    top = int(round(14 - cy)) if total > 0 else (28 - nh) // 2
    left = int(round(14 - cx)) if total > 0 else (28 - nw) // 2
    top, left = min(max(top, 0), 28 - nh), min(max(left, 0), 28 - nw)
    out[top : top + nh, left : left + nw] = small
    return out

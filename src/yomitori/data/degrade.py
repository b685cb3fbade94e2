"""Scan degradation: composable operations, each with a strength in [0, 1].

Every operation is ``op(image, rng, strength) -> image`` on a uint8 grayscale array (dark ink
on light paper); geometric ones (:data:`GEOMETRIC`) also map boxes through the same transform,
so ground truth stays exact. :func:`degrade` picks operations at random, applies them in a fixed,
sensible order (paper first, then optics, then the scanner, then the file) and reports what it
did. All randomness comes from the generator passed in.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter

Op = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]


def _paper_level(img: np.ndarray) -> int:
    return int(np.percentile(img, 90))


def paper_texture(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Low-frequency blotches and fine grain multiplied into the paper."""
    h, w = img.shape
    coarse = rng.normal(0, 1, (max(h // 16, 2), max(w // 16, 2))).astype(np.float32)
    field_ = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC))
    grain = rng.normal(0, 1, (h, w)).astype(np.float32)
    factor = 1.0 - s * (0.06 * np.abs(field_) + 0.025 * grain)
    return np.clip(img.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def shadow(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """A soft shadow darkening from one edge (book gutter, a lifted page)."""
    h, w = img.shape
    side = int(rng.integers(4))
    n = w if side < 2 else h
    ramp = np.linspace(1.0, 0.0, n, dtype=np.float32) ** float(rng.uniform(1.5, 4.0))
    if side in (1, 3):
        ramp = ramp[::-1]
    dark = 1.0 - s * 0.55 * (ramp[None, :] if side < 2 else ramp[:, None])
    return np.clip(img.astype(np.float32) * dark, 0, 255).astype(np.uint8)


def ink_bleed(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Ink spreading into the paper: a blurred, darkened copy under the original strokes."""
    pil = Image.fromarray(img)
    spread = pil.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(0.5 + s))
    mix = np.minimum(img.astype(np.float32), np.asarray(spread, np.float32) * (1 + 0.15 * (1 - s)))
    return np.clip(mix, 0, 255).astype(np.uint8)


def erode(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Thinner strokes (erosion of the ink): a light photocopy."""
    out = Image.fromarray(img).filter(ImageFilter.MaxFilter(3))
    return (np.asarray(out, np.float32) * s + img * (1 - s)).astype(np.uint8)


def dilate(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Bolder strokes (dilation of the ink): a dark photocopy or a fax."""
    out = Image.fromarray(img).filter(ImageFilter.MinFilter(3))
    return (np.asarray(out, np.float32) * s + img * (1 - s)).astype(np.uint8)


def blur(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Out-of-focus optics."""
    return np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(0.3 + 1.2 * s)))


def low_dpi(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Scanned at a low resolution: down-sampled and up-sampled back."""
    h, w = img.shape
    f = 1.0 + 2.0 * s
    small = Image.fromarray(img).resize((max(int(w / f), 1), max(int(h / f), 1)), Image.BILINEAR)
    return np.asarray(small.resize((w, h), Image.BILINEAR))


def noise(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Sensor noise and speckle."""
    out = img.astype(np.float32) + rng.normal(0, 3 + 18 * s, img.shape)
    specks = rng.random(img.shape) < 0.002 * s
    out[specks] = rng.uniform(0, 255, int(specks.sum()))
    return np.clip(out, 0, 255).astype(np.uint8)


def binarize(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """A fax or a 1-bit scan: threshold between paper and ink (higher strength, thinner ink)."""
    paper, ink = _paper_level(img), int(np.percentile(img, 2))
    t = ink + (paper - ink) * (0.6 - 0.25 * s)
    return np.where(img > t, 255, 0).astype(np.uint8)


def jpeg(img: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """JPEG compression artefacts."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(92 - 77 * s))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


# ------------------------------------------------------------------ geometry (maps boxes too)


def _warp(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp by a 3x3 homography that maps output to input pixels; fill with paper."""
    coeffs = (matrix / matrix[2, 2]).flatten()[:8]
    out = Image.fromarray(img).transform(img.shape[::-1], Image.PERSPECTIVE, tuple(coeffs),
                                         Image.BILINEAR, fillcolor=_paper_level(img))
    return np.asarray(out)


def rotation_matrix(shape: tuple[int, int], rng: np.random.Generator, s: float,
                    max_deg: float = 3.0) -> np.ndarray:
    """Skew and rotation about the centre: up to ±max_deg·(0.1 + 0.9·s) degrees, a small shear."""
    h, w = shape
    a = np.deg2rad(rng.uniform(-1, 1) * max_deg * (0.1 + 0.9 * s))
    shear = rng.uniform(-1, 1) * 0.05 * s
    c, sn = np.cos(a), np.sin(a)
    fwd = np.array([[c, -sn + shear, 0], [sn, c, 0], [0, 0, 1]])
    t1 = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    t2 = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]])
    return t2 @ fwd @ t1  # input → output


def perspective_matrix(shape: tuple[int, int], rng: np.random.Generator, s: float) -> np.ndarray:
    """A camera not square to the page: corners moved by up to 4·s % of the short side."""
    h, w = shape
    d = 0.04 * s * min(h, w) * 3
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    dst = src + rng.uniform(-d, d, (4, 2))
    a = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.array(a))
    return vt[-1].reshape(3, 3)  # input → output


def transform_boxes(boxes: np.ndarray, fwd: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Axis-aligned boxes around the transformed corners of ``boxes`` (N, 4), clipped."""
    if len(boxes) == 0:
        return boxes
    b = np.asarray(boxes, float)
    xs = np.stack([b[:, 0], b[:, 2], b[:, 2], b[:, 0]], 1)
    ys = np.stack([b[:, 1], b[:, 1], b[:, 3], b[:, 3]], 1)
    pts = np.stack([xs, ys, np.ones_like(xs)], -1) @ fwd.T
    px, py = pts[..., 0] / pts[..., 2], pts[..., 1] / pts[..., 2]
    h, w = shape
    out = np.stack([np.floor(px.min(1)), np.floor(py.min(1)), np.ceil(px.max(1)), np.ceil(py.max(1))], 1)
    return np.clip(out, 0, [w, h, w, h]).astype(np.int32)


GEOMETRIC: dict[str, Callable[[tuple[int, int], np.random.Generator, float], np.ndarray]] = {
    "rotate": rotation_matrix,
    "perspective": perspective_matrix,
}
PHOTOMETRIC: dict[str, Op] = {
    "paper_texture": paper_texture, "shadow": shadow, "ink_bleed": ink_bleed, "erode": erode,
    "dilate": dilate, "blur": blur, "low_dpi": low_dpi, "noise": noise, "binarize": binarize,
    "jpeg": jpeg,
}
# the order a real document goes through: paper, printing, the camera or scanner, the file
ORDER = ("paper_texture", "ink_bleed", "erode", "dilate", "shadow", "rotate", "perspective",
         "blur", "low_dpi", "noise", "binarize", "jpeg")
DEFAULT_PROBS = {"paper_texture": 0.5, "ink_bleed": 0.2, "erode": 0.15, "dilate": 0.15,
                 "shadow": 0.2, "rotate": 0.4, "perspective": 0.2, "blur": 0.4, "low_dpi": 0.3,
                 "noise": 0.5, "binarize": 0.1, "jpeg": 0.4}


@dataclass
class Degraded:
    image: np.ndarray
    boxes: np.ndarray | None
    applied: list[dict] = field(default_factory=list)


def apply_op(name: str, image: np.ndarray, rng: np.random.Generator, strength: float,
             boxes: np.ndarray | None = None,
             max_deg: float = 3.0) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply one named operation at ``strength``; geometric ones map ``boxes`` too."""
    if name in GEOMETRIC:
        if name == "rotate":
            fwd = rotation_matrix(image.shape, rng, strength, max_deg)
        else:
            fwd = GEOMETRIC[name](image.shape, rng, strength)
        out = _warp(image, np.linalg.inv(fwd))
        return out, (transform_boxes(boxes, fwd, image.shape) if boxes is not None else None)
    return PHOTOMETRIC[name](image, rng, strength), boxes


def degrade(image: np.ndarray, rng: np.random.Generator, strength: float,
            ops: Sequence[str] | None = None, boxes: np.ndarray | None = None,
            probs: dict[str, float] | None = None, max_deg: float = 3.0) -> Degraded:
    """Randomly composed degradations of overall ``strength`` in [0, 1].

    ``ops`` forces exactly these operations (in :data:`ORDER`); otherwise each operation is
    drawn with its probability in ``probs`` (default :data:`DEFAULT_PROBS`).
    """
    probs = probs or DEFAULT_PROBS
    applied = []
    img = np.ascontiguousarray(image, np.uint8)
    if strength <= 0:
        return Degraded(img, boxes, applied)
    for name in ORDER:
        chosen = (name in ops) if ops is not None else rng.random() < probs.get(name, 0.0)
        if not chosen:
            continue
        s = float(min(1.0, strength * rng.uniform(0.4, 1.0)))
        img, boxes = apply_op(name, img, rng, s, boxes, max_deg)
        applied.append({"op": name, "strength": round(s, 3)})
    return Degraded(np.ascontiguousarray(img, np.uint8), boxes, applied)


def degrade_line(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, strength: float,
                 vertical: bool) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """:func:`degrade` for a line crop: same size out, milder geometry, boxes mapped."""
    probs = dict(DEFAULT_PROBS, rotate=0.25, perspective=0.05, shadow=0.1)
    short, long_ = sorted(image.shape)
    # ends of a long line may move by 8 % of its short side at most, so no ink leaves the crop
    max_deg = float(np.degrees(np.arctan(0.16 * short / max(long_, 1))))
    d = degrade(image, rng, strength, boxes=boxes, probs=probs, max_deg=max_deg)
    return d.image, d.boxes, d.applied

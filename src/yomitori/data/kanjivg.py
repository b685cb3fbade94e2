"""KanjiVG strokes (PyPI ``kanjivg``, CC BY-SA 3.0, Ulrich Apel and contributors) as polylines.

Each character is a list of strokes in writing order; each stroke a polyline of (x, y) points in
KanjiVG's 109 × 109 box, flattened from the SVG path's Bézier curves.
:func:`draw_strokes` renders them like neat handwriting: an affine jitter per sample, an offset
per stroke, pen-width variation and a wobble that shrinks as the stroke count grows (a character
with 20 strokes cannot take the wobble of one with 3). With ``brush`` > 0 each stroke's width
changes along it as a brush's does: pressed at the start, then held (tome) or swept thin (harai).
This is a *proxy* for handwriting, not real handwriting: there are no real Japanese handwriting
samples here.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

BOX = 109.0
_TOKEN = re.compile(r"[MmLlCcSsHhVvZz]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")
_PATH_D = re.compile(r'<path[^>]*\sd="([^"]+)"')


@functools.cache
def kanjivg_dir() -> Path | None:
    """The folder of KanjiVG's SVG files, or None when the package is not installed."""
    try:
        import kanji  # the PyPI kanjivg package installs this namespace package
    except ModuleNotFoundError:
        return None
    for root in getattr(kanji, "__path__", []):
        if (Path(root) / "06f22.svg").exists():
            return Path(root)
    return None


@functools.cache
def available_chars() -> frozenset[str]:
    """Characters KanjiVG has strokes for (base forms only, not the -Kaisho variants)."""
    d = kanjivg_dir()
    if d is None:
        return frozenset()
    out = set()
    for p in d.glob("*.svg"):
        if re.fullmatch(r"[0-9a-f]{5}", p.stem):
            out.add(chr(int(p.stem, 16)))
    return frozenset(out)


def _cubic(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0, 1, n)[1:, None]
    return ((1 - t) ** 3) * p0 + 3 * ((1 - t) ** 2) * t * p1 + 3 * (1 - t) * t * t * p2 + t ** 3 * p3


def parse_path(d: str, seg_points: int = 8) -> np.ndarray:
    """Flatten an SVG path (M L C S H V Z, absolute and relative) into an (N, 2) polyline."""
    toks = _TOKEN.findall(d)
    pts: list[np.ndarray] = []
    cur = np.zeros(2)
    start = np.zeros(2)
    last_ctrl = None
    cmd = ""
    i = 0

    def num() -> float:
        nonlocal i
        v = float(toks[i])
        i += 1
        return v

    while i < len(toks):
        if toks[i].isalpha():
            cmd = toks[i]
            i += 1
            if cmd in "Zz":
                pts.append(start.copy())
                cur = start.copy()
                continue
        rel = cmd.islower()
        base = cur if rel else np.zeros(2)
        c = cmd.upper()
        if c in "ML":
            cur = base + np.array([num(), num()])
            if c == "M":
                start = cur.copy()
                cmd = "l" if rel else "L"  # further pairs after M are line-tos
            pts.append(cur.copy())
            last_ctrl = None
        elif c == "H":
            cur = np.array([num() + (cur[0] if rel else 0), cur[1]])
            pts.append(cur.copy())
        elif c == "V":
            cur = np.array([cur[0], num() + (cur[1] if rel else 0)])
            pts.append(cur.copy())
        elif c == "C":
            p1 = base + np.array([num(), num()])
            p2 = base + np.array([num(), num()])
            p3 = base + np.array([num(), num()])
            pts.extend(_cubic(cur, p1, p2, p3, seg_points))
            cur, last_ctrl = p3, p2
        elif c == "S":
            p1 = 2 * cur - last_ctrl if last_ctrl is not None else cur.copy()
            p2 = base + np.array([num(), num()])
            p3 = base + np.array([num(), num()])
            pts.extend(_cubic(cur, p1, p2, p3, seg_points))
            cur, last_ctrl = p3, p2
        else:  # an unknown command: skip its number
            i += 1
    return np.array(pts, float).reshape(-1, 2)


@functools.lru_cache(maxsize=8192)
def strokes(ch: str) -> tuple[np.ndarray, ...]:
    """The strokes of ``ch`` in writing order (KeyError if KanjiVG lacks it)."""
    d = kanjivg_dir()
    path = d / f"{ord(ch):05x}.svg" if d is not None else None
    if path is None or not path.exists():
        raise KeyError(ch)
    svg = path.read_text("utf-8")
    return tuple(parse_path(m) for m in _PATH_D.findall(svg))


def draw_strokes(ch: str, rng: np.random.Generator, size_px: int = 64,
                 pen_px: tuple[float, float] = (2.0, 5.0), jitter: float = 1.0,
                 brush: float = 0.0) -> tuple[np.ndarray, dict]:
    """Draw ``ch`` from its KanjiVG strokes: uint8 coverage (255 = ink) and the parameters used.

    ``jitter`` scales every random deformation (0 gives KanjiVG's clean strokes). ``brush``
    (0 to 1): how much a stroke's width follows a brush's pressure (0: a pen's even line; the
    draws of ``rng`` are then those of earlier versions).
    """
    sts = strokes(ch)
    n = max(len(sts), 1)
    scale = size_px / BOX
    # per-sample affine: scale, rotation, shear, translation
    s = 1.0 + rng.normal(0, 0.06 * jitter)
    rot = rng.normal(0, 0.05 * jitter)
    shear = rng.normal(0, 0.08 * jitter)
    aff = np.array([[s * np.cos(rot), -s * np.sin(rot) + shear], [s * np.sin(rot), s * np.cos(rot)]])
    shift = rng.normal(0, 3.0 * jitter, 2)
    wobble = jitter * 1.6 / np.sqrt(n)  # fewer strokes, more wobble
    pen = float(rng.uniform(*pen_px)) * size_px / 64
    img = Image.new("L", (size_px, size_px), 0)
    draw = ImageDraw.Draw(img)
    centre = np.array([BOX / 2, BOX / 2])
    for st in sts:
        if len(st) < 2:
            continue
        off = rng.normal(0, 1.2 * jitter, 2)
        t = np.linspace(0, 1, len(st))[:, None]
        phase = rng.uniform(0, 2 * np.pi, 2)
        wob = wobble * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5) + phase)
        pts = (st - centre) @ aff.T + centre + shift + off + wob
        pts = pts * scale
        if brush > 0:
            _brush_stroke(draw, pts, pen * rng.uniform(0.8, 1.25), rng, brush)
            continue
        width = max(1, round(pen * rng.uniform(0.8, 1.25)))
        xy = [tuple(p) for p in pts]
        draw.line(xy, fill=255, width=width, joint="curve")
        r = width / 2  # round caps
        for x, y in (xy[0], xy[-1]):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    params = {"strokes": n, "scale": round(float(s), 4), "rotation": round(float(rot), 4),
              "shear": round(float(shear), 4), "pen_px": round(pen, 3),
              "wobble": round(float(wobble), 4)}
    if brush > 0:
        params["brush"] = round(float(brush), 3)
    return np.asarray(img), params


def _brush_stroke(draw: ImageDraw.ImageDraw, pts: np.ndarray, pen: float, rng: np.random.Generator,
                  brush: float) -> None:
    """Stamp discs along ``pts`` whose diameter follows a brush: a press at the entry, then an
    ending held thick (tome) or swept to a point (harai)."""
    seg = np.diff(pts, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    total = float(lengths.sum())
    if total <= 0:
        return
    press = rng.uniform(0.2, 0.9) * brush
    sweep = rng.uniform(0.0, 0.85) * brush if rng.random() < 0.5 else 0.0
    swell = rng.uniform(-0.25, 0.25) * brush
    step = max(0.5, pen / 4)
    n = max(int(total / step), 2)
    s = np.concatenate([[0.0], np.cumsum(lengths)])
    t = np.linspace(0.0, total, n)
    x, y = np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])
    u = t / total
    width = pen * (1.0 + press * np.exp(-u / 0.12) + swell * np.sin(np.pi * u) - sweep * u ** 2)
    width = np.maximum(width, 0.35 * pen)
    for xi, yi, wi in zip(x, y, width, strict=True):
        r = max(float(wi) / 2, 0.5)
        draw.ellipse([xi - r, yi - r, xi + r, yi + r], fill=255)

"""Typed values passed between pipeline stages.

Coordinates: **page pixels at the render dpi, origin top-left, x to the right, y down**;
a :class:`BBox` is ``(x0, y0, x1, y1)`` with ``x0 <= x1``, ``y0 <= y1`` and the far edges
exclusive (a box of one pixel at (3, 4) is ``BBox(3, 4, 4, 5)``). Every box in yomitori — region,
line, character, in JSON, hOCR and the PDF text layer (converted there to points) — follows this.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


@dataclass(frozen=True)
class BBox:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def union(self, other: BBox) -> BBox:
        return BBox(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def intersection(self, other: BBox) -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(w, 0.0) * max(h, 0.0)

    def iou(self, other: BBox) -> float:
        inter = self.intersection(other)
        return inter / max(self.area + other.area - inter, 1e-9)

    def scaled(self, s: float) -> BBox:
        return BBox(self.x0 * s, self.y0 * s, self.x1 * s, self.y1 * s)

    def as_list(self) -> list[float]:
        return [round(self.x0, 2), round(self.y0, 2), round(self.x1, 2), round(self.y1, 2)]

    @classmethod
    def from_list(cls, v: list[float]) -> BBox:
        return cls(*(float(x) for x in v))


class Direction(StrEnum):
    HORIZONTAL = "horizontal"  # left to right, lines top to bottom
    VERTICAL = "vertical"  # top to bottom, columns right to left


class RegionClass(StrEnum):
    TEXT = "text"
    TITLE = "title"
    TABLE = "table"
    FIGURE = "figure"
    CAPTION = "caption"
    HEADER = "header"  # running headers, footers and page numbers
    FURIGANA = "furigana"
    HANDWRITING = "handwriting"
    DIGITS = "digits"  # digit fields on forms


@dataclass
class PageImage:
    """One rendered page: grayscale uint8 pixels and where they came from."""

    pixels: np.ndarray  # (H, W) uint8
    dpi: float
    page_number: int  # 1-based, in the source document
    source: str = ""

    @property
    def width_px(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height_px(self) -> int:
        return int(self.pixels.shape[0])

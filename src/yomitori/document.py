"""The document tree every writer reads: Document > Page > Region > Line > Char.

``to_dict()`` / ``from_dict()`` round-trip exactly; the dict is the versioned JSON schema
(``SCHEMA_VERSION``) written by ``yomitori read --format json`` and documented in docs/json-schema.md.
Boxes follow :class:`yomitori.types.BBox` (page pixels at ``Page.dpi``, top-left origin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yomitori.types import BBox, Direction, RegionClass

SCHEMA_VERSION = "1.0"


@dataclass
class Char:
    text: str
    bbox: BBox
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "bbox": self.bbox.as_list(), "confidence": round(self.confidence, 4)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Char:
        return cls(d["text"], BBox.from_list(d["bbox"]), float(d["confidence"]))


@dataclass
class Line:
    text: str
    bbox: BBox
    direction: Direction
    confidence: float
    chars: list[Char] = field(default_factory=list)
    polygon: list[tuple[float, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "bbox": self.bbox.as_list(), "direction": self.direction.value,
                             "confidence": round(self.confidence, 4), "chars": [c.to_dict() for c in self.chars]}
        if self.polygon:
            d["polygon"] = [[round(x, 2), round(y, 2)] for x, y in self.polygon]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Line:
        poly = [(float(x), float(y)) for x, y in d["polygon"]] if d.get("polygon") else None
        return cls(d["text"], BBox.from_list(d["bbox"]), Direction(d["direction"]), float(d["confidence"]),
                   [Char.from_dict(c) for c in d.get("chars", [])], poly)


@dataclass
class TableCell:
    row: int
    col: int
    bbox: BBox
    text: str = ""
    row_span: int = 1
    col_span: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "col": self.col, "row_span": self.row_span, "col_span": self.col_span,
                "bbox": self.bbox.as_list(), "text": self.text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableCell:
        return cls(d["row"], d["col"], BBox.from_list(d["bbox"]), d.get("text", ""), d.get("row_span", 1),
                   d.get("col_span", 1))


@dataclass
class Region:
    cls: RegionClass
    bbox: BBox
    direction: Direction
    lines: list[Line] = field(default_factory=list)
    confidence: float = 1.0
    cells: list[TableCell] = field(default_factory=list)  # tables only
    image_path: str | None = None  # figures: the crop written beside the outputs
    caption: str | None = None  # figures and tables: the caption region's text

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"class": self.cls.value, "bbox": self.bbox.as_list(), "direction": self.direction.value,
                             "confidence": round(self.confidence, 4), "lines": [ln.to_dict() for ln in self.lines]}
        if self.cells:
            d["cells"] = [c.to_dict() for c in self.cells]
        if self.image_path:
            d["image"] = self.image_path
        if self.caption:
            d["caption"] = self.caption
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Region:
        return cls(RegionClass(d["class"]), BBox.from_list(d["bbox"]), Direction(d["direction"]),
                   [Line.from_dict(x) for x in d.get("lines", [])], float(d.get("confidence", 1.0)),
                   [TableCell.from_dict(c) for c in d.get("cells", [])], d.get("image"), d.get("caption"))


@dataclass
class Page:
    number: int  # 1-based page number in the source
    width_px: int
    height_px: int
    dpi: float
    regions: list[Region] = field(default_factory=list)  # in reading order
    error: str | None = None  # set when this page failed; other pages are unaffected

    @property
    def text(self) -> str:
        return "\n\n".join(r.text for r in self.regions if r.lines)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"number": self.number, "width_px": self.width_px, "height_px": self.height_px,
                             "dpi": self.dpi, "regions": [r.to_dict() for r in self.regions]}
        if self.error:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Page:
        return cls(d["number"], d["width_px"], d["height_px"], float(d["dpi"]),
                   [Region.from_dict(r) for r in d.get("regions", [])], d.get("error"))


@dataclass
class Document:
    source: str
    pages: list[Page] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # models, backend, timings

    @property
    def text(self) -> str:
        return "\n\f\n".join(p.text for p in self.pages)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "yomitori.document", "version": SCHEMA_VERSION, "source": self.source,
                "metadata": self.metadata, "pages": [p.to_dict() for p in self.pages]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        if d.get("schema") != "yomitori.document":
            raise ValueError("not a yomitori document JSON")
        major = str(d.get("version", "0")).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"unsupported schema version {d.get('version')}")
        return cls(d["source"], [Page.from_dict(p) for p in d.get("pages", [])], d.get("metadata", {}))

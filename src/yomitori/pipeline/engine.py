"""The OCR engine interface: one rendered page in, one recognized :class:`Page` out.

The pipeline (render → engine → assemble → write) does not know what the engine is, as in
OCRmyPDF, so tests drive the whole pipeline, CLI included, without a model:

- :class:`ModelEngine` — the real one: layout analysis, then recognition by region class, with
  models loaded through :mod:`yomitori.runtime` (PyTorch, ONNX Runtime or OpenVINO);
- :class:`NullEngine` — finds nothing (empty pages);
- :class:`FixedEngine` — replays given regions per page, from objects or a recorded Document
  JSON, scaled to the render dpi; it can also fail on chosen pages (fault injection).

An engine must pickle (``--workers N`` sends it to each worker process); one that loads models
does so lazily, once per process, and drops them from its pickled state.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from yomitori.document import Char, Document, Page, Region, TableCell
from yomitori.errors import UserError
from yomitori.types import BBox, PageImage


@runtime_checkable
class Engine(Protocol):
    name: str

    def process(self, image: PageImage) -> Page:
        """Regions in reading order with their lines' text, boxes and confidences."""
        ...


class NullEngine:
    """Recognizes nothing: every page comes back with no regions."""

    name = "null"

    def process(self, image: PageImage) -> Page:
        return Page(image.page_number, image.width_px, image.height_px, image.dpi)


def _scale_box(b: BBox, s: float) -> BBox:
    return b.scaled(s) if s != 1.0 else b


def scale_region(region: Region, s: float) -> Region:
    """A copy of ``region`` with every box, polygon and cell scaled by ``s``."""
    r = copy.deepcopy(region)
    if s == 1.0:
        return r
    r.bbox = _scale_box(r.bbox, s)
    r.cells = [TableCell(c.row, c.col, _scale_box(c.bbox, s), c.text, c.row_span, c.col_span)
               for c in r.cells]
    for line in r.lines:
        line.bbox = _scale_box(line.bbox, s)
        line.chars = [Char(c.text, _scale_box(c.bbox, s), c.confidence) for c in line.chars]
        if line.polygon:
            line.polygon = [(x * s, y * s) for x, y in line.polygon]
    return r


class FixedEngine:
    """Replays fixed regions: ``pages[n]`` for page n, else ``default``.

    ``dpi`` is the resolution the boxes were given at (None: the render dpi, no scaling).
    A page number in ``fail_pages``, or a replayed page that carries an ``error``, raises
    RuntimeError: a page failing in the middle of a batch.
    """

    name = "fixed"

    def __init__(self, pages: Mapping[int, list[Region] | Page] | None = None, *,
                 default: list[Region] | None = None, dpi: float | None = None,
                 fail_pages: Collection[int] = ()):
        self.pages = dict(pages or {})
        self.default = list(default or [])
        self.dpi = dpi
        self.fail_pages = frozenset(fail_pages)

    @classmethod
    def from_document(cls, doc: Document, **kwargs: Any) -> FixedEngine:
        """Replay a recorded document; each page's boxes are scaled from its own dpi."""
        return cls({p.number: p for p in doc.pages}, **kwargs)

    @classmethod
    def from_json(cls, path: str | os.PathLike, **kwargs: Any) -> FixedEngine:
        try:
            doc = Document.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path}: cannot load a recorded document ({exc})") from None
        return cls.from_document(doc, **kwargs)

    def process(self, image: PageImage) -> Page:
        n = image.page_number
        if n in self.fail_pages:
            raise RuntimeError(f"injected failure on page {n}")
        entry = self.pages.get(n, self.default)
        src_dpi = self.dpi
        if isinstance(entry, Page):
            if entry.error:
                raise RuntimeError(entry.error)
            src_dpi = entry.dpi if src_dpi is None else src_dpi
            entry = entry.regions
        s = image.dpi / src_dpi if src_dpi else 1.0
        regions = [scale_region(r, s) for r in entry]
        return Page(n, image.width_px, image.height_px, image.dpi, regions)


def _stage(module: str, names: tuple[str, ...]) -> Any:
    """Import a model stage written elsewhere; a clear UserError if it isn't there yet."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"the reading models are not available: cannot import {module} ({exc}); "
                        "this build cannot read without them") from None
    missing = [n for n in names if not callable(getattr(mod, n, None))]
    if missing:
        raise UserError(f"the reading models are not available: {module} has no "
                        f"{', '.join(missing)}")
    return mod


class ModelEngine:
    """Layout, then recognition by region class, with the shipped models.

    Contract with the model stages (``yomitori.pipeline.layout`` / ``.recognize``):

    - ``recognize.load_models(backend: str, *, threads: int | None, **decode) -> models``, an object with
      ``layout`` (the model ``analyze_layout`` takes), ``recognizer`` (what
      ``recognize_regions`` takes, e.g. a ``LineRecognizer``) and ``info`` (a dict of model
      names, versions and backend, recorded in the document's metadata);
    - ``layout.analyze_layout(image: PageImage, model) -> list[Region]``: regions in reading
      order with class, box, direction and their lines' boxes/polygons/directions, text empty;
    - ``recognize.recognize_regions(image, regions, recognizer) -> list[Region]``: fills each
      line's text, confidence and character boxes, choosing the settings by region class
      (text → line recognizer, handwriting → its settings, digit fields → character
      classifier, tables → their cells' lines). Figures need nothing: the pipeline crops them,
      and assemble builds table cells from line boxes when layout gave none.
    """

    name = "model"

    def __init__(self, backend: str = "auto", *, threads: int | None = None, decode: dict[str, Any] | None = None):
        self.backend = backend
        self.threads = threads
        # line decoder options passed to load_models: decoder, lm, lm_weight, insertion_bonus, beam_width
        self.decode = {k: v for k, v in (decode or {}).items() if v is not None}
        self._models: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_models"] = None  # each worker process loads its own, once
        return state

    def prepare(self) -> None:
        """Check, cheaply and before any page is read, that the stages and backend exist."""
        _stage("yomitori.pipeline.layout", ("analyze_layout",))
        recognize = _stage("yomitori.pipeline.recognize", ("load_models", "recognize_regions", "resolve_decoder"))
        from yomitori.runtime import get_backend

        get_backend(self.backend)
        if self.decode:  # a bad --decoder / --lm is refused before any page
            recognize.resolve_decoder(self.decode.get("decoder"), self.decode.get("lm", "auto"))

    def load(self) -> Any:
        if self._models is None:
            recognize = _stage("yomitori.pipeline.recognize", ("load_models", "recognize_regions"))
            self._models = recognize.load_models(self.backend, threads=self.threads, **self.decode)
        return self._models

    @property
    def info(self) -> dict[str, Any]:
        models = self._models
        return dict(getattr(models, "info", {}) or {}) if models is not None else {}

    def process(self, image: PageImage) -> Page:
        layout = _stage("yomitori.pipeline.layout", ("analyze_layout",))
        recognize = _stage("yomitori.pipeline.recognize", ("load_models", "recognize_regions"))
        models = self.load()
        regions: list[Region] = layout.analyze_layout(image, models.layout)
        regions = recognize.recognize_regions(image, regions, getattr(models, "recognizer", models))
        return Page(image.page_number, image.width_px, image.height_px, image.dpi, list(regions))


def make_engine(spec: str = "model", *, backend: str = "auto", threads: int | None = None,
                decode: dict[str, Any] | None = None) -> Engine:
    """An engine from a CLI spec: ``model``, ``null`` or ``fixed:RECORDED.json``."""
    if spec == "model":
        return ModelEngine(backend, threads=threads, decode=decode)
    if spec == "null":
        return NullEngine()
    if spec.startswith("fixed:"):
        return FixedEngine.from_json(spec.removeprefix("fixed:"))
    raise UserError(f"unknown engine {spec!r}; choose model, null or fixed:FILE.json")


__all__ = ["Engine", "FixedEngine", "ModelEngine", "NullEngine", "make_engine", "scale_region"]

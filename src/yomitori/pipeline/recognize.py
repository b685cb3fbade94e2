"""Recognize the text of every line found by layout, with the line recognizer of the runtime.

Each line is cropped from the page (its box plus a margin), prepared exactly as in training
(:func:`yomitori.recognition.prepare.prepare_line`: vertical lines rotated so reading runs left
to right, height normalised), batched by width, run through the recognizer (PyTorch, ONNX
Runtime or OpenVINO — whatever :mod:`yomitori.runtime` loaded) and CTC-decoded. Character boxes
come from the frames that emitted each character, mapped back to page pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yomitori.document import Char, Line, Region
from yomitori.errors import UserError
from yomitori.recognition.ctc import Decoded, beam_decode, greedy_decode
from yomitori.recognition.prepare import STRIDE, batch_lines, percentiles_u8, prepare_line
from yomitori.types import BBox, Direction, PageImage


@dataclass
class LineResult:
    text: str
    confidence: float
    char_boxes: list[BBox]
    char_confidences: list[float]


# Shallow-fusion settings used when neither the caller nor the LM's JSON ("fusion") gives them.
FUSION_DEFAULTS = {"lm_weight": 0.7, "insertion_bonus": 2.0, "beam_width": 16, "prune": 1e-3}
# The key of the LM JSON's fusion settings for reading whole pages (``read``; over ``fusion``, which
# was tuned on single lines): technical pages (Latin, ，．, code) want a lighter LM than prose lines.
PAGE_FUSION = "fusion_pages"
# Entries of (LM context, character) answers a recognizer keeps for its beam search (int keys, ~120
# bytes each: at most ~25 MB). A page adds 5,000-10,000 (the 32 real selection pages: 254,000), so
# the cache starts afresh every few dozen pages; it made decoding those pages ~1.05-1.09× faster.
FUSION_CACHE_SIZE = 200_000
# Pixels of a padded batch of line inputs (4 lines of 1,024 columns at height 32). The network's
# output is ~28 KB per frame (~7,000 classes, float32): at the old budget (16× this) one batch of
# a real page's lines came to ~400 MB, which ONNX Runtime's arena and the output array had to
# page-fault in, and which no cache held. At this budget the 40 bench pages read 1.42× faster on
# one thread (55.3 → 38.9 s, peak RSS 2.5 → 0.7 GB; 65,536 px: 40.6 s) — session 9.
LINE_BATCH_PIXELS = 32 * 4096


class LineRecognizer:
    """Wraps a loaded CRNN-family model (any runtime) with its charset and decoder settings.

    ``decoder``: ``greedy`` (best path) or ``beam`` (CTC prefix beam search). ``lm``: a character
    language model (:class:`yomitori.recognition.lm.CharNgramLM`, or the path of one) fused into
    the beam search with weight ``lm_weight`` and a per-character ``insertion_bonus``; settings
    left as None come from the LM's JSON (``fusion``, tuned on a selection set, with the keys of
    ``fusion_for`` over it: ``read`` uses ``fusion_pages``, tuned on whole pages), else
    :data:`FUSION_DEFAULTS`.
    """

    def __init__(self, model: Any, charset: Any | None = None, decoder: str = "greedy", beam_width: int | None = None,
                 max_batch_pixels: int = LINE_BATCH_PIXELS, *, lm: Any = None, lm_weight: float | None = None,
                 insertion_bonus: float | None = None, prune: float | None = None,
                 fusion_for: str | None = None) -> None:
        from yomitori.charset import default_charset

        self.model = model
        meta = getattr(model, "meta", {}) or {}
        self.height = int(meta.get("height") or meta.get("model_kwargs", {}).get("height") or 32)
        self.charset = charset or default_charset()
        want = meta.get("charset_sha256")
        if want and want != self.charset.sha256:
            raise UserError(f"line recognizer was trained on another charset (sha256 {want[:12]}…, "
                            f"this build has {self.charset.sha256[:12]}…)")
        if decoder not in ("greedy", "beam"):
            raise UserError(f"unknown decoder {decoder!r}; choose greedy or beam")
        if lm is not None and decoder != "beam":
            raise UserError("a language model needs the beam decoder (decoder='beam')")
        self.lm_path = Path(lm) if isinstance(lm, (str, Path)) else None  # the file it came from, if any
        if self.lm_path is not None:
            from yomitori.recognition.lm import load_lm

            lm = load_lm(self.lm_path)
        if lm is not None:
            from yomitori.recognition.lm import check_charset

            check_charset(lm, self.charset)
        self.lm = lm
        if lm is None:
            tuned = {**FUSION_DEFAULTS, "lm_weight": 0.0, "insertion_bonus": 0.0}
        else:
            lm_meta = getattr(lm, "meta", {}) or {}
            use = (lm_meta.get(fusion_for) or {}) if fusion_for else {}
            tuned = {**FUSION_DEFAULTS, **(lm_meta.get("fusion") or {}), **use}
        self.lm_weight = float(tuned["lm_weight"] if lm_weight is None else lm_weight)
        self.insertion_bonus = float(tuned["insertion_bonus"] if insertion_bonus is None else insertion_bonus)
        self.beam_width = int(tuned["beam_width"] if beam_width is None else beam_width)
        self.prune = float(tuned["prune"] if prune is None else prune)
        self.decoder, self.max_batch_pixels = decoder, max_batch_pixels
        self.char_checker: Any = None  # a yomitori.pipeline.charcheck.CharChecker, set by load_models
        # the beam search's LM answers, kept across lines and pages (per LM and fusion setting)
        self._fusion_cache: dict[tuple[Any, float, float], dict] = {}

    @property
    def settings(self) -> dict[str, Any]:
        """The decoder settings, as recorded in a document's metadata."""
        out: dict[str, Any] = {"decoder": self.decoder}
        if self.decoder == "beam":
            out.update(beam_width=self.beam_width, prune=self.prune)
            if self.lm is not None:
                out.update(lm=self.lm.meta.get("name") or f"char {self.lm.order}-gram", lm_order=self.lm.order,
                           lm_weight=self.lm_weight, insertion_bonus=self.insertion_bonus)
        return out

    def _decode(self, logits: np.ndarray, frames: int) -> Decoded:
        if self.decoder == "beam":
            cache = None
            if self.lm is not None:
                key = (id(self.lm), self.lm_weight, self.insertion_bonus)
                cache = self._fusion_cache.get(key)
                if cache is None or len(cache) > FUSION_CACHE_SIZE:
                    self._fusion_cache = {key: {}}  # a new setting (or a full cache) starts afresh
                    cache = self._fusion_cache[key]
            return beam_decode(logits, self.beam_width, length=frames, lm=self.lm, lm_weight=self.lm_weight,
                               prune=self.prune, insertion_bonus=self.insertion_bonus, cache=cache)
        return greedy_decode(logits, length=frames)

    def recognize(self, crops: Sequence[np.ndarray], vertical: Sequence[bool]) -> list[LineResult]:
        """Read line crops (uint8 gray, dark on light); boxes in each crop's pixel coordinates."""
        prepared = [prepare_line(c, v, self.height) for c, v in zip(crops, vertical, strict=True)]
        order = sorted(range(len(prepared)), key=lambda i: prepared[i].shape[1])
        results: list[LineResult | None] = [None] * len(prepared)
        i = 0
        while i < len(order):
            # grow the batch while the padded batch stays within the pixel budget
            j = i + 1
            while j < len(order) and (j - i + 1) * prepared[order[j]].shape[1] * self.height <= self.max_batch_pixels:
                j += 1
            idx = order[i:j]
            x, frames = batch_lines([prepared[k] for k in idx])
            vert = np.array([bool(vertical[k]) for k in idx], np.int64)
            logits = self.model(x, vertical=vert)
            for row, k in enumerate(idx):
                dec = self._decode(logits[row], int(frames[row]))
                results[k] = self._to_result(dec, crops[k].shape, bool(vertical[k]), prepared[k].shape[1])
            i = j
        return [r for r in results if r is not None]

    def _to_result(self, dec: Decoded, crop_shape: tuple[int, ...], vertical: bool, width_in: int) -> LineResult:
        h, w = crop_shape[:2]
        along = h if vertical else w  # crop pixels along the reading direction
        scale = along / max(width_in, 1)  # crop pixels per model input column
        centers = [(s + e) / 2 * STRIDE * scale for s, e in dec.spans]
        starts = [s * STRIDE * scale for s, _ in dec.spans]
        ends = [e * STRIDE * scale for _, e in dec.spans]
        # tile the line: boundaries halfway between neighbouring characters
        bounds = []
        for k in range(len(centers)):
            a = starts[k] if k == 0 else (centers[k - 1] + centers[k]) / 2
            b = ends[k] if k == len(centers) - 1 else (centers[k] + centers[k + 1]) / 2
            bounds.append((max(a, 0.0), min(b, float(along))))
        boxes = [BBox(0, a, w, b) if vertical else BBox(a, 0, b, h) for a, b in bounds]
        text = self.charset.decode(dec.ids)
        return LineResult(text, dec.confidence, boxes, dec.confidences)


def snap_to_ink(pixels: np.ndarray, box: BBox, direction: Direction, min_keep: float = 0.5) -> BBox:
    """Tighten a line box across the reading direction to the ink inside it.

    The layout network's line boxes vary in thickness around the same text (on real PDFs from
    1× to 1.5× the glyph height within one paragraph), while the recognizer was trained on
    lines whose margins are a fraction of the glyph size: cropping from the ink extent makes
    the text's scale in the recognizer's input independent of that variation. Only shrinks;
    keeps the box when the ink band would be thinner than ``min_keep`` of it (a line of dashes
    or dots) or the box has no contrast.
    """
    vertical = direction == Direction.VERTICAL
    x0, y0 = max(int(box.x0), 0), max(int(box.y0), 0)
    x1, y1 = min(int(np.ceil(box.x1)), pixels.shape[1]), min(int(np.ceil(box.y1)), pixels.shape[0])
    g = pixels[y0:y1, x0:x1]
    if g.size == 0 or min(g.shape) < 2:
        return box
    lo, hi = percentiles_u8(g, (1, 99)) if g.dtype == np.uint8 else np.percentile(g, (1, 99))
    if hi - lo < 32:
        return box
    ink = g < (float(lo) + float(hi)) / 2
    profile = ink.sum(axis=0 if vertical else 1)  # ink per column (vertical) or per row
    along = ink.shape[0] if vertical else ink.shape[1]
    on = np.nonzero(profile > max(1.0, 0.005 * along))[0]  # ignore specks
    if on.size == 0 or on[-1] + 1 - on[0] < min_keep * len(profile):
        return box
    a, b = int(on[0]), int(on[-1]) + 1
    if vertical:
        return BBox(x0 + a, box.y0, x0 + b, box.y1)
    return BBox(box.x0, y0 + a, box.x1, y0 + b)


def crop_line(pixels: np.ndarray, box: BBox, direction: Direction, margin: float = 0.2,
              snap: bool = True) -> tuple[np.ndarray, BBox]:
    """Crop a line with a margin proportional to its ink thickness (:func:`snap_to_ink`, unless
    ``snap`` is off); returns the crop and its page box."""
    if snap:
        box = snap_to_ink(pixels, box, direction)
    thick = box.width if direction == Direction.VERTICAL else box.height
    m = max(1.0, thick * margin)
    x0, y0 = max(int(box.x0 - m), 0), max(int(box.y0 - m), 0)
    x1, y1 = min(int(np.ceil(box.x1 + m)), pixels.shape[1]), min(int(np.ceil(box.y1 + m)), pixels.shape[0])
    return pixels[y0:y1, x0:x1], BBox(x0, y0, x1, y1)


def recognize_regions(page: PageImage, regions: list[Region], recognizer: LineRecognizer) -> list[Region]:
    """Fill in text, confidence and character boxes of every line in ``regions`` (in place)."""
    todo: list[tuple[Line, BBox]] = []
    crops, vertical = [], []
    for region in regions:
        for line in region.lines:
            crop, crop_box = crop_line(page.pixels, line.bbox, line.direction)
            if crop.size == 0 or min(crop.shape) < 2:
                continue
            todo.append((line, crop_box))
            crops.append(crop)
            vertical.append(line.direction == Direction.VERTICAL)
    if not todo:
        return regions
    for (line, crop_box), res in zip(todo, recognizer.recognize(crops, vertical), strict=True):
        line.text = res.text
        line.confidence = res.confidence
        line.chars = []
        for ch, box, conf in zip(res.text, res.char_boxes, res.char_confidences, strict=True):
            page_box = BBox(crop_box.x0 + box.x0, crop_box.y0 + box.y0, crop_box.x0 + box.x1, crop_box.y0 + box.y1)
            if line.direction == Direction.VERTICAL:  # span the line's own width, not the crop margin
                page_box = BBox(line.bbox.x0, page_box.y0, line.bbox.x1, page_box.y1)
            else:
                page_box = BBox(page_box.x0, line.bbox.y0, page_box.x1, line.bbox.y1)
            line.chars.append(Char(ch, page_box, conf))
    checker = getattr(recognizer, "char_checker", None)
    if checker is not None:
        checker.check(page, regions)
    return regions


# --- shipped models -------------------------------------------------------------------------

LINE_WEIGHTS = "lines_crnn.safetensors"
LAYOUT_WEIGHTS_PREFIX = "layout_"


def weights_dir() -> Path:
    """Folder of the weights shipped inside the package (``$YOMITORI_WEIGHTS`` overrides)."""
    import os

    env = os.environ.get("YOMITORI_WEIGHTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "weights"


def find_weights(name_or_prefix: str, exact: bool = True) -> Path:
    folder = weights_dir()
    if exact:
        path = folder / name_or_prefix
        if not path.exists():
            raise UserError(f"{path}: shipped weights missing (reinstall yomitori, or set YOMITORI_WEIGHTS)")
        return path
    found = sorted(folder.glob(f"{name_or_prefix}*.safetensors"))
    if not found:
        raise UserError(f"{folder}: no shipped {name_or_prefix}*.safetensors weights")
    return found[0]


@dataclass
class Models:
    layout: Any
    recognizer: LineRecognizer
    info: dict[str, Any]


DEFAULT_DECODER = "auto"  # what `read` and `eval` use: beam search + the shipped LM when it is there, else greedy


def resolve_decoder(decoder: str | None = None, lm: str | Path | None = "auto") -> tuple[str, Path | None]:
    """(decoder, LM path) from the user's choice.

    ``decoder``: greedy, beam, auto (beam with the shipped LM when this build has one, else
    greedy) or None (:data:`DEFAULT_DECODER`; beam when ``lm`` names a file). ``lm``: a path,
    ``auto`` (the shipped LM with the beam decoder) or None / ``none`` (no LM).
    """
    from yomitori.recognition.lm import default_lm_path

    explicit_lm = lm is not None and str(lm).lower() not in ("auto", "none")
    decoder = decoder or ("beam" if explicit_lm else DEFAULT_DECODER)
    shipped = default_lm_path()
    if decoder == "auto":
        decoder = "beam" if shipped is not None or explicit_lm else "greedy"
    if decoder not in ("greedy", "beam"):
        raise UserError(f"unknown decoder {decoder!r}; choose greedy, beam or auto")
    if lm is None or str(lm).lower() == "none":
        return decoder, None
    if str(lm) == "auto":
        return decoder, shipped if decoder == "beam" else None
    if decoder != "beam":
        raise UserError("--lm needs --decoder beam")
    path = Path(lm)
    if not path.exists():
        raise UserError(f"{path}: language model not found")
    return decoder, path


def make_recognizer(model: Any, *, decoder: str | None = None, lm: str | Path | None = "auto",
                    lm_weight: float | None = None, insertion_bonus: float | None = None,
                    beam_width: int | None = None, fusion_for: str | None = None) -> LineRecognizer:
    """A :class:`LineRecognizer` for a loaded line model from the user's decoder choice
    (:func:`resolve_decoder`); unset fusion settings come from the LM's JSON (``fusion_for``:
    the key of the settings tuned for that use, over ``fusion``)."""
    decoder, lm_path = resolve_decoder(decoder, lm)
    return LineRecognizer(model, decoder=decoder, lm=lm_path, lm_weight=lm_weight,
                          insertion_bonus=insertion_bonus, beam_width=beam_width, fusion_for=fusion_for)


def load_models(backend: str = "auto", *, threads: int | None = None, decoder: str | None = None,
                lm: str | Path | None = "auto", lm_weight: float | None = None,
                insertion_bonus: float | None = None, beam_width: int | None = None,
                char_check: bool = True) -> Models:
    """Load the shipped layout network and line recognizer on one runtime (decoder: :func:`resolve_decoder`),
    and the character classifier that re-reads doubtful kanji (:mod:`yomitori.pipeline.charcheck`)
    unless ``char_check`` is off or this build has no such weights."""
    from yomitori.runtime import default_backend, get_backend

    name = default_backend() if backend == "auto" else backend
    rt = get_backend(name)
    line_path = find_weights(LINE_WEIGHTS)
    layout_path = find_weights(LAYOUT_WEIGHTS_PREFIX, exact=False)
    line_model = rt.load(line_path, threads=threads)
    layout_model = rt.load(layout_path, threads=threads)
    recognizer = make_recognizer(line_model, decoder=decoder, lm=lm, lm_weight=lm_weight,
                                 insertion_bonus=insertion_bonus, beam_width=beam_width, fusion_for=PAGE_FUSION)
    info = {"backend": name, "line_recognizer": line_path.name, "layout": layout_path.name,
            "line_recognizer_meta": {k: line_model.meta.get(k) for k in ("model", "epochs", "metrics")},
            "layout_meta": {k: layout_model.meta.get(k) for k in ("model", "epochs", "metrics")},
            "decoder": recognizer.settings}
    if recognizer.lm_path is not None:
        info["language_model"] = recognizer.lm_path.name
    if char_check:
        from yomitori.pipeline.charcheck import load_char_checker

        recognizer.char_checker = load_char_checker(rt, threads=threads)
        if recognizer.char_checker is not None:
            info["char_check"] = recognizer.char_checker.settings
    return Models(layout_model, recognizer, info)

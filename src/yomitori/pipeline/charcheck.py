"""Second opinion on doubtful kanji: the character classifier re-reads them from the page.

The line recognizer reads whole lines and learns character frequencies from its training text,
so a kanji that is rare there (註, 偶, 史 in a technical corpus) loses to a frequent look-alike
(証, 関, 央) even when the picture is clear. The character classifier was trained on balanced
classes (every character equally often) and reads one picture at a time, so it is the natural
check: for each kanji that the line recognizer gave a confidence below ``max_confidence``, the
character's box (from the CTC alignment, the line's full thickness) is cut from the page and
classified; a different kanji with a calibrated probability of at least ``min_prob`` replaces it
(the character's confidence becomes that probability).

Only kanji are checked and only kanji may come out: the classifier sees a character without its
size or position in the line (see :mod:`yomitori.data.char_preprocess`), so it cannot tell
small kana, punctuation and Latin case apart, which the line recognizer can.

Settings (``max_confidence`` 0.7, ``min_prob`` 0.8) were chosen on the selection pages of the
reading bench (synthetic, seed 5000); see docs/read.md for the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from yomitori.document import Region
from yomitori.types import PageImage

CHARS_WEIGHTS = "chars_resnet_lines.safetensors"


def is_kanji(ch: str) -> bool:
    """CJK unified ideographs (with extension A); 々 and 〆 are not checked."""
    return len(ch) == 1 and ("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")


@dataclass
class CharChecker:
    """Wraps a loaded ``chars`` classifier (any runtime) and the two thresholds."""

    model: Any
    max_confidence: float = 0.7
    min_prob: float = 0.8
    batch_size: int = 64
    labels: list[str] = field(init=False)

    def __post_init__(self) -> None:
        from yomitori.data.char_preprocess import CharPrep

        meta = getattr(self.model, "meta", {}) or {}
        self.labels = list(meta.get("labels") or [])
        if not self.labels:
            raise ValueError("character classifier weights have no labels in their JSON")
        self.prep = CharPrep.from_meta(meta)

    @property
    def settings(self) -> dict[str, Any]:
        return {"max_confidence": self.max_confidence, "min_prob": self.min_prob,
                "weights": (getattr(self.model, "meta", {}) or {}).get("name") or CHARS_WEIGHTS}

    def probabilities(self, crops: list[np.ndarray]) -> np.ndarray:
        """(N, classes) calibrated probabilities of gray crops; rows of NaN where no ink was found."""
        import torch

        from yomitori.data.char_preprocess import NoInkError, prepare_char
        from yomitori.recognition.calibration import calibrated_probs

        x = np.zeros((len(crops), 1, self.prep.input_size, self.prep.input_size), np.float32)
        ok = np.zeros(len(crops), bool)
        for i, crop in enumerate(crops):
            try:
                x[i, 0] = prepare_char(crop, self.prep)
                ok[i] = True
            except NoInkError:
                pass
        out = np.full((len(crops), len(self.labels)), np.nan, np.float32)
        idx = np.nonzero(ok)[0]
        for s in range(0, len(idx), self.batch_size):
            rows = idx[s:s + self.batch_size]
            y = self.model(x[rows])
            logits = torch.from_numpy(np.asarray(y[0] if isinstance(y, tuple | list) else y))
            out[rows] = calibrated_probs(logits, getattr(self.model, "meta", None)).numpy()
        return out

    def check(self, page: PageImage, regions: list[Region]) -> int:
        """Re-read the doubtful kanji of ``regions`` (in place); returns how many were changed."""
        pixels = page.pixels
        todo, crops = [], []
        for region in regions:
            for line in region.lines:
                for k, ch in enumerate(line.chars):
                    if not is_kanji(ch.text) or ch.confidence >= self.max_confidence:
                        continue
                    b = ch.bbox
                    crop = pixels[max(int(b.y0), 0):int(np.ceil(b.y1)), max(int(b.x0), 0):int(np.ceil(b.x1))]
                    if min(crop.shape) >= 4:
                        todo.append((line, k))
                        crops.append(crop)
        if not todo:
            return 0
        probs = self.probabilities(crops)
        changed = 0
        for (line, k), p in zip(todo, probs, strict=True):
            if np.isnan(p[0]):
                continue
            j = int(p.argmax())
            cand, ch = self.labels[j], line.chars[k]
            if cand != ch.text and is_kanji(cand) and p[j] >= self.min_prob:
                ch.text, ch.confidence = cand, round(float(p[j]), 4)
                line.text = "".join(c.text for c in line.chars)  # the line's text is its characters'
                changed += 1
        return changed


def load_char_checker(runtime: Any, *, threads: int | None = None, weights: str | Path | None = None,
                      **settings: Any) -> CharChecker | None:
    """The shipped classifier on ``runtime`` (None when this build has no such weights)."""
    from yomitori.pipeline.recognize import weights_dir

    path = Path(weights) if weights else weights_dir() / CHARS_WEIGHTS
    if not path.exists():
        return None
    return CharChecker(runtime.load(path, threads=threads), **settings)


__all__ = ["CHARS_WEIGHTS", "CharChecker", "is_kanji", "load_char_checker"]

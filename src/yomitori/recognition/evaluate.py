"""Line-recognition evaluation: CER and whole-line accuracy per condition, Tesseract as the peer.

Conditions cross direction (horizontal, vertical) with scan quality (clean, degraded), all on
held-out fonts and held-out documents (the data engine's ``split="eval"``), each reported apart.
The same line images are read in the same run by Tesseract (``jpn`` with ``--psm 7`` for
horizontal lines, ``jpn_vert`` with ``--psm 5`` for vertical ones).

Both sides are compared after the charset's normalisation with white space removed, since
Tesseract puts spaces between Japanese characters and the spaces around Latin words in Japanese
text are a typesetting choice, not content.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from yomitori.recognition.metrics import edit_distance

CONDITIONS = (("horizontal", "clean"), ("horizontal", "degraded"), ("vertical", "clean"), ("vertical", "degraded"))


@dataclass
class Score:
    edits: int = 0
    chars: int = 0
    lines: int = 0
    lines_ok: int = 0
    seconds: float = 0.0
    examples: list[tuple[str, str]] = field(default_factory=list)

    def add(self, hyp: str, ref: str) -> None:
        d = edit_distance(hyp, ref)
        self.edits += d
        self.chars += len(ref)
        self.lines += 1
        self.lines_ok += d == 0
        if d and len(self.examples) < 5:
            self.examples.append((ref, hyp))

    @property
    def cer(self) -> float:
        return self.edits / max(self.chars, 1)

    @property
    def line_accuracy(self) -> float:
        return self.lines_ok / max(self.lines, 1)

    def as_dict(self) -> dict[str, Any]:
        return {"cer": round(self.cer, 5), "line_accuracy": round(self.line_accuracy, 4), "lines": self.lines,
                "chars": self.chars, "ms_per_line": round(1000 * self.seconds / max(self.lines, 1), 2)}


def _canon(text: str) -> str:
    from yomitori.charset import normalize_text

    return "".join(normalize_text(text).split())


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def tesseract_read(image: np.ndarray, vertical: bool, tmp: Path) -> str:
    path = tmp / "line.png"
    # Tesseract likes some white border around a tight line crop
    pad = max(image.shape) // 20 + 8
    Image.fromarray(np.pad(image, pad, constant_values=255)).save(path)
    lang, psm = ("jpn_vert", "5") if vertical else ("jpn", "7")
    out = subprocess.run(["tesseract", str(path), "stdout", "-l", lang, "--psm", psm], capture_output=True,
                         text=True, timeout=60, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
    return out.stdout


def evaluate_lines(recognizer: Any, per_condition: int = 100, seed: int = 777, height: int = 32,
                   tesseract: bool = True, degrade_strength: float = 0.6, latin_font_prob: float = 0.0,
                   tex_prob: float = 0.0) -> dict[str, Any]:
    """Render ``per_condition`` held-out lines per condition and score yomitori and Tesseract.

    ``latin_font_prob`` and ``tex_prob``: the line engine's options of the same names (default
    0, the lines every published figure was measured on; they change only the lines they touch).
    """
    from yomitori.data.corpus import corpus_dir
    from yomitori.data.lines import LineConfig, render_line

    results: dict[str, Any] = {}
    if not (corpus_dir() / "eval.jsonl").exists():
        # the lines fall back to random characters: CERs unlike the held-out documents' (20 %+)
        print(f"warning: no text corpus at {corpus_dir()} (run `yomitori data corpus`): the lines are "
              "random characters, not the held-out documents", file=sys.stderr)
        results["text"] = "random characters (corpus not built)"
    use_tess = tesseract and tesseract_available()
    with tempfile.TemporaryDirectory() as td:
        for c, (direction, quality) in enumerate(CONDITIONS):
            cfg = LineConfig(height_px=height * 2, split="eval", vertical_prob=1.0 if direction == "vertical" else 0.0,
                             degrade_strength=degrade_strength if quality == "degraded" else 0.0,
                             latin_font_prob=latin_font_prob, tex_prob=tex_prob)
            samples = [render_line(seed + c, i, cfg) for i in range(per_condition)]
            ours, peer = Score(), Score()
            t0 = time.perf_counter()
            got = recognizer.recognize([s.image for s in samples], [s.vertical for s in samples])
            ours.seconds = time.perf_counter() - t0
            for s, r in zip(samples, got, strict=True):
                ours.add(_canon(r.text), _canon(s.text))
            if use_tess:
                t0 = time.perf_counter()
                for s in samples:
                    peer.add(_canon(tesseract_read(s.image, s.vertical, Path(td))), _canon(s.text))
                peer.seconds = time.perf_counter() - t0
            key = f"{direction}/{quality}"
            results[key] = {"yomitori": ours.as_dict(), "examples": ours.examples[:3]}
            if use_tess:
                results[key]["tesseract"] = peer.as_dict()
    return results


def format_table(results: dict[str, Any]) -> str:
    rows = ["| condition | yomitori CER | yomitori line acc. | Tesseract CER | Tesseract line acc. | ms/line (ours, batched) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for key, r in results.items():
        if not isinstance(r, dict) or "yomitori" not in r:  # settings recorded beside the conditions
            continue
        y, t = r["yomitori"], r.get("tesseract")
        tc = f"{100 * t['cer']:.2f} %" if t else "-"
        tl = f"{100 * t['line_accuracy']:.1f} %" if t else "-"
        rows.append(f"| {key} | {100 * y['cer']:.2f} % | {100 * y['line_accuracy']:.1f} % | {tc} | {tl} | {y['ms_per_line']} |")
    return "\n".join(rows)

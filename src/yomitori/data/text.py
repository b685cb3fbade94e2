"""Text sources for the line renderer: the built corpus, or a random generator for tests.

A text source is anything with ``sample(rng, n_chars) -> str`` returning *normalised* text.
:class:`RandomText` needs nothing installed: it strings together kanji compounds, kana words,
particles, katakana loan words, numbers, Latin words and punctuation in roughly the proportions
of technical Japanese prose, so that tests and a first training run can start before the
corpus is built.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from yomitori.charset import default_charset, named_subsets

PARTICLES = ("は", "が", "を", "に", "で", "と", "の", "も", "へ", "から", "まで", "より", "や")
ENDINGS = ("する。", "です。", "した。", "ます。", "される。", "できる。", "ない。", "である。")
LATIN = ("OCR", "PDF", "Linux", "HTML", "API", "GPU", "file", "root", "TCP/IP", "UTF-8", "v2.1",
         "Debian", "XML", "man", "apt", "OK", "kernel", "C++", "JIS", "USB")
PUNCT = ("、", "、", "。", "・", "「", "」", "（", "）", "『", "』", "ー", "…", "：", "！", "？", "〜")


@functools.cache
def _pools() -> dict[str, np.ndarray]:
    s = named_subsets()
    hira = [c for c in sorted(s["kana"]) if "\u3041" <= c <= "\u309f"]
    kata = [c for c in sorted(s["kana"]) if "\u30a1" <= c <= "\u30ff"]
    joyo = sorted(s["joyo"])
    other = sorted((s["jis1"] | s["jis2"]) - s["joyo"])
    return {"hira": np.array(hira), "kata": np.array(kata), "joyo": np.array(joyo),
            "other": np.array(other)}


class RandomText:
    """Random Japanese-looking text over the whole charset (no corpus needed)."""

    def __init__(self, rare_kanji: float = 0.15, latin: float = 0.08, digits: float = 0.06) -> None:
        self.rare_kanji = rare_kanji
        self.latin = latin
        self.digits = digits

    def _kanji(self, rng: np.random.Generator, n: int) -> str:
        p = _pools()
        out = []
        for _ in range(n):
            pool = p["other"] if rng.random() < self.rare_kanji else p["joyo"]
            out.append(str(pool[rng.integers(len(pool))]))
        return "".join(out)

    def _chunk(self, rng: np.random.Generator) -> str:
        p = _pools()
        r = rng.random()
        if r < self.latin:
            return f" {LATIN[rng.integers(len(LATIN))]} "
        if r < self.latin + self.digits:
            return str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
        if r < 0.25:
            k = p["kata"]
            return "".join(str(k[i]) for i in rng.integers(len(k), size=int(rng.integers(2, 6))))
        if r < 0.35:
            return str(PUNCT[rng.integers(len(PUNCT))])
        if r < 0.45:
            return str(ENDINGS[rng.integers(len(ENDINGS))])
        if r < 0.6:
            h = p["hira"]
            return "".join(str(h[i]) for i in rng.integers(len(h), size=int(rng.integers(1, 4))))
        return self._kanji(rng, int(rng.integers(1, 4))) + PARTICLES[rng.integers(len(PARTICLES))]

    def sample(self, rng: np.random.Generator, n_chars: int) -> str:
        cs = default_charset()
        text = ""
        while len(text) < n_chars:
            text = cs.normalize(text + self._chunk(rng))
        return text[:n_chars].strip() or "日本語"


class CorpusText:
    """Windows of ``n`` characters from corpus sentences, drawn with optional weights."""

    def __init__(self, sentences: Sequence[str], weights: Sequence[float] | None = None) -> None:
        if not sentences:
            raise ValueError("empty corpus")
        self.sentences = list(sentences)
        w = np.asarray(weights if weights is not None else [len(s) for s in sentences], float)
        self.cdf = np.cumsum(w / w.sum())

    def sample(self, rng: np.random.Generator, n_chars: int) -> str:
        i = int(np.searchsorted(self.cdf, rng.random(), side="right"))
        s = self.sentences[min(i, len(self.sentences) - 1)]
        if len(s) > n_chars:
            start = int(rng.integers(0, len(s) - n_chars + 1))
            s = s[start:start + n_chars]
        return s.strip() or "日本語"


@functools.cache
def text_source(split: str = "train", kind: str = "auto") -> RandomText | CorpusText:
    """The corpus of ``split`` when built (kind 'auto' or 'corpus'), else :class:`RandomText`."""
    if kind == "random":
        return RandomText()
    from yomitori.data import corpus

    try:
        sentences, weights = corpus.load_corpus_weighted(split)
    except FileNotFoundError:
        if kind == "corpus":
            raise
        return RandomText()
    return CorpusText(sentences, weights)

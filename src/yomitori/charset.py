"""The character set every recognizer predicts, and the text normalisation that feeds it.

A :class:`Charset` is an ordered list of distinct characters with indices ``0..N-1`` (CTC models
add their own blank). Its :attr:`Charset.sha256` covers the characters *and* the normalisation
version, so a checkpoint that records it can refuse a charset that would read its outputs wrongly.

:func:`default_charset` holds ~7,000 characters: ASCII and space, the JIS X 0208 symbols (rows 1,
2 and 8), Greek and Cyrillic (rows 6-7), kana (rows 4-5), kanji levels 1 and 2, every Jōyō kanji
(剝 塡 𠮟 頰 are outside JIS X 0208 levels 1-2 and are added), and a few extras common in Japanese
documents (①-⑳, Ⅰ-Ⅹ, ゔ).

Normalisation (:func:`normalize_text`, version ``NORMALIZATION``), in this order:

1. NFC, so that か + U+3099 becomes が.
2. Characters in the charset are kept as they are (the charset is a fixed point).
3. An explicit table wins where NFKC is wrong for Japanese: ～ (U+FF5E, the CP932 wave dash) → 〜,
   — (U+2014) → ―, ∥ → ‖, the vertical ellipses ︙ ︰ → … ‥ (NFKC would give ``...``).
4. Otherwise NFKC where every resulting character is in the charset: full-width ASCII
   (Ａ１（！) → ASCII, U+3000 → space, half-width katakana → full-width, vertical presentation forms
   (︒ ︑ ﹁ ︵) → their base characters, compatibility ideographs → unified ones, ㈱ → (株).
5. Where NFKC would break a character into a spacing mark, several characters or something
   outside the charset, the character is kept: ゛ ゜ ´ ¨ ￣ (NFKC gives a space + a combining
   mark), … ‥ ″ ℃ (multi-character), ①-⑳ and Ⅰ-Ⅹ (kept in the charset: they carry meaning).
6. Leftover combining voiced marks become ゛ ゜; control and zero-width characters are dropped;
   tabs and newlines become spaces; runs of spaces collapse to one; ends are stripped.

Full-width forms are therefore *labelled* by their ASCII counterpart: the difference is width
alone and Japanese documents mix both freely. The renderer still draws full-width forms (see
:data:`DISPLAY_VARIANTS`), so recognizers learn to read both. This module never imports torch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

NORMALIZATION = "yomitori-norm-1"

# Explicit mappings applied before NFKC (step 3 above).
FOLD: dict[str, str] = {
    "\uff5e": "〜",  # ～ full-width tilde: the wave dash in CP932 text
    "\u2014": "―",  # — em dash → JIS horizontal bar
    "\u2225": "‖",  # ∥ parallel → double vertical line (CP932 variant)
    "\ufe19": "…",  # ︙ vertical ellipsis
    "\ufe30": "‥",  # ︰ vertical two-dot leader
    "\ufe31": "―",  # ︱ vertical em dash
    "\ufe32": "‐",  # ︲ vertical en dash
    "\uff0d": "-",  # － full-width hyphen-minus
    "\u2013": "-",  # – en dash
    "\u3099": "゛",  # stray combining voiced mark
    "\u309a": "゜",
}
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def _jis_row(row: int) -> list[str]:
    """The characters of one JIS X 0208 row, in cell order, via Python's EUC-JP codec."""
    out = []
    for cell in range(1, 95):
        try:
            out.append(bytes([0xA0 + row, 0xA0 + cell]).decode("euc_jp"))
        except UnicodeDecodeError:
            continue
    return out


def _jis_rows(first: int, last: int) -> list[str]:
    return [ch for r in range(first, last + 1) for ch in _jis_row(r)]


@functools.cache
def _joyo() -> str:
    """The 2,136 Jōyō kanji in their official forms (𠮟 頰, not 叱 頬); from PyPI kanji-lists."""
    text = resources.files("yomitori").joinpath("data/assets/joyo.txt").read_text("utf-8")
    return text.strip()


def _canonical_symbol(ch: str) -> str:
    """A JIS symbol's label form: NFKC when it yields one non-combining character, else itself."""
    if ch in FOLD:
        return FOLD[ch]
    n = unicodedata.normalize("NFKC", ch)
    if len(n) == 1 and not unicodedata.combining(n):
        return " " if n.isspace() else n
    return ch


@functools.cache
def named_subsets() -> dict[str, frozenset[str]]:
    """Named character groups for reporting: kana, joyo, jis1, jis2, ascii, fullwidth, punct.

    ``fullwidth`` holds the full-width *input* forms (Ａ １ （ U+3000 ...) that normalise onto
    ASCII; they are never labels themselves.
    """
    ascii_ = frozenset(chr(c) for c in range(0x21, 0x7F))
    kana = frozenset(_jis_rows(4, 5)) | {"ゔ"}
    fullwidth = frozenset(
        [chr(c) for c in range(0xFF01, 0xFF5F)] + [chr(c) for c in range(0xFFE0, 0xFFE7)] + ["\u3000"]
    )
    symbols = {_canonical_symbol(ch) for ch in _jis_rows(1, 2) + _jis_row(8)}
    punct = frozenset(s for s in symbols if s not in ascii_ and s != " ")
    return {
        "ascii": ascii_,
        "kana": kana,
        "jis1": frozenset(_jis_rows(16, 47)),
        "jis2": frozenset(_jis_rows(48, 84)),
        "joyo": frozenset(_joyo()),
        "fullwidth": fullwidth,
        "punct": punct,
        "greek_cyrillic": frozenset(_jis_rows(6, 7)),
        "extra": frozenset(
            [chr(c) for c in range(0x2460, 0x2474)] + [chr(c) for c in range(0x2160, 0x216A)]
        ),
    }


def category(ch: str) -> str:
    """One reporting category per character.

    space, ascii, punct, kana, jis1, jis2, kanji (other kanji, e.g. 剝 𠮟), greek_cyrillic, extra
    or other.
    """
    if ch == " ":
        return "space"
    subsets = named_subsets()
    for name in ("ascii", "punct", "kana", "jis1", "jis2"):
        if ch in subsets[name]:
            return name
    if ch in subsets["joyo"] or unicodedata.name(ch, "").startswith("CJK"):
        return "kanji"
    for name in ("greek_cyrillic", "extra"):
        if ch in subsets[name]:
            return name
    return "other"


def _default_chars() -> list[str]:
    s = named_subsets()
    ordered: list[str] = [" "]
    ordered += [chr(c) for c in range(0x21, 0x7F)]
    ordered += [_canonical_symbol(ch) for ch in _jis_rows(1, 2)]
    ordered += _jis_row(8)
    ordered += _jis_rows(6, 7)
    ordered += _jis_rows(4, 5) + ["ゔ"]
    ordered += _jis_rows(16, 84)
    ordered += sorted(s["joyo"])
    ordered += sorted(s["extra"])
    seen: set[str] = set()
    out = []
    for ch in ordered:
        if ch not in seen:
            seen.add(ch)
            out.append(ch)
    return out


class Charset:
    """An ordered set of characters: ``encode``/``decode`` between text and indices 0..N-1."""

    def __init__(self, chars: Iterable[str], normalization: str = NORMALIZATION) -> None:
        self.chars: list[str] = list(chars)
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("every charset entry must be a single code point")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("duplicate characters in charset")
        self.normalization = normalization
        self.index: dict[str, int] = {c: i for i, c in enumerate(self.chars)}
        self._members = frozenset(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self._members

    def __repr__(self) -> str:
        return f"Charset({len(self)} chars, sha256={self.sha256[:12]})"

    @functools.cached_property
    def sha256(self) -> str:
        """Stable hash of the characters in order and the normalisation version."""
        payload = json.dumps({"chars": "".join(self.chars), "normalization": self.normalization})
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def normalize(self, text: str) -> str:
        """Normalise ``text`` onto this charset's label forms (rules in the module docstring)."""
        return normalize_text(text, self._members)

    def encode(self, text: str, *, errors: str = "strict", normalize: bool = True) -> list[int]:
        """Indices of ``text`` (normalised first). ``errors``: strict (raise) or skip."""
        if normalize:
            text = self.normalize(text)
        ids = []
        for ch in text:
            i = self.index.get(ch)
            if i is None:
                if errors == "strict":
                    raise ValueError(f"character {ch!r} (U+{ord(ch):04X}) is not in the charset")
                continue
            ids.append(i)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def filter(self, text: str) -> str:
        """Normalise and drop what the charset cannot encode."""
        return "".join(ch for ch in self.normalize(text) if ch in self._members)

    def to_dict(self) -> dict:
        return {
            "format": "yomitori-charset-1",
            "normalization": self.normalization,
            "sha256": self.sha256,
            "chars": "".join(self.chars),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Charset:
        cs = cls(list(d["chars"]), d.get("normalization", NORMALIZATION))
        if "sha256" in d and d["sha256"] != cs.sha256:
            raise ValueError("charset hash does not match its characters")
        return cs

    def save(self, path: str | os.PathLike) -> None:
        from yomitori.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Charset:
        return cls.from_dict(json.loads(Path(path).read_text("utf-8")))


@functools.cache
def default_charset() -> Charset:
    """The ~7,000-character charset every Japanese recognizer uses by default (cached)."""
    return Charset(_default_chars())


def _normalize_char(ch: str, members: frozenset[str]) -> str:
    if ch in members:
        return ch
    if ch in FOLD:
        return FOLD[ch]
    if ch in _ZERO_WIDTH:
        return ""
    if ch.isspace():
        return " "
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Cs"):
        return ""
    n = unicodedata.normalize("NFKC", ch)
    n = "".join(c if unicodedata.combining(c) else FOLD.get(c, c) for c in n)
    if n and all(c in members or unicodedata.combining(c) for c in n):
        return n
    return ch


def normalize_text(text: str, members: frozenset[str] | None = None) -> str:
    """Normalise ``text`` onto the label forms of ``members`` (default: the default charset)."""
    if members is None:
        members = default_charset()._members
    text = unicodedata.normalize("NFC", text)
    out = "".join(_normalize_char(ch, members) for ch in text)
    out = unicodedata.normalize("NFC", out)  # compose half-width ｶﾞ → ガ
    out = "".join(FOLD.get(c, c) if unicodedata.combining(c) else c for c in out)
    return " ".join(out.split())


@functools.cache
def display_variants() -> dict[str, tuple[str, ...]]:
    """Label character → other characters that normalise to it and a renderer may draw instead."""
    cs = default_charset()
    out: dict[str, list[str]] = {}
    sources = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000", "\uff5e", "\uffe5"]
    for src in sources:
        dst = normalize_text(src, cs._members) if src != "\u3000" else " "
        if len(dst) == 1 and dst in cs and dst != src:
            out.setdefault(dst, []).append(src)
    return {k: tuple(v) for k, v in out.items()}


DISPLAY_VARIANTS = display_variants

"""Japanese fonts for the synthetic data engine: discovery, the train/eval split, coverage.

Fonts are found through fontconfig (``fc-list``) by family name, never by hard-coded paths, and
classified by :data:`FAMILIES`: glyph *group* (families that share glyphs share a group and so
one side of the split, as DATA.md demands), style (printed, handwriting, brush) and split (train
or eval). :func:`renderable_chars` measures which characters a font really draws: a cmap entry
that points at ``.notdef``, at an empty outline or at a copy of the tofu box does not count. The
result is cached on disk under ``$YOMITORI_CACHE`` (default ``~/.cache/yomitori``).

Install the fonts with ``bash scripts/install_fonts.sh [minimal|full|all]``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ImageFont

from yomitori.errors import UserError

logging.getLogger("fontTools").setLevel(logging.ERROR)  # 'post' table warnings are noise here

MEASURE_VERSION = 2
MEASURE_SIZE_PX = 32

# (family regex matched against fontconfig's first family name, group, style, split).
# Groups follow DATA.md: IPA = Takao ≈ IPAex ≈ IPAmj; M+ ≈ MigMix ≈ Migu ≈ VL Gothic;
# Ume = UmePlus; Konatu = Komatuna; the Kouzan brush fonts share kana.
FAMILIES: list[tuple[str, str, str, str]] = [
    (r"Noto (Sans|Serif|Sans Mono) CJK JP", "noto", "printed", "train"),
    (r"(IPA|Takao).*", "ipa", "printed", "train"),
    (r"(M PLUS (1|2)( Code)?|Mplus Code (50|60)|MigMix.*|Migu.*|VL P?Gothic)", "mplus", "printed", "train"),
    (r"Sawarabi Gothic", "sawarabi-gothic", "printed", "train"),
    (r"Sawarabi Mincho", "sawarabi-mincho", "printed", "train"),
    (r"HanaMin[AB]", "hanazono", "printed", "train"),
    (r"(Ume|UmePlus) .*", "ume", "printed", "train"),
    (r"(Konatu|Komatuna).*", "konatu", "printed", "train"),
    (r"Oradano-mincho-GSRR", "oradano", "printed", "train"),
    (r"Mona", "mona", "printed", "train"),
    (r"Misaki.*", "misaki", "printed", "train"),
    (r"DotGothic16", "dotgothic", "printed", "train"),
    (r"SetoFont", "seto", "handwriting", "train"),
    (r"kiloji.*", "kiloji", "handwriting", "train"),
    (r"YOzS.*", "yozfont", "handwriting", "train"),
    (r"(KouzanBrushFont.*|AoyagiKouzanFontT)", "kouzan", "brush", "train"),
    (r"BIZ UDP?(Gothic|Mincho)", "bizud", "printed", "eval"),
    (r"MotoyaL(Cedar|Maru)", "motoya", "printed", "eval"),
    (r"Dejima", "dejima", "printed", "eval"),
    (r"Klee One", "klee", "handwriting", "eval"),
    (r"Yusei Magic", "yusei", "handwriting", "eval"),
    (r"AoyagiSosekiFont2", "soseki", "brush", "eval"),
    # Latin fonts that mixed Japanese/Latin typesetting pairs with a Japanese font (style "latin":
    # never a line's main font, see LineConfig.latin_font_prob). Computer/Latin Modern, the TeX
    # default, is held out for evaluation (real TeX-made PDFs use it).
    (r"DejaVu (Sans|Serif)", "dejavu", "latin", "train"),
    (r"Liberation (Sans|Serif|Sans Narrow)", "liberation", "latin", "train"),
    (r"TeX Gyre (Termes|Pagella|Schola|Bonum|Heros|Heros Cn|Adventor)", "texgyre", "latin", "train"),
    (r"Free(Serif|Sans)", "freefont", "latin", "train"),
    # typewriter faces: code, commands and file names in technical Japanese
    (r"DejaVu Sans Mono|Liberation Mono|FreeMono|TeX Gyre Cursor", "latin-mono", "latin", "train"),
    (r"(Latin Modern|LM) (Roman|Sans).*|CMU .*", "lmodern", "latin", "eval"),
]
STYLES = ("printed", "handwriting", "brush")  # the styles of Japanese fonts; "latin" is apart
SPLITS = ("train", "eval")


@dataclass(frozen=True)
class FontSpec:
    """One face of one font file, classified for the train/eval split."""

    path: str
    index: int  # face index inside a .ttc collection
    family: str
    style: str  # printed | handwriting | brush
    split: str  # train | eval
    group: str  # glyph family: fonts sharing glyphs share a group
    weight: str = "Regular"

    @property
    def name(self) -> str:
        return f"{self.family} {self.weight}".strip()

    def load(self, size_px: int) -> ImageFont.FreeTypeFont:
        """A Pillow font at ``size_px`` (cached per process)."""
        return _load_font(self.path, self.index, int(size_px))

    @functools.cached_property
    def has_vertical(self) -> bool:
        """Whether the font has OpenType ``vert``/``vrt2`` substitutions (tategaki forms)."""
        return _has_vert(self.path, self.index)

    def to_dict(self) -> dict:
        return {"path": self.path, "index": self.index, "family": self.family,
                "style": self.style, "split": self.split, "group": self.group,
                "weight": self.weight}


@functools.lru_cache(maxsize=512)
def _load_font(path: str, index: int, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_px, index=index, layout_engine=ImageFont.Layout.RAQM)


@functools.cache
def _has_vert(path: str, index: int) -> bool:
    """Measured, not read from GSUB: some fonts list ``vert`` yet leave 。「ー unchanged."""
    font = _load_font(path, index, MEASURE_SIZE_PX)
    changed = 0
    for ch in "、。「ー（":
        try:
            plain = font.getmask2(ch, anchor="ls")
            vert = font.getmask2(ch, anchor="ls", features=["vert", "vrt2"])
        except (OSError, ValueError):
            return False
        if plain[1] != vert[1] or bytes(plain[0]) != bytes(vert[0]):
            changed += 1
    return changed >= 4


def classify(family: str) -> tuple[str, str, str] | None:
    """(group, style, split) for a family name, or None if it is not a known Japanese font."""
    for pattern, group, style, split in FAMILIES:
        if re.fullmatch(pattern, family):
            return group, style, split
    return None


@functools.cache
def _fc_list() -> tuple[tuple[str, int, str, str], ...]:
    if shutil.which("fc-list") is None:
        raise UserError("fontconfig's fc-list is missing: run 'bash scripts/install_fonts.sh'")
    fmt = "%{file}|%{index}|%{family}|%{style}\n"
    out = subprocess.run(["fc-list", "--format", fmt], capture_output=True, text=True, check=True)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split("|")
        if len(parts) < 4:
            continue
        path, index, family, style = parts[0], parts[1], parts[2], parts[3]
        rows.append((path, int(index or 0), family.split(",")[0].strip(), style.split(",")[0]))
    return tuple(sorted(rows))


@functools.cache
def _all_fonts() -> tuple[FontSpec, ...]:
    seen: set[tuple[str, int]] = set()
    specs = []
    for path, index, family, weight in _fc_list():
        cls = classify(family)
        if cls is None:
            continue
        key = (os.path.realpath(path), index)
        if key in seen:  # fonts-japanese-*.ttf are symlinks to IPAex
            continue
        seen.add(key)
        group, style, split = cls
        specs.append(FontSpec(key[0], index, family, style, split, group, weight))
    return tuple(sorted(specs, key=lambda s: (s.split, s.style, s.group, s.family, s.weight)))


def list_fonts(split: str | None = None, style: str | Iterable[str] | None = None) -> list[FontSpec]:
    """Installed Japanese fonts, optionally of one split ('train'/'eval') and style(s)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    styles = {style} if isinstance(style, str) else set(style) if style is not None else None
    return [
        f for f in _all_fonts()
        if (split is None or f.split == split) and (styles is None or f.style in styles)
    ]


def find_font(family: str, weight: str | None = None) -> FontSpec:
    """The installed font whose family name is ``family`` (UserError if missing)."""
    for f in _all_fonts():
        if f.family == family and (weight is None or f.weight == weight):
            return f
    raise UserError(f"font family {family!r} is not installed (see scripts/install_fonts.sh)")


def cache_dir() -> Path:
    """Where measured coverage and other derived data live (outside git)."""
    root = os.environ.get("YOMITORI_CACHE") or os.path.join(Path.home(), ".cache", "yomitori")
    return Path(root)


def _cache_key(font: FontSpec, chars: str) -> str:
    st = os.stat(font.path)
    h = hashlib.sha256()
    h.update(f"{font.path}|{font.index}|{st.st_size}|{int(st.st_mtime)}|{MEASURE_VERSION}".encode())
    h.update(chars.encode("utf-8"))
    return h.hexdigest()[:24]


def _tofu_masks(font: ImageFont.FreeTypeFont, cmap: dict[int, str]) -> list[bytes]:
    """Bitmaps of the font's fallback glyph, rendered through code points it does not map."""
    out = []
    for cp in (0x0378, 0xE0FF, 0x10FFFD, 0x2FFFD):
        if cp not in cmap:
            try:
                m = font.getmask(chr(cp))
            except OSError:  # a broken fallback glyph: nothing to compare against
                break
            out.append(bytes(m) + bytes(str(m.size), "ascii"))
            break
    return out


def measure_renderable(font: FontSpec, chars: Iterable[str]) -> frozenset[str]:
    """Characters of ``chars`` that ``font`` draws with real ink (no tofu, no blank glyph)."""
    from fontTools.ttLib import TTFont

    with TTFont(font.path, fontNumber=font.index, lazy=True) as tt:
        cmap = tt.getBestCmap() or {}
        order = tt.getGlyphOrder()
    notdef = {order[0]} if order else set()
    notdef.add(".notdef")
    pil = font.load(MEASURE_SIZE_PX)
    tofu = set(_tofu_masks(pil, cmap))
    ok = set()
    for ch in chars:
        glyph = cmap.get(ord(ch))
        if glyph is None or glyph in notdef:
            continue
        if ch.isspace():
            ok.add(ch)
            continue
        try:
            mask = pil.getmask(ch)
        except OSError:  # broken hinting program or outline: FreeType refuses the glyph
            continue
        bbox = mask.getbbox()
        if bbox is None:
            continue
        arr = np.asarray(mask)
        if arr.size == 0 or int(arr.max()) < 128:  # a faint speck is not a glyph
            continue
        if bytes(mask) + bytes(str(mask.size), "ascii") in tofu:
            continue
        ok.add(ch)
    return frozenset(ok)


@functools.lru_cache(maxsize=256)
def _renderable_cached(font: FontSpec, chars: str) -> frozenset[str]:
    path = cache_dir() / "fonts" / f"{_cache_key(font, chars)}.json"
    if path.exists():
        try:
            return frozenset(json.loads(path.read_text("utf-8"))["chars"])
        except (OSError, ValueError, KeyError):
            pass
    got = measure_renderable(font, chars)
    path.parent.mkdir(parents=True, exist_ok=True)
    from yomitori.atomic import atomic_write_text

    payload = {"font": font.to_dict(), "measure_version": MEASURE_VERSION,
               "chars": "".join(sorted(got))}
    atomic_write_text(path, json.dumps(payload, ensure_ascii=False))
    return got


def renderable_chars(font: FontSpec, chars: Iterable[str] | None = None) -> frozenset[str]:
    """The characters (default: the default charset) ``font`` draws, measured once and cached."""
    if chars is None:
        from yomitori.charset import default_charset

        chars = default_charset().chars
    return _renderable_cached(font, "".join(sorted(set(chars))))


def coverage_report(fonts: Iterable[FontSpec] | None = None) -> list[dict]:
    """Per font: name, group, style, split, vertical features and renderable-set sizes."""
    from yomitori.charset import default_charset, named_subsets

    subsets = named_subsets()
    rows = []
    for f in fonts if fonts is not None else list_fonts():
        r = renderable_chars(f)
        rows.append({
            "font": f.name, "group": f.group, "style": f.style, "split": f.split,
            "vertical": f.has_vertical, "renderable": len(r), "of": len(default_charset()),
            **{k: len(r & subsets[k]) for k in ("kana", "joyo", "jis1", "jis2")},
        })
    return rows

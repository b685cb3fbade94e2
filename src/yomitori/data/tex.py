"""TeX-flavoured Latin inside Japanese lines: the logos, macro code and curly quotes of TeX-made PDFs.

Japanese technical documents are very often typeset with (p/up)LaTeX, and their PDFs carry what
the corpus's prose hardly has: the TeX logos (T, a lowered E, X; an L with a small raised A),
macro code full of braces, and curly quotes. On real pages the line recognizer read the logos
as ``ITIFX``, braces as parentheses and curly quotes as straight ones (session 9, selection
pages). :func:`add_tex` puts one such snippet into a horizontal line; the logos are drawn with
their TeX geometry through ``layout_line(..., shape=...)``.

Labels are what a PDF's text layer holds for these glyphs (``pdftotext``): the logo
``\\LaTeX`` is the letters ``LATEX`` — its A and E are capitals, only moved and scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (kern before the glyph, baseline shift down, scale), em of the line's size: plain TeX's \TeX
# is T\kern-.1667em\lower.5ex\hbox{E}\kern-.125em X (0.5 ex ≈ 0.215 em); LaTeX's \LaTeX puts a
# capital A at about 0.7 of the size after L\kern-.36em, its top level with the T's (raised by
# 0.3 × the cap height ≈ 0.205 em), then \kern-.15em\TeX; \LaTeXe adds \kern.15em 2 and a
# subscript ε (lowered ≈ 0.15 em).
Shape = tuple[float, float, float]
PLAIN: Shape = (0.0, 0.0, 1.0)
_TEX: list[Shape] = [PLAIN, (-0.1667, 0.215, 1.0), (-0.125, 0.0, 1.0)]
_LA: list[Shape] = [PLAIN, (-0.36, -0.205, 0.7)]
_E2: list[Shape] = [(0.15, 0.0, 1.0), (0.0, 0.15, 1.0)]
_LATEX: list[Shape] = _LA + [(-0.15, 0.0, 1.0)] + _TEX[1:]
# \BibTeX: B\kern-.05em{\sc i\kern-.025em b}\kern-.08em T\kern-.1667em\lower.7ex\hbox{E}\kern-.125em X,
# the i and b in small capitals. Text layers disagree on it: "BibTEX" where the small capitals
# are lower-case slots of a small-caps font, "BIBTEX" where they are scaled capitals (both seen
# on real pages), so both labels are drawn the same way.
_BIB: list[Shape] = [PLAIN, (-0.05, 0.0, 0.78), (-0.025, 0.0, 0.78), (-0.08, 0.0, 1.0), (-0.1667, 0.30, 1.0),
                     (-0.125, 0.0, 1.0)]


def _after(prefix: str, logo: list[Shape]) -> list[Shape]:
    return [PLAIN] * len(prefix) + logo


LOGOS: dict[str, tuple[list[Shape], float]] = {  # label -> (shape per character, weight)
    "TEX": (_TEX, 2.0),
    "LATEX": (_LATEX, 3.0),
    "pTEX": (_after("p", _TEX), 1.0),
    "upTEX": (_after("up", _TEX), 1.0),
    "pLATEX": (_after("p", _LATEX), 2.0),
    "upLATEX": (_after("up", _LATEX), 1.0),
    "LATEX2ε": (_LATEX + _E2, 1.0),
    "pLATEX2ε": (_after("p", _LATEX) + _E2, 1.0),
    "e-pTEX": (_after("e-p", _TEX), 0.5),
    # session 9, stage 16: the BibTeX family and the other engines' names
    "BibTEX": (_BIB, 1.0),
    "BIBTEX": (_BIB, 1.0),
    "pBibTEX": (_after("p", _BIB), 0.5),
    "pBIBTEX": (_after("p", _BIB), 0.5),
    "upBIBTEX": (_after("up", _BIB), 0.3),
    "JBibTEX": (_after("J", _BIB), 0.3),
    "upLATEX2ε": (_after("up", _LATEX) + _E2, 0.3),
    "e-upTEX": (_after("e-up", _TEX), 0.3),
    "LuaTEX": (_after("Lua", _TEX), 0.5),
    "LuaLATEX": (_after("Lua", _LATEX), 0.5),
    "pdfTEX": (_after("pdf", _TEX), 0.3),
    "pdfLATEX": (_after("pdf", _LATEX), 0.3),
}
_MACROS = ("newcommand", "renewcommand", "def", "gdef", "let", "begin", "end", "usepackage",
           "documentclass", "section", "label", "ref", "textbf", "emph", "item", "input",
           "kanjiskip", "xkanjiskip", "setlength", "makeatletter", "jobname", "title", "author",
           "maketitle", "includegraphics", "hbox", "vskip", "kern", "relax", "expandafter")
_WORDS = ("jsarticle", "jsbook", "dvipdfmx", "uplatex", "platex", "graphicx", "article", "document",
          "itemize", "figure", "table", "center", "10pt", "a4paper", "0.5zw", "1em", "#1", "#2", "@title")


def _macro(rng: np.random.Generator) -> str:
    """A few tokens of TeX source: \\name, [opt] and {arg} groups, sometimes nested or with @."""
    out = []
    for _ in range(1 if rng.random() < 0.7 else 2):
        name = str(rng.choice(_MACROS))
        if rng.random() < 0.15:
            name = "@" + name
        tok = "\\" + name + ("*" if rng.random() < 0.1 else "")
        if rng.random() < 0.3:
            tok += "[" + str(rng.choice(_WORDS)) + "]"
        for _ in range(int(rng.choice(3, p=[0.3, 0.5, 0.2]))):
            arg = "\\" + str(rng.choice(_MACROS)) if rng.random() < 0.3 else str(rng.choice(_WORDS))
            tok += "{" + arg + "}"
        out.append(tok)
    return "".join(out) + ("%" if rng.random() < 0.1 else "")


def _boundaries(text: str) -> list[int]:
    """Positions where a snippet may go: not inside a run of ASCII letters and digits."""
    return [i for i in range(len(text) + 1)
            if i == 0 or i == len(text) or not (text[i - 1].isascii() and text[i - 1].isalnum()
                                                and text[i].isascii() and text[i].isalnum())]


CHARS = frozenset("".join(LOGOS).upper() + "".join(LOGOS) + "".join(_MACROS) + "".join(_WORDS) + "\\{}[]*@%“”‘’")  # all it may add


@dataclass
class TexSnippet:
    """A line after :func:`add_tex`: labels, drawn forms, logo geometry and where each came from."""

    text: str
    display: str
    shape: list[Shape] | None  # per character, None when every character is plain
    source: list[int]  # per character, its index in the line before, or -1 for an added one
    added: str  # what was added ("" when nothing was)


def add_tex(rng: np.random.Generator, text: str, display: str, drawable: set[str] | frozenset[str]) -> TexSnippet:
    """Put a logo (55 %), macro code (30 %) or a curly-quoted span (15 %) into the line.

    ``drawable``: the characters of :data:`CHARS` the line's faces draw; nothing is added when
    the snippet needs another."""
    kind = str(rng.choice(["logo", "macro", "quote"], p=[0.55, 0.3, 0.15]))
    unchanged = TexSnippet(text, display, None, list(range(len(text))), "")
    if kind == "quote":
        if len(text) < 3:
            return unchanged
        open_q, close_q = ("“", "”") if rng.random() < 0.7 else ("‘", "’")
        if not {open_q, close_q} <= drawable:
            return unchanged
        a = int(rng.integers(0, len(text) - 1))
        b = int(min(len(text), a + rng.integers(2, 9)))
        return TexSnippet(text[:a] + open_q + text[a:b] + close_q + text[b:],
                          display[:a] + open_q + display[a:b] + close_q + display[b:], None,
                          [*range(a), -1, *range(a, b), -1, *range(b, len(text))], open_q + close_q)
    if kind == "logo":
        names = list(LOGOS)
        weights = np.array([LOGOS[n][1] for n in names])
        snippet = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        # a little of each face's and each document's own spacing
        piece = [(k * float(rng.uniform(0.8, 1.2)), dy, s) for k, dy, s in LOGOS[snippet][0]]
    else:
        snippet = _macro(rng)
        piece = [PLAIN] * len(snippet)
    # scaled letters are small capitals: drawn as capitals (the BibTeX logo's i and b)
    drawn = "".join(c.upper() if sc < 1.0 else c for c, (_, _, sc) in zip(snippet, piece, strict=True))
    if not set(drawn) <= drawable:
        return unchanged
    at = int(rng.choice(_boundaries(text)))
    shape = [PLAIN] * at + piece + [PLAIN] * (len(text) - at)
    return TexSnippet(text[:at] + snippet + text[at:], display[:at] + drawn + display[at:],
                      shape if kind == "logo" else None,
                      [*range(at), *[-1] * len(snippet), *range(at, len(text))], snippet)


# Names TeX documents set in small capitals (\textsc): lower-case letters drawn as capitals at
# about 0.78 of the size; a PDF's text layer keeps their lower-case letters ("PostScript" read
# "POSTSCRPT" on real pages: session 9).
SMALL_CAPS_WORDS = ("PostScript", "docstrip", "dvips", "dvipdfmx", "Ghostscript", "Unicode", "makeindex",
                    "mendex", "upmendex", "OpenType", "TrueType", "kpathsea", "ptexenc", "Acrobat",
                    "jsclasses", "otf", "pxjahyper", "luatexja", "Adobe", "Morisawa", "Windows", "Linux")
SMALL_CAPS_SCALE = 0.78
SMALL_CAPS_CHARS = frozenset("".join(SMALL_CAPS_WORDS).upper())  # what it draws


def add_small_caps(rng: np.random.Generator, line: TexSnippet, drawable: set[str] | frozenset[str]) -> TexSnippet:
    """Put a name set in small capitals into the line (label: the name as spelled)."""
    word = str(rng.choice(SMALL_CAPS_WORDS))
    scale = SMALL_CAPS_SCALE * float(rng.uniform(0.95, 1.05))
    if not set(word.upper()) <= drawable:
        return line
    at = int(rng.choice(_boundaries(line.text)))
    piece = [(0.0, 0.0, scale if c.islower() else 1.0) for c in word]
    shape = line.shape or [PLAIN] * len(line.text)
    return TexSnippet(line.text[:at] + word + line.text[at:], line.display[:at] + word.upper() + line.display[at:],
                      shape[:at] + piece + shape[at:], line.source[:at] + [-1] * len(word) + line.source[at:],
                      line.added + word)

"""Shared helpers: the small font set that 'install_fonts.sh minimal' installs."""

from __future__ import annotations

import pytest

# families from scripts/install_fonts.sh minimal; tests restrict themselves to these so that
# coverage is measured for a handful of fonts only (it is cached in ~/.cache/yomitori after that)
MINIMAL_TRAIN = ("IPAGothic", "IPAPGothic", "SetoFont", "AoyagiKouzanFontT")
MINIMAL_EVAL = ("BIZ UDMincho", "BIZ UDPMincho", "Yusei Magic")


def require_font(family: str):  # noqa: ANN201
    from yomitori.data.fonts import list_fonts

    for f in list_fonts():
        if f.family == family:
            return f
    pytest.skip(f"font {family!r} missing: run 'bash scripts/install_fonts.sh minimal'")

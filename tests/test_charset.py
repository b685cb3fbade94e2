"""Charset contents, normalisation rules and the stable hash."""

from __future__ import annotations

import pytest

from yomitori.charset import Charset, category, default_charset, named_subsets


def test_default_charset_covers_the_required_sets() -> None:
    cs = default_charset()
    assert 6800 <= len(cs) <= 7200
    subsets = named_subsets()
    for name in ("kana", "joyo", "jis1", "jis2", "ascii", "punct"):
        missing = [c for c in subsets[name] if c not in cs]
        assert not missing, (name, missing[:5])
    assert len(subsets["joyo"]) == 2136 and len(subsets["jis1"]) == 2965
    assert len(subsets["jis2"]) == 3390
    for ch in "剝塡𠮟頰叱頬々〆ヶヴー":
        assert ch in cs, ch
    assert category("剝") == "kanji" and category("あ") == "kana" and category("A") == "ascii"
    assert category("亜") == "jis1" and category("。") == "punct"


@pytest.mark.parametrize(("raw", "want"), [
    ("ＡＢＣ１２３（テスト）", "ABC123(テスト)"),  # full-width ASCII → ASCII (NFKC)
    ("ｶﾞｷﾞﾊﾟ", "ガギパ"),  # half-width katakana composes
    ("か\u3099", "が"),  # combining voiced mark composes (NFC)
    ("︒︑﹁縦﹂︵", "。、「縦」("),  # vertical presentation forms → base
    ("～", "〜"),  # full-width tilde is the wave dash, not ASCII ~
    ("…‥℃″", "…‥℃″"),  # NFKC would split these: kept
    ("゛゜", "゛゜"),  # NFKC would give space + combining mark: kept
    ("①Ⅲ", "①Ⅲ"),  # kept, they carry meaning
    ("㈱", "(株)"),
    ("a\u3000b\t c\u200b", "a b c"),
])
def test_normalisation_rules(raw: str, want: str) -> None:
    assert default_charset().normalize(raw) == want


def test_every_charset_char_is_a_fixed_point() -> None:
    cs = default_charset()
    assert all(cs.normalize(c) == c for c in cs.chars if c != " ")


def test_encode_decode_and_stable_hash(tmp_path) -> None:
    cs = default_charset()
    text = "日本語のOCR、テスト。"
    assert cs.decode(cs.encode(text)) == text
    with pytest.raises(ValueError):
        cs.encode("\u0e01")  # Thai
    assert cs.encode("\u0e01x", errors="skip") == cs.encode("x")
    cs.save(tmp_path / "cs.json")
    again = Charset.load(tmp_path / "cs.json")
    assert again.chars == cs.chars and again.sha256 == cs.sha256
    # the hash is pinned: change it only with a new charset or normalisation version
    assert cs.sha256 == Charset(cs.chars).sha256
    assert Charset(cs.chars[::-1]).sha256 != cs.sha256

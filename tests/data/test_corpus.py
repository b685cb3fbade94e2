"""Corpus building offline: extraction, split by document, dedup and train/eval overlap."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from yomitori.data.corpus import (
    RUN,
    build_corpus,
    html_paragraphs,
    load_corpus,
    man_paragraphs,
    runs,
    sentences,
)

HTML = """<html><body><h1>設定の概要</h1><p>この文書では設定ファイルの書き方を説明します。
詳しくは次の節を見てください。</p><pre>ここは表示されないコードです。</pre>
<p>共通の定型文がここにあり、すべての文書で繰り返されます。</p></body></html>"""
MAN = """.TH TEST 1
.SH 名前
test \\- 試験用のコマンドです。
.SH 説明
このコマンドは\\fB入力\\fRを読み込んで結果を表示する。
共通の定型文がここにあり、すべての文書で繰り返されます。
"""


def _tree(tmp: Path, n_docs: int) -> Path:
    root = tmp / "pkg"
    for k in range(n_docs):
        d = root / "usr/share/doc/fake-ja/html"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"doc{k}.html").write_text(HTML.replace("設定", f"設定{k}番"), "utf-8")
        m = root / "usr/share/man/ja/man1"
        m.mkdir(parents=True, exist_ok=True)
        (m / f"cmd{k}.1.gz").write_bytes(gzip.compress(MAN.replace("入力", f"入力{k}").encode()))
    (root / "usr/share/doc/fake-ja/copyright").write_text("GPL-2+", "utf-8")
    return root


def test_extraction_leaves_code_out_and_reads_man_pages() -> None:
    paras = html_paragraphs(HTML)
    assert not any("コード" in p for p in paras)
    assert any("書き方を説明します" in s for p in paras for s in sentences(p))
    man = " ".join(man_paragraphs(MAN))
    assert "入力を読み込んで結果を表示する。" in man and "\\f" not in man


def test_corpus_split_by_document_without_shared_runs(tmp_path: Path) -> None:
    root = _tree(tmp_path, 30)
    meta = build_corpus(tmp_path / "corpus", ["fake-ja"], eval_percent=30,
                        roots={"fake-ja": root}, progress=False)
    train, evals = load_corpus("train", tmp_path / "corpus"), load_corpus("eval", tmp_path / "corpus")
    assert train and evals and meta["eval_sentences"] == len(evals)
    eval_runs = {r for s in evals for r in runs(s, RUN)}
    assert not any(r in eval_runs for s in train for r in runs(s, RUN))
    assert len(set(train)) == len(train)  # the boilerplate sentence appears once at most
    docs = {json.loads(line)["doc"] for line in (tmp_path / "corpus/train.jsonl").open()}
    edocs = {json.loads(line)["doc"] for line in (tmp_path / "corpus/eval.jsonl").open()}
    assert not (docs & edocs)
    assert (tmp_path / "corpus/licences/fake-ja.copyright").exists()

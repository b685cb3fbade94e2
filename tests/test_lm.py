"""The character n-gram language model and its fusion into CTC beam search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from yomitori.charset import default_charset
from yomitori.errors import UserError
from yomitori.recognition.ctc import beam_decode, greedy_decode
from yomitori.recognition.lm import CharNgramLM, encode_texts, load_lm, pack, train_lm

TEXTS = ["設定を調整する。", "音量を調整します。", "画面の明るさを調整できます。", "調整が必要です。",
         "設定を変更する。", "画面を変更します。", "明るさの設定です。"] * 3


@pytest.fixture(scope="module")
def lm() -> CharNgramLM:
    cs = default_charset()
    return train_lm(encode_texts(TEXTS, cs), len(cs), order=3, min_count=1, meta={"charset_sha256": cs.sha256})


def ids(text: str) -> list[int]:
    return default_charset().encode(text)


@pytest.mark.parametrize("context", ["", "調", "調整", "設定", "を", "ZQ", "整を"])
def test_next_character_probabilities_sum_to_one(lm: CharNgramLM, context: str) -> None:
    d = lm.distribution(ids(context))
    assert d.shape == (len(default_charset()),)
    assert np.isfinite(d).all()  # every charset character, seen or not, has a finite log-prob
    assert np.exp(d.astype(np.float64)).sum() == pytest.approx(1.0, abs=2e-3)


def test_pruned_model_still_normalises() -> None:
    cs = default_charset()
    pruned = train_lm(encode_texts(TEXTS[:7] + TEXTS[:3], cs), len(cs), order=3, min_count=2)
    assert pruned.meta["ngrams_kept"]["3"] < pruned.meta["ngrams_seen"]["3"]
    for context in ("調", "調整", "設定", "明る"):
        assert np.exp(pruned.distribution(ids(context)).astype(np.float64)).sum() == pytest.approx(1.0, abs=2e-3)


def test_the_model_learns_and_unseen_contexts_back_off(lm: CharNgramLM) -> None:
    after = lm.distribution(ids("調"))
    assert after[ids("整")[0]] > after[ids("護")[0]] + 5  # 調整, never 調護
    assert lm.score(ids("調整")) > lm.score(ids("削護")) + 5
    # a context never seen (ZQ) gives exactly the distribution of its seen suffix... or of nothing
    assert np.array_equal(lm.distribution(ids("ZQ")), lm.distribution([]))
    assert np.array_equal(lm.distribution(ids("Z調")), lm.distribution(ids("調")))
    # only the last order - 1 characters count
    assert np.array_equal(lm.distribution(ids("画面の明る")), lm.distribution(ids("明る")))
    assert lm(ids("設定を調"), ids("整")[0]) == pytest.approx(lm.logp(ids("を調"), ids("整")[0]))


def test_vectorised_lookup_matches_the_distribution(lm: CharNgramLM) -> None:
    ctxs = ["調整", "設定", "ZQ", "を調"]
    nxt = ["す", "を", "a", "整"]
    got = lm.logp_many(np.array([pack(ids(c)) for c in ctxs]), np.array([ids(n)[0] for n in nxt]))
    want = [lm.logp(ids(c), ids(n)[0]) for c, n in zip(ctxs, nxt, strict=True)]
    assert got == pytest.approx(want, abs=1e-5)


def test_save_and_load_round_trip(lm: CharNgramLM, tmp_path: Path) -> None:
    path, json_path = lm.save(tmp_path / "tiny.safetensors", {"command": "test"})
    meta = json.loads(json_path.read_text("utf-8"))
    assert meta["order"] == 3 and meta["command"] == "test" and meta["file_bytes"] == path.stat().st_size
    back = load_lm(path)
    assert back.order == 3 and back.vocab_size == lm.vocab_size
    for context in ("", "調", "調整", "ZQ"):
        assert np.array_equal(back.distribution(ids(context)), lm.distribution(ids(context)))
    with pytest.raises(UserError):
        load_lm(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(UserError):
        load_lm(tmp_path / "junk.safetensors")


def _frames(*rows: dict[int, float]) -> np.ndarray:
    """CTC logits (T, C + 1) from per-frame {class: probability}; the rest shares a tiny mass."""
    c = len(default_charset()) + 1
    out = np.full((len(rows), c), 1e-9)
    for t, row in enumerate(rows):
        for k, p in row.items():
            out[t, k] = p
    return np.log(out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def test_lm_fusion_fixes_a_kanji_confusion_greedy_makes(lm: CharNgramLM) -> None:
    # the optical model slightly prefers 削護 (the confusion); the LM has only seen 調整
    cho, sei, saku, go = (k + 1 for k in ids("調整削護"))
    logits = _frames({saku: 0.52, cho: 0.46}, {0: 0.98}, {go: 0.52, sei: 0.46}, {0: 0.98})
    cs = default_charset()
    assert cs.decode(greedy_decode(logits).ids) == "削護"
    assert cs.decode(beam_decode(logits, beam_width=8).ids) == "削護"  # no LM: same mistake
    fused = beam_decode(logits, beam_width=8, lm=lm, lm_weight=0.5, insertion_bonus=1.0)
    assert cs.decode(fused.ids) == "調整"
    assert len(fused.spans) == 2 and fused.spans[0][0] == 0 and fused.spans[1][0] == 2


def test_a_confident_reading_is_kept_against_the_lm(lm: CharNgramLM) -> None:
    cho, sei, saku, go = (k + 1 for k in ids("調整削護"))
    logits = _frames({saku: 0.999}, {0: 0.99}, {go: 0.999}, {0: 0.99})
    assert default_charset().decode(beam_decode(logits, lm=lm, lm_weight=0.5, insertion_bonus=1.0).ids) == "削護"


class _FixedModel:
    meta = {"height": 32}

    def __init__(self, logits: np.ndarray) -> None:
        self.logits = logits

    def __call__(self, x: np.ndarray, vertical: np.ndarray) -> np.ndarray:
        t = x.shape[-1] // 4
        out = np.repeat(self.logits[None, :1], len(x), 0).repeat(t, 1)  # pad with blanks
        out[:, : len(self.logits)] = self.logits
        return out


def test_line_recognizer_with_the_lm(lm: CharNgramLM, tmp_path: Path) -> None:
    from yomitori.pipeline.recognize import LineRecognizer

    cho, sei, saku, go = (k + 1 for k in ids("調整削護"))
    logits = _frames({0: 0.99}, {saku: 0.52, cho: 0.46}, {0: 0.98}, {go: 0.52, sei: 0.46}, {0: 0.98})
    crop = np.full((32, 64), 255, np.uint8)
    greedy = LineRecognizer(_FixedModel(logits))
    assert greedy.recognize([crop], [False])[0].text == "削護"
    path, _ = lm.save(tmp_path / "lm.safetensors")
    fused = LineRecognizer(_FixedModel(logits), decoder="beam", lm=path, lm_weight=0.5, insertion_bonus=1.0)
    assert fused.recognize([crop], [False])[0].text == "調整"
    assert fused.settings["lm_weight"] == 0.5 and fused.settings["decoder"] == "beam"
    with pytest.raises(UserError, match="beam"):
        LineRecognizer(_FixedModel(logits), decoder="greedy", lm=path)
    other = CharNgramLM(2, 10, np.full(10, -np.log(10)), {}, {})
    with pytest.raises(UserError, match="charset"):
        LineRecognizer(_FixedModel(logits), decoder="beam", lm=other)


def test_fusion_settings_come_from_the_lm_json(lm: CharNgramLM, tmp_path: Path) -> None:
    from yomitori.pipeline.recognize import FUSION_DEFAULTS, LineRecognizer

    path, json_path = lm.save(tmp_path / "lm.safetensors", {"fusion": {"lm_weight": 0.3, "insertion_bonus": 0.5}})
    rec = LineRecognizer(_FixedModel(_frames({0: 1.0})), decoder="beam", lm=path)
    assert (rec.lm_weight, rec.insertion_bonus, rec.beam_width) == (0.3, 0.5, FUSION_DEFAULTS["beam_width"])
    rec = LineRecognizer(_FixedModel(_frames({0: 1.0})), decoder="beam", lm=path, lm_weight=0.2)
    assert rec.lm_weight == 0.2
    # read's own settings (fusion_pages) go over the line settings; what they leave out stays
    path, _ = lm.save(tmp_path / "lm2.safetensors", {"fusion": {"lm_weight": 0.3, "insertion_bonus": 0.5, "beam_width": 4},
                                                      "fusion_pages": {"lm_weight": 0.1, "tuned_on": "pages"}})
    rec = LineRecognizer(_FixedModel(_frames({0: 1.0})), decoder="beam", lm=path, fusion_for="fusion_pages")
    assert (rec.lm_weight, rec.insertion_bonus, rec.beam_width) == (0.1, 0.5, 4)
    rec = LineRecognizer(_FixedModel(_frames({0: 1.0})), decoder="beam", lm=path)
    assert (rec.lm_weight, rec.insertion_bonus, rec.beam_width) == (0.3, 0.5, 4)


def test_resolve_decoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from yomitori.pipeline import recognize

    monkeypatch.setenv("YOMITORI_WEIGHTS", str(tmp_path))  # a build without a shipped LM
    assert recognize.resolve_decoder("auto", "auto") == ("greedy", None)
    assert recognize.resolve_decoder("beam", "auto") == ("beam", None)
    assert recognize.resolve_decoder("greedy", "none") == ("greedy", None)
    with pytest.raises(UserError, match="not found"):
        recognize.resolve_decoder("beam", tmp_path / "nope.safetensors")
    lm_path = tmp_path / "lm_char3.safetensors"
    lm_path.write_bytes(b"x")
    assert recognize.resolve_decoder("auto", "auto") == ("beam", lm_path)
    assert recognize.resolve_decoder(None, str(lm_path)) == ("beam", lm_path)  # an explicit LM implies beam
    lm_path.rename(tmp_path / "mine.safetensors")
    assert recognize.resolve_decoder("auto", tmp_path / "mine.safetensors") == ("beam", tmp_path / "mine.safetensors")
    with pytest.raises(UserError, match="beam"):
        recognize.resolve_decoder("greedy", tmp_path / "mine.safetensors")


def test_read_refuses_a_missing_lm_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from yomitori.cli import main

    sample = Path(__file__).resolve().parent.parent / "examples" / "sample_scan.pdf"
    assert main(["read", str(sample), "--decoder", "beam", "--lm", str(tmp_path / "no.safetensors")]) == 2
    assert "language model not found" in capsys.readouterr().err
    assert main(["read", str(sample), "--decoder", "greedy", "--lm", str(sample), "-q"]) == 2


def test_data_lm_command_builds_from_the_training_split_only(tmp_path: Path) -> None:
    from yomitori.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [{"text": t, "doc": f"d{i % 3}", "weight": 1.0} for i, t in enumerate(TEXTS)]
    (corpus / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    (corpus / "eval.jsonl").write_text(json.dumps({"text": "削護の評価文。", "doc": "e", "weight": 1.0},
                                                  ensure_ascii=False) + "\n", "utf-8")
    out = tmp_path / "lm" / "tiny.safetensors"
    assert main(["data", "lm", "--order", "3", "--min-count", "1", "--out", str(out), "--corpus", str(corpus),
                 "--lm-weight", "0.5", "--lm-bonus", "1"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert meta["corpus_split"] == "train" and meta["charset_sha256"] == default_charset().sha256
    assert meta["training_chars"] == sum(len(t) for t in TEXTS)
    assert meta["fusion"] == {"lm_weight": 0.5, "insertion_bonus": 1.0}
    assert "data lm --order 3" in meta["command"]
    back = load_lm(out)
    assert back.distribution(ids("評"))[ids("価")[0]] < -5  # eval text never seen
    assert main(["data", "lm", "--out", str(out), "--corpus", str(tmp_path / "none")]) == 2


def test_academic_documents_teach_the_lm_the_other_punctuation() -> None:
    from yomitori.recognition.lm import academic_documents

    docs = [f"設定を調整する。画面{i}、音量を変更します。" for i in range(200)]
    mixed = academic_documents(docs, 0.25, seed=0)
    assert mixed == academic_documents(docs, 0.25, seed=0)  # deterministic
    changed = [d for d in mixed if "." in d]
    assert 25 < len(changed) < 75 and all("。" not in d and "、" not in d for d in changed)
    assert academic_documents(docs, 0.0) == docs
    cs = default_charset()
    plain = train_lm(encode_texts(docs, cs), len(cs), order=3, min_count=1)
    both = train_lm(encode_texts(mixed, cs), len(cs), order=3, min_count=1)
    ctx, dot = ids("する"), ids(".")[0]
    assert both.logp(ctx, dot) > plain.logp(ctx, dot) + 3  # no longer vetoed
    assert both.logp(ctx, ids("。")[0]) > both.logp(ctx, dot)  # prose punctuation stays the likelier

"""Japanese text corpus (placeholder until the builder lands): see load_corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path


def corpus_dir() -> Path:
    from yomitori.data.fonts import cache_dir

    return Path(os.environ.get("YOMITORI_CORPUS") or cache_dir() / "corpus")


def load_corpus_weighted(split: str) -> tuple[list[str], list[float]]:
    path = corpus_dir() / f"{split}.jsonl"
    if not path.exists():
        raise FileNotFoundError(path)
    sents, weights = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            sents.append(row["text"])
            weights.append(float(row.get("weight", len(row["text"]))))
    return sents, weights


def load_corpus(split: str) -> list[str]:
    return load_corpus_weighted(split)[0]

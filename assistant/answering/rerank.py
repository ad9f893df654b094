"""Optional re-ranking of retrieved passages by a cross-encoder the user has on disk.

Off by default (no such model ships with the tool). With ``TIP_RERANKER_MODEL`` set to a local
sentence-transformers cross-encoder folder, retrieval fetches a larger pool and the cross-encoder, which
reads question and passage together, orders it before the top k are kept.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from assistant.errors import ModelNotFound
from vectorstore.store import ScoredChunk

# Candidates handed to the re-ranker, as a multiple of the k finally kept.
POOL_FACTOR = 3


class PassageScorer(Protocol):
    """Scores passages for a question, for re-ranking."""

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """One relevance score per passage, in their order; higher is more relevant (any scale)."""
        ...


class CrossEncoderScorer:
    """A local sentence-transformers CrossEncoder, loaded on first use."""

    def __init__(self, model_dir: Path):
        if not (model_dir / "config.json").exists():
            raise ModelNotFound(
                f"TIP_RERANKER_MODEL={model_dir} is not a cross-encoder model folder (no config.json): "
                "point it at a downloaded model, or unset it to rank without re-ranking"
            )
        self.model_dir = model_dir
        self._model = None
        self._lock = threading.Lock()

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """The cross-encoder's relevance logit of each (question, passage) pair, in the passages' order."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(str(self.model_dir), device="cpu")
        return [float(s) for s in self._model.predict([(question, p) for p in passages], show_progress_bar=False)]


def rerank(scorer: PassageScorer, question: str, pool: Sequence[ScoredChunk], k: int) -> list[ScoredChunk]:
    """The k passages of ``pool`` the scorer rates highest; their score becomes the scorer's."""
    if not pool:
        return []
    scores = scorer.score(question, [r.chunk.text for r in pool])
    ranked = sorted(zip(scores, range(len(pool)), strict=True), reverse=True)[:k]
    return [replace(pool[i], score=score) for score, i in ranked]

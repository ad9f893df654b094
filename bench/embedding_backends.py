"""Which embedding backend to run all-MiniLM-L6-v2 on: speed, and closeness to the fp32 vectors.

    python bench/embedding_backends.py [--data-dir DIR | --corpus ../shared/corpus] [--texts 200] [--threads 2]

Embeds the same passages (chunks of the library in ``--data-dir``, or of the shared corpus cut by the
project's chunker when no library is given, plus the first sentence of some of them, so that short texts are
padded in batches with long ones) with each candidate, in one run, on ``--threads`` cores:

- torch fp32 (sentence-transformers, as ``vectorstore.embeddings.Embedder`` runs it without bf16);
- torch under bf16 autocast (what the Embedder runs on torch where the CPU computes bf16 natively:
  avx512_bf16 or AMX; measured here whatever the CPU, so a CPU without them shows what it would cost);
- ONNX Runtime fp32 and int8 (dynamically quantised weights, ``onnxruntime.quantization.quantize_dynamic``),
  on the ONNX graph the project exports on its way to OpenVINO (``vectorstore.graph_encoder.export_onnx``:
  dynamic batch and sequence axes), with mean pooling and normalisation as the model's own pooling does;
- OpenVINO f32 and bf16 on the model as the project exports it (``export_graph``: fp16 weights), through its
  ``Embedder`` as it runs once the export exists (``vectorstore.graph_encoder.GraphEncoder``, a stream per
  core, the texts spread over them).

For each it prints texts per second and the ratio to torch fp32, and the minimum and mean cosine of its vectors
to torch fp32's. The graphs are also run in batches of 7 (other shapes than the batches of 8) and checked
the same way: a graph that only held for the traced shape would show there. The quality gate
(issue "Fast at any size"): minimum cosine >= 0.99. The verdict names the fastest backend that passes.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.settings import use_offline_mode  # noqa: E402
from vectorstore.embeddings import MODEL_MAX_SEQ_LENGTH, Embedder, cpu_supports_bf16, packaged_model_dir  # noqa: E402
from vectorstore.graph_encoder import export_graph, export_onnx  # noqa: E402

MIN_COSINE = 0.99
BATCH = 8  # the Embedder's batch size

Encode = Callable[[Sequence[str]], np.ndarray]


def passages(data_dir: Path | None, corpus: Path, count: int) -> list[str]:
    """``count`` chunk texts, and the first sentence of a fifth of them."""
    if data_dir is not None:
        db = sqlite3.connect(data_dir / "library.sqlite3")
        texts = [r[0] for r in db.execute("SELECT text FROM chunks ORDER BY chunk_id LIMIT ?", (count,))]
    else:
        from ingest.chunking import Chunker
        from ingest.loaders import SUPPORTED_SUFFIXES, load_file
        from vectorstore.embeddings import Embedder

        embedder = Embedder()
        chunker = Chunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
        texts = []
        for path in sorted(corpus.iterdir()):
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                texts += [c.text for c in chunker.chunk(load_file(path))]
            if len(texts) >= count:
                break
        texts = texts[:count]
    return texts + [t.split(". ")[0] for t in texts[: count // 5]]


def torch_backend(model_dir: Path, bf16: bool) -> Encode:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    model.max_seq_length = MODEL_MAX_SEQ_LENGTH

    def encode(texts: Sequence[str]) -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model.encode(list(texts), batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)

    return encode


def export_graphs(model_dir: Path, folder: Path, identity: str) -> tuple[Path, Path]:
    """The model's transformer exported to ONNX (fp32, ``vectorstore.graph_encoder.export_onnx``) and the same
    with int8 weights, for ONNX Runtime; and into ``folder`` as the project exports it for OpenVINO."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    export_onnx(model_dir, fp32)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    export_graph(model_dir, Embedder(model_dir, graph_dir=folder).graph_path, identity)
    return fp32, int8


def onnxruntime_backend(model_dir: Path, graph: Path, threads: int, batch: int = BATCH) -> Encode:
    """``graph`` on ONNX Runtime, with the model's tokenizer, mean pooling and normalisation."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(MODEL_MAX_SEQ_LENGTH)
    tokenizer.enable_padding()

    def encode(texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of like lengths, as the others
        vectors = np.empty((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch):
            part = order[start : start + batch]
            encodings = tokenizer.encode_batch([texts[i] for i in part])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})[0]
            mean = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            vectors[part] = mean / np.linalg.norm(mean, axis=1, keepdims=True)
        return vectors

    return encode


def openvino_backend(model_dir: Path, folder: Path, bf16: bool, threads: int, batch: int = BATCH) -> Encode:
    """The project's ``Embedder`` on the graph exported into ``folder``, as it runs once the graph exists."""
    embedder = Embedder(model_dir, batch_size=batch, bf16=bf16, threads=threads, graph_dir=folder)
    embedder.warm_up()
    assert embedder.loaded and not embedder.torch_loaded, "the exported graph did not load"
    return embedder.encode


def timed(encode: Encode, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    encode(texts[:8])  # first call: allocations, lazy set-up
    started = time.perf_counter()
    vectors = encode(texts)
    return np.asarray(vectors, dtype=np.float32), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a library to take chunks from (else the corpus is chunked)")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--texts", type=int, default=200, help="chunks embedded by each backend")
    parser.add_argument("--threads", type=int, default=2, help="cores each backend runs on")
    args = parser.parse_args()
    use_offline_mode()
    import torch

    torch.set_num_threads(args.threads)
    model_dir = packaged_model_dir()
    texts = passages(args.data_dir, args.corpus, args.texts)
    print(f"{len(texts)} texts, {args.threads} threads; this CPU computes bf16 natively: {cpu_supports_bf16()}")

    reference, reference_s = timed(torch_backend(model_dir, bf16=False), texts)
    rows = [("torch fp32", reference_s, reference, None)]
    bf16, bf16_s = timed(torch_backend(model_dir, bf16=True), texts)
    rows.append(("torch bf16 autocast", bf16_s, bf16, None))
    identity = Embedder(model_dir).model_identity
    with tempfile.TemporaryDirectory(prefix="onnx-") as folder:
        graphs = export_graphs(model_dir, Path(folder), identity)
        for name, graph in zip(("onnxruntime fp32", "onnxruntime int8"), graphs, strict=True):
            vectors, seconds = timed(onnxruntime_backend(model_dir, graph, args.threads), texts)
            other_shapes = onnxruntime_backend(model_dir, graph, args.threads, batch=7)(texts)
            rows.append((name, seconds, vectors, other_shapes))
        for name, in_bf16 in (("openvino f32", False), ("openvino bf16", True)):
            vectors, seconds = timed(openvino_backend(model_dir, Path(folder), in_bf16, args.threads), texts)
            other_shapes = openvino_backend(model_dir, Path(folder), in_bf16, args.threads, batch=7)(texts)
            rows.append((name, seconds, vectors, other_shapes))

    print(f"{'backend':<20} {'texts/s':>8} {'x fp32':>7} {'min cos':>8} {'mean cos':>9} {'min cos, batches of 7':>22}")
    passing = []
    for name, seconds, vectors, other in rows:
        cosine = np.sum(vectors * reference, axis=1)
        other_min = f"{np.sum(other * reference, axis=1).min():.4f}" if other is not None else "-"
        lowest = min(cosine.min(), np.sum(other * reference, axis=1).min() if other is not None else 1.0)
        if lowest >= MIN_COSINE:
            passing.append((seconds, name))
        print(f"{name:<20} {len(texts) / seconds:8.1f} {reference_s / seconds:7.2f} {cosine.min():8.4f} "
              f"{cosine.mean():9.5f} {other_min:>22}")  # fmt: skip
    seconds, best = min(passing)
    print(f"fastest with minimum cosine >= {MIN_COSINE}: {best} ({reference_s / seconds:.2f} x torch fp32)")


if __name__ == "__main__":
    main()

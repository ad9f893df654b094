"""The embedding model exported to ONNX and run by ONNX Runtime, for question-time texts.

A question embeds a few short texts (the question, its condensed form, its parts). Through sentence-transformers
and torch each call cost ~9 ms for one short text, and a command that answers once spent ~5 s importing torch
and sentence-transformers (``python -X importtime``) against 0.14 s for ONNX Runtime and tokenizers.
``QueryEncoder`` runs the same transformer, exported once per library (``export_query_graph``, which needs
torch: a server does it once ready, a command that has loaded torch anyway does it before it exits) to
``DATA_DIR/query_encoder.onnx`` (~90 MB, fp32), with the model's own tokenizer, mean pooling and
normalisation: 4 ms a short text here, and vectors within cosine 0.99998 of torch fp32's
(``bench/embedding_backends.py``: "onnx fp32", minimum cosine 1.0000 over padded and unpadded batches).

Documents are still embedded with torch (under bf16 autocast where the CPU has it), which is faster for
batches of long chunks (34 against 26 chunks a second here).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

QUERY_GRAPH_FILE = "query_encoder.onnx"  # in the data folder
IDENTITY_KEY = "tip_assistant_model_identity"  # the graph's metadata: which model folder it was exported from
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def supports_graph(model_dir: Path) -> bool:
    """Whether the exported graph computes this model's vectors: a sentence-transformers folder whose modules
    are the transformer, mean pooling and (optionally) normalisation, as all-MiniLM-L6-v2's are. Another pooling
    or a dense layer after it is left to torch."""
    import json

    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
        pooling = next(model_dir / m["path"] / "config.json" for m in modules if m["type"].endswith("Pooling"))
        modes = json.loads(pooling.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    chosen = {key for key, value in modes.items() if key.startswith("pooling_mode_") and value is True}
    return kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) and chosen == {
        "pooling_mode_mean_tokens"
    }


def graph_identity(graph: Path) -> str | None:
    """The model identity written into ``graph`` by ``export_query_graph``; None for a missing or unreadable
    file, or one exported by something else."""
    import onnxruntime as ort

    if not graph.is_file():
        return None
    try:
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime raises its own Fail / InvalidGraph / NoSuchFile types
        return None
    return session.get_modelmeta().custom_metadata_map.get(IDENTITY_KEY)


class QueryEncoder:
    """Unit-length float32 vectors of texts (rows in their order), from ``graph`` and the tokenizer of
    ``model_dir``, texts cut at ``max_length`` word pieces as the model does. Thread-safe; each call runs on
    ``threads`` cores (1: concurrent questions each keep their own, as ``vectorstore.embeddings`` does).
    Raises ``ValueError`` when the graph was exported from another model than ``identity``."""

    def __init__(self, graph: Path, model_dir: Path, identity: str, max_length: int, batch_size: int, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        exported_from = self._session.get_modelmeta().custom_metadata_map.get(IDENTITY_KEY)
        if exported_from != identity:
            raise ValueError(f"{graph} was exported from {exported_from}, not {identity}")
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()
        self.batch_size = batch_size
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of like lengths pad little
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            batch = self._batch([texts[i] for i in part])
            if vectors.shape[1] == 0:
                vectors = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
            vectors[part] = batch
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        weights = mask[..., None].astype(np.float32)  # mean pooling over the real word pieces, as the model's own
        mean = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return (mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


def export_query_graph(model_dir: Path, target: Path, identity: str, transformer=None) -> None:
    """Export the transformer of ``model_dir`` (fp32, dynamic batch and sequence axes) to ``target``, marked
    with ``identity``: ``transformer``, the Hugging Face module already loaded from it, or one loaded here.
    Written beside ``target`` first and moved into place, so a reader never sees half a file. Takes ~6 s;
    needs torch, transformers and onnx."""
    import onnx
    import torch
    from transformers import AutoModel, AutoTokenizer

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model.eval()

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    # two texts of different lengths: the traced graph sees padding, and its axes are declared dynamic anyway
    example = tokenizer(["a short text", "a longer text, so that the example batch is padded"], padding=True,
                        return_tensors="pt")  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".query_encoder-", suffix=".onnx", dir=target.parent)
    os.close(handle)
    try:
        # the exporter's warnings concern graph features this model does not use (negative gather indices)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(transformer if transformer is not None else AutoModel.from_pretrained(str(model_dir))),
                tuple(example[name] for name in INPUTS),
                partial,
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*INPUTS, "last_hidden_state"]},
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter: the dynamo one needs more packages and time
            )
        graph = onnx.load(partial)
        onnx.helper.set_model_props(graph, {IDENTITY_KEY: identity})
        onnx.save(graph, partial)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # as the library's other files: mkstemp makes it the owner's only
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    log.info("exported the query encoder to %s", target)

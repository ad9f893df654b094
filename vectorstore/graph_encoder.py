"""The embedding model exported to OpenVINO's format and run by OpenVINO: every text, once the export exists.

Through sentence-transformers and torch, a question's short texts cost ~9 ms each and a command that answered
once spent ~5 s importing torch (``python -X importtime``); chunks embedded at 56 a second under bf16 autocast.
OpenVINO runs the same transformer, exported once per machine and model (``export_graph``, which needs
torch: through ONNX) to a file in the cache folder (~45 MB, fp16 weights), with the model's own tokenizer,
mean pooling and normalisation. On this project's machine (2 cores with AMX,
``bench/embedding_backends.py``): 87-103 chunks a second against torch bf16's 56-73, question-time sentences
1.6x as fast as ONNX Runtime, and importing OpenVINO and compiling the model take ~0.5 s.
Its precision is chosen from the CPU as torch's autocast is (bf16 where it computes bf16 natively, f32
elsewhere): vectors within cosine 0.9999 of torch fp32's either way.

The compiled graph runs ``streams`` inferences at once, one core each: a lone call (a question) runs on one,
concurrent calls (a server's users, the shares of an ingest batch) each on their own.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

IDENTITY_KEY = "tip_assistant_model_identity"  # the graph's metadata: which model folder it was exported from
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
STOP_POLL_SECONDS = 0.1  # how often a wait for the export checks whether it was stopped
_exporting: list[str] = []  # the temporary folders of exports under way in this process


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


def _read(graph: Path):
    import openvino as ov

    return ov.Core().read_model(str(graph))


def _identity(model) -> str | None:
    """The identity ``export_graph`` wrote into the metadata of ``model`` (under "framework")."""
    if not model.has_rt_info(["framework", IDENTITY_KEY]):
        return None
    return model.get_rt_info(["framework", IDENTITY_KEY]).astype(str)


class GraphEncoder:
    """Unit-length float32 vectors of texts (rows in their order), from ``graph`` and the tokenizer of
    ``model_dir``, texts cut at ``max_length`` word pieces as the model does, ``batch_size`` texts a pass; in
    bf16 where ``bf16`` (else f32). Thread-safe: up to ``streams`` calls run at once, each on one core.
    Raises ``ValueError`` when the graph was exported from another model than ``identity``, and OpenVINO's
    errors for a file it cannot read."""

    def __init__(self, graph: Path, model_dir: Path, identity: str, max_length: int, batch_size: int,
                 streams: int, bf16: bool):  # fmt: skip
        import openvino as ov
        from tokenizers import Tokenizer

        model = _read(graph)
        exported_from = _identity(model)
        if exported_from != identity:
            raise ValueError(f"{graph} was exported from {exported_from}, not {identity}")
        config = {
            "NUM_STREAMS": streams,
            "INFERENCE_NUM_THREADS": streams,  # one core per stream
            "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
            # No cache of kernels per input shape: texts come in ever new (batch, length) shapes, and a server
            # that had embedded the shared corpus's sentences held 1,414 MB with the default cache against
            # 1,033 MB without, for ~5% slower question-time batches and the same ingest speed.
            "CPU_RUNTIME_CACHE_CAPACITY": 0,
        }
        self._compiled = ov.Core().compile_model(model, "CPU", config)
        self._idle: queue.SimpleQueue = queue.SimpleQueue()  # infer requests not in use, made as callers need them
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()
        self.batch_size = batch_size
        self.dimension = int(model.outputs[0].get_partial_shape()[-1].get_length())
        # One inference before any caller's: OpenVINO's bindings set up their numpy interface on the first result
        # read, and two threads reading their first results at once deadlocked there (seen in an ingest).
        self.encode(["warm-up"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of like lengths pad little
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        try:
            request = self._idle.get_nowait()
        except queue.Empty:
            request = self._compiled.create_infer_request()
        try:
            for start in range(0, len(order), self.batch_size):
                part = order[start : start + self.batch_size]
                vectors[part] = self._batch(request, [texts[i] for i in part])
        finally:
            self._idle.put(request)
        return vectors

    def _batch(self, request, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = request.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        weights = mask[..., None].astype(np.float32)  # mean pooling over the real word pieces, as the model's own
        mean = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return (mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


class ExportStopped(Exception):
    """The export's process ended without finishing: stopped with its caller (a server's Ctrl+C), or killed."""


def export_graph_in_a_process(
    model_dir: Path, target: Path, identity: str, stop: threading.Event | None = None
) -> None:
    """``export_graph`` in a spawned process of its own, waited for: the caller never imports torch, and the
    export's memory (~900 MB at its peak, with torch) is returned when the process ends. Setting ``stop`` (a
    server stopping) ends the process within ~0.1 s, its temporary files removed; the process is also a daemon,
    ended when the caller exits. Raises what the export raised, or ``ExportStopped`` when it was stopped or
    ended without a word."""
    import multiprocessing

    from assistant.worker_start import parent_logging

    context = multiprocessing.get_context("spawn")  # a fork would copy the caller's threads and store handles
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_export_and_report, args=(send, model_dir, target, identity, *parent_logging()),
                              name="tip-export", daemon=True)  # fmt: skip
    process.start()
    send.close()  # the child's end: EOF here once the child is gone
    try:
        while not receive.poll(STOP_POLL_SECONDS):
            if stop is not None and stop.is_set():
                process.terminate()  # SIGTERM: the export's temporary folder is removed on the way out
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()
                raise ExportStopped("the export was stopped")
        error = receive.recv()
    except EOFError:
        process.join()
        raise ExportStopped(f"the export's process ended with exit code {process.exitcode}") from None
    finally:
        receive.close()
    process.join()
    if error is not None:
        raise error


def _export_and_report(send, model_dir: Path, target: Path, identity: str, log_level: int, log_format: str | None):
    """The export's process: ``export_graph``, then None or the error it raised sent back through ``send``. A
    SIGTERM ends it, its temporary folder removed first."""
    from assistant.worker_start import start_worker

    start_worker(log_level, log_format)

    def stopped(signum, frame) -> None:
        # Exit at once: an exception raised here could land inside native code that calls back into Python
        # (torch's import), which aborts with a crash report instead of unwinding.
        for work in _exporting:
            shutil.rmtree(work, ignore_errors=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)
    try:
        export_graph(model_dir, target, identity)
        send.send(None)
    except Exception as exc:
        try:
            send.send(exc)
        except Exception:  # an error that does not pickle: its type and message
            send.send(RuntimeError(f"{type(exc).__name__}: {exc}"))


def export_graph(model_dir: Path, target: Path, identity: str, transformer=None) -> None:
    """Export the transformer of ``model_dir`` (dynamic batch and sequence axes) to ``target``, an OpenVINO
    model file (``.xml``, its weights beside it in the ``.bin`` of the same name, stored in fp16), marked with
    ``identity``: ``transformer``, the Hugging Face module already loaded from it, or one loaded here. Torch
    exports it to ONNX in a temporary file (``export_onnx``), which OpenVINO converts. Written beside ``target``
    first and moved into place (the weights first), so a reader never sees half a model. Takes ~2 s with
    ``transformer`` given; needs torch, transformers and onnx."""
    import openvino as ov

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".graph-", dir=target.parent) as work:
        _exporting.append(work)
        onnx_file, partial = Path(work) / "model.onnx", Path(work) / target.name
        export_onnx(model_dir, onnx_file, transformer)
        model = ov.Core().read_model(str(onnx_file))
        model.set_rt_info(identity, ["framework", IDENTITY_KEY])
        # fp16 weights: half the memory of fp32 ones once compiled (137 against 244 MB here), vectors as close to
        # torch fp32's (minimum cosine 0.99996 in bf16 over the corpus's chunks, as with fp32 weights)
        ov.save_model(model, str(partial), compress_to_fp16=True)
        umask = os.umask(0)
        os.umask(umask)
        for made, final in ((partial.with_suffix(".bin"), target.with_suffix(".bin")), (partial, target)):
            os.chmod(made, 0o666 & ~umask)  # as other files: a temporary folder is the owner's only
            os.replace(made, final)
        _exporting.remove(work)
    log.info("exported the embedding model to %s", target)


def export_onnx(model_dir: Path, target: Path, transformer=None) -> None:
    """Export the transformer of ``model_dir`` to the ONNX file ``target`` (fp32; dynamic batch and sequence
    axes; inputs ``INPUTS``, output ``last_hidden_state``), from ``transformer`` when it is loaded already."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its "Loading weights" bar would land in the command's output

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
    # the exporter's warnings concern graph features this model does not use (negative gather indices)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(transformer if transformer is not None else AutoModel.from_pretrained(str(model_dir))),
            tuple(example[name] for name in INPUTS),
            str(target),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*INPUTS, "last_hidden_state"]},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: the dynamo one needs more packages and time
        )

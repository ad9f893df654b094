"""The model exported to ONNX and run on OpenVINO: the same vectors as torch's on padded and truncated batches,
in f32 and in bf16, used only for the model it was exported from; an ingest exports it once for the machine,
and later commands embed without ever importing torch. Real export of the packaged model (~7 s), real
OpenVINO."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.shared_paths import PROJECT_ROOT
from vectorstore.embeddings import Embedder, packaged_model_dir
from vectorstore.graph_encoder import ExportStopped, GraphEncoder, export_graph_in_a_process, supports_graph

pytestmark = pytest.mark.slow

TEXTS = [
    "How many victims were detected in Africa in 2022?",
    "hotline",
    "What share of the victims detected in West Africa were children, and how did it change after 2019?",
    "trafficking " * 400,  # far past the model's 256 word pieces: both cut it at the same place
]


@pytest.fixture(scope="module")
def torch_fp32():
    """The reference vectors' embedder: torch, fp32, no graph."""
    embedder = Embedder(bf16=False)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="module")
def exported(tmp_path_factory, torch_fp32):
    """An Embedder (fp32) whose graph has been exported into a folder of its own."""
    embedder = Embedder(bf16=False, graph_dir=tmp_path_factory.mktemp("graph"))
    assert embedder.needs_graph and not embedder.loaded
    assert embedder.export_graph() is True
    assert embedder.export_graph() is False  # there already
    assert not embedder.needs_graph and not embedder.torch_loaded  # torch's model let go once the graph embeds
    return embedder


@pytest.mark.parametrize("bf16, lowest", [(False, 0.9999), (True, 0.999)])
def test_the_graph_gives_torch_fp32_vectors_on_padded_and_single_texts(exported, torch_fp32, bf16, lowest):
    graph = GraphEncoder(exported.graph_path, exported.model_dir, exported.model_identity, 256, 8, 2, bf16)
    expected = torch_fp32.encode(TEXTS)
    together = graph.encode(TEXTS)  # one padded batch
    alone = np.vstack([graph.encode([text]) for text in TEXTS])
    for vectors in (together, alone):
        assert vectors.shape == (4, 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert (vectors * expected).sum(axis=1).min() >= lowest


def test_texts_are_embedded_by_the_graph_without_loading_torch(exported, torch_fp32):
    fresh = Embedder(bf16=False, graph_dir=exported.graph_dir)
    vectors = fresh.encode_queries(TEXTS[:2])
    many = [f"{text} ({n})" for n in range(10) for text in TEXTS]  # spread over the helper threads
    passages = fresh.encode(many)
    assert fresh.loaded and not fresh.torch_loaded
    assert float(vectors[0] @ torch_fp32.encode(TEXTS[:1])[0]) >= 0.9999
    assert (passages * torch_fp32.encode(many)).sum(axis=1).min() >= 0.9999


def test_a_graph_of_another_model_is_not_used_and_a_damaged_one_is_exported_again(exported, tmp_path, caplog):
    own = GraphEncoder(exported.graph_path, exported.model_dir, exported.model_identity, 256, 8, 1, False)
    assert own.dimension == 384
    with pytest.raises(ValueError, match="exported from"):
        GraphEncoder(exported.graph_path, exported.model_dir, "another-model:0123", 256, 8, 1, False)
    embedder = Embedder(bf16=False, graph_dir=tmp_path)
    embedder.graph_path.write_bytes(b"not a graph")
    assert embedder.encode_queries(["hotline"])[0].shape == (384,)  # embedded by torch instead
    assert embedder.torch_loaded and "not using" in caplog.text
    assert embedder.export_graph() is True  # the damaged file is replaced, from the torch model loaded here
    assert not embedder.torch_loaded and embedder.encode(["hotline"]).shape == (1, 384)


def test_only_a_mean_pooled_model_is_exported(tmp_path):
    assert supports_graph(packaged_model_dir())
    folder = tmp_path / "cls-model"
    (folder / "1_Pooling").mkdir(parents=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    assert not supports_graph(folder)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    assert supports_graph(folder)
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    assert not supports_graph(folder)  # a dense layer after pooling is not in the graph


def test_an_ingest_exports_the_model_once_and_later_commands_never_import_torch(tmp_path):
    doc = tmp_path / "mwanza.txt"
    doc.write_text("The Mwanza office received 41 referrals of trafficking victims in 2022.", encoding="utf-8")
    env = {**os.environ, "TIP_DATA_DIR": str(tmp_path / "data"), "TIP_CACHE_DIR": str(tmp_path / "cache"),
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    command = [sys.executable, "-m", "assistant.interfaces.cli", "--no-server"]
    ingest = subprocess.run([*command, "ingest", str(doc)], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    assert "preparing the embedding model" in ingest.stderr
    assert [p.suffix for p in sorted((tmp_path / "cache").iterdir())] == [".bin", ".xml"]  # nothing left over
    assert "Warning" not in ingest.stderr  # the exporter's warnings stay out of the command's output

    other = tmp_path / "other.txt"
    other.write_text("The Kisumu shelter hosted 12 survivors of forced labour in 2023.", encoding="utf-8")
    another_library = {**env, "TIP_DATA_DIR": str(tmp_path / "another")}
    for args, environment in ((["ingest", str(other)], another_library), (["ask", "How many referrals in 2022?"], env)):
        run = subprocess.run([sys.executable, "-X", "importtime", *command[1:], *args], cwd=PROJECT_ROOT,
                             env=environment, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "preparing" not in run.stderr  # exported once for the machine, not per library
        imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
        assert "openvino" in imported
        assert not {"torch", "sentence_transformers", "transformers"} & imported
    assert "41" in run.stdout


def test_a_cache_folder_that_cannot_be_written_leaves_the_ingest_and_questions_to_torch(tmp_path, caplog):
    from assistant.service import Assistant
    from assistant.settings import Settings

    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be", encoding="utf-8")
    doc = tmp_path / "mwanza.txt"
    doc.write_text("The Mwanza office received 41 referrals of trafficking victims in 2022.", encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", cache_dir=not_a_folder))
    assert assistant.ingest([doc]).ok  # the export failed: an optional speed-up, never a failed ingest
    assert "set TIP_CACHE_DIR to a folder you can write" in caplog.text and str(not_a_folder) in caplog.text
    assert "Traceback" not in caplog.text  # a folder to fix: said in one line
    assert assistant.embedder.torch_loaded
    assert "41" in assistant.ask("How many referrals were received in 2022?").text


def test_a_stopped_export_ends_at_once_and_leaves_no_temporary_files(tmp_path):
    """A server stopped (Ctrl+C) while it exports the model: the export's process is ended, not waited for, and
    its half-written files are removed."""
    target = tmp_path / "cache" / "model.xml"
    stop = threading.Event()
    stopped_at = []

    def stop_once_the_export_writes():
        deadline = time.monotonic() + 120
        while not list(target.parent.glob(".graph-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped_at.append(time.monotonic())
        stop.set()

    stopper = threading.Thread(target=stop_once_the_export_writes)
    stopper.start()
    with pytest.raises(ExportStopped):
        export_graph_in_a_process(packaged_model_dir(), target, "identity", stop)
    ended = time.monotonic()
    stopper.join()
    assert ended - stopped_at[0] < 5  # the export alone takes ~7 s
    assert sorted(p.name for p in target.parent.iterdir()) == []  # no model, no temporary folder

"""The model exported to ONNX for question texts: the same vectors as torch's on padded and truncated batches,
used only for the model it was exported from, and a command answering from a prepared library that never
imports torch. Real export of the packaged model (~6 s), real ONNX Runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.shared_paths import PROJECT_ROOT
from vectorstore.embeddings import Embedder, packaged_model_dir
from vectorstore.query_encoder import QUERY_GRAPH_FILE, QueryEncoder, graph_identity, supports_graph

pytestmark = pytest.mark.slow

TEXTS = [
    "How many victims were detected in Africa in 2022?",
    "hotline",
    "What share of the victims detected in West Africa were children, and how did it change after 2019?",
    "trafficking " * 400,  # far past the model's 256 word pieces: both cut it at the same place
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An Embedder (fp32 torch, for comparison) whose graph has been exported."""
    graph = tmp_path_factory.mktemp("graph") / QUERY_GRAPH_FILE
    embedder = Embedder(bf16=False, query_graph=graph)
    assert embedder.export_query_graph() is True
    assert embedder.export_query_graph() is False  # there already
    return embedder


def test_the_graph_gives_torch_fp32_vectors_on_padded_and_single_texts(exported):
    graph = QueryEncoder(exported.query_graph, exported.model_dir, exported.model_identity, 256, 8)
    exported.warm_up()
    expected = exported._encode(TEXTS)  # torch, fp32
    together = graph.encode(TEXTS)  # one padded batch
    alone = np.vstack([graph.encode([text]) for text in TEXTS])
    for vectors in (together, alone):
        assert vectors.shape == (4, 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert (vectors * expected).sum(axis=1).min() >= 0.9999


def test_questions_are_embedded_by_the_graph_without_loading_torch(exported):
    fresh = Embedder(bf16=False, query_graph=exported.query_graph)
    vectors = fresh.encode_queries(TEXTS[:2])
    sentences = fresh.encode(TEXTS[2:])
    assert not fresh.loaded  # torch was never loaded
    exported.warm_up()
    assert float(vectors[0] @ exported._encode(TEXTS[:1])[0]) >= 0.9999
    assert sentences.shape == (2, 384)


def test_a_graph_of_another_model_is_not_used(exported, tmp_path, caplog):
    assert graph_identity(exported.query_graph) == exported.model_identity
    with pytest.raises(ValueError, match="exported from"):
        QueryEncoder(exported.query_graph, exported.model_dir, "another-model:0123", 256, 8)
    damaged = tmp_path / QUERY_GRAPH_FILE
    damaged.write_bytes(b"not a graph")
    embedder = Embedder(bf16=False, query_graph=damaged)
    assert graph_identity(damaged) is None
    assert embedder.encode_queries(["hotline"])[0].shape == (384,)  # embedded by torch instead
    assert embedder.loaded and "not using" in caplog.text


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


def test_an_ingest_prepares_the_library_and_a_later_question_never_imports_torch(tmp_path):
    doc = tmp_path / "mwanza.txt"
    doc.write_text("The Mwanza office received 41 referrals of trafficking victims in 2022.", encoding="utf-8")
    env = {**os.environ, "TIP_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "assistant.interfaces.cli", "--no-server"]
    ingest = subprocess.run([*command, "ingest", str(doc)], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    assert "question encoder" in ingest.stderr and (tmp_path / "data" / QUERY_GRAPH_FILE).is_file()
    assert "Warning" not in ingest.stderr  # the exporter's warnings stay out of the command's output

    ask = subprocess.run([sys.executable, "-X", "importtime", *command[1:], "ask", "How many referrals in 2022?"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert ask.returncode == 0, ask.stderr
    assert "41" in ask.stdout
    imported = {line.split("|")[-1].strip() for line in ask.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported
    assert not {"torch", "sentence_transformers", "transformers"} & imported


def test_a_failed_export_is_logged_and_questions_stay_with_torch(tmp_path, monkeypatch, caplog):
    from assistant.service import Assistant
    from assistant.settings import Settings

    (tmp_path / "data").mkdir()
    assistant = Assistant(Settings(data_dir=tmp_path / "data"))

    def disk_full():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(assistant.embedder, "export_query_graph", disk_full)
    assert assistant.prepare_query_encoder() is False  # an optional speed-up: never an error for the caller
    assert "not exported" in caplog.text and "No space left" in caplog.text

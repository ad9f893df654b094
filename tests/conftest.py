"""Shared fixtures. Tests write only under temporary folders and may not reach the network."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile

import pytest

from assistant.settings import use_offline_mode

use_offline_mode()
# The cache folder (the model exported for OpenVINO, Settings.cache_dir) defaults to ~/.cache: the session gets
# its own under the temporary folder instead, shared by its tests and the commands they run, and removed after.
_CACHE_HOME = tempfile.mkdtemp(prefix="tip-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection beyond loopback fails the test: the tool must work offline."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(scope="session")
def embedder():
    """The real packaged MiniLM, loaded once for the whole run, as the tool runs it: exported to the session's
    cache folder (unless a test has already) and embedding on OpenVINO."""
    from assistant.settings import default_cache_dir
    from vectorstore.embeddings import Embedder

    model = Embedder(graph_dir=default_cache_dir(os.environ))
    model.export_graph()
    model.warm_up()
    assert not model.torch_loaded
    return model


@pytest.fixture(scope="session")
def corpus_ingest(tmp_path_factory, embedder):
    """The shared corpus ingested once into a temporary library: ``(assistant, report)``."""
    from assistant.service import Assistant
    from assistant.settings import Settings
    from tests.shared_paths import CORPUS, require

    require(CORPUS)
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("corpus") / "data"), embedder=embedder)
    return assistant, assistant.ingest([CORPUS])


@pytest.fixture(scope="session")
def corpus_library(corpus_ingest):
    return corpus_ingest[0]

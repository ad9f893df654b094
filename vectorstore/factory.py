"""Builds the store from settings: embedded Chroma in the data folder, or a Chroma server when a URL is set."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

from assistant.errors import StoreUnavailable, TipError
from vectorstore.catalog import Catalog
from vectorstore.embeddings import Embedder
from vectorstore.store import ChunkStore

log = logging.getLogger(__name__)

COLLECTION = "tip_chunks"
CATALOG_FILE = "library.sqlite3"


class StoreConfigError(TipError, ValueError):
    """The storage settings cannot work together; the message names the setting to fix."""


def chroma_client(data_dir: Path, chroma_url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not chroma_url:
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)
    url = urlparse(chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreConfigError(
            f"TIP_CHROMA_URL={chroma_url!r} is not a server address: use e.g. http://127.0.0.1:8000, "
            "or unset it to keep the library in the data folder"
        )
    port = url.port or (443 if url.scheme == "https" else 8000)
    return chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings)


def open_store(
    data_dir: Path,
    embedder: Embedder,
    chroma_url: str | None = None,
    catalog: Catalog | None = None,
    reconcile: bool = True,
) -> ChunkStore:
    """Open (creating if needed) the library under ``data_dir``; vectors go to ``chroma_url`` when set. The
    catalogue is ``catalog`` when the caller has it open already. With ``reconcile``, vectors left by an
    interrupted write are removed (``ChunkStore.reconcile``); a caller that cannot rule out another process
    writing the library at this moment passes False and reconciles when it can.

    Raises ``StoreConfigError`` for a malformed ``chroma_url`` and ``StoreUnavailable`` when no server answers
    at it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        client = chroma_client(data_dir, chroma_url)
        collection = client.get_or_create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
    except StoreConfigError:
        raise
    except Exception as exc:
        if not chroma_url:
            raise
        # chromadb says "Could not connect to a Chroma server" (ValueError) or lets the HTTP error through.
        log.debug("Chroma server at %s: %r", chroma_url, exc)
        raise server_down(chroma_url, exc) from None
    reopen = None if chroma_url else (lambda: _reopened_collection(data_dir))
    store = ChunkStore(catalog or Catalog(data_dir / CATALOG_FILE), collection, embedder, reopen,
                       (lambda exc: server_down(chroma_url, exc)) if chroma_url else None)  # fmt: skip
    if reconcile:
        store.reconcile()
    return store


def server_down(chroma_url: str, exc: BaseException) -> StoreUnavailable:
    """The error for a Chroma server that does not answer, at start or later."""
    return StoreUnavailable(
        f"TIP_CHROMA_URL={chroma_url}: no Chroma server answers there ({type(exc).__name__}): start it "
        "(`chroma run --path DIR --port PORT`), or unset TIP_CHROMA_URL to keep the library in the data folder"
    )


def _reopened_collection(data_dir: Path):
    """The embedded collection opened afresh from disk. Chroma keeps one system per folder per process and
    never sees what another process writes there; dropping this folder's system from its cache makes the
    next client read the folder again (clients already holding the old one keep it)."""
    from chromadb.api.client import SharedSystemClient

    path = str(data_dir / "chroma")
    SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)
    return chroma_client(data_dir, None).get_collection(COLLECTION, embedding_function=None)

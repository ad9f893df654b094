"""Storage and search: the only package that talks to Chroma and to the SQLite lexical index."""

from vectorstore.catalog import Catalog, DocumentRecord
from vectorstore.embeddings import Embedder
from vectorstore.factory import CATALOG_FILE, StoreConfigError, open_store
from vectorstore.store import ChunkStore, ScoredChunk
from vectorstore.text_vectors import TEXT_VECTORS_FILE, TextVectors

__all__ = [
    "CATALOG_FILE",
    "Catalog",
    "ChunkStore",
    "DocumentRecord",
    "Embedder",
    "ScoredChunk",
    "StoreConfigError",
    "TEXT_VECTORS_FILE",
    "TextVectors",
    "open_store",
]

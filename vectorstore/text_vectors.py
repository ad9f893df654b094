"""Vectors of passage sentences, computed once and kept: the answer composer and the support checker embed
the sentences of the passages a question retrieves, and the same passages come back for many questions.

``TextVectors.encode(texts)`` returns the kept vector of every text it has seen, and embeds the others in one
call to the embedder and keeps them. They are kept in a SQLite file beside the library, so they outlive the
process and are shared by every process that opens the library (WAL mode; a write that cannot be made, a
read-only folder or a long lock, is skipped: the vectors were computed, and the answer never waits for the
cache). Rows are float16 (768 bytes for 384 dimensions); the cosine of a kept vector to the fresh one is above
0.9999 (``tests/vectorstore/test_text_vectors.py``). The file belongs to one model: opened with another
(``Embedder.identity``), it is emptied.

Question texts are not kept: they rarely repeat, and each would add a row.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)

TEXT_VECTORS_FILE = "sentence_vectors.sqlite3"
BUSY_TIMEOUT_MS = 2000  # another process writing: wait this long, then skip keeping this batch


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class TextVectors:
    """``encode`` with a memory: unit-length float32 rows, one per text, as ``embedder.encode`` gives them.

    ``path`` None keeps nothing (every text is embedded); ``identity`` names the model (``Embedder.identity``)."""

    def __init__(self, embedder: Encoder, path: Path | None, identity: str):
        self.embedder = embedder
        self.path = path
        self.identity = identity
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        self._db: sqlite3.Connection | None = None
        self._opened = False

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (rows in their order); the new ones are embedded in one call and kept."""
        if not texts:
            return self.embedder.encode(texts)
        keys = [_key(t) for t in texts]
        kept = self._lookup(list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in kept))
        if missing:
            fresh = self.embedder.encode(missing)
            new = {_key(t): v for t, v in zip(missing, fresh, strict=True)}
            self._keep(new)
            kept.update(new)
        return np.stack([np.asarray(kept[k], dtype=np.float32) for k in keys])

    def count(self) -> int:
        """Vectors kept on disk."""
        db = self._connection()
        if db is None:
            return 0
        with self._lock:
            return int(db.execute("SELECT count(*) FROM text_vectors").fetchone()[0])

    # ----- storage ----------------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection | None:
        with self._lock:
            if not self._opened:
                self._opened = True
                self._db = self._open()
            return self._db

    def _open(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                                 isolation_level=None)  # fmt: skip
            with FileLock(self.path.with_name(self.path.name + ".open.lock")):  # as the catalog: see Catalog
                return self._prepare(db)
        except (sqlite3.Error, OSError) as exc:
            log.warning("sentence vectors are not kept (%s: %s): they are computed for each question", self.path, exc)
            return None

    def _prepare(self, db: sqlite3.Connection) -> sqlite3.Connection:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a cache: a row lost in a power cut is computed again
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS text_vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE name = 'model'").fetchone()
        if row is None or row[0] != self.identity:
            with _transaction(db):  # another model's vectors mean nothing to this one
                db.execute("DELETE FROM text_vectors")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", (self.identity,))
        return db

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        db = self._connection()
        if db is None or not keys:
            return {}
        found: dict[bytes, np.ndarray] = {}
        try:
            with self._lock:
                for start in range(0, len(keys), 500):  # SQLite's host-parameter limit
                    part = keys[start : start + 500]
                    marks = ",".join("?" * len(part))
                    rows = db.execute(f"SELECT key, vector FROM text_vectors WHERE key IN ({marks})", part)
                    found.update((key, np.frombuffer(vector, dtype=np.float16)) for key, vector in rows)
        except sqlite3.Error as exc:
            log.warning("could not read kept sentence vectors (%s): computing them", exc)
            return {}
        return found

    def _keep(self, vectors: dict[bytes, np.ndarray]) -> None:
        db = self._connection()
        if db is None:
            return
        rows = [(key, np.asarray(v, dtype=np.float16).tobytes()) for key, v in vectors.items()]
        try:
            with self._lock, _transaction(db):
                db.executemany("INSERT OR IGNORE INTO text_vectors VALUES (?, ?)", rows)
        except sqlite3.Error as exc:  # busy, read-only, disk full: the answer goes on without keeping them
            log.info("sentence vectors not kept this time (%s)", exc)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

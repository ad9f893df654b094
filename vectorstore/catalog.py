"""The library's catalogue in SQLite: documents, cleaned page text, chunks, and the FTS5 lexical index.

SQLite is the authority on what the library holds. Chroma holds only vectors keyed by chunk id; a chunk
id that Chroma returns but the catalogue does not know is ignored (and cleaned up by ``ChunkStore``).
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import Stemmer
from filelock import FileLock

from assistant.text.lexicon import fold_accents, stem
from assistant.text.terms import surface_words
from ingest.language import detect_language
from ingest.models import Chunk, LoadedDocument
from ingest.structured import searchable_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_type TEXT NOT NULL,
    page_count INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    year INTEGER,
    ingested_at TEXT NOT NULL,
    language TEXT,
    ocr_pages TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documents_sha ON documents(sha256);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""

# Columns added to ``documents`` after libraries were first written: added on open, empty for old rows.
ADDED_DOCUMENT_COLUMNS = {"language": "TEXT", "ocr_pages": "TEXT NOT NULL DEFAULT ''"}

# The lexical index, versioned on its own so an older library gets it rebuilt from its chunks on open.
# Each chunk is indexed with its document's title as a second column, weighted above the text: questions
# name their documents ("the ASU study", "the Global Report's Africa chapter"). Porter stemming over
# unicode61 words: "trafficked"/"trafficking" meet, accents fold, case folds. Porter is English; a French
# or Spanish chunk also gets its words' Snowball stems in its own language in a third column, ``stems``
# ("identifiées" and "identifié" both "identifi"), which questions search with their words stemmed in
# those languages (``lexical_search(..., stems=...)``); for an English chunk it stays empty.
LEXICAL_INDEX_VERSION = 4
TITLE_WEIGHT = 2.0
STEMS_WEIGHT = 1.0
STEMMED_LANGUAGES = ("fr", "es")
# Statements one by one: ``executescript`` would commit the transaction the rebuild runs in.
LEXICAL_SCHEMA = (
    "DROP TRIGGER IF EXISTS chunks_ai",
    "DROP TRIGGER IF EXISTS chunks_ad",
    "DROP TABLE IF EXISTS chunks_fts",
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, stems, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN DELETE FROM chunks_fts WHERE rowid = old.rowid; END",
)
_BM25 = f"bm25(chunks_fts, {TITLE_WEIGHT}, 1.0, {STEMS_WEIGHT})"
# A query term found in more than COMMON_TERM_SHARE of the passages, and in more than COMMON_TERM_PASSAGES, is
# left out of the lexical query: FTS5 reads a term's every passage to rank them, and at 100,000 passages "known",
# "national" or "year" match 16,000-29,000 each, for an inverse document frequency under 2.9 (bm25's, against
# about 10 for a term of two passages). Up to 10,000 passages the floor of COMMON_TERM_PASSAGES only takes out
# terms in more than half the passages, whose bm25 weight FTS5 already sets to almost nothing (so the shared
# corpus's results are unchanged). A query whose terms are all that common keeps them.
COMMON_TERM_SHARE = 0.05
COMMON_TERM_PASSAGES = 5000

# The library's surface vocabulary: every word of the chunk texts and document titles with its count of
# occurrences, kept in step with the chunks inside the transaction that writes them, so that answering can tell
# a word the library never uses (a subject it does not cover, or a typo) from one it does. ``library_state``
# holds the rules version the table was built with (a library opened with other rules, or from before the
# table, is counted again from its chunks) and a version number that every document write raises.
VOCABULARY_RULES = 1
VOCABULARY_SCHEMA = """
CREATE TABLE IF NOT EXISTS vocabulary (word TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS library_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    sha256: str
    file_type: str
    page_count: int
    chunk_count: int
    year: int | None
    ingested_at: str
    language: str | None = None  # ISO 639-1 code, detected at ingest
    ocr_pages: str = ""  # the pages read by OCR, "1,2,7"; empty when none


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 OR-query of ``terms`` in any column, and of their French and Spanish stems in the ``stems``
    column; each term is quoted so punctuation in it can never be read as query syntax."""
    terms = list(terms)
    stems = dict.fromkeys(s for t in terms if t.isalpha() for lang in STEMMED_LANGUAGES if (s := stem(t, lang)) != t)
    quoted = ['"' + t.replace('"', "") + '"' for t in terms]
    return " OR ".join([*quoted, *(f'stems : "{s}"' for s in stems)])


def chunk_stems(text: str, language: str | None) -> str:
    """The words of ``text`` as Snowball stems of ``language`` when it is one of ``STEMMED_LANGUAGES``, else
    empty: what the ``stems`` column of the lexical index holds."""
    if language not in STEMMED_LANGUAGES:
        return ""
    return " ".join(stem(word, language) for word in surface_words(text))


def _locked(method):
    """Serialise use of the one connection: the UI answers and ingests from several threads."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class Catalog:
    """Documents, pages, chunks and the FTS5 index, in one SQLite file."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._term_counts: dict[str, int] = {}
        self._term_counts_version: int | None = None
        self._passage_count = 0
        # Processes opening one new file at once: switching it to WAL takes an exclusive lock for which SQLite
        # does not wait (it would deadlock), so "database is locked" came back. Opening is serialised instead.
        with FileLock(path.with_name(path.name + ".open.lock")):
            self._prepare()

    def _prepare(self) -> None:
        """Journal mode, schema, added columns and derived tables, built or brought up to date."""
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(documents)")}
        for name, kind in ADDED_DOCUMENT_COLUMNS.items():
            if name not in columns:
                self._db.execute(f"ALTER TABLE documents ADD COLUMN {name} {kind}")
        if self._db.execute("PRAGMA user_version").fetchone()[0] < LEXICAL_INDEX_VERSION:
            with self._transaction():
                self._rebuild_lexical_index()
        self._db.executescript(VOCABULARY_SCHEMA)
        # the index's terms with the number of passages holding each (this connection's own view of it)
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
        if self._state("vocabulary_rules") != VOCABULARY_RULES:
            with self._transaction():
                self._rebuild_vocabulary()

    @_locked
    def close(self) -> None:
        self._db.close()

    # ----- reading -----------------------------------------------------------------------------------
    @_locked
    def documents(self) -> list[DocumentRecord]:
        rows = self._db.execute("SELECT * FROM documents ORDER BY source COLLATE NOCASE").fetchall()
        return [DocumentRecord(**dict(r)) for r in rows]

    @_locked
    def document(self, doc_id: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    @_locked
    def document_by_source(self, source: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE source = ?", (source,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    @_locked
    def document_by_sha(self, sha256: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    @_locked
    def page_text(self, doc_id: str, number: int) -> str | None:
        row = self._db.execute("SELECT text FROM pages WHERE doc_id = ? AND number = ?", (doc_id, number)).fetchone()
        return row["text"] if row else None

    @_locked
    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        if doc_id is None:
            rows = self._db.execute("SELECT chunk_id FROM chunks").fetchall()
        else:
            rows = self._db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,)).fetchall()
        return [r["chunk_id"] for r in rows]

    @_locked
    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks the catalogue knows among ``chunk_ids`` (unknown ids are left out)."""
        found: dict[str, Chunk] = {}
        for start in range(0, len(chunk_ids), 500):
            batch = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT c.*, d.source, d.title FROM chunks c JOIN documents d USING (doc_id) "
                f"WHERE c.chunk_id IN ({marks})",
                batch,
            ).fetchall()
            for r in rows:
                found[r["chunk_id"]] = _chunk_from_row(r)
        return found

    @_locked
    def continuations(self, chunks: Sequence[Chunk]) -> dict[str, Chunk]:
        """For each chunk that stops inside a paragraph, the chunk that carries that paragraph on."""
        found: dict[str, Chunk] = {}
        for chunk in chunks:
            after = self._db.execute(  # the two characters after the chunk, not the whole page
                "SELECT substr(text, ? + 1, 2) FROM pages WHERE doc_id = ? AND number = ?",
                (chunk.char_end, chunk.doc_id, chunk.page_end),
            ).fetchone()
            if after is None or after[0].strip(" ") in ("", "\n\n", "\n"):
                continue  # the paragraph (or the page) ends with the chunk
            row = self._db.execute(
                "SELECT c.*, d.source, d.title FROM chunks c JOIN documents d USING (doc_id) "
                "WHERE c.doc_id = ? AND c.idx = ? AND c.page_start = ?",
                (chunk.doc_id, chunk.index + 1, chunk.page_end),
            ).fetchone()
            if row:
                found[chunk.chunk_id] = _chunk_from_row(row)
        return found

    @_locked
    def lexical_search(
        self, terms: Sequence[str], limit: int, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, bm25 relevance) best first; relevance is positive, higher is better."""
        if not terms:
            return []
        sql = (
            f"SELECT c.chunk_id, -{_BM25} AS score FROM chunks_fts "
            "JOIN chunks c ON c.rowid = chunks_fts.rowid WHERE chunks_fts MATCH ?"
        )
        params: list = [fts_query(self._telling_terms(terms))]
        if doc_ids is not None:
            sql += f" AND c.doc_id IN ({','.join('?' * len(doc_ids))})"
            params.extend(doc_ids)
        sql += f" ORDER BY {_BM25} LIMIT ?"
        params.append(limit)
        return [(r["chunk_id"], float(r["score"])) for r in self._db.execute(sql, params)]

    def _telling_terms(self, terms: Sequence[str]) -> list[str]:
        """``terms`` without those too common to tell passages apart (see ``COMMON_TERM_SHARE``), or all of
        them when none is rarer."""
        version = self.vocabulary_version()
        if self._term_counts_version != version:  # a document was stored or removed (by any process)
            self._term_counts = {}
            self._term_counts_version = version
            self._passage_count = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        cap = max(COMMON_TERM_PASSAGES, COMMON_TERM_SHARE * self._passage_count)
        if self._passage_count <= cap:
            return list(terms)
        kept = [t for t in terms if self._passages_with(t) <= cap]
        return kept or list(terms)

    def _passages_with(self, term: str) -> int:
        """How many passages hold ``term`` as the lexical index tokenises it (0 when it cannot tell)."""
        if term not in self._term_counts:
            row = self._db.execute("SELECT doc FROM temp.chunks_vocab WHERE term = ?", (index_token(term),)).fetchone()
            self._term_counts[term] = row[0] if row else 0
        return self._term_counts[term]

    @_locked
    def vocabulary(self) -> dict[str, int]:
        """Every word of the library's chunk texts and document titles (``surface_words``) with its count."""
        return dict(self._db.execute("SELECT word, count FROM vocabulary").fetchall())

    @_locked
    def vocabulary_version(self) -> int:
        """A number that changes whenever a document is stored or removed: what a cache of the vocabulary keys on."""
        return self._state("vocabulary_version") or 0

    # ----- writing -----------------------------------------------------------------------------------
    @_locked
    def replace_document(self, document: LoadedDocument, chunks: Sequence[Chunk]) -> None:
        """Store a document with its pages and chunks in one transaction, replacing any older version. Rows
        are handed to SQLite one by one, never listed whole: a large document is not held twice."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction():
            old_words = self._document_words(document.doc_id)
            self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (document.doc_id,))
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (document.doc_id,))
            self._db.execute(
                "INSERT INTO documents(doc_id, source, title, sha256, file_type, page_count, chunk_count, year, "
                "ingested_at, language, ocr_pages) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    document.doc_id,
                    document.source,
                    document.title,
                    document.sha256,
                    document.file_type,
                    document.page_count,
                    len(chunks),
                    document.year,
                    now,
                    document.language,
                    ",".join(map(str, document.ocr_pages)),
                ),
            )
            self._db.executemany(
                "INSERT INTO pages VALUES (?,?,?)",
                ((document.doc_id, p.number, p.text) for p in document.pages),
            )
            self._db.executemany(
                "INSERT INTO chunks(chunk_id, doc_id, idx, page_start, page_end, char_start, char_end, text, "
                "text_hash) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    (
                        c.chunk_id,
                        c.doc_id,
                        c.index,
                        c.page_start,
                        c.page_end,
                        c.char_start,
                        c.char_end,
                        c.text,
                        c.text_hash,
                    )
                    for c in chunks
                ),
            )
            self._db.executemany(
                "INSERT INTO chunks_fts(rowid, title, text, stems) "
                "SELECT rowid, ?, ?, ? FROM chunks WHERE chunk_id = ?",
                (
                    (document.title, searchable_text(c.text), chunk_stems(c.text, document.language), c.chunk_id)
                    for c in chunks
                ),
            )
            new_words = _words_of(chain([document.title], (c.text for c in chunks)))
            self._update_vocabulary(old_words, new_words)

    @_locked
    def delete_document(self, doc_id: str) -> bool:
        with self._transaction():
            old_words = self._document_words(doc_id)
            self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            deleted = self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
            if deleted:
                self._update_vocabulary(old_words, Counter())
        return deleted > 0

    # ----- vocabulary (called inside a write transaction) ---------------------------------------------
    def _state(self, key: str) -> int | None:
        row = self._db.execute("SELECT value FROM library_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_state(self, key: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO library_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _document_words(self, doc_id: str) -> Counter[str]:
        """The word counts a stored document contributes to the vocabulary: its title and its chunks."""
        row = self._db.execute("SELECT title FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            return Counter()
        texts = (r[0] for r in self._db.execute("SELECT text FROM chunks WHERE doc_id = ?", (doc_id,)))
        return _words_of(chain([row[0]], texts))

    def _update_vocabulary(self, old: Counter[str], new: Counter[str]) -> None:
        changes = [(word, new[word] - old[word]) for word in old.keys() | new.keys() if new[word] != old[word]]
        self._db.executemany(
            "INSERT INTO vocabulary(word, count) VALUES (?, ?) "
            "ON CONFLICT(word) DO UPDATE SET count = count + excluded.count",
            changes,
        )
        self._db.executemany(
            "DELETE FROM vocabulary WHERE word = ? AND count <= 0", [(word,) for word, change in changes if change < 0]
        )
        self._set_state("vocabulary_version", (self._state("vocabulary_version") or 0) + 1)

    def _rebuild_lexical_index(self) -> None:
        """The lexical index built anew from the chunks (an older library); documents stored before languages
        were detected get theirs from their pages."""
        for statement in LEXICAL_SCHEMA:
            self._db.execute(statement)
        for doc in self._db.execute("SELECT doc_id, title, language FROM documents").fetchall():
            language = doc["language"]
            if language is None:
                pages = [
                    r["text"] for r in self._db.execute("SELECT text FROM pages WHERE doc_id = ?", (doc["doc_id"],))
                ]
                language = detect_language(pages)
                self._db.execute("UPDATE documents SET language = ? WHERE doc_id = ?", (language, doc["doc_id"]))
            self._db.executemany(
                "INSERT INTO chunks_fts(rowid, title, text, stems) VALUES (?,?,?,?)",
                [
                    (r["rowid"], doc["title"], searchable_text(r["text"]), chunk_stems(r["text"], language))
                    for r in self._db.execute("SELECT rowid, text FROM chunks WHERE doc_id = ?", (doc["doc_id"],))
                ],
            )
        self._db.execute(f"PRAGMA user_version = {LEXICAL_INDEX_VERSION}")

    def _rebuild_vocabulary(self) -> None:
        """Count the vocabulary from scratch over every stored title and chunk (a library from before the table)."""
        titles = (r[0] for r in self._db.execute("SELECT title FROM documents").fetchall())
        texts = (r[0] for r in self._db.execute("SELECT text FROM chunks"))
        counts = _words_of([*titles, *texts])
        self._db.execute("DELETE FROM vocabulary")
        self._db.executemany("INSERT INTO vocabulary(word, count) VALUES (?, ?)", counts.items())
        self._set_state("vocabulary_rules", VOCABULARY_RULES)
        self._set_state("vocabulary_version", (self._state("vocabulary_version") or 0) + 1)

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error: a document is stored whole or not at all."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self):
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type, exc, tb):
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


def _words_of(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(surface_words(text))
    return counts


def _chunk_from_row(r: sqlite3.Row) -> Chunk:
    return Chunk(
        chunk_id=r["chunk_id"],
        doc_id=r["doc_id"],
        source=r["source"],
        title=r["title"],
        page_start=r["page_start"],
        page_end=r["page_end"],
        char_start=r["char_start"],
        char_end=r["char_end"],
        text=r["text"],
        index=r["idx"],
        text_hash=r["text_hash"],
    )


_INDEX_WORD = "[^\\W_]"  # unicode61's token characters: letters and digits
_COMBINING_MARKS = re.compile("[\u0300-\u036f]")


def index_text(text: str) -> str:
    """A passage's text as the lexical index reads it before cutting it into tokens: its searchable text
    (``ingest.structured``), lower case, without accents. What ``holds_term`` looks in."""
    text = searchable_text(text).lower()
    return text if text.isascii() else _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))


def index_token(term: str) -> str:
    """A query term as the lexical index looks it up."""
    return _index_stem(fold_accents(term.lower()))


@functools.lru_cache(maxsize=4096)
def _term_pattern(term: str) -> tuple[str, re.Pattern[str]]:
    token = index_token(term)
    word = fold_accents(term.lower())
    # the words that can stem to the term's token begin with what the term and its stem share ("happy", "happi")
    prefix = os.path.commonprefix([word, token]) or token
    return token, re.compile(f"{re.escape(prefix)}{_INDEX_WORD}*")  # a literal first: the fast scan


def holds_term(folded: str, term: str) -> bool:
    """Whether the lexical index would match query term ``term`` in a text that ``index_text`` made: a word of
    it has the term's Porter stem (searched for by the stem's first letters, not by stemming every word)."""
    token, pattern = _term_pattern(term)
    for match in pattern.finditer(folded):
        start = match.start()
        if (start == 0 or not folded[start - 1].isalnum()) and _index_stem(match.group()) == token:
            return True
    return False


def _index_stem(word: str) -> str:
    # FTS5's porter tokenizer leaves words of one or two characters, and very long ones, as they are
    return _porter().stemWord(word) if 3 <= len(word) <= 64 else word


_per_thread = threading.local()


def _porter() -> Stemmer.Stemmer:
    """This thread's Porter stemmer (PyStemmer's "porter"): the original algorithm, which FTS5's porter tokenizer
    applies to the index's words."""
    stemmer = getattr(_per_thread, "porter", None)
    if stemmer is None:
        stemmer = _per_thread.porter = Stemmer.Stemmer("porter")
    return stemmer

"""``Assistant``: the one object front ends hold. It wires settings to the store, ingest and the chain.

Building it is cheap; the embedding model and the store open on first use.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from assistant.errors import DocumentNotFound, TipError
from assistant.settings import Settings
from assistant.types import Answer, PageSpan, Progress
from ingest.chunking import Chunker
from ingest.pipeline import ChunkProgress, FileSizeLimit, IngestReport, ProgressCallback, collect_files, ingest_files
from vectorstore import (
    CATALOG_FILE,
    TEXT_VECTORS_FILE,
    Catalog,
    ChunkStore,
    DocumentRecord,
    Embedder,
    TextVectors,
    open_store,
)
from vectorstore.graph_encoder import ExportStopped
from vectorstore.originals import ORIGINALS_DIR, Originals

# The answering and drafting stack (and LangChain under it) is imported where it is first used: commands that
# only read or write the library (`ingest` of unchanged files, `docs`, `remove`) start without it.
if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.answering.pipeline import AnswerPipeline
    from assistant.answering.prefetch import SentenceVectorPrefetch
    from assistant.answering.processes import AnsweringProcesses
    from assistant.drafting.drafts import CitedText, Grouping
    from assistant.grounding.support import CheckedSentence, SupportChecker
    from prompts import Prompt

log = logging.getLogger(__name__)

WRITE_LOCK = "write.lock"  # in the data folder: held by the one process writing the library


class EmptyQuestion(TipError, ValueError):
    """A blank question or summary topic."""

    def __init__(self) -> None:
        super().__init__("the question is empty: type a question")


class EmptyLibrary(TipError, LookupError):
    """A question, a text to check or a summary asked of a library with no documents."""

    def __init__(self) -> None:
        super().__init__("the library is empty: add files with `tip-assistant ingest PATH` or in the Library tab")


class NoLibrary(TipError, LookupError):
    """A library is read where there is none (often: a command run from another folder)."""

    def __init__(self, data_dir: Path):
        super().__init__(
            f"there is no library at {data_dir.resolve()}: run the command from the folder that holds ./data, "
            "give --data-dir DIR (or TIP_DATA_DIR), or add files there with `tip-assistant ingest PATH`"
        )


class EmptyText(TipError, ValueError):
    """A blank text to check or to cite."""

    def __init__(self) -> None:
        super().__init__("the text to check is empty: give some sentences")


# Passages retrieved for each sentence being verified; its supporting span is sought among them.
VERIFY_PASSAGES = 8


class Assistant:
    """The one object the front ends hold: a library (``settings.data_dir``, or a Chroma server) and what
    answers from it. Cheap to build: the model, the store and the pipeline load on first use (``warm_up``
    loads them at once). Questions may run in several threads at a time; ingest and removal take turns.

    Errors a user can fix derive from ``assistant.errors.TipError``: ``SettingsError``, ``ModelNotFound``
    (``TIP_EMBEDDING_MODEL``, ``TIP_RERANKER_MODEL``), ``StoreConfigError`` / ``StoreUnavailable``
    (``TIP_CHROMA_URL``), ``PromptError`` (``TIP_PROMPTS_DIR``), ``DocumentNotFound``, ``NoLibrary``, ``EmptyLibrary``,
    ``EmptyQuestion``, ``EmptyText``; they are raised where the thing they name is first needed."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        model: BaseChatModel | None = None,
        creates_library: bool = True,
    ):
        self.settings = settings
        # False: reading a library where there is none raises NoLibrary instead of creating an empty one
        self.creates_library = creates_library
        if embedder is not None:  # share one loaded model between several libraries (tests, benchmarks)
            self.embedder = embedder
        if model is not None:  # a LangChain chat model built by the caller, instead of the one TIP_LLM names
            self.model = model
        self._ingest_lock = threading.Lock()  # one ingest at a time; questions go on meanwhile
        self._prefetch: SentenceVectorPrefetch | None = None
        self._answering: AnsweringProcesses | None = None

    @cached_property
    def embedder(self) -> Embedder:
        """The sentence embedder (384-dimensional, unit-length vectors); raises ``ModelNotFound``."""
        return Embedder(self.settings.embedding_model, graph_dir=self.settings.cache_dir)

    @cached_property
    def store(self) -> ChunkStore:
        """The library's store; raises ``StoreConfigError`` or ``StoreUnavailable`` for ``TIP_CHROMA_URL``."""
        store = open_store(self.settings.data_dir, self.embedder, self.settings.chroma_url, self.catalog, False)
        self._reconcile(store)
        return store

    def _reconcile(self, store: ChunkStore) -> None:
        """Remove the vectors an interrupted write left, unless another process is writing the library now:
        the vectors of the document it is storing are not in the catalogue until its last batch is written.
        Whatever is left is removed by the next opening."""
        lock = self._write_lock
        try:
            lock.acquire(timeout=0)  # held already when an ingest opens the store (the lock is re-entrant)
        except Timeout:
            log.info("another process is writing to %s; orphan vectors are left for later", self.settings.data_dir)
            return
        try:
            store.reconcile()
        finally:
            lock.release()

    @cached_property
    def _write_lock(self) -> FileLock:
        """The inter-process lock of the library (``WRITE_LOCK``), one object per Assistant so that a thread
        holding it can take it again."""
        return FileLock(self.catalog.path.parent / WRITE_LOCK)

    @cached_property
    def pipeline(self) -> AnswerPipeline:
        """condense → retrieve → compose, with the generative composer when ``TIP_LLM`` names a model (its
        prompts are validated here, at start) and the extractive one otherwise."""
        from assistant.answering.answerability import Answerability
        from assistant.answering.extractive import ExtractiveComposer, ExtractiveConfig
        from assistant.answering.pipeline import AnswerPipeline
        from assistant.answering.rerank import CrossEncoderScorer

        answerability = Answerability(self.store)
        config = ExtractiveConfig(max_sentences=self.settings.max_sentences)
        extractive = ExtractiveComposer(self.embedder, config, answerability, self.passage_vectors)
        reranker_path = self.settings.reranker_model
        reranker = CrossEncoderScorer(reranker_path) if reranker_path else None
        top_k, checker = self.settings.top_k, self.checker
        if self.model is None:
            return AnswerPipeline(self.store, extractive, top_k, checker, reranker, answerability=answerability)
        from assistant.answering.generative import GenerativeComposer  # LangChain's model stack: with TIP_LLM only

        composer = GenerativeComposer(self.model, self.prompts, self.checker, extractive, self.settings)
        return AnswerPipeline(self.store, composer, top_k, checker, reranker, composer.condense, answerability)

    @cached_property
    def model(self) -> BaseChatModel | None:
        """The chat model ``TIP_LLM`` names (a client only: nothing is contacted), or None."""
        if not self.settings.llm:
            return None  # without importing LangChain's model stack (~0.5 s)
        from assistant.answering.generative import chat_model

        return chat_model(self.settings)

    @cached_property
    def prompts(self) -> dict[str, Prompt]:
        """The prompt templates, from ``TIP_PROMPTS_DIR`` or the package; raises ``PromptError`` for a missing
        or malformed one."""
        from prompts import load_prompts

        return load_prompts(self.settings.prompts_dir) if self.settings.prompts_dir else load_prompts()

    @cached_property
    def checker(self) -> SupportChecker:
        """The support checker every answer sentence and checked text goes through."""
        from assistant.grounding.support import SupportChecker

        return SupportChecker(self.embedder, passage_vectors=self.passage_vectors)

    def prefetch_sentence_vectors(self) -> SentenceVectorPrefetch:
        """Start computing the sentence vectors of every passage in the background, while no question is
        answered and nothing is ingested (``assistant.answering.prefetch``); a server calls it once ready.
        Documents added later are taken up after their ingest."""
        from assistant.answering.prefetch import SentenceVectorPrefetch

        if self._prefetch is None:
            self._prefetch = SentenceVectorPrefetch(self.catalog, self.passage_vectors, self._cores_free).start()
        return self._prefetch

    @property
    def sentence_vectors_state(self) -> str:
        """ "ready" once every passage's sentence vectors are kept, "computing" while the background pass
        runs, "not started" before ``prefetch_sentence_vectors``."""
        if self._prefetch is None:
            return "not started"
        return "ready" if self._prefetch.done.is_set() else "computing"

    def stop_prefetch(self) -> None:
        """Stop the background pass of ``prefetch_sentence_vectors`` (when the server stops)."""
        if self._prefetch is not None:
            self._prefetch.stop()

    def _cores_free(self) -> bool:
        turns = self.pipeline.turns
        elsewhere = self._answering.busy if self._answering is not None else 0
        return turns.inside == 0 and turns.waiting == 0 and elsewhere == 0 and not self._ingest_lock.locked()

    def start_answering_processes(self, on_ready: Callable[[], None] | None = None) -> AnsweringProcesses | None:
        """Start the ``TIP_ANSWER_PROCESSES`` worker processes that ``ask`` hands questions to once they are ready
        (``assistant.answering.processes``; ``on_ready()`` is called then); a server calls it once ready. None
        when the setting is 0."""
        from assistant.answering.processes import AnsweringProcesses

        if self._answering is None and self.settings.answer_processes > 0:
            opener = functools.partial(_opened_for_answering, self.settings)
            self._answering = AnsweringProcesses(opener, self.settings.answer_processes, on_ready)
        return self._answering

    @property
    def answering_processes_state(self) -> str:
        """ "off" (``TIP_ANSWER_PROCESSES`` 0, or not started), "starting", "ready", or "failed" (a worker did not
        start or died: the process answers by itself)."""
        if self._answering is None:
            return "off"
        return self._answering.state

    def stop_answering_processes(self) -> None:
        """Stop the workers of ``start_answering_processes`` (when the server stops)."""
        if self._answering is not None:
            self._answering.close()

    def _answered_elsewhere(
        self, question: str, history: Sequence[Mapping[str, str]], doc_ids: Sequence[str] | None
    ) -> Answer | None:
        """The answer of a worker process, or None when there is none to ask (not started, not ready, died)."""
        from concurrent.futures.process import BrokenProcessPool

        if self._answering is None or not self._answering.usable:
            return None
        try:
            return self._answering.ask(question, history, doc_ids)
        except BrokenProcessPool:
            return None

    def _library_changed(self) -> None:
        if self._prefetch is not None:
            self._prefetch.library_changed()
        answerability = self.pipeline.answerability if "pipeline" in vars(self) else None
        if answerability is not None:  # a process that answers: read the library's words again now, not when asked
            threading.Thread(target=answerability.lexicon, name="tip-lexicon", daemon=True).start()

    @cached_property
    def passage_vectors(self) -> TextVectors:
        """The vectors of passage sentences, embedded once and kept beside the library (``TEXT_VECTORS_FILE``)."""
        return TextVectors(self.embedder, self.settings.data_dir / TEXT_VECTORS_FILE, self.embedder.identity)

    def prepare_graph(self, stop: threading.Event | None = None) -> bool:
        """Export the embedding model for OpenVINO into the cache folder (``TIP_CACHE_DIR``), unless it is there
        already (``Embedder.export_graph``: once per machine and model, ~7 s with loading torch; afterwards
        chunks embed ~1.3x as fast, and a process that only embeds never loads torch). Whether it exported.
        Setting ``stop`` ends the export. A failure is logged, never raised: texts are then embedded with torch,
        as before."""
        try:
            return self.embedder.export_graph(stop)
        except ExportStopped:  # stopped, or the process is exiting (a server stopped while it started)
            return False
        except OSError as exc:  # a folder that cannot be written, a full disk: the user's to fix, in one line
            log.warning("the embedding model could not be kept in %s (%s): set TIP_CACHE_DIR to a folder you can "
                        "write; texts are embedded with torch meanwhile, more slowly", self.settings.cache_dir,
                        exc.strerror or exc)  # fmt: skip
            return False
        except Exception:  # an optional speed-up: an exporter error is never a failed command or start
            log.exception("the embedding model was not exported to %s; texts are embedded with torch",
                          self.settings.cache_dir)  # fmt: skip
            return False

    def check_setup(self) -> None:
        """Open the store and build the answering pipeline without loading the model (about a second): a setting
        to fix (a model folder, a prompt file, a Chroma server) raises its error here, as ``warm_up`` would."""
        _ = self.pipeline

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for: the model (``Embedder.warm_up``), the word
        frequencies and stemmers of the question reader (~0.6 s), the gazetteer (~1.3 s) and the library's
        vocabulary with its typo index (0.14 s for the shared corpus, 18 s at 100,000 passages; built again in
        the background after each ingest or removal)."""
        from assistant.text import lexicon, places

        self.embedder.warm_up()
        lexicon.warm_up()
        places.find_place("Malawi")
        if self.pipeline.answerability is not None:
            self.pipeline.answerability.lexicon()

    # ----- questions -----------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] = (),
        doc_ids: Sequence[str] | None = None,
    ) -> Answer:
        """The checked, cited answer to ``question`` in the context of ``history``, from the documents
        ``doc_ids`` only when given (all otherwise). Raises ``EmptyQuestion`` for a blank question and
        ``EmptyLibrary`` when the library holds no document."""
        if not question or not question.strip():
            raise EmptyQuestion()
        pipeline = self.pipeline  # a setting to fix (a model folder, a prompt file) is said before an empty library
        self._require_documents()
        answer = self._answered_elsewhere(question, history, doc_ids)
        return answer if answer is not None else pipeline.answer(question, history, doc_ids)

    def ask_stream(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] = (),
        doc_ids: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """The answer's text as it is generated (with a model configured), then the checked ``Answer``. It takes
        its turn among the questions being answered, as ``ask`` does (``AnswerPipeline.turns``)."""
        if not question or not question.strip():
            raise EmptyQuestion()
        pipeline = self.pipeline
        self._require_documents()
        answer = self._answered_elsewhere(question, history, doc_ids) if self.model is None else None
        if answer is not None:  # nothing to stream without a model: the answer whole, from a worker
            yield answer
            return
        with pipeline.turns.turn():  # the web chat's questions queue with the API's for the same cores
            yield from pipeline.stream(pipeline.prepare(question, history, doc_ids))

    def verify(self, text: str, doc_ids: Sequence[str] | None = None) -> list[CheckedSentence]:
        """Each sentence of ``text`` (a draft, another system's answer) with the library passage that best
        supports it, labelled: the passages retrieved for that sentence are its candidates."""
        from assistant.grounding.support import from_paragraph_start

        if not text or not text.strip():
            raise EmptyText()
        self._require_documents()

        pages = functools.lru_cache(maxsize=None)(self.page_text)

        def candidates(sentence: str) -> list[PageSpan]:
            found = self.store.search(sentence, k=VERIFY_PASSAGES, doc_ids=doc_ids)
            return [from_paragraph_start(r.chunk, pages(r.chunk.doc_id, r.chunk.page_start)) for r in found]

        return self.checker.check_text(text, candidates)

    # ----- drafting ------------------------------------------------------------------------------------
    def summarize(
        self,
        topic: str,
        grouping: Grouping | str = "auto",
        doc_ids: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> CitedText:
        """A cited summary of what the library says on ``topic`` (see ``assistant.drafting.drafts``)."""
        from assistant.drafting.drafts import Grouping, summarize
        from assistant.drafting.section_writer import ModelSectionWriter

        if not topic or not topic.strip():
            raise EmptyQuestion()
        self._require_documents()
        writer = ModelSectionWriter(self.model, self.prompts, self.checker, self.settings) if self.model else None
        return summarize(self.store, self.embedder, self.checker, topic, Grouping(grouping), doc_ids, progress, writer)

    def cite(self, text: str, doc_ids: Sequence[str] | None = None, progress: Progress | None = None) -> CitedText:
        """The drafter's ``text`` with sources attached where the library supports it."""
        from assistant.drafting.drafts import cite_draft

        if not text or not text.strip():
            raise EmptyText()
        return cite_draft(lambda paragraph: self.verify(paragraph, doc_ids), text, progress=progress)

    # ----- the library ---------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: ProgressCallback | None = None,
        chunk_progress: ChunkProgress | None = None,
        before_first_embedding: Callable[[], None] | None = None,
    ) -> IngestReport:
        """Add the files under ``paths`` (files or folders; PDF, .docx, .html, .txt, .md) to the library: new
        and changed files are stored, unchanged ones skipped. A file in a folder is known by its path relative to that
        folder, a file named directly by its name. Each file's outcome is in the report (files of other kinds
        found in a folder as skipped), a bad file never stops the others.

        A file larger than ``settings.max_upload_mb`` megabytes (``TIP_MAX_UPLOAD_MB``) fails unread, with a
        message giving its size and the limit. A document is embedded and stored a batch of chunks at a time,
        so a large file takes little more memory than its text, and it enters the library only once all of it
        is stored.

        When two files or more are to be read, they are read in a spawned process while the one before is
        embedded (``ingest.parse_ahead``): a script that calls this needs the ``if __name__ == "__main__":``
        guard of any script using ``multiprocessing`` (without it, the files are read here, after a warning).

        ``progress(done_files, total_files, outcome)`` is called after each file. ``chunk_progress(source,
        done_chunks, total_chunks)`` is called within each file that is stored: with 0 done once the file is
        read and cut into chunks, then after each batch of chunks is embedded and written, the last call with
        ``done_chunks == total_chunks``; ``source`` is the name the file is known by (as in its outcome).
        ``before_first_embedding()`` is called once, when the store is opened for the first file to store, before
        its chunks are embedded; the model is then exported for OpenVINO if it is not yet (``prepare_graph``).
        Raises ``ModelNotFound``, ``StoreConfigError`` or ``StoreUnavailable`` for a setting to fix."""
        files = collect_files(paths)
        chunker = Chunker(self.embedder.count_tokens, max_tokens=self.embedder.max_tokens)
        limit = FileSizeLimit(self.settings.max_upload_mb, "TIP_MAX_UPLOAD_MB")

        def first_embedding() -> None:
            if before_first_embedding is not None:
                before_first_embedding()
            self.prepare_graph()  # once per machine: the chunks then embed on OpenVINO

        sink = _StoreWhenNeeded(self.catalog, lambda: self.store, first_embedding)
        with self._ingest_lock, self._library_write_lock():
            report = ingest_files(files, sink, chunker, progress, size_limit=limit, chunk_progress=chunk_progress)
            if sink.open_error is not None:  # a setting to fix (TIP_CHROMA_URL, the model): said as such
                raise sink.open_error
            self.originals.keep(report.outcomes)  # after the store: a copy never stands for an unstored version
        self._library_changed()
        return report

    @contextmanager
    def _library_write_lock(self) -> Iterator[None]:
        """Held while this process writes the library, so two processes never write it at once (a server
        and a terminal's ``ingest``, two ``ingest`` runs): the second waits, saying so, then goes on."""
        lock = self._write_lock
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.warning("another process is writing to %s; waiting for it to finish", self.settings.data_dir)
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def _require_documents(self) -> None:
        if not self.catalog.documents():
            raise EmptyLibrary()

    def documents(self) -> list[DocumentRecord]:
        """Every document in the library, in the order they were added. Read from the catalogue alone, so
        the list works while a Chroma server (``TIP_CHROMA_URL``) is down."""
        return self.catalog.documents()

    @cached_property
    def catalog(self) -> Catalog:
        """The library's catalogue (documents, pages, chunks, lexical index), which the store shares. Raises
        ``NoLibrary`` when there is no library folder and this Assistant does not create one."""
        if not self.creates_library and not self.settings.data_dir.is_dir():
            raise NoLibrary(self.settings.data_dir)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return Catalog(self.settings.data_dir / CATALOG_FILE)

    @cached_property
    def originals(self) -> Originals:
        """The original files of the documents, kept to show a cited page as printed and to download."""
        return Originals(self.settings.data_dir / ORIGINALS_DIR)

    def find_document(self, ref: str) -> DocumentRecord:
        """A document by id, source (its path as ingested), file name or title (case-insensitive for names
        and titles); raises ``DocumentNotFound`` when none, or several, match at the closest level."""
        docs = self.documents()
        for match in (
            lambda d: d.doc_id == ref,
            lambda d: d.source == ref,
            lambda d: d.source.lower() == ref.lower() or Path(ref).name.lower() == d.source.lower(),
            lambda d: PurePosixPath(d.source).name.lower() == Path(ref).name.lower(),
            lambda d: d.title.lower() == ref.lower(),
        ):
            found = [d for d in docs if match(d)]
            if len(found) == 1:
                return found[0]
            if found:
                raise DocumentNotFound(ref, [d.source for d in found])
        raise DocumentNotFound(ref)

    def select_documents(
        self, refs: Sequence[str] | None = None, years: Sequence[int] | None = None
    ) -> list[str] | None:
        """Document ids for a search filter: documents named by ``refs`` (id, file name, or a part of the
        file name or title, case-insensitive) and published in one of ``years``. None means no filter."""
        if not refs and not years:
            return None
        docs = self.documents()
        if refs:
            chosen: dict[str, DocumentRecord] = {}
            for ref in refs:
                needle = ref.lower()
                found = [d for d in docs if d.doc_id == ref or needle in d.source.lower() or needle in d.title.lower()]
                if not found:
                    raise DocumentNotFound(ref)
                chosen.update((d.doc_id, d) for d in found)
            docs = list(chosen.values())
        if years:
            docs = [d for d in docs if d.year in set(years)]
        return [d.doc_id for d in docs]

    def remove(self, ref: str) -> DocumentRecord:
        """Delete a document (by id, file name or title) and everything stored for it; returns what was
        removed. Raises ``DocumentNotFound``."""
        doc = self.find_document(ref)
        store = self.store  # opened before the write lock is taken: opening reconciles under that lock
        with self._ingest_lock, self._library_write_lock():
            store.remove_document(doc.doc_id)
            self.originals.discard(doc.doc_id)
        self._library_changed()
        return doc

    def page_text(self, doc_id: str, page: int) -> str | None:
        """The stored (cleaned) text of a 1-based page, which every citation's offsets refer to; None when
        the document or page does not exist."""
        return self.store.page_text(doc_id, page)

    def page_evidence(self, ref: str, page: int) -> PageSpan:
        """A whole stored page as a passage for the support checker. Raises ``DocumentNotFound``."""
        doc = self.find_document(ref)
        text = self.page_text(doc.doc_id, page)
        if text is None:
            raise DocumentNotFound(f"{ref}, page {page}")
        return PageSpan(doc.doc_id, doc.source, doc.title, page, 0, len(text), text)


def _opened_for_answering(settings: Settings) -> Assistant:
    """An answering process's Assistant (``start_answering_processes``): the server's library, read only,
    loaded before its first question. When the model has been exported (a server exports it before it
    starts these processes), torch is not loaded: questions and the passage sentences not kept already (the
    server computes them while idle) embed on OpenVINO. That saves each process ~400 MB and several seconds of
    start."""
    assistant = Assistant(settings, creates_library=False)
    assistant.warm_up()
    return assistant


class _StoreWhenNeeded:
    """What an ingest stores into (``ingest.pipeline.DocumentSink``): whether a file is in the library already is
    read from the catalogue, and the vector store (Chroma, and the model behind it) is opened for the first file
    that is stored, so an ingest of unchanged files opens neither. When it cannot be opened, every file to store
    fails with that error, which ``open_error`` keeps."""

    def __init__(
        self, catalog: Catalog, open_store: Callable[[], ChunkStore], once_open: Callable[[], None] | None = None
    ):
        self.catalog = catalog
        self.open_store = open_store
        self.once_open = once_open  # called once, after the store first opens
        self.open_error: TipError | None = None

    def document_by_source(self, source: str) -> DocumentRecord | None:
        return self.catalog.document_by_source(source)

    def document_by_sha(self, sha256: str) -> DocumentRecord | None:
        return self.catalog.document_by_sha(sha256)

    def add_document(self, document, chunks, progress=None) -> None:
        if self.open_error is not None:
            raise self.open_error
        try:
            store = self.open_store()
            if self.once_open is not None:
                once_open, self.once_open = self.once_open, None
                once_open()
        except TipError as exc:
            self.open_error = exc
            raise
        store.add_document(document, chunks, progress)

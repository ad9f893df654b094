"""The one root of the errors a user can fix, and the ones that several layers raise.

Every error whose message tells the user what to do derives from ``TipError``: a bad setting, a missing model
folder, a broken prompt file, an unreachable Chroma server, a malformed gold file, an unknown document. Each
front end (``assistant.interfaces.cli.main``, ``app.main``, the web handlers) catches ``TipError`` once and shows its
message in one line, never a traceback. Errors that are bugs stay ordinary exceptions.

This module imports nothing of the project, so every layer (``ingest``, ``vectorstore``, ``prompts`` and
``assistant``) may derive its errors from it.
"""

from __future__ import annotations


class TipError(Exception):
    """An error the user can fix. ``str(error)`` names the file, setting or field and says what to do.

    It crosses process boundaries (``assistant.answering.processes``) as its class and message: the arguments of
    a subclass's own ``__init__`` are not kept, so code reads what it needs from the message, not attributes."""

    def __reduce__(self):
        return _rebuilt, (type(self), str(self))


def _rebuilt(kind: type[TipError], message: str) -> TipError:
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    return error


class ModelNotFound(TipError):
    """A model folder (``TIP_EMBEDDING_MODEL``, ``TIP_RERANKER_MODEL``) holds no model."""


class StoreUnavailable(TipError):
    """The store cannot be opened: the Chroma server at ``TIP_CHROMA_URL`` does not answer."""


class DocumentNotFound(TipError, LookupError):
    """No library document matches ``ref`` (an id, a file name, a title or a part of one), or several do."""

    def __init__(self, ref: str, candidates: tuple[str, ...] | list[str] = ()):
        if candidates:
            shown = ", ".join(candidates)
            super().__init__(f"several documents match {ref!r} ({shown}): name one by its path")
        else:
            super().__init__(f"no document {ref!r} in the library")
        self.ref = ref

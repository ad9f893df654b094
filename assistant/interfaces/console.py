"""What the command line prints and reads the same way whether a command runs here or through a server:
its exit statuses, its error, the files and standard input it reads, and the text it prints from the JSON
shapes the API and ``--json`` give.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from assistant.answering.conversation import HistoryError, checked_history
from assistant.errors import TipError
from assistant.interfaces.text import counted, support_totals
from assistant.text.shorten import shorten
from ingest.models import is_sectioned, location_of

EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(TipError):
    """A problem with what the user asked for; printed as one line."""


def read_text(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{path} does not exist: give a text file, or - to read standard input") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a folder: give a text file, or - to read standard input") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text: save it as plain text first") from None


def read_history(path: Path) -> list[dict[str, str]]:
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"history file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"history file {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    try:
        return checked_history(turns, f"history file {path}")
    except HistoryError as exc:
        raise CliError(str(exc)) from None


# ----- output, from the JSON shapes of the API and --json ----------------------------------------------------
def print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def format_answer(answer: Mapping) -> str:
    """An answer (the ``ask --json`` object) as the terminal shows it: the text, the sentences without full
    support, then the sources, or for a refusal its reason and the possibly related passages."""
    lines = [f"note: {n}" for n in answer["notices"]] + [answer["answer"], ""]
    flagged = [s for s in answer["sentences"] if s["support"] and s["support"]["label"] != "supported"]
    for s in flagged:
        support = s["support"]
        where = f"closest: {support['source']}, {location_of(support['source'], support['page'])}"
        lines.append(f'{support["label"]}: "{shorten(s["text"], 160)}" ({where})')
    if flagged:
        lines.append("")
    if answer["refused"]:
        if answer["refusal_reason"]:
            lines[-1:-1] = [f"Why: {answer['refusal_reason']}."]
        if answer["related"]:
            lines.append("Possibly related (not an answer):")
            lines += [f"  - {c['title']} ({c['source']}), {location_of(c['source'], c['page'])}: "
                      f"\"{shorten(c['quote'], 160)}\"" for c in answer["related"]]  # fmt: skip
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer["citations"]:
        lines.append(f"  [{c['n']}] {c['title']} ({c['source']}), {location_of(c['source'], c['page'])}, "
                     f"chars {c['start']}–{c['end']}")  # fmt: skip
        lines.append(f'      "{shorten(c["quote"], 300)}"')
    return "\n".join(lines)


_MARKS = {"supported": "✅", "partial": "⚠️", "unsupported": "❌"}


def format_checked(sentences: Sequence[Mapping]) -> str:
    """Checked sentences (``verify --json``'s ``sentences``): each with its label and its source or closest
    passage, then the count."""
    lines = []
    for s in sentences:
        lines.append(f"{_MARKS[s['label']]} {s['label']} ({s['score']:.2f}): {s['text']}")
        if s["quote"]:
            where = "closest" if s["label"] == "unsupported" else "source"
            lines.append(f"      {where}: {s['source']}, {location_of(s['source'], s['page'])}, chars "
                         f"{s['start']}–{s['end']}: \"{shorten(s['quote'], 200)}\"")  # fmt: skip
    lines.append("\n" + support_totals([s["label"] for s in sentences]))  # as the web UI counts them
    return "\n".join(lines)


def format_documents(documents: Sequence[Mapping]) -> str:
    """The library's documents (``docs --json``), two lines each."""
    if not documents:
        return "the library is empty: add files with `tip-assistant ingest PATH`"
    lines = [f"{'id':<12}  {'year':<4}  {'lang':<4}  {'length':>10}  {'passages':>11}  {'added':<10}  file / title"]
    for d in documents:
        part = "section" if is_sectioned(d["source"]) else "page"
        pages, chunks = counted(d["page_count"], part), counted(d["chunk_count"], "chunk")
        year = str(d.get("year") or "—")
        lines.append(f"{d['doc_id']:<12}  {year:<4}  {d['language'] or '??':<4}  {pages:>10}  {chunks:>11}  "
                     f"{d['ingested_at'][:10]}  {d['source']}")  # fmt: skip
        ocr = f" (pages read by OCR: {d['ocr_pages']})" if d["ocr_pages"] else ""
        lines.append(f"              {d['title']}{ocr}")
    return "\n".join(lines)


def format_removed(document: Mapping) -> str:
    return f"removed {document['source']} ({counted(document['chunk_count'], 'chunk')})"


# A file this many chunks long or more gets progress lines within it when the bar is not shown (no terminal).
LONG_FILE_CHUNKS = 2000


class WithinFile:
    """Progress within a file being ingested, on stderr: a bar of its chunks on a terminal; elsewhere (a log, a
    pipe) a line at each tenth of a long file. Called as ``chunk_progress(source, done_chunks, total_chunks)``."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=0, unit="chunk", file=sys.stderr, disable=None, leave=False)
        self._said = -1

    def __call__(self, source: str, done: int, total: int) -> None:
        if done == 0:
            self._bar.reset(total=total)
            self._bar.set_description(source)
            self._said = -1
        self._bar.n = done
        self._bar.refresh()
        tenth = done * 10 // total if total else 10
        if self._bar.disable and total >= LONG_FILE_CHUNKS and tenth > self._said:
            self._said = tenth
            print(f"{source}: {done} of {total} chunks stored", file=sys.stderr, flush=True)

    def close(self) -> None:
        self._bar.close()

"""Command line: ``tip-assistant ingest|ask|docs|remove|serve``.

Exceptions the user can act on become one clean ``error:`` line and a non-zero exit code here, at the
boundary; everything below raises.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.answer import Answer
from assistant.service import Assistant, DocumentNotFound, EmptyQuestion
from assistant.settings import Settings, SettingsError, use_offline_mode
from ingest.pipeline import FileOutcome, FileStatus
from vectorstore import StoreConfigError

EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE = 0, 1, 2
_STATUS_MARK = {
    FileStatus.ADDED: "✅",
    FileStatus.UPDATED: "✅",
    FileStatus.UNCHANGED: "·",
    FileStatus.DUPLICATE: "⚠️",
    FileStatus.FAILED: "❌",
}


class CliError(Exception):
    """A problem with what the user asked for; printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tip-assistant", description="Cited answers from your document library.")
    parser.add_argument("--data-dir", type=Path, help="where the library is stored (TIP_DATA_DIR, default ./data)")
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (TIP_CHROMA_URL)")
    parser.add_argument("--top-k", type=int, help="passages retrieved per question (TIP_TOP_K, default 8)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add files or folders (PDF, .txt, .md) to the library")
    p.add_argument("paths", nargs="+", type=Path)

    p = sub.add_parser("ask", help="ask a question; the answer cites document, page and passage")
    p.add_argument("question")
    p.add_argument("--history", type=Path, help='JSON file: [{"role": "user"|"assistant", "content": "..."}]')
    p.add_argument("--doc", action="append", dest="docs", help="only search this document (id, file or title)")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")

    p = sub.add_parser("docs", help="list the documents in the library")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("remove", help="delete a document and everything stored for it")
    p.add_argument("doc", help="document id, file name or title")

    p = sub.add_parser("serve", help="start the web UI")
    p.add_argument("--host", help="address to bind (TIP_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (TIP_PORT, default 7860)")
    p.add_argument("--docs", nargs="*", type=Path, default=[], help="ingest these files or folders first")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    use_offline_mode()
    try:
        settings = Settings.from_env(
            data_dir=args.data_dir,
            chroma_url=args.chroma_url,
            top_k=args.top_k,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
        )
        assistant = Assistant(settings)
        return COMMANDS[args.command](assistant, args)
    except DocumentNotFound as exc:
        print(f"error: {exc}: `tip-assistant docs` lists the documents", file=sys.stderr)
        return EXIT_USAGE
    except (CliError, EmptyQuestion, SettingsError, StoreConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def cmd_ingest(assistant: Assistant, args: argparse.Namespace) -> int:
    report = ingest_with_progress(assistant, args.paths)
    print(f"{report.summary()}; {len(assistant.documents())} documents in the library")
    return EXIT_OK if report.ok else EXIT_FAILED_FILES


def ingest_with_progress(assistant: Assistant, paths: Sequence[Path]):
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", file=sys.stderr, disable=None)

    def progress(done: int, total: int, outcome: FileOutcome) -> None:
        bar.total = total
        bar.update(1)
        tqdm.write(format_outcome(outcome), file=sys.stdout)  # results on stdout, the bar on stderr

    try:
        return assistant.ingest(paths, progress)
    finally:
        bar.close()


def format_outcome(outcome: FileOutcome) -> str:
    detail = f"{outcome.pages} pages, {outcome.chunks} chunks" if outcome.chunks else ""
    message = "; ".join(p for p in (detail, outcome.message) if p)
    line = f"{_STATUS_MARK[outcome.status]} {outcome.source}: {outcome.status.value}"
    return f"{line} ({message})" if message else line


def cmd_ask(assistant: Assistant, args: argparse.Namespace) -> int:
    history = read_history(args.history) if args.history else []
    doc_ids = [assistant.find_document(ref).doc_id for ref in args.docs] if args.docs else None
    answer = assistant.ask(args.question, history, doc_ids)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return EXIT_OK


def read_history(path: Path) -> list[dict[str, str]]:
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"history file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"history file {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(turns, list):
        raise CliError(f'history file {path} must hold a JSON list of {{"role", "content"}} objects')
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise CliError(f'history file {path}, item {i}: "role" must be "user" or "assistant"')
        if not isinstance(turn.get("content"), str):
            raise CliError(f'history file {path}, item {i}: "content" must be a string')
    return turns


def format_answer(answer: Answer) -> str:
    lines = [answer.text, ""]
    if answer.refused:
        if answer.related:
            lines.append("Possibly related (not an answer):")
            lines += [f"  - {c.title} ({c.source}), p. {c.page}: \"{_short(c.quote)}\"" for c in answer.related]
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"  [{c.n}] {c.title} ({c.source}), p. {c.page}, chars {c.start}–{c.end}")
        lines.append(f"      \"{_short(c.quote, 300)}\"")
    return "\n".join(lines)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cmd_docs(assistant: Assistant, args: argparse.Namespace) -> int:
    docs = assistant.documents()
    if args.json:
        print(json.dumps([d.__dict__ for d in docs], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not docs:
        print("the library is empty: add files with `tip-assistant ingest PATH`")
        return EXIT_OK
    for d in docs:
        print(f"{d.doc_id}  {d.page_count:4d} pages  {d.chunk_count:5d} chunks  {d.ingested_at[:10]}  {d.source}")
        print(f"              {d.title}")
    return EXIT_OK


def cmd_remove(assistant: Assistant, args: argparse.Namespace) -> int:
    doc = assistant.remove(args.doc)
    print(f"removed {doc.source} ({doc.chunk_count} chunks)")
    return EXIT_OK


def cmd_serve(assistant: Assistant, args: argparse.Namespace) -> int:
    import app  # the web UI lives in the composition root, outside the library packages

    app.serve(assistant, docs=args.docs)
    return EXIT_OK


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "docs": cmd_docs, "remove": cmd_remove, "serve": cmd_serve}


if __name__ == "__main__":
    sys.exit(main())

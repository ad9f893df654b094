"""Command line: ``tip-assistant ingest|ask|verify|summarize|cite|docs|remove|serve|eval|eval-retrieval``.

When a server runs on the same library (``tip-assistant serve`` wrote its ``server.json`` there), ``ingest``,
``ask``, ``verify``, ``docs`` and ``remove`` go through its API (``assistant.interfaces.client``) and answer in a
fraction of a second; otherwise, or with ``--no-server``, every command opens the library in this process
(``assistant.interfaces.embedded``). Both print the same (``assistant.interfaces.console``). Neither path's
modules load until a command needs them, so a client call stays light.

Exceptions the user can act on become one clean ``error:`` line and a non-zero exit code here, at the
boundary; everything below raises.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import DocumentNotFound, TipError
from assistant.interfaces.console import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from assistant.settings import Settings, use_offline_mode

GROUPINGS = ("auto", "country", "theme", "document")  # assistant.drafting.drafts.Grouping, without importing it
FORMATS = ("md", "docx")  # assistant.drafting.export.FORMATS


def build_parser() -> argparse.ArgumentParser:
    # The library options go before or after the command: `tip-assistant --data-dir D ask …` or `ask … --data-dir D`.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--data-dir", type=Path, help="where the library is stored (TIP_DATA_DIR, default ./data)")
    common.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (TIP_CHROMA_URL)")
    common.add_argument("--top-k", type=int, help="passages retrieved per question (TIP_TOP_K, default 8)")
    common.add_argument("--no-server", action="store_true", help="open the library in this process even when a "
                        "server runs on it")  # fmt: skip
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser = argparse.ArgumentParser(
        prog="tip-assistant", description="Cited answers from your document library.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])  # every command takes the library options too

    ingest = command("ingest", "add files or folders (PDF, .docx, .html, .txt, .md) to the library")
    ingest.add_argument("paths", nargs="+", type=Path)
    _question_commands(command)
    _drafting_commands(command)
    _library_commands(command)
    _evaluation_commands(command)
    return parser


Command = Callable[[str, str], argparse.ArgumentParser]


def _question_commands(command: Command) -> None:
    p = command("ask", "ask a question; the answer cites document, page and passage")
    p.add_argument("question")
    p.add_argument("--history", type=Path, help='JSON file: [{"role": "user"|"assistant", "content": "..."}]')
    p.add_argument(
        "--doc", action="append", dest="docs", help="only search documents whose file name or title contains this"
    )
    p.add_argument(
        "--year",
        action="append",
        dest="years",
        type=parse_years,
        help="only documents of this year or range (2023, 2019-2023); documents without a year are left out",
    )
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")

    p = command("verify", "check each sentence of a text against the library, with its best source")
    p.add_argument("file", help="a text file, or - to read standard input")
    p.add_argument("--doc", action="append", dest="docs", help="only check against documents whose name has this")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _drafting_commands(command: Command) -> None:
    p = command("summarize", "a cited summary of what the library says on a topic")
    p.add_argument("topic")
    p.add_argument("--doc", action="append", dest="docs", help="only documents whose file name or title has this")
    p.add_argument("--year", action="append", dest="years", type=parse_years, help="only documents of this year "
                   "or range")  # fmt: skip
    p.add_argument("--group", choices=GROUPINGS, default="auto",
                   help="headings by country, theme or document (auto: by country when the material spans "
                   "several countries, else by theme)")  # fmt: skip
    _export_arguments(p)

    p = command("cite", "your text back with sources after each sentence the library supports")
    p.add_argument("file", help="a text file, or - to read standard input")
    p.add_argument("--doc", action="append", dest="docs", help="only documents whose file name or title has this")
    _export_arguments(p)


def _library_commands(command: Command) -> None:
    p = command("docs", "list the documents in the library")
    p.add_argument("--json", action="store_true")

    p = command("remove", "delete a document and everything stored for it")
    p.add_argument("doc", help="document id, file name or title")

    p = command("serve", "start the server: the web UI and the JSON API (see /docs)")
    p.add_argument("--host", help="address to bind (TIP_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (TIP_PORT, default 7860)")
    p.add_argument("--docs", nargs="*", type=Path, default=[], help="ingest these files or folders first")


def _evaluation_commands(command: Command) -> None:
    p = command("eval", "score the answers to a gold question set (JSON lines)")
    p.add_argument("gold", type=Path, help="gold file, one JSON object per line (see shared/eval/README.md)")
    p.add_argument("--k", type=_top_k, help="passages retrieved and scored per question (default: TIP_TOP_K, 8)")
    p.add_argument("--json", action="store_true", help="print the figures and every item as one JSON object")
    p.add_argument("--report", type=Path, metavar="DIR", help="write report.md, results.json and by_type.png here")
    p.add_argument("--compare", type=Path, metavar="RESULTS", help="compare with a previous run: the results.json "
                   "of an earlier --report (figures and items that got better or worse)")  # fmt: skip

    p = command("eval-retrieval", "nDCG@10, recall@10 and MRR@10 of the project's retrieval (the hybrid search "
                "`ask` uses) on a BEIR folder")  # fmt: skip
    p.add_argument("beir_dir", type=Path, help="folder with corpus.jsonl, queries.jsonl and qrels/test.tsv")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, help="md (Markdown with footnotes) or docx (Word); default: from "
                   "the -o file name, else md")  # fmt: skip
    p.add_argument("-o", "--output", type=Path, help="write to this file (needed for docx); default: print Markdown")


def _top_k(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use a number from 1 to 100")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    use_offline_mode()
    try:
        settings = Settings.from_env(
            data_dir=getattr(args, "data_dir", None),
            chroma_url=getattr(args, "chroma_url", None),
            top_k=getattr(args, "k", None) or getattr(args, "top_k", None),  # eval --k wins over --top-k
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
        )
        return run_command(settings, args)
    except DocumentNotFound as exc:
        print(f"error: {exc}: `tip-assistant docs` lists the documents", file=sys.stderr)
        return EXIT_USAGE
    except TipError as exc:  # every error a user can fix, in one line
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `… | head` stopped reading: not an error of ours, and no traceback at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    """Through the server running on the library when there is one and the command can, else here."""
    if not getattr(args, "no_server", False):
        from assistant.interfaces import client

        server = client.find_server(settings) if args.command in client.COMMANDS else None
        if server is not None:
            return client.COMMANDS[args.command](server, args)
    from assistant.interfaces import embedded
    from assistant.service import Assistant

    creates = args.command in ("ingest", "serve")  # the others say there is no library, naming the folder
    return embedded.COMMANDS[args.command](Assistant(settings, creates_library=creates), args)


def parse_years(text: str) -> list[int]:
    """ "2023" or "2019-2023" as a list of years."""
    try:
        first, _, last = text.partition("-")
        start, end = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year or a range such as 2019-2023") from None
    if not 1900 <= start <= end <= 2100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year or a range such as 2019-2023")
    return list(range(start, end + 1))


if __name__ == "__main__":
    sys.exit(main())

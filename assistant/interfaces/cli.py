"""Command line: ``tip-assistant ingest|ask|verify|summarize|cite|docs|remove|serve|eval|eval-retrieval``.

Exceptions the user can act on become one clean ``error:`` line and a non-zero exit code here, at the
boundary; everything below raises.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from assistant.answering.conversation import HistoryError, checked_history
from assistant.drafting.drafts import CITATION_NEEDED, CitedText, Grouping
from assistant.drafting.export import FORMATS, to_markdown, write
from assistant.errors import TipError
from assistant.interfaces.payloads import checked_dict, document_dict
from assistant.interfaces.text import counted, format_outcome
from assistant.service import Assistant, DocumentNotFound
from assistant.settings import Settings, use_offline_mode
from assistant.text.shorten import shorten
from assistant.types import Answer, SupportLabel
from ingest.models import is_sectioned
from ingest.pipeline import FileOutcome

EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE = 0, 1, 2


class CliError(TipError):
    """A problem with what the user asked for; printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    # The library options go before or after the command: `tip-assistant --data-dir D ask …` or `ask … --data-dir D`.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--data-dir", type=Path, help="where the library is stored (TIP_DATA_DIR, default ./data)")
    common.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (TIP_CHROMA_URL)")
    common.add_argument("--top-k", type=int, help="passages retrieved per question (TIP_TOP_K, default 8)")
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
    p.add_argument("--year", action="append", dest="years", type=parse_years, help="only documents of this year "
                   "or range (2023, 2019-2023); documents without a year are left out")
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
    p.add_argument("--group", choices=[g.value for g in Grouping], default=Grouping.AUTO.value,
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

    p = command("serve", "start the web UI")
    p.add_argument("--host", help="address to bind (TIP_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (TIP_PORT, default 7860)")
    p.add_argument("--docs", nargs="*", type=Path, default=[], help="ingest these files or folders first")


def _evaluation_commands(command: Command) -> None:
    p = command("eval", "score the answers to a gold question set (JSON lines)")
    p.add_argument("gold", type=Path, help="gold file, one JSON object per line (see shared/eval/README.md)")
    p.add_argument("--k", type=_top_k, help="passages retrieved and scored per question (default: TIP_TOP_K, 8)")
    p.add_argument("--json", action="store_true", help="print the figures and every item as one JSON object")
    p.add_argument("--report", type=Path, metavar="DIR", help="write report.md, results.json and by_type.png here")

    p = command("eval-retrieval", "nDCG@10, recall@10 and MRR@10 of the embedder on a BEIR folder")
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
        assistant = Assistant(settings)
        return COMMANDS[args.command](assistant, args)
    except DocumentNotFound as exc:
        print(f"error: {exc}: `tip-assistant docs` lists the documents", file=sys.stderr)
        return EXIT_USAGE
    except TipError as exc:  # every error a user can fix, in one line
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def cmd_ingest(assistant: Assistant, args: argparse.Namespace) -> int:
    return EXIT_OK if ingest_and_report(assistant, args.paths).ok else EXIT_FAILED_FILES


def ingest_and_report(assistant: Assistant, paths: Sequence[Path]):
    """Ingest ``paths`` with a line per file and a progress bar, then the totals."""
    report = ingest_with_progress(assistant, paths)
    print(f"{report.summary()}; {counted(len(assistant.documents()), 'document')} in the library")
    return report


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


def cmd_ask(assistant: Assistant, args: argparse.Namespace) -> int:
    history = read_history(args.history) if args.history else []
    years = [year for span in args.years or [] for year in span]
    doc_ids = assistant.select_documents(args.docs, years)
    answer = assistant.ask(args.question, history, doc_ids)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return EXIT_OK


def cmd_verify(assistant: Assistant, args: argparse.Namespace) -> int:
    text = read_text(args.file)
    checked = assistant.verify(text, assistant.select_documents(args.docs))
    if args.json:
        print(json.dumps({"sentences": [checked_dict(c) for c in checked]}, ensure_ascii=False, indent=2))
        return EXIT_OK
    marks = {SupportLabel.SUPPORTED: "✅", SupportLabel.PARTIAL: "⚠️", SupportLabel.UNSUPPORTED: "❌"}
    for c in checked:
        s = c.support
        print(f"{marks[s.label]} {s.label.value} ({s.score:.2f}): {c.text}")
        if s.quote:
            where = "closest" if s.label is SupportLabel.UNSUPPORTED else "source"
            print(f"      {where}: {s.source}, {s.location}, chars {s.start}–{s.end}: \"{shorten(s.quote, 200)}\"")
    unsupported = sum(c.support.label is SupportLabel.UNSUPPORTED for c in checked)
    print(f"\n{counted(len(checked), 'sentence')}: {len(checked) - unsupported} with support in the library, "
          f"{unsupported} without")
    return EXIT_OK


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


def cmd_summarize(assistant: Assistant, args: argparse.Namespace) -> int:
    years = [year for span in args.years or [] for year in span]
    doc_ids = assistant.select_documents(args.docs, years)
    with _progress_bar("summarizing") as progress:
        cited = assistant.summarize(args.topic, args.group, doc_ids, progress)
    if not cited.sections:
        print(f"The library holds nothing on “{args.topic}”.", file=sys.stderr)
        return EXIT_FAILED_FILES
    return _deliver(cited, args)


def cmd_cite(assistant: Assistant, args: argparse.Namespace) -> int:
    text = read_text(args.file)
    with _progress_bar("checking paragraphs") as progress:
        cited = assistant.cite(text, assistant.select_documents(args.docs), progress)
    return _deliver(cited, args)


def _deliver(cited: CitedText, args: argparse.Namespace) -> int:
    """Print the Markdown, or write the file; then say what needs the drafter's attention (on stderr)."""
    for notice in cited.notices:
        print(f"note: {notice}", file=sys.stderr)
    fmt = args.format or (args.output.suffix.lstrip(".").lower() if args.output else "md")
    if fmt not in FORMATS:
        raise CliError(f"cannot tell the format from {args.output}: name it .md or .docx, or give --format")
    if args.output is None:
        if fmt == "docx":
            raise CliError("a Word file needs a name: add -o FILE.docx")
        print(to_markdown(cited), end="")
    else:
        write(cited, args.output, fmt)
        print(f"written: {args.output}", file=sys.stderr)
    needed = sum(s.needs_citation for s in cited.sentences())
    total = len(cited.sentences())
    documents = counted(len(cited.references()), "document")
    print(f"{counted(total, 'sentence')}, {documents} cited, {needed} marked {CITATION_NEEDED}",
          file=sys.stderr)  # fmt: skip
    return EXIT_OK


@contextmanager
def _progress_bar(what: str):
    from tqdm import tqdm

    bar = tqdm(total=0, desc=what, file=sys.stderr, disable=None)

    def progress(stage: str, done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(stage)
        bar.refresh()

    try:
        yield progress
    finally:
        bar.close()


def parse_years(text: str) -> list[int]:
    """"2023" or "2019-2023" as a list of years."""
    try:
        first, _, last = text.partition("-")
        start, end = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year or a range such as 2019-2023") from None
    if not 1900 <= start <= end <= 2100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year or a range such as 2019-2023")
    return list(range(start, end + 1))


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


def format_answer(answer: Answer) -> str:
    lines = [f"note: {n}" for n in answer.notices] + [answer.text, ""]
    flagged = [s for s in answer.sentences if s.support and s.support.label is not SupportLabel.SUPPORTED]
    for s in flagged:
        where = f"closest: {s.support.source}, {s.support.location}"
        lines.append(f"{s.support.label.value}: \"{shorten(s.text, 160)}\" ({where})")
    if flagged:
        lines.append("")
    if answer.refused:
        if answer.refusal_reason:
            lines[-1:-1] = [f"Why: {answer.refusal_reason}."]
        if answer.related:
            lines.append("Possibly related (not an answer):")
            lines += [f"  - {c.title} ({c.source}), {c.location}: \"{shorten(c.quote, 160)}\"" for c in answer.related]
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"  [{c.n}] {c.title} ({c.source}), {c.location}, chars {c.start}–{c.end}")
        lines.append(f"      \"{shorten(c.quote, 300)}\"")
    return "\n".join(lines)




def cmd_docs(assistant: Assistant, args: argparse.Namespace) -> int:
    docs = assistant.documents()
    if args.json:
        print(json.dumps([document_dict(d) for d in docs], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not docs:
        print("the library is empty: add files with `tip-assistant ingest PATH`")
        return EXIT_OK
    for d in docs:
        part = "section" if is_sectioned(d.source) else "page"
        pages, chunks = counted(d.page_count, part), counted(d.chunk_count, "chunk")
        print(f"{d.doc_id}  {d.language or '??'}  {pages:>10}  {chunks:>11}  {d.ingested_at[:10]}  {d.source}")
        ocr = f" (pages read by OCR: {d.ocr_pages})" if d.ocr_pages else ""
        print(f"              {d.title}{ocr}")
    return EXIT_OK


def cmd_remove(assistant: Assistant, args: argparse.Namespace) -> int:
    doc = assistant.remove(args.doc)
    print(f"removed {doc.source} ({counted(doc.chunk_count, 'chunk')})")
    return EXIT_OK


def cmd_serve(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.interfaces.server import serve  # fastapi, uvicorn and gradio load only for this command

    if args.docs:  # ingested before the UI opens, reported as `ingest` reports
        ingest_and_report(assistant, args.docs)

    def announce(url: str) -> None:
        print(f"tip-assistant: listening on {url}/ (web UI), {url}/api/v1 (API), {url}/docs (API reference); "
              "Ctrl+C stops it", flush=True)  # fmt: skip

    serve(assistant, announce=announce)
    return EXIT_OK


def cmd_eval(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.evaluation.gold_set import GoldFileError, evaluation_report, load_gold, missing_sources, run_items
    from assistant.evaluation.report import format_summary, to_json, write_report

    try:
        items = load_gold(args.gold)
    except GoldFileError as exc:
        raise CliError(str(exc)) from None
    docs = assistant.documents()
    if not docs:
        raise CliError(
            f"the library in {assistant.settings.data_dir} is empty: add the documents first with "
            "`tip-assistant ingest PATH` (or point TIP_DATA_DIR / --data-dir at your library)"
        )
    absent = missing_sources(items, (d.source for d in docs))
    if absent:
        print(f"warning: {len(absent)} gold document(s) not in the library, their items will score as misses: "
              + ", ".join(absent), file=sys.stderr)

    from tqdm import tqdm

    assistant.warm_up()  # load the model and open the store first, so the first item's latency is not set-up
    with tqdm(total=len(items), unit="question", file=sys.stderr, disable=None) as bar:
        results = run_items(assistant, items, assistant.settings.top_k, lambda stage, done, total: bar.update())
    data = evaluation_report(results, gold=args.gold.name, documents=len(docs))
    print(to_json(data) if args.json else format_summary(data))
    if args.report:
        paths = write_report(data, args.report)
        print(f"report written: {', '.join(str(p) for p in paths)}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def cmd_eval_retrieval(assistant: Assistant, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from assistant.evaluation.retrieval_eval import BeirFormatError, run_beir

    if not args.beir_dir.is_dir():
        raise CliError(f"{args.beir_dir} is not a folder: give a BEIR folder with corpus.jsonl, queries.jsonl "
                       "and qrels/test.tsv")
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            unit = "document" if stage == "index" else "query"
            bars[stage] = tqdm(total=total, desc=stage, unit=unit, file=sys.stderr, disable=None)
        bars[stage].update(done - bars[stage].n)

    try:
        figures = run_beir(Path(args.beir_dir), assistant.embedder, progress=progress)
    except BeirFormatError as exc:
        raise CliError(str(exc)) from None
    finally:
        for bar in bars.values():
            bar.close()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{args.beir_dir.name}: {figures['queries']} queries")
    for key, name in (("ndcg@10", "nDCG@10"), ("recall@10", "recall@10"), ("mrr@10", "MRR@10")):
        print(f"  {name:<10} {figures[key]:.3f}")
    return EXIT_OK


COMMANDS = {
    "ingest": cmd_ingest,
    "ask": cmd_ask,
    "verify": cmd_verify,
    "summarize": cmd_summarize,
    "cite": cmd_cite,
    "docs": cmd_docs,
    "remove": cmd_remove,
    "serve": cmd_serve,
    "eval": cmd_eval,
    "eval-retrieval": cmd_eval_retrieval,
}


if __name__ == "__main__":
    sys.exit(main())

"""The commands run in this process, on the library opened here: what ``tip-assistant`` does when no server
runs on the library, or with ``--no-server`` (``assistant.interfaces.cli`` chooses). Each takes the
``Assistant`` and the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.interfaces.console import (
    EXIT_FAILED_FILES,
    EXIT_OK,
    CliError,
    WithinFile,
    format_answer,
    format_checked,
    format_documents,
    format_removed,
    print_json,
    read_history,
    read_text,
)
from assistant.interfaces.payloads import checked_dict, document_dict, outcome_dict
from assistant.interfaces.text import counted, format_outcome
from assistant.service import Assistant
from ingest.pipeline import FileOutcome

if TYPE_CHECKING:  # the drafting stack loads for the commands that draft, not for every command
    from assistant.drafting.drafts import CitedText


def cmd_ingest(assistant: Assistant, args: argparse.Namespace) -> int:
    # the ingest exports the model before its first embedding when it must (Assistant.ingest): said first
    report = ingest_and_report(assistant, args.paths, lambda: _announce_export(assistant))
    return EXIT_OK if report.ok else EXIT_FAILED_FILES


def _announce_export(assistant: Assistant) -> None:
    if assistant.embedder.needs_graph:
        print("tip-assistant: preparing the embedding model (once on this machine, a few seconds)…", file=sys.stderr)


def prepare_graph(assistant: Assistant) -> None:
    """In a command that has loaded torch anyway (it embedded sentences before the model was exported): export
    the model (``Assistant.prepare_graph``), so later commands need no torch."""
    if assistant.embedder.torch_loaded and assistant.embedder.needs_graph:
        _announce_export(assistant)
        assistant.prepare_graph()


def ingest_and_report(
    assistant: Assistant, paths: Sequence[Path], before_first_embedding: Callable[[], None] | None = None
):
    """Ingest ``paths`` with a line per file and a progress bar, then the totals (``before_first_embedding``:
    see ``Assistant.ingest``)."""
    report = ingest_with_progress(assistant, paths, before_first_embedding)
    print(f"{report.summary()}; {counted(len(assistant.documents()), 'document')} in the library")
    return report


def ingest_with_progress(
    assistant: Assistant, paths: Sequence[Path], before_first_embedding: Callable[[], None] | None = None
):
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", file=sys.stderr, disable=None)
    within = WithinFile()

    def progress(done: int, total: int, outcome: FileOutcome) -> None:
        bar.total = total
        bar.update(1)
        tqdm.write(format_outcome(outcome_dict(outcome)), file=sys.stdout)  # results on stdout, the bar on stderr

    try:
        return assistant.ingest(paths, progress, within, before_first_embedding)
    finally:
        within.close()
        bar.close()


def cmd_ask(assistant: Assistant, args: argparse.Namespace) -> int:
    history = read_history(args.history) if args.history else []
    years = [year for span in args.years or [] for year in span]
    doc_ids = assistant.select_documents(args.docs, years)
    answer = assistant.ask(args.question, history, doc_ids)
    print_json(answer.to_dict()) if args.json else print(format_answer(answer.to_dict()), flush=True)
    prepare_graph(assistant)
    return EXIT_OK


def cmd_verify(assistant: Assistant, args: argparse.Namespace) -> int:
    text = read_text(args.file)
    checked = assistant.verify(text, assistant.select_documents(args.docs))
    sentences = [checked_dict(c) for c in checked]
    print_json({"sentences": sentences}) if args.json else print(format_checked(sentences), flush=True)
    prepare_graph(assistant)
    return EXIT_OK


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
    from assistant.drafting.drafts import CITATION_NEEDED
    from assistant.drafting.export import FORMATS, to_markdown, write

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


def cmd_docs(assistant: Assistant, args: argparse.Namespace) -> int:
    documents = [document_dict(d) for d in assistant.documents()]
    print_json(documents) if args.json else print(format_documents(documents))
    return EXIT_OK


def cmd_remove(assistant: Assistant, args: argparse.Namespace) -> int:
    print(format_removed(document_dict(assistant.remove(args.doc))))
    return EXIT_OK


def cmd_serve(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.interfaces.server import serve  # fastapi, uvicorn and gradio load only for this command

    print("tip-assistant: starting…", flush=True)
    serve(assistant, documents=args.docs, say=lambda line: print(line, flush=True))
    return EXIT_OK


def cmd_eval(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.evaluation.compare import ResultsFileError, compare_runs, format_comparison, load_results
    from assistant.evaluation.gold_set import GoldFileError, evaluation_report, load_gold, missing_sources, run_items
    from assistant.evaluation.report import format_summary, to_json, write_report

    try:
        items = load_gold(args.gold)
        previous = load_results(args.compare) if args.compare else None  # before the run, which takes minutes
    except (GoldFileError, ResultsFileError) as exc:
        raise CliError(str(exc)) from None
    docs = assistant.documents()
    if not docs:
        raise CliError(
            f"the library in {assistant.settings.data_dir} is empty: add the documents first with "
            "`tip-assistant ingest PATH` (or point TIP_DATA_DIR / --data-dir at your library)"
        )
    absent = missing_sources(items, (d.source for d in docs))
    if absent:
        print(
            f"warning: {len(absent)} gold document(s) not in the library, their items will score as misses: "
            + ", ".join(absent),
            file=sys.stderr,
        )

    from tqdm import tqdm

    assistant.warm_up()  # load the model and open the store first, so the first item's latency is not set-up
    with tqdm(total=len(items), unit="question", file=sys.stderr, disable=None) as bar:
        results = run_items(assistant, items, assistant.settings.top_k, lambda stage, done, total: bar.update())
    data = evaluation_report(results, gold=args.gold.name, documents=len(docs))
    comparison = compare_runs(previous, data) if previous is not None else None
    if args.json:  # the comparison joins the printed object only; results.json stays an evaluation, to compare later
        print(to_json(data if comparison is None else {**data, "comparison": comparison.to_dict()}))
    else:
        print(format_summary(data))
        if comparison is not None:
            print(f"\n{format_comparison(comparison, str(args.compare))}")
    if args.report:
        paths = write_report(data, args.report)
        print(f"report written: {', '.join(str(p) for p in paths)}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def cmd_eval_retrieval(assistant: Assistant, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from assistant.evaluation.retrieval_eval import BeirFormatError, run_beir

    if not args.beir_dir.is_dir():
        raise CliError(
            f"{args.beir_dir} is not a folder: give a BEIR folder with corpus.jsonl, queries.jsonl and qrels/test.tsv"
        )
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

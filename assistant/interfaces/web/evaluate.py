"""The Evaluate tab: run a gold set through the assistant as ``tip-assistant eval`` does, show its figures, chart
and failed items, offer the report files, and compare the run with a previous one. Plain functions of the
assistant; Gradio calls them from ``assistant.interfaces.web.ui``, tests call them directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from assistant.errors import TipError
from assistant.evaluation.compare import ResultsFileError, compare_runs, load_results
from assistant.evaluation.gold_set import GoldFileError, evaluation_report, load_gold, missing_sources, run_items
from assistant.evaluation.report import write_report
from assistant.interfaces.text import counted
from assistant.interfaces.web.handlers import ProgressFn, error_text, progress_bar
from assistant.interfaces.web.render import (
    EMPTY_COMPARISON,
    EMPTY_FAILURES,
    check_message,
    render_comparison,
    render_evaluation,
    render_failures,
)
from assistant.service import Assistant

# The bundled development gold sets: ../shared/eval beside the project folder, when it is there.
DEV_SETS = Path(__file__).resolve().parents[3].parent / "shared" / "eval"

CHOOSE_GOLD = "Choose a gold set, or upload a gold file (.jsonl), first."
EMPTY_LIBRARY = "The library is empty: add the documents the gold set asks about in the Library tab, then run it."
CHOOSE_PREVIOUS = "Upload the results.json of a previous run first."
RUN_FIRST = "Run an evaluation first: the previous run is compared with it."


def gold_sets(folder: Path = DEV_SETS) -> list[tuple[str, str]]:
    """The gold files (``*.jsonl``) directly in ``folder``, by name, as dropdown choices: ``(label, path)``, the
    label with the number of non-blank lines ("qa-dev.jsonl (30 questions)"). ``[]`` when there is no such
    folder; an unreadable file is listed without a count (running it says what is wrong)."""
    if not folder.is_dir():
        return []
    choices = []
    for path in sorted(folder.glob("*.jsonl"), key=lambda p: p.stem):  # qa-dev before qa-dev-2
        try:
            lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
            name = f"{path.name} ({counted(lines, 'question')})"
        except (OSError, UnicodeDecodeError):
            name = path.name
        choices.append((name, str(path)))
    return choices


class EvaluationView(NamedTuple):
    """What a run shows: the figures (or why there are none), the failed items, the chart's file, the report
    files to download (report.md, results.json, by_type.png), the comparison with a previous run, and the
    evaluation itself (``evaluation_report``'s dict; None when nothing was run), kept for a later comparison."""

    figures: str
    failures: str
    chart: str | None
    files: list[str]
    comparison: str
    results: dict[str, Any] | None


def _not_run(message: str) -> EvaluationView:
    return EvaluationView(check_message(message), EMPTY_FAILURES, None, [], EMPTY_COMPARISON, None)


def _named(error: Exception, path: Path) -> str:
    """The error's message with the file named by its name only: an upload's path is a server folder."""
    return error_text(error).replace(str(path), path.name)


def run_evaluation(
    assistant: Assistant,
    gold: str | Path | None,
    folder: Path,
    previous: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> EvaluationView:
    """Run the gold file ``gold`` through the assistant as ``tip-assistant eval`` does (the settings' top-k)
    and write its report into ``folder``; with ``previous`` (a results.json), compare the run with it.

    ``progress((done, total), desc=…, unit=…)`` after the model has loaded and after each item. A malformed
    gold file, an empty library or an error the user can fix (a ``TipError``, e.g. the Chroma server is down)
    gives a message in place of the figures and nothing else; a bad ``previous`` file only a message in place
    of the comparison."""
    if not gold:
        return _not_run(CHOOSE_GOLD)
    gold = Path(gold)
    try:
        items = load_gold(gold)
    except GoldFileError as exc:
        return _not_run(f"The gold file was not run. {_named(exc, gold)}")
    try:
        docs = assistant.documents()
        if not docs:
            return _not_run(EMPTY_LIBRARY)
        if progress is not None:
            progress((0, len(items)), desc="Loading the model and the library", unit="questions")
        assistant.warm_up()  # so the first item's latency is not set-up time, as in `tip-assistant eval`
        step = progress_bar(progress, "Answering the gold questions", "questions")
        results = run_items(assistant, items, assistant.settings.top_k, step)
    except TipError as exc:
        return _not_run(f"The evaluation stopped. {error_text(exc)}")
    data = evaluation_report(results, gold=gold.name, documents=len(docs))
    md, js, png = write_report(data, folder)
    notices = []
    absent = missing_sources(items, (d.source for d in docs))
    if absent:
        notices.append(f"{counted(len(absent), 'gold document')} not in the library, so their items score as "
                       f"misses: {', '.join(absent)}.")  # fmt: skip
    return EvaluationView(
        figures=render_evaluation(data, notices),
        failures=render_failures(data, {item.id: item for item in items}),
        chart=str(png),
        files=[str(md), str(js), str(png)],
        comparison=compare_with_previous(data, previous) if previous else EMPTY_COMPARISON,
        results=data,
    )


def compare_with_previous(results: dict[str, Any] | None, previous: str | Path | None) -> str:
    """The comparison of the run ``results`` with the previous run stored in ``previous`` (its results.json),
    as HTML; or a message: no file, no run yet, or why the file is not the results of an evaluation."""
    if not previous:
        return check_message(CHOOSE_PREVIOUS)
    if results is None:
        return check_message(RUN_FIRST)
    previous = Path(previous)
    try:
        before = load_results(previous)
    except ResultsFileError as exc:
        return check_message(f"Nothing was compared. {_named(exc, previous)}")
    return render_comparison(compare_runs(before, results), previous.name)

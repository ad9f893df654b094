"""The web UI's Evaluate tab: a gold file run on a small library (figures, chart, failed items, report files),
the comparison with a previous run, and what a bad gold file, an empty library or a bad results file shows."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from assistant.evaluation.report import figure_rows, kind_rows
from assistant.interfaces.web import evaluate, ui
from assistant.interfaces.web.render import EMPTY_COMPARISON, EMPTY_FAILURES
from assistant.service import Assistant
from assistant.settings import Settings

SHELTER = "The Blantyre shelter received 41 survivors of trafficking in 2023 and referred them onwards.\n"
FEES = "Recruitment agencies charged migrant workers fees of up to three months' wages in 2022.\n"
GOLD = [
    {"id": "g-1", "type": "factoid", "kind": "plain", "question": "How many survivors did the Blantyre shelter "
     "receive in 2023?", "must_contain": ["41"], "source": "shelter.txt"},
    # Fails by design: the library never says "four months", and the question's markup must show as text.
    {"id": "g-2", "type": "factoid", "kind": "plain", "question": "What fees did <b>recruitment agencies</b> charge "
     "migrant workers?", "must_contain": ["four months"], "source": "fees.txt"},
    {"id": "g-3", "type": "followup", "question": "How many did it refer onwards?", "must_contain": ["41"],
     "source": "shelter.txt", "history": [{"role": "user", "content": "Which shelter is in Blantyre?"},
                                          {"role": "assistant", "content": "The Blantyre shelter."}]},
    {"id": "g-4", "type": "unanswerable", "kind": "out-of-library", "question": "Who won the football world cup "
     "in 1998?"},
]  # fmt: skip


def write_gold(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


# The library, the gold file and one run of it are made once for the tests that read them.
@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder) -> Assistant:
    docs = tmp_path_factory.mktemp("docs")
    (docs / "shelter.txt").write_text(SHELTER, encoding="utf-8")
    (docs / "fees.txt").write_text(FEES, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("library") / "data"), embedder=embedder)
    assert assistant.ingest([docs]).ok
    return assistant


@pytest.fixture(scope="module")
def gold(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gradio") / "5c1e0a"  # where Gradio puts an upload: a random folder
    folder.mkdir()
    return write_gold(folder / "small-gold.jsonl", GOLD)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval") / "out"


@pytest.fixture(scope="module")
def view(library, gold, out) -> tuple[evaluate.EvaluationView, list]:
    seen: list = []
    shown = evaluate.run_evaluation(library, str(gold), out, None, lambda step, **kw: seen.append(step))
    return shown, seen


@pytest.mark.integration
def test_a_run_shows_the_figures_the_chart_and_the_report_files(view, out):
    shown, seen = view
    data = shown.results
    assert data["gold"] == "small-gold.jsonl" and data["items"] == 4 and data["documents"] == 2
    assert [i["id"] for i in data["per_item"]] == ["g-1", "g-2", "g-3", "g-4"]
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and len(seen) == 5  # loading, then one step per question

    assert "gold set small-gold.jsonl · 4 items (3 answerable, 1 unanswerable) · k = 8 · 2 documents" in shown.figures
    header, rows = figure_rows(data)  # the table `tip-assistant eval` prints, cell for cell
    assert "".join(f'<th scope="col">{cell}</th>' for cell in header) in shown.figures
    for row in rows:
        assert f'<th scope="row">{row[0]}</th>' + "".join(f"<td>{c}</td>" for c in row[1:]) in shown.figures
    kind_header, _ = kind_rows(data)
    assert kind_header == ["figure", "plain", "out-of-library"]
    assert "Figures by kind" in shown.figures and '<th scope="col">out-of-library</th>' in shown.figures

    assert [Path(f).name for f in shown.files] == ["report.md", "results.json", "by_type.png"]
    assert all(Path(f).parent == out for f in shown.files)
    assert json.loads(Path(shown.files[1]).read_text(encoding="utf-8")) == data
    assert shown.chart == shown.files[2] and Path(shown.chart).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shown.comparison == EMPTY_COMPARISON  # no previous run given


@pytest.mark.integration
def test_failed_items_show_question_expectation_answer_and_reason(view):
    shown, _ = view
    failed = [i for i in shown.results["per_item"] if i["failure"]]
    assert "g-2" in [i["id"] for i in failed] and "g-1" not in [i["id"] for i in failed]
    assert f"{len(failed)} of 4 items failed." in shown.failures

    cards = shown.failures.split('<li class="tip-source tip-unsupported">')[1:]
    card = next(c for c in cards if '<span class="tip-label">g-2</span>' in c)
    assert "What fees did &lt;b&gt;recruitment agencies&lt;/b&gt; charge migrant workers?" in card
    assert "<b>" not in shown.failures
    assert "the answer contains “four months”, citing fees.txt" in card
    record = next(i for i in failed if i["id"] == "g-2")
    assert record["failure"].replace("'", "&#39;") in card and "four months" in record["failure"]
    assert "three months&#39; wages" in card  # what was answered
    assert not any('<span class="tip-label">g-1</span>' in c for c in cards)


@pytest.mark.integration
def test_comparison_with_a_previous_run_lists_what_got_better_and_worse(view, library, gold, tmp_path):
    shown, _ = view
    now = shown.results
    assert now["per_item"][0]["answer_correct"] is True and now["per_item"][1]["answer_correct"] is False
    old = copy.deepcopy(now)  # a previous run where g-1 failed and g-2 passed
    old["per_item"][0].update(answer_correct=False, failure="answer missed: '41'")
    old["per_item"][1].update(retrieval_hit=True, answer_correct=True, failure=None)
    old["answer_correct"] = 0.9
    previous = tmp_path / "upload" / "results.json"
    previous.parent.mkdir()
    previous.write_text(json.dumps(old), encoding="utf-8")

    html = evaluate.compare_with_previous(now, str(previous))
    assert html.startswith('<div class="tip-sources tip-eval"><p class="tip-summary">Compared with results.json '
                           "(gold set small-gold.jsonl, 4 items, k = 8).")  # fmt: skip
    better = html[html.index("<h4>Better (1)</h4>") : html.index("<h4>Worse (1)</h4>")]
    worse = html[html.index("<h4>Worse (1)</h4>") :]
    assert '<span class="tip-label">g-1</span>' in better and "answer correct" in better
    assert "answer missed: &#39;41&#39;" in better and "no failure" in better
    assert '<span class="tip-label">g-2</span>' in worse and "retrieval hit, answer correct" in worse
    assert "Items: 1 better, 1 worse, 0 mixed, 0 changed, 2 unchanged, 0 new, 0 dropped." in html
    change = round(now["answer_correct"] - 0.9, 4)
    assert f'0.90 → {now["answer_correct"]:.2f}<br><span class="tip-worse">{change:+.2f} worse</span>' in html
    assert str(previous.parent) not in html

    # Given with the run, the previous file is compared at once.
    again = evaluate.run_evaluation(library, str(gold), tmp_path / "again", str(previous))
    assert "<h4>Better (1)</h4>" in again.comparison and "<h4>Worse (1)</h4>" in again.comparison


def test_a_bad_gold_file_is_named_without_a_traceback_or_a_server_path(tmp_path):
    folder = tmp_path / "gradio" / "77ab"
    folder.mkdir(parents=True)
    bad = write_gold(folder / "broken.jsonl", [GOLD[0], {**GOLD[1], "must_contain": "four months"}])
    shown = evaluate.run_evaluation(Assistant(Settings(data_dir=tmp_path / "data")), str(bad), tmp_path / "out")

    assert "The gold file was not run. broken.jsonl:2: field &#39;must_contain&#39; must be a list" in shown.figures
    assert str(folder) not in shown.figures and "Traceback" not in shown.figures
    assert shown[1:] == (EMPTY_FAILURES, None, [], EMPTY_COMPARISON, None)
    assert not (tmp_path / "out").exists()

    (folder / "notes.jsonl").write_bytes(b"\xff\xfe not text")
    assert "not a UTF-8 text file" in evaluate.run_evaluation(None, str(folder / "notes.jsonl"), tmp_path).figures


def test_nothing_chosen_or_an_empty_library_says_what_to_do(tmp_path):
    empty = Assistant(Settings(data_dir=tmp_path / "data"))
    assert evaluate.CHOOSE_GOLD in evaluate.run_evaluation(empty, None, tmp_path / "out").figures
    shown = evaluate.run_evaluation(empty, str(write_gold(tmp_path / "gold.jsonl", GOLD)), tmp_path / "out")
    assert "The library is empty: add the documents the gold set asks about in the Library tab" in shown.figures
    assert shown.results is None and shown.files == []


def test_comparing_without_a_file_a_run_or_an_evaluation_says_why(tmp_path):
    run = {"gold": "g.jsonl", "items": 0, "per_item": []}
    assert evaluate.CHOOSE_PREVIOUS in evaluate.compare_with_previous(run, None)
    notes = tmp_path / "gradio" / "9f" / "report.md"
    notes.parent.mkdir(parents=True)
    notes.write_text("# Evaluation report\n", encoding="utf-8")
    assert evaluate.RUN_FIRST in evaluate.compare_with_previous(None, str(notes))
    html = evaluate.compare_with_previous(run, str(notes))
    assert "Nothing was compared. report.md: not valid JSON" in html and str(notes.parent) not in html


def test_the_bundled_gold_sets_are_offered_with_their_size(tmp_path):
    assert evaluate.gold_sets(tmp_path / "missing") == []
    write_gold(tmp_path / "qa-dev-2.jsonl", GOLD[:2])
    (tmp_path / "qa-dev.jsonl").write_text(json.dumps(GOLD[0]) + "\n\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("not a gold set", encoding="utf-8")
    assert evaluate.gold_sets(tmp_path) == [
        ("qa-dev.jsonl (1 question)", str(tmp_path / "qa-dev.jsonl")),
        ("qa-dev-2.jsonl (2 questions)", str(tmp_path / "qa-dev-2.jsonl")),
    ]


def test_the_evaluate_tab_labels_every_control_and_keeps_its_events_private(tmp_path):
    import gradio as gr

    demo = ui.build_ui(Assistant(Settings(data_dir=tmp_path / "data")))
    (tab,) = [b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.label == "Evaluate"]
    inside = []

    def walk(block):
        for child in getattr(block, "children", []):
            inside.append(child)
            walk(child)

    walk(tab)
    controls = [b for b in inside if isinstance(b, gr.Dropdown | gr.File | gr.Image)]
    assert len(controls) == 5 and all(c.label for c in controls)
    assert [b.value for b in inside if isinstance(b, gr.Button)] == ["Run evaluation", "Compare with the previous run"]
    assert list(demo.get_api_info()["named_endpoints"]) == ["/ask"]


def test_a_comparison_across_gold_files_says_so_and_lists_dropped_items_by_id():
    from assistant.evaluation.compare import compare_runs
    from assistant.interfaces.web.render import render_comparison

    def run_of(gold: str, *items: tuple[str, str | None]) -> dict:
        per_item = [{"id": i, "type": "factoid", "question": f"<i>{i}</i>?", "answer_correct": failure is None,
                     "refused": False, "failure": failure} for i, failure in items]  # fmt: skip
        return {"gold": gold, "k": 8, "items": len(per_item), "answer_correct": 0.5, "per_item": per_item}

    before = run_of("old.jsonl", ("a", None), ("gone-1", None), ("gone-2", "answer missed: 'x'"))
    after = run_of("new.jsonl", ("a", None), ("fresh", "wrongly refused"))
    html = render_comparison(compare_runs(before, after), "results <1>.json")

    assert "Compared with results &lt;1&gt;.json (gold set old.jsonl, 3 items, k = 8)." in html
    assert "the runs are of different gold files: old.jsonl before, new.jsonl now" in html
    new = html[html.index("<h4>New in this gold file (1)</h4>") : html.index("<h4>No longer")]
    assert '<span class="tip-label">fresh</span>' in new and "&lt;i&gt;fresh&lt;/i&gt;?" in new
    assert "<dt>Now</dt><dd>wrongly refused</dd>" in new and "<dt>Before</dt>" not in new
    assert "<h4>No longer in the gold file (2)</h4><p>gone-1, gone-2</p>" in html
    assert "<i>" not in html and "Items: 0 better, 0 worse, 0 mixed, 0 changed, 1 unchanged, 1 new, 2 dropped." in html


def test_a_run_shows_one_progress_bar_and_a_new_choice_takes_away_the_message_of_a_run_that_did_not_happen(tmp_path):
    import gradio as gr

    from assistant.interfaces.web.render import EMPTY_EVALUATION
    from tests.test_web_removal import component, on

    demo = ui.build_ui(Assistant(Settings(data_dir=tmp_path / "data")))
    figures = next(b for b in demo.blocks.values() if isinstance(b, gr.HTML) and b.value == EMPTY_EVALUATION)
    report = component(demo, gr.File, "Download the report (report.md, results.json, chart)")
    assert not report.visible  # no empty box before a run
    [run] = [d for d in demo.config["dependencies"] if report._id in d["outputs"]]
    assert run["show_progress_on"] == [figures._id]  # not one bar over each output

    gold_set = on(demo, component(demo, gr.Dropdown, "Gold set"), "change")
    assert gold_set(None) == EMPTY_EVALUATION  # the last run gave only a message ("Choose a gold set…")
    assert gold_set({"items": 4}) == gr.skip()  # the figures of the last run stay
    upload = on(demo, component(demo, gr.File, "Or upload a gold file (.jsonl)"), "change")
    assert upload(None) == EMPTY_EVALUATION
    previous = on(demo, component(demo, gr.File, "Previous run to compare with (its results.json)"), "change")
    assert previous() == EMPTY_COMPARISON

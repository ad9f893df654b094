"""Comparing two evaluations: figure changes and their direction, item verdicts by id, reading a results.json,
and ``tip-assistant eval --compare`` end to end on a small library."""

from __future__ import annotations

import copy
import json

import pytest

import assistant.service
from assistant.evaluation.compare import (
    ResultsFileError,
    compare_runs,
    format_comparison,
    format_delta,
    load_results,
)
from assistant.evaluation.gold_set import FIGURE_KEYS
from assistant.interfaces.cli import main


def figures(items: int, **values) -> dict:
    base = {"k": 8, "items": items, "answerable": items, "unanswerable": 0, "refused": 0}
    return {**base, **{key: values.get(key) for key in FIGURE_KEYS}}


FLAGS = ("retrieval_hit", "source_hit", "answer_correct", "citation_hit", "citation_page_hit")


def record(item_id: str, qtype: str = "factoid", ok: bool = True, failure: str | None = None, **fields) -> dict:
    """A ``per_item`` record of an answerable item whose checks all have the value ``ok``."""
    flags = {key: ok for key in FLAGS}
    return {
        "id": item_id,
        "type": qtype,
        "question": f"question {item_id}?",
        **flags,
        "rr": 1.0 if ok else 0.0,
        "refused": False,
        "refusal_correct": True,
        "latency_ms": 100.0,
        "cited_sources": [],
        "cited_pages": {},
        "retrieved_sources": [],
        "failure": failure if failure is not None or ok else "answer missed: 'x'",
        "answer": "",
        **fields,
    }


def unanswerable(item_id: str, refused: bool) -> dict:
    flags = {key: None for key in FLAGS}
    return {
        **record(item_id, "unanswerable"),
        **flags,
        "rr": None,
        "refused": refused,
        "refusal_correct": refused,
        "failure": None if refused else "answered an unanswerable question",
    }


def run_of(per_item: list[dict], **overall) -> dict:
    return {"gold": "gold.jsonl", "documents": 3, **figures(len(per_item), **overall), "per_item": per_item}


# ----- figures ---------------------------------------------------------------------------------------------
def test_each_figure_moves_the_right_way():
    before = run_of([], answer_correct=0.5, mrr=0.8, false_refusal_rate=0.1, latency_p50_ms=900.0,
                    refusal_recall=None, citation_hit=0.75)  # fmt: skip
    after = run_of([], answer_correct=0.6667, mrr=0.7, false_refusal_rate=0.2, latency_p50_ms=850.5,
                   refusal_recall=1.0, citation_hit=0.75)  # fmt: skip
    overall = compare_runs(before, after).overall

    assert (overall.figure("answer_correct").delta, overall.figure("answer_correct").verdict) == (0.1667, "better")
    assert (overall.figure("mrr").delta, overall.figure("mrr").verdict) == (-0.1, "worse")
    # a higher false refusal rate and a lower latency: lower is better for these
    assert overall.figure("false_refusal_rate").verdict == "worse"
    assert (overall.figure("latency_p50_ms").delta, overall.figure("latency_p50_ms").verdict) == (-49.5, "better")
    assert overall.figure("citation_hit").verdict == "same" and overall.figure("citation_hit").delta == 0
    assert overall.figure("refusal_recall").verdict == "n/a" and overall.figure("refusal_recall").delta is None
    assert [f.key for f in overall.figures] == list(FIGURE_KEYS)


def test_groups_by_type_and_by_kind():
    before = run_of([])
    before["by_type"] = {"factoid": figures(2, answer_correct=0.5), "list": figures(0)}
    before["by_kind"] = {"typo": figures(1, answer_correct=0.0), "gone-kind": figures(1)}
    after = run_of([])
    after["by_type"] = {"factoid": figures(3, answer_correct=1.0), "list": figures(0), "multi": figures(1)}
    after["by_kind"] = {"near-miss-year": figures(2), "typo": figures(1, answer_correct=1.0)}
    comparison = compare_runs(before, after)

    assert [g.name for g in comparison.by_type] == ["factoid", "multi"]  # "list" has no items in either run
    factoid = comparison.by_type[0]
    assert (factoid.items_before, factoid.items_after) == (2, 3)
    assert factoid.figure("answer_correct").delta == 0.5 and factoid.figure("answer_correct").verdict == "better"
    multi = comparison.by_type[1]
    assert multi.items_before == 0 and multi.figure("answer_correct").verdict == "n/a"
    # the newer run's kinds in its order, then the kinds only the older run has
    assert [g.name for g in comparison.by_kind] == ["near-miss-year", "typo", "gone-kind"]
    assert comparison.by_kind[1].figure("answer_correct").delta == 1.0
    assert compare_runs(run_of([]), run_of([])).by_kind == ()


# ----- items -----------------------------------------------------------------------------------------------
def test_items_are_better_worse_mixed_changed_unchanged_new_or_dropped_by_id():
    before = run_of([
        record("fixed", ok=False),
        record("broken"),
        record("mixed", answer_correct=True, citation_page_hit=False, failure="gold page not cited: p. 3 (cited p. 4)"),
        record("reason", ok=False, failure="retrieval missed: '87'"),
        record("same", ok=False),
        unanswerable("now-refused", refused=False),
        record("dropped"),
    ])  # fmt: skip
    after = run_of([
        record("new-one"),
        record("same", ok=False),
        record("reason", ok=False, failure="retrieval missed: '40'"),
        record("mixed", answer_correct=False, citation_page_hit=True, failure="answer missed: 'x'"),
        record("broken", ok=False),
        record("fixed"),
        unanswerable("now-refused", refused=True),
    ])  # fmt: skip
    comparison = compare_runs(before, after)
    verdicts = {i.id: i.verdict for i in comparison.items}
    changes = {i.id: i for i in comparison.items}

    assert verdicts == {
        "new-one": "new",
        "same": "unchanged",
        "reason": "changed",
        "mixed": "mixed",
        "broken": "worse",
        "fixed": "better",
        "now-refused": "better",
        "dropped": "dropped",
    }
    # the newer run's order, then what only the older run has
    assert [i.id for i in comparison.items] == [r["id"] for r in after["per_item"]] + ["dropped"]
    assert changes["fixed"].gained == (
        "retrieval_hit", "source_hit", "answer_correct", "citation_hit", "citation_page_hit", "passed"
    )  # fmt: skip
    assert changes["fixed"].lost == () and changes["broken"].gained == ()
    assert changes["mixed"].gained == ("citation_page_hit",) and changes["mixed"].lost == ("answer_correct",)
    # a check that does not apply (None) is not compared: only the refusal and "no failure" moved
    assert changes["now-refused"].gained == ("refusal_correct", "passed")
    assert (changes["now-refused"].refused_before, changes["now-refused"].refused_after) == (False, True)
    assert (changes["reason"].failure_before, changes["reason"].failure_after) == (
        "retrieval missed: '87'", "retrieval missed: '40'"
    )  # fmt: skip
    assert changes["new-one"].refused_before is None and changes["dropped"].failure_after is None
    assert comparison.counts() == {
        "better": 2, "worse": 1, "mixed": 1, "changed": 1, "unchanged": 1, "new": 1, "dropped": 1
    }  # fmt: skip


def test_a_failure_only_the_support_check_sees_still_counts():
    before = run_of([record("a", failure="1 sentence(s) not supported by their citations")])
    after = run_of([record("a")])
    (change,) = compare_runs(before, after).items
    assert change.verdict == "better" and change.gained == ("passed",)
    assert compare_runs(after, before).items[0].verdict == "worse"


def test_notes_say_what_makes_two_runs_less_comparable():
    before = run_of([record("a"), record("b")])
    after = {**copy.deepcopy(before), "gold": "other.jsonl", "k": 4, "documents": 5}
    after["per_item"][1]["question"] = "Reworded?"
    notes = compare_runs(before, after).notes

    assert any("different gold files: gold.jsonl before, other.jsonl now" in n for n in notes)
    assert any(n.startswith("k differs (8 before, 4 now)") for n in notes)
    assert "the library held 3 documents before, 5 now" in notes
    assert any(n.endswith("ask another question: b") for n in notes)
    assert compare_runs(before, copy.deepcopy(before)).notes == ()


def test_the_dict_lists_only_items_that_moved_and_is_json():
    before = run_of([record("a"), record("b", ok=False)], answer_correct=0.5)
    after = run_of([record("a"), record("b")], answer_correct=1.0)
    data = json.loads(json.dumps(compare_runs(before, after).to_dict()))

    assert [i["id"] for i in data["items"]] == ["b"] and data["items"][0]["verdict"] == "better"
    assert data["counts"]["unchanged"] == 1
    assert data["figures"]["overall"]["answer_correct"] == {"before": 0.5, "after": 1.0, "delta": 0.5,
                                                            "verdict": "better"}  # fmt: skip
    assert data["figures"]["overall"]["items"] == [2, 2]


def test_text_comparison_lists_figures_and_moved_items():
    before = run_of([record("dev-1", ok=False), record("dev-2")], answer_correct=0.5)
    after = run_of([record("dev-1"), record("dev-2", ok=False, failure="retrieval missed: '87'")], answer_correct=0.5)
    before["by_type"] = {"factoid": figures(2, answer_correct=0.5)}
    after["by_type"] = {"factoid": figures(2, answer_correct=0.5)}
    text = format_comparison(compare_runs(before, after), "old/results.json")
    lines = text.splitlines()

    assert lines[0] == "Compared with old/results.json (gold gold.jsonl, k = 8, 2 items):"
    assert next(line for line in lines if line.startswith("answer correct")).split() == ["answer", "correct", "0.50",
                                                                                        "0.50", "0"]  # fmt: skip
    assert "items: 1 better, 1 worse, 0 mixed, 0 changed, 0 unchanged, 0 new, 0 dropped" in lines
    better = lines[lines.index("better:") + 1]
    assert better.split()[:2] == ["dev-1", "factoid"] and "now passes retrieval hit" in better
    assert "before: answer missed: 'x'; now: no failure" in better
    worse = lines[lines.index("worse:") + 1]
    assert worse.split()[0] == "dev-2" and worse.endswith("now: retrieval missed: '87'")
    assert any(line.split()[:2] == ["change", "by"] for line in lines)  # the by-type table of changes


@pytest.mark.parametrize(
    ("key", "delta", "shown"),
    [("mrr", 0.1667, "+0.17"), ("mrr", -0.002, "-0.0020"), ("latency_p95_ms", -120.4, "-120"), ("mrr", 0, "0"),
     ("mrr", None, "n/a")],
)  # fmt: skip
def test_format_delta(key, delta, shown):
    assert format_delta(key, delta) == shown


# ----- results files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "no 'per_item' list"),
        ('{"items": 3}', "no 'per_item' list"),
        ('{"per_item": [{"id": "a"}, {"type": "factoid"}]}', "item 2 of 'per_item' has no string 'id'"),
        ('{"per_item": [{"id": "a"}, {"id": "a"}]}', "item id 'a' repeats"),
    ],
)
def test_a_file_that_is_not_an_evaluation_is_named(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ResultsFileError, match=message) as raised:
        load_results(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_load_results_reads_what_write_report_writes(tmp_path):
    from assistant.evaluation.report import write_report

    data = run_of([record("a"), unanswerable("b", refused=True)], answer_correct=1.0)
    data["by_type"] = {"factoid": figures(1, answer_correct=1.0)}
    _, results_json, _ = write_report(data, tmp_path / "report")
    assert load_results(results_json) == data
    with pytest.raises(ResultsFileError, match="file not found"):
        load_results(tmp_path / "missing.json")


# ----- tip-assistant eval --compare ------------------------------------------------------------------------
SHELTER = "The Blantyre shelter received 41 survivors of trafficking in 2023 and referred them onwards.\n"
FEES = "Recruitment agencies charged migrant workers fees of up to three months' wages in 2022.\n"


@pytest.fixture
def small_library(tmp_path, monkeypatch, embedder, capsys):
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(assistant.service, "Embedder", lambda *args, **kwargs: embedder)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shelter.txt").write_text(SHELTER, encoding="utf-8")
    (docs / "fees.txt").write_text(FEES, encoding="utf-8")
    assert main(["ingest", str(docs)]) == 0
    capsys.readouterr()
    gold = tmp_path / "gold.jsonl"
    lines = [
        {"id": "g-1", "type": "factoid", "question": "How many survivors did the Blantyre shelter receive in 2023?",
         "must_contain": ["41"], "source": "shelter.txt"},
        {"id": "g-2", "type": "factoid", "question": "What fees did recruitment agencies charge migrant workers?",
         "must_contain": ["three months"], "source": "fees.txt"},
        {"id": "g-3", "type": "unanswerable", "question": "Who won the football world cup in 1998?"},
    ]  # fmt: skip
    gold.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return gold


@pytest.mark.slow  # three evaluation runs: about 17 s on two cores
@pytest.mark.integration
def test_eval_compare_prints_what_got_better_and_worse(small_library, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["eval", str(small_library), "--report", str(report)]) == 0
    capsys.readouterr()
    now = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert now["per_item"][0]["answer_correct"] is True  # the premise: g-1 is answered

    # A previous run in which g-1 was answered wrongly: this run's results, edited.
    old = copy.deepcopy(now)
    old["per_item"][0].update(answer_correct=False, failure="answer missed: '41'")
    old["answer_correct"] = round(now["answer_correct"] - 0.5, 4)
    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps(old), encoding="utf-8")

    code, out, err = run(capsys, "eval", str(small_library), "--compare", str(old_path))
    assert code == 0, err
    assert out.index("figure") < out.index(f"Compared with {old_path}")  # the run's own summary first
    lines = out.splitlines()
    assert lines[lines.index("better:") + 1].split()[0] == "g-1"
    assert "items: 1 better, 0 worse, 0 mixed, 0 changed, 2 unchanged, 0 new, 0 dropped" in lines
    assert next(line for line in lines if line.startswith("answer correct") and "better" in line).split()[-2:] == [
        "+0.50", "better"
    ]  # fmt: skip

    code, out, err = run(capsys, "eval", str(small_library), "--compare", str(old_path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data)[-2:] == ["per_item", "comparison"]
    assert [i["id"] for i in data["comparison"]["items"]] == ["g-1"]


def test_eval_compare_with_a_bad_file_stops_before_running(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))  # an empty library: the file is checked first
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "u", "type": "unanswerable", "question": "Anything?"}) + "\n", encoding="utf-8")
    bad = tmp_path / "report.md"
    bad.write_text("# Evaluation report\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", str(gold), "--compare", str(bad))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {bad}: not valid JSON") and err.count("\n") == 1


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err

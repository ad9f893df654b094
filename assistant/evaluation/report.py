"""Rendering an evaluation (the object ``assistant.evaluation.gold_set.evaluation_report`` builds): a text table for the
terminal, and a report folder with ``report.md``, ``results.json`` and ``by_type.png``.

Everything is laid out in a fixed order (figures as in ``FIGURE_KEYS``, types as in ``QUESTION_TYPES``, kinds as
in ``by_kind``, i.e. as they first appear in the gold file, items as in the gold file), so the reports of two
versions can be compared side by side or with ``diff``. The by-kind table is there only when ``by_kind`` is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from assistant.evaluation.gold_set import FIGURE_KEYS, QUESTION_TYPES
from assistant.text.shorten import shorten

REPORT_FILES = ("report.md", "results.json", "by_type.png")

_LABELS = {
    "items": "items",
    "retrieval_hit_at_k": "retrieval hit@{k}",
    "source_hit_at_k": "gold source hit@{k}",
    "mrr": "MRR@{k} (gold source)",
    "answer_correct": "answer correct",
    "citation_hit": "citation hit",
    "citation_page_hit": "citation page hit",
    "sentences_supported": "sentences supported",
    "refusal_recall": "refusal recall",
    "refusal_precision": "refusal precision",
    "false_refusal_rate": "false refusal rate",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}
# What the chart shows: the shares, not the times, and not refusal precision, which is n/a per type.
CHART_KEYS = tuple(k for k in FIGURE_KEYS if not k.startswith("latency") and k != "refusal_precision")
_ITEM_MARKS = (
    ("retrieval_hit", "retr."),
    ("source_hit", "src"),
    ("answer_correct", "answer"),
    ("citation_hit", "cited"),
    ("citation_page_hit", "page"),
    ("refusal_correct", "refusal"),
)


def label(key: str, k: int | None) -> str:
    return _LABELS[key].format(k=k if k is not None else "k")


def format_value(key: str, value) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_ms"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _columns(data: Mapping) -> list[tuple[str, Mapping]]:
    by_type = data.get("by_type", {})
    return [("overall", data)] + [(qtype, by_type[qtype]) for qtype in QUESTION_TYPES if qtype in by_type]


def _table(columns: Sequence[tuple[str, Mapping]], k: int | None) -> tuple[list[str], list[list[str]]]:
    header = ["figure"] + [name for name, _ in columns]
    rows = [
        [label(key, k)] + [format_value(key, figures.get(key)) for _, figures in columns]
        for key in ("items", *FIGURE_KEYS)
    ]
    return header, rows


def figure_rows(data: Mapping) -> tuple[list[str], list[list[str]]]:
    """The figures table: a header (figure, overall, each type) and one row per figure."""
    return _table(_columns(data), data.get("k"))


def kind_rows(data: Mapping) -> tuple[list[str], list[list[str]]] | None:
    """The by-kind table: a header (figure, each kind of ``by_kind`` in its order) and one row per figure, the
    rows as in ``figure_rows``; ``None`` when the evaluation has no ``by_kind``."""
    by_kind = data.get("by_kind")
    if not by_kind:
        return None
    return _table(list(by_kind.items()), data.get("k"))


def has_kinds(data: Mapping) -> bool:
    return bool(data.get("by_kind"))


def format_summary(data: Mapping) -> str:
    """The overall and by-type figures as a plain-text table, then the by-kind table when the evaluation has
    one, then one line per failed item (id, type, kind when there are kinds, failure)."""
    lines = text_table(*figure_rows(data))
    by_kind = kind_rows(data)
    if by_kind is not None:
        lines += ["", *text_table(*by_kind)]
    failed = [i for i in data.get("per_item", ()) if i.get("failure")]
    if failed:
        lines += ["", f"{len(failed)} of {data['items']} items with a failure:"]
        id_width = max(len(i["id"]) for i in failed)
        if has_kinds(data):
            kind_width = max(len(i.get("kind") or "") for i in failed)
            lines += [
                f"  {i['id']:<{id_width}}  {i['type']:<12}  {i.get('kind') or '':<{kind_width}}  {i['failure']}"
                for i in failed
            ]
        else:
            lines += [f"  {i['id']:<{id_width}}  {i['type']:<12}  {i['failure']}" for i in failed]
    return "\n".join(lines)


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [_line(header, widths), _line(["-" * w for w in widths], widths)] + [_line(row, widths) for row in rows]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    first = f"{cells[0]:<{widths[0]}}"
    return "  ".join([first] + [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True)]).rstrip()


# ----- Markdown ------------------------------------------------------------------------------------------
def md_cell(text: str) -> str:
    """Text made safe for a Markdown table cell: one line, ``|`` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


QUESTION_LIMIT = 80  # characters of a question in the items table


def mark(value) -> str:
    return "–" if value is None else ("✓" if value else "✗")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(data: Mapping) -> str:
    """The report of an evaluation (``evaluation_report``'s dict) as Markdown: what was run, the figures by
    type and by kind, the failures grouped by reason, and every item."""
    lines = ["# Evaluation report", "", _run_facts(data), ""]
    lines += ["## Figures", ""]
    header, rows = figure_rows(data)
    lines += _md_table(header, rows, [" --- "] + [" ---: "] * (len(header) - 1))
    lines += [
        "",
        "Shares are over the items a figure applies to (answerable items for retrieval, answer and citation "
        "figures; unanswerable items for refusal recall); n/a where no item applies or, for refusal precision, "
        "where nothing was refused. Refusal precision is a whole-set figure and is not given per type.",
        "",
    ]
    by_kind = kind_rows(data)
    if by_kind is not None:
        header, rows = by_kind
        lines += ["## Figures by kind", ""]
        lines += _md_table(header, rows, [" --- "] + [" ---: "] * (len(header) - 1))
        lines += [
            "",
            "Kinds as tagged in the gold file, in the order they first appear; the same figures as by type "
            "(refusal recall for unanswerable kinds, the answer, retrieval and citation figures for the others). "
            "Items without a kind are in no column.",
            "",
        ]
    return "\n".join(lines + _failure_lines(data) + _item_lines(data))


def _run_facts(data: Mapping) -> str:
    facts = [f"gold set `{data['gold']}`"] if data.get("gold") else []
    facts.append(f"{data['items']} items ({data['answerable']} answerable, {data['unanswerable']} unanswerable)")
    facts.append(f"k = {data.get('k')}")
    if data.get("documents") is not None:
        facts.append(f"{data['documents']} documents in the library")
    return " · ".join(facts)


def _failure_lines(data: Mapping) -> list[str]:
    failed = [i for i in data.get("per_item", ()) if i.get("failure")]
    if not failed:
        return []
    lines = ["## Failures by reason", ""]
    kind_of = {i["id"]: i.get("kind") for i in failed}
    for reason, ids in _by_reason(failed):
        line = f"- {md_cell(reason)} ({len(ids)}): {', '.join(ids)}"
        if has_kinds(data):
            line += f" — by kind: {_kind_counts((kind_of[i] for i in ids), list(data['by_kind']))}"
        lines.append(line)
    return [*lines, ""]


def _item_lines(data: Mapping) -> list[str]:
    with_kind = has_kinds(data)
    first = ["id", "type", "kind"] if with_kind else ["id", "type"]
    header = first + ["question"] + [name for _, name in _ITEM_MARKS] + ["RR", "ms", "failure"]
    rows = [
        [i["id"], i["type"]]
        + ([i.get("kind") or "–"] if with_kind else [])
        + [shorten(i["question"], QUESTION_LIMIT)]
        + [mark(i.get(key)) for key, _ in _ITEM_MARKS]
        + [format_rr(i.get("rr")), format_value("latency_ms", i.get("latency_ms")), i.get("failure") or ""]
        for i in data.get("per_item", ())
    ]
    align = [" --- "] * (len(first) + 1) + [" :---: "] * len(_ITEM_MARKS) + [" ---: ", " ---: ", " --- "]
    return [
        "## Items",
        "",
        *_md_table(header, rows, align),
        "",
        "retr. = every must_contain string in the top-k passages · src = every gold source in the top-k · "
        "answer = answer holds every must_contain string · cited / page = gold source / gold page cited · "
        "refusal = refused exactly when unanswerable · RR = 1/rank of the first gold-source passage · "
        "– = does not apply",
        "",
    ]


def format_rr(rr) -> str:
    if rr is None:
        return "–"
    return "0" if rr == 0 else ("1" if rr == 1 else f"{rr:.2f}")


def _kind_counts(kinds: Iterable[str | None], order: Sequence[str]) -> str:
    """``"near-miss-year 3, typo 1"``: how often each kind occurs, kinds in ``order`` (the ``by_kind`` order),
    items without a kind last as ``–``."""
    counts = Counter(kinds)
    parts = [f"{kind} {counts[kind]}" for kind in order if counts[kind]]
    if counts[None]:
        parts.append(f"– {counts[None]}")
    return ", ".join(parts)


def _by_reason(items: Sequence[Mapping]) -> list[tuple[str, list[str]]]:
    """Item ids under each failure reason (the parts of a ``; ``-joined failure, quoted strings dropped),
    most frequent first, then alphabetical."""
    groups: dict[str, list[str]] = {}
    for i in items:
        for part in i["failure"].split("; "):
            groups.setdefault(part.split(":")[0], []).append(i["id"])
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


# ----- the chart -----------------------------------------------------------------------------------------
def plot_by_type(data: Mapping, path: Path) -> Path:
    """A grouped bar chart of the main shares, one group for the whole set and one per question type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = data.get("k")
    groups = [(name, figures) for name, figures in _columns(data) if figures.get("items")]
    width = 0.8 / len(CHART_KEYS)
    fig, ax = plt.subplots(figsize=(13, 5.2), dpi=100)
    cmap = plt.get_cmap("tab10")
    for s, key in enumerate(CHART_KEYS):
        xs, ys = [], []
        for g, (_, figures) in enumerate(groups):
            if figures.get(key) is not None:
                xs.append(g - 0.4 + width * (s + 0.5))
                ys.append(figures[key])
        name = label(key, k) + (" (lower is better)" if key == "false_refusal_rate" else "")
        bars = ax.bar(xs, ys, width * 0.92, label=name, color=cmap(s))
        ax.bar_label(bars, labels=[_bar_text(y) for y in ys], fontsize=6.5, padding=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{name}\n(n={figures['items']})" for name, figures in groups])
    ax.set_ylim(0, 1.1)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("share")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    title = f"Evaluation by question type (k = {k})"
    if data.get("gold"):
        title += f" — {data['gold']}"
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def _bar_text(value: float) -> str:
    if value <= 0 or value >= 1:
        return f"{value:.0f}"
    return f"{value:.2f}".lstrip("0")


def write_report(data: Mapping, out_dir: Path) -> list[Path]:
    """``report.md``, ``results.json`` (the ``--json`` object) and ``by_type.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js, png = (out_dir / name for name in REPORT_FILES)
    md.write_text(render_markdown(data), encoding="utf-8")
    js.write_text(to_json(data) + "\n", encoding="utf-8")
    plot_by_type(data, png)
    return [md, js, png]


def to_json(data: Mapping) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)

"""Tables of figures on PDF pages, recovered as rows with their headers.

pypdf's plain extraction runs a table into one line of text ("… Runaway/Homeless Youth 398 8% 354 7% -15%
Self-Reported Economic Hardship 135 3% …"), which is neither a sentence nor a row. For a page that looks
like a table of figures (many numbers), the page is extracted again in pypdf's layout mode, where each table
row is a line and columns line up. A *table* there is a run of at least ``MIN_ROWS`` lines that each split
(at runs of two or more spaces) into a label and at least ``MIN_FIGURES`` figures; its *header* is made of
the few lines just above it, each header cell given to the column under it ("2020" above "#" gives "2020 #").
Each row is then written as ``ingest.structured.table_rows`` writes Word and web tables ("Reported Year:
Unaccompanied Refugee Minor (URM) | 2020 #: 17 | … | % Change: 649%") and put in the place of the run in the
plain text, which is found by the row texts themselves. A table that cannot be found there is left as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.structured import ROW_SEPARATOR

MIN_ROWS = 3
MIN_FIGURES = 2
HEADER_LINES = 3  # lines above a table that may hold its header
MAX_HEADER_CELL = 60  # characters: a longer cell is a sentence, not a column name
MAX_HEADER_GAP = 15  # characters between a header cell and the column it names, at most
ALIGNMENT_SLACK = 3  # characters: figures whose right edges are this close stand in one column
# A page is looked at again only if it has this many figures and they are this share of its tokens.
MIN_PAGE_FIGURES = 16
MIN_FIGURE_SHARE = 0.25

_CELL = re.compile(r"\S+(?: \S+)*")  # words apart by single spaces: columns are two or more spaces apart
_FIGURE = re.compile(r"^[-+–(]?[$€£]?\d[\d,.]*%?\)?$|^[-–]$|^n/?a$", re.I)
_TOKEN = re.compile(r"\S+")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class _Cell:
    start: int
    end: int
    text: str


def looks_like_a_table(text: str) -> bool:
    """Whether a page's plain text holds enough figures to be worth a layout pass."""
    tokens = _TOKEN.findall(text)
    figures = sum(1 for t in tokens if _FIGURE.match(t))
    return figures >= MIN_PAGE_FIGURES and figures >= MIN_FIGURE_SHARE * len(tokens)


def with_table_rows(plain: str, layout: str) -> str:
    """``plain`` with each table found in ``layout`` (the same page in layout mode) written as rows with
    headers in the place of its run of text; ``plain`` unchanged where no table is found in it."""
    lines = layout.splitlines()
    cells = [[_Cell(m.start(), m.end(), m.group()) for m in _CELL.finditer(line)] for line in lines]
    i = 0
    while i < len(lines):
        rows = _table_at(cells, i)
        if len(rows) >= MIN_ROWS:
            table = [_row_cells(cells[k]) or cells[k][-1:] for k in rows]  # a label alone is its last cell
            plain = _replace_run(plain, table, _header(cells, i))
            i = rows[-1] + 1
        else:
            i += 1
    return plain


def _table_at(cells: list[list[_Cell]], first: int) -> list[int]:
    """The lines of the table whose first row is line ``first`` (none if it is not a row): rows, with blank
    lines between them skipped and a label standing alone (a row with no figures) kept."""
    if not _is_row(cells[first]):
        return []
    rows, k = [first], first + 1
    label_start = _row_cells(cells[first])[0].start
    while k < len(cells):
        if _is_row(cells[k]):
            rows.append(k)
        elif cells[k] and all(c.end < label_start for c in cells[k]):
            pass  # a side column's text beside the table
        elif cells[k] and not (_is_label(cells[k]) and abs(cells[k][0].start - label_start) <= ALIGNMENT_SLACK):
            break  # text that is neither a row nor a label in the label column
        elif cells[k] and not any(_is_row(line) for line in cells[k + 1 : k + 3]):
            break  # a label not followed by rows: a caption or a note under the table
        elif cells[k]:
            rows.append(k)
        k += 1
    return rows


def _is_label(cells: list[_Cell]) -> bool:
    return len(cells) == 1 and len(cells[0].text) <= MAX_HEADER_CELL and any(c.isalpha() for c in cells[0].text)


def _row_cells(cells: list[_Cell]) -> list[_Cell] | None:
    """A table row's label and figures: at least ``MIN_FIGURES`` figures at the end of the line after a cell
    with letters. Text further left (a side column of prose beside the table) is not part of it."""
    k = len(cells)
    while k > 0 and _FIGURE.match(cells[k - 1].text):
        k -= 1
    if len(cells) - k < MIN_FIGURES or k == 0 or not any(c.isalpha() for c in cells[k - 1].text):
        return None
    if all(_YEAR.match(c.text) for c in cells[k:]):
        return None  # "Town  2022  2023": the header
    return cells[k - 1 :]


def _is_row(cells: list[_Cell]) -> bool:
    return _row_cells(cells) is not None


def _header(cells: list[list[_Cell]], first_row: int) -> list[list[_Cell]]:
    """The header lines above row ``first_row``, top line first: up to ``HEADER_LINES`` lines, blank lines
    between them skipped, ending at a row of another table, a sentence or two blank lines."""
    found: list[list[_Cell]] = []
    k, blanks = first_row - 1, 0
    while k >= 0 and len(found) < HEADER_LINES and blanks < 2:
        if not cells[k]:
            blanks += 1
        elif _is_row(cells[k]) or _not_header(cells[k]):
            break
        else:
            found.append(cells[k])
            blanks = 0
        k -= 1
    return found[::-1]


def _columns(rows: list[list[_Cell]]) -> list[dict[int, _Cell]]:
    """Each row's cells by column: 0 for the label, then the figure columns left to right, told apart by
    where the figures end (they are right-aligned), so a row with empty cells keeps its figures in place."""
    ends = sorted(c.end for row in rows for c in row[1:])
    anchors: list[list[int]] = []
    for end in ends:
        if anchors and end - anchors[-1][-1] <= ALIGNMENT_SLACK:
            anchors[-1].append(end)
        else:
            anchors.append([end])
    middles = [sum(group) / len(group) for group in anchors]
    placed = []
    for row in rows:
        by_column = {0: row[0]}
        for cell in row[1:]:
            by_column[1 + min(range(len(middles)), key=lambda k: abs(cell.end - middles[k]))] = cell
        placed.append(by_column)
    return placed


def _not_header(cells: list[_Cell]) -> bool:
    """A sentence, or a line of figures other than years: what ends a header upwards."""
    if any(len(c.text) > MAX_HEADER_CELL for c in cells):
        return True
    return all(_FIGURE.match(c.text) for c in cells) and not all(_YEAR.match(c.text) for c in cells)


def _column_names(placed: list[dict[int, _Cell]], header: list[list[_Cell]]) -> dict[int, str]:
    """A name for each column: from each header line, of the cells within ``MAX_HEADER_GAP`` characters of
    the column, the one whose centre is nearest its centre; top line first ("2020" over "#": "2020 #")."""
    names = {}
    label_start, label_end = min(row[0].start for row in placed), max(row[0].end for row in placed)
    header = [[c for c in line if c.end > label_start] for line in header]  # without a side column's text
    header = [line for line in header if len(line) >= 2]  # a line of one cell is the table's title
    for col in sorted({c for row in placed for c in row}):
        cells = [row[col] for row in placed if col in row]
        span = (min(c.start for c in cells), max(c.end for c in cells))
        parts = []
        middle = (span[0] + span[1]) / 2
        for line in header:
            # A cell that starts over the labels names the label column only (a title, "Reported Year"); a
            # figure column is named by a cell over it or beside it.
            near = [
                c for c in line
                if (c.start < label_end) == (col == 0) and _gap(span, (c.start, c.end)) <= (col and MAX_HEADER_GAP)
            ]
            if near:  # a header over a group of columns is centred on them: the nearest centre names it
                parts.append(min(near, key=lambda c: abs((c.start + c.end) / 2 - middle)).text)
        names[col] = " ".join(parts)
    return names


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Characters between two column spans; 0 when they overlap."""
    return max(0, max(a[0], b[0]) - min(a[1], b[1]))


def _replace_run(plain: str, rows: list[list[_Cell]], header: list[_Cell]) -> str:
    found_first = _find_words(plain, " ".join(c.text for c in rows[0]), 0)
    if found_first is None:
        return plain
    # The last rows may be laid out otherwise in the plain text (a wrapped total): the table ends at the last
    # row found there, and what follows stays as it was.
    for last in range(len(rows) - 1, MIN_ROWS - 2, -1):
        found_last = _find_words(plain, " ".join(c.text for c in rows[last]), found_first[1] if last else 0)
        if found_last is not None:
            break
    else:
        return plain
    rows = rows[: last + 1]
    start, end = found_first[0], found_last[1]
    placed = _columns(rows)
    names = _column_names(placed, header)
    written = []
    for row in placed:
        cells = [f"{names[col]}: {cell.text}" if names[col] else cell.text for col, cell in sorted(row.items())]
        written.append(ROW_SEPARATOR.join(cells))
    return plain[:start] + "\n\n" + "\n\n".join(written) + "\n\n" + plain[end:].lstrip(" ")


def _find_words(text: str, words: str, offset: int) -> tuple[int, int] | None:
    """Where ``words`` stand in ``text`` (any white space between them), from ``offset`` on."""
    pattern = r"\s+".join(re.escape(w) for w in words.split())
    match = re.compile(pattern).search(text, offset)
    return (match.start(), match.end()) if match else None

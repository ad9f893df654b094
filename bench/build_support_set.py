"""Build the labelled (sentence, passage) set the support checker is calibrated on.

Every evidence passage of the gold questions (``../shared/eval/qa-dev.jsonl``) is found on its page of the
ingested library; each of its sentences becomes a claim, paired with that page and labelled:

* ``as_written`` — the sentence itself: ``supported``;
* ``number`` — one number changed (a count, a percentage or a year): ``unsupported``;
* ``entity`` — a country, place or organisation swapped for another the page does not name: ``unsupported``;
* ``negation`` — the statement negated (or a negation removed): ``unsupported``;
* ``unrelated`` — the sentence as written against a page of another document: ``unsupported``;
* ``paraphrase`` — the same facts in other words, written by hand for some claims: ``supported``.

The set stores claims and page references, not the pages: a test rebuilds the passages from the library
ingested from ``../shared/corpus``. Run from the project root:

    python bench/build_support_set.py [--data-dir DIR] [-o tests/data/support_pairs.jsonl]

(without ``--data-dir`` the corpus is ingested into a temporary library first).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation.gold_set import read_json_lines  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings, use_offline_mode  # noqa: E402
from ingest.sentences import split_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MIN_CLAIM_WORDS = 6

# Names to swap in, by kind; the first one the page does not mention replaces the sentence's name.
SWAPS = {
    "place": [
        "Mali", "Niger", "Malawi", "Kenya", "Bangladesh", "Ukraine", "Haiti", "Nigeria", "Burkina Faso", "Ghana",
        "Ethiopia", "Sudan", "Chad", "Uganda", "Brazil", "Mexico", "Texas", "California", "Florida", "Arizona",
        "Denver", "Dallas", "Chicago", "Africa", "Europe", "Asia", "Phoenix", "Ohio",
    ],
    "organisation": ["UNODC", "UNICEF", "ILO", "IOM", "FBI", "Interpol", "UNHCR", "Polaris", "MINUSMA", "IACP"],
}  # fmt: skip
MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"}  # fmt: skip
FALLBACK_NAMES = ["Geneva", "Nairobi", "Lagos", "Manila", "Dakar", "Lima"]
_AUXILIARY = re.compile(r"\b(is|are|was|were|has|have|had|can|could|will|would|should|may|might|must|did|does|do)\b")
_NOT = re.compile(r"\s+(not|never)\b")
_NUMBER = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)(\s*%|\s*per cent)?")


# Sentences a person or a model would write from a claim: other words, same facts. Labelled supported (or
# partial: they are not the passage's words), they keep the checker from rejecting everything but quotes.
PARAPHRASES = {
    "As a result of this, 87 victims of trafficking were identified and rescued by law enforcement in January "
    "and February 2024.": "Police identified and rescued 87 trafficking victims in January and February 2024.",
    "A total of 160 practitioners, including 40 women, benefited from these training sessions and consultations.":
        "The training sessions and consultations reached 160 practitioners, 40 of them women.",
    "In Mali, between April 2020 and April 2022, 21 different armed groups were involved in systematic child "
    "recruitment.": "From April 2020 to April 2022, 21 armed groups systematically recruited children in Mali.",
    "The average age of the sex traffickers of minors was 28.5 years old and the average age decreased "
    "significantly from 2010 to 2015.": "Traffickers of minors were 28.5 years old on average, and they got "
    "younger between 2010 and 2015.",
    "The most common venue was hotel rooms, with more than half of the cases (n = 432, 56.6%) using hotel rooms "
    "as a trafficking location.": "Hotel rooms were the most common trafficking location, used in 56.6% of "
    "the cases.",
    "In situations of sex trafficking, escort services and pornography were the most reported types of sex "
    "trafficking.": "Escort services and pornography were the types of sex trafficking reported most often.",
    "Dawn cooperated with the prosecution after her arrest.": "After she was arrested, Dawn cooperated with "
    "prosecutors.",
    "However, despite her cooperation, she received a 100-month (8+ years) sentence.": "Even though she "
    "cooperated, she was sentenced to 100 months in prison.",
    "Child recruitment by armed groups was documented in 12 different African countries, with between 4,500 "
    "and 5,000 children affected.": "Armed groups recruited children in 12 African countries, affecting "
    "4,500 to 5,000 children.",
    "Significant increase in sex trafficking cases from 97 cases in 2010 to 360 cases in 2015.": "Sex "
    "trafficking cases rose from 97 in 2010 to 360 in 2015.",
    "The checklist is used by juvenile intake officers, child welfare agencies, human services departments, and "
    "task force officers.": "Juvenile intake officers, child welfare agencies, human services departments and "
    "task force officers use the checklist.",
    "In situations of sex trafficking, 37% of potential victims were minors; in situations of labor "
    "trafficking, 9% of potential victims were minors.": "Minors made up 37 per cent of potential sex "
    "trafficking victims and 9 per cent of potential labor trafficking victims.",
    "Consequently, an additional 140 MINUSMA police officers received training from this pool of trainers.":
        "These trainers went on to train 140 more MINUSMA police officers.",
    "The caller reported that at least $2,400 USD has been sent from trafficker to victim during a one-month "
    "period.": "According to the caller, the trafficker sent the victim at least $2,400 in one month.",
    "Since 2009, the Texas Department of Public Safety has trained 5,119 law enforcement officers in Texas, "
    "4,256 officers from other states, and 591 officers from foreign countries.": "The Texas Department of "
    "Public Safety has trained 5,119 Texas officers since 2009.",
    "She shared information with the prosecution and pled guilty.": "She pleaded guilty and gave the "
    "prosecution information.",
}  # fmt: skip


def dehyphenate(text: str) -> str:
    """Evidence keeps pypdf's line-end hyphens ("esti- mates"); the library's pages do not."""
    return re.sub(r"(\w)- (\w)", r"\1\2", " ".join(text.split()))


def locate(evidence: str, page: str) -> tuple[int, int] | None:
    """Where ``evidence`` sits in the cleaned page, whitespace-insensitively; None when it is not there."""
    words = dehyphenate(evidence).split()
    pattern = r"\s+".join(re.escape(w) for w in words[:40])
    m = re.search(pattern, page)
    if not m:  # footnote markers and the like may differ: anchor on the first eight words
        m = re.search(r"\s+".join(re.escape(w) for w in words[:8]), page)
    if not m:
        return None
    return m.start(), max(m.end(), min(len(page), m.start() + len(" ".join(words))))


def is_claim(text: str) -> bool:
    """A statement: a sentence of some length, not a list item, a heading run or a fragment."""
    return (
        len(text.split()) >= MIN_CLAIM_WORDS
        and text[0].isupper()
        and text.rstrip().endswith((".", "!", "?"))
        and not re.match(r"(o|»|-|•)\s", text)
    )


def change_number(sentence: str, page: str) -> str | None:
    for m in _NUMBER.finditer(sentence):
        raw = m.group(1)
        value = float(raw.replace(",", ""))
        if 1900 <= value <= 2100 and "." not in raw:
            new = str(int(value) - 3)
        elif "." in raw:
            new = f"{value + 5:.{len(raw.split('.')[1])}f}"
        elif value < 10:
            new = str(int(value) + 2)
        else:
            new = f"{round(value * 1.3) + 1:,}" if "," in raw else str(round(value * 1.3) + 1)
        if new not in page:
            return sentence[: m.start(1)] + new + sentence[m.end(1) :]
    return None


def swap_entity(sentence: str, page: str) -> str | None:
    """A known place or organisation swapped for another of its kind; else the first capitalised word
    inside the sentence (a name: "Denver", "Dzaleka", "Brittany") swapped for a city the page never names."""
    for names in SWAPS.values():
        for name in names:
            m = re.search(rf"\b{re.escape(name)}\b", sentence)
            if not m:
                continue
            for other in names:
                if other != name and other not in page and other not in sentence:
                    return sentence[: m.start()] + other + sentence[m.end() :]
    for m in re.finditer(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b", sentence):
        if m.group(1) in MONTHS:
            continue
        for other in FALLBACK_NAMES:
            if other not in page:
                return sentence[: m.start(1)] + other + sentence[m.end(1) :]
    return None


def negate(sentence: str) -> str:
    if m := _NOT.search(sentence):
        return sentence[: m.start()] + sentence[m.end() :]
    if m := _AUXILIARY.search(sentence):
        return sentence[: m.end()] + " not" + sentence[m.end() :]
    return "It is not the case that " + sentence[0].lower() + sentence[1:]


def build(assistant: Assistant) -> list[dict]:
    pages: dict[tuple[str, int], str] = {}
    claims: list[tuple[str, str, int]] = []  # (claim, source, page)
    for _, _, item in read_json_lines(SHARED / "eval" / "qa-dev.jsonl", ValueError):
        if item["type"] == "unanswerable":
            continue
        sources = item["source"] if isinstance(item["source"], list) else [item["source"]]
        page_lists = item["pages"] if isinstance(item["source"], list) else [item["pages"]]
        for source, page_numbers in zip(sources, page_lists, strict=True):
            document = assistant.find_document(source)
            page_numbers = [page_numbers] if isinstance(page_numbers, int) else page_numbers
            for evidence in item["evidence"]:
                for number in page_numbers or (1,):
                    text = pages.setdefault((source, number), assistant.page_text(document.doc_id, number) or "")
                    where = locate(evidence, text)
                    if where is None:
                        continue
                    span = text[where[0] : where[1]]
                    for s, e in split_sentences(span):
                        claim = span[s:e].strip()
                        if is_claim(claim) and claim not in {c for c, _, _ in claims}:
                            claims.append((claim, source, number))
                    break

    sources = sorted({s for _, s, _ in claims})
    pairs = []
    for n, (claim, source, number) in enumerate(claims):
        page = pages[(source, number)]
        other_source = sources[(sources.index(source) + 1) % len(sources)]
        other_page = min(p for s, p in pages if s == other_source)
        variants = {
            "as_written": (claim, source, number, "supported"),
            "number": (change_number(claim, page), source, number, "unsupported"),
            "entity": (swap_entity(claim, page), source, number, "unsupported"),
            "negation": (negate(claim), source, number, "unsupported"),
            "paraphrase": (PARAPHRASES.get(claim), source, number, "supported"),
            "unrelated": (claim, other_source, other_page, "unsupported"),
        }
        for kind, (sentence, src, pg, expected) in variants.items():
            if sentence is not None:
                pairs.append(
                    {"id": f"c{n:03d}-{kind}", "kind": kind, "expected": expected, "sentence": sentence,
                     "source": src, "page": pg, "claim": claim}
                )  # fmt: skip
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="an existing library of ../shared/corpus")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "tests" / "data" / "support_pairs.jsonl")
    args = parser.parse_args()
    use_offline_mode()
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(Settings(data_dir=args.data_dir or Path(tmp) / "data"))
        if args.data_dir is None:
            assistant.ingest([SHARED / "corpus"])
        pairs = build(assistant)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    kinds = {k: sum(p["kind"] == k for p in pairs) for k in dict.fromkeys(p["kind"] for p in pairs)}
    print(f"{len(pairs)} pairs written to {args.output}: {kinds}")


if __name__ == "__main__":
    main()

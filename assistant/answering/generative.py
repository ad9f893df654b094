"""Generative answers through a model server the user runs, verified sentence by sentence before display.

Optional: ``TIP_LLM=ollama:MODEL`` (``langchain-ollama``) or ``TIP_LLM=openai:MODEL`` with
``TIP_LLM_BASE_URL`` for any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, OpenAI), installed with
the ``[llm]`` extra. The extractive composer stays the default, and is the fallback whenever the model
cannot be reached or fails.

What the model writes is never shown as is. After generation:

1. the ``[n]`` markers are parsed: numbers outside the passages given are removed (and said so);
2. each sentence is checked against the passages it cites; when they do not support it but another
   retrieved passage does, the citation is corrected to that passage;
3. sentences no passage supports are flagged or dropped (``TIP_UNSUPPORTED=flag|drop``);
4. the answer is a refusal when the model says the passages do not hold the answer, or when no sentence
   is supported: refusal follows support, not the model's confidence.

Passages reach the model as data inside ``<passage>`` tags that their text cannot close, under a system
message saying that nothing inside them is an instruction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from assistant.answering.conversation import RetrievalQuery, condense, is_followup
from assistant.answering.pipeline import Composer
from assistant.grounding.support import SupportChecker
from assistant.settings import Settings, SettingsError
from assistant.text.markers import (
    LEADING_MARKERS,
    MARKED_END,
    MARKER,
    marker_numbers,
    neutralize_markers,
    strip_markers,
)
from assistant.types import REFUSAL_TEXT, Answer, AnswerSentence, CitationList, PageSpan, SentenceSupport, SupportLabel
from ingest.sentences import split_sentences
from prompts import Prompt
from vectorstore.store import ScoredChunk

log = logging.getLogger(__name__)

# How a model says the passages do not hold the answer (the prompt asks for REFUSAL_TEXT itself).
_SAYS_NO_ANSWER = re.compile(
    r"does not (?:appear to )?contain (?:an|the) answer|(?:passages|library) (?:do|does) not (?:contain|mention)|"
    r"no information (?:about|on)|cannot answer",
    re.I,
)
HISTORY_TURNS_FOR_CONDENSE = 4


def chat_model(settings: Settings):
    """The LangChain chat model ``TIP_LLM`` names, or a ``SettingsError`` saying what to install or set."""
    provider, model = settings.llm_provider, settings.llm_model
    try:
        if provider == "ollama":
            from langchain_ollama import ChatOllama

            kwargs = {"base_url": settings.llm_base_url} if settings.llm_base_url else {}
            return ChatOllama(model=model, temperature=0, client_kwargs={"timeout": settings.llm_timeout}, **kwargs)
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise SettingsError(f"TIP_LLM={settings.llm} needs the LLM extra: pip install -e '.[llm]'") from None
    # A local server usually needs no key, but the client insists on one; OPENAI_API_KEY is read otherwise.
    key = settings.api_key or (None if not settings.llm_base_url else "not-needed")
    return ChatOpenAI(
        model=model, base_url=settings.llm_base_url, api_key=key, temperature=0, timeout=settings.llm_timeout,
        max_retries=1,
    )  # fmt: skip


def describe_failure(exc: BaseException, settings: Settings) -> str:
    """One line for the reader on why the model gave no answer; never the key, never a traceback."""
    where = settings.llm_base_url or settings.llm_provider or "the model server"
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if status is not None:
        return f"the model server at {where} answered with HTTP {status}"
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return f"the model server at {where} did not answer within {settings.llm_timeout:g} s"
    if "Connect" in name or isinstance(exc, ConnectionError):
        return f"could not connect to the model server at {where}"
    if "JSON" in name or "Decode" in name or "Protocol" in name:
        return f"the model server at {where} sent a malformed reply"
    return f"the model server at {where} failed ({name})"


def passages_block(retrieved: Sequence[ScoredChunk]) -> str:
    """The numbered passages as data. Angle brackets in document text are replaced, so a document cannot
    close its own tag or open another."""
    blocks = []
    for n, r in enumerate(retrieved, 1):
        c = r.chunk
        text = as_data(c.text)
        title = as_data(c.title.replace('"', "'"))
        blocks.append(f'<passage n="{n}" source="{title}" page="{c.page_start}">\n{text}\n</passage>')
    return "\n".join(blocks)


@dataclass(frozen=True)
class _Drafted:
    text: str  # the sentence without markers
    cited: tuple[int, ...]  # valid passage numbers (1-based), in order
    invalid: tuple[int, ...]  # numbers outside the passages given


def parse_markers(text: str, passages: int) -> list[_Drafted]:
    """Sentences of a model's answer with their ``[n]`` markers (``[1]``, ``[1, 2]``, ``[1][2]``). A marker
    placed after the full stop belongs to the sentence before it."""
    # A marker next to a full stop ends a sentence even where the splitter would not cut ("…Camp [1]. 87
    # victims…"): cut there first, then split each part.
    cuts = [0, *(m.end() for m in MARKED_END.finditer(text)), len(text)]
    bounds = [
        (a + s, a + e)
        for a, b in zip(cuts, cuts[1:], strict=False)
        for s, e in split_sentences(text[a:b])
        if text[a + s : a + e].strip()
    ]
    pieces: list[list] = []  # [sentence text with markers, ...]
    for s, e in bounds:
        piece = text[s:e]
        lead = LEADING_MARKERS.match(piece)
        if lead and pieces:
            pieces[-1][0] += " " + lead.group(0).strip()
            piece = piece[lead.end() :]
        if piece.strip():
            pieces.append([piece])
        elif lead and not pieces:
            pieces.append([lead.group(0)])
    drafted = []
    for (piece,) in pieces:
        numbers = [n for m in MARKER.finditer(piece) for n in marker_numbers(m)]
        clean = " ".join(strip_markers(piece).split())
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if not clean:
            continue
        valid = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= passages))
        invalid = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= passages))
        drafted.append(_Drafted(clean, valid, invalid))
    return drafted


class GenerativeComposer:
    """Answers with a chat model, then verifies them (see the module docstring). Needs no network to build."""

    def __init__(
        self,
        model,
        prompts: Mapping[str, Prompt],
        checker: SupportChecker,
        fallback: Composer,
        settings: Settings,
    ):
        self.model = model
        self.prompts = prompts
        self.checker = checker
        self.fallback = fallback  # the extractive composer
        self.settings = settings

    # ----- generation --------------------------------------------------------------------------------
    def messages(self, question: str, retrieved: Sequence[ScoredChunk]) -> list[tuple[str, str]]:
        """The chat messages sent to the model: the system rules, then the numbered passages and the question."""
        user = self.prompts["answer"].format(passages=passages_block(retrieved), question=question)
        return [("system", self.prompts["system"].template), ("human", user)]

    def compose(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Answer:
        """The model's answer, parsed and checked (see the module docstring); the extractive answer, with a
        notice, when the model cannot be reached or fails."""
        if not retrieved:
            return self.fallback.compose(question, query, retrieved)
        try:
            reply = self.model.invoke(self.messages(question, retrieved))
            text = message_text(reply.content)
        except Exception as exc:  # any failure of the remote model: answer without it
            return self._fallback(question, query, retrieved, exc)
        return self.finish(question, query, retrieved, text)

    def stream(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Iterator[str | Answer]:
        """``compose``, yielding the model's text as it arrives first."""
        if not retrieved:
            yield self.fallback.compose(question, query, retrieved)
            return
        text = ""
        try:
            for chunk in self.model.stream(self.messages(question, retrieved)):
                piece = message_text(chunk.content)
                if piece:
                    text += piece
                    yield text
        except Exception as exc:  # a stream that breaks halfway is not shown as an answer
            yield self._fallback(question, query, retrieved, exc)
            return
        yield self.finish(question, query, retrieved, text)

    def _fallback(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk], exc) -> Answer:
        reason = describe_failure(exc, self.settings)
        log.warning("generative answer failed, answering extractively: %s", reason)
        answer = self.fallback.compose(question, query, retrieved)
        return replace(answer, notices=(*answer.notices, f"No generated answer: {reason}. This answer quotes the "
                                        "passages directly."))  # fmt: skip

    # ----- verification ------------------------------------------------------------------------------
    def finish(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk], text: str) -> Answer:
        """Parse, check and cite a generated answer; refuse when nothing in it is supported."""
        closest = [r.chunk for r in retrieved]
        if not text.strip() or _SAYS_NO_ANSWER.search(text) or text.strip().startswith(REFUSAL_TEXT[:30]):
            return Answer.refusal(question, query.text, closest, "the model found no answer in the passages")

        drafted = parse_markers(text, len(retrieved))
        notices: list[str] = []
        invalid = sorted({n for d in drafted for n in d.invalid})
        if invalid:
            notices.append("The model cited passages that do not exist (" + ", ".join(f"[{n}]" for n in invalid)
                           + "); those markers were removed.")  # fmt: skip
        evidence = [PageSpan.of_chunk(r.chunk) for r in retrieved]
        own, anywhere = check_drafted(self.checker, drafted, evidence)

        kept: list[tuple[_Drafted, SentenceSupport, int | None]] = []  # (draft, support, passage or None)
        recited = dropped = 0
        for d, mine, best in zip(drafted, own, anywhere, strict=True):
            # its own citation if that supports it, else the passage that does; partial support the same way
            for wanted in (SupportLabel.SUPPORTED, SupportLabel.PARTIAL):
                chosen = mine if mine.label is wanted else best if best.label is wanted else None
                if chosen is not None:
                    if d.cited and chosen is not mine:  # the model cited a passage that does not say it
                        recited += 1
                    kept.append((d, chosen, _index_of(chosen, retrieved)))
                    break
            else:
                if self.settings.unsupported == "drop":
                    dropped += 1
                else:  # flagged, uncited; the closest span is kept for the reader to compare
                    kept.append((d, best, None))
        if recited:
            notices.append(f"{recited} citation(s) pointed at a passage that does not say it; corrected.")
        if dropped:
            notices.append(f"{dropped} sentence(s) with no support in the library were left out.")
        if not any(sup.label is SupportLabel.SUPPORTED for _, sup, _ in kept):
            return replace(
                Answer.refusal(
                    question, query.text, closest, "no sentence of the generated answer is supported by the library"
                ),  # fmt: skip
                notices=tuple(notices),
            )
        return self._answer(question, query, retrieved, kept, notices)

    def _answer(
        self,
        question: str,
        query: RetrievalQuery,
        retrieved: Sequence[ScoredChunk],
        kept: Sequence[tuple[_Drafted, SentenceSupport, int | None]],
        notices: Sequence[str],
    ) -> Answer:
        """The checked sentences with citations renumbered in order of use, one per distinct span."""
        cited = CitationList()
        sentences = []
        for draft, support, index in kept:
            cites: tuple[int, ...] = ()
            if index is not None:
                chunk = retrieved[index].chunk
                cites = (cited.cite(PageSpan.of_chunk(chunk, support.start, support.end), chunk),)
            sentences.append(AnswerSentence(draft.text, cites, support))
        text = " ".join(f"{s.text} [{s.citations[0]}]" if s.citations else s.text for s in sentences)
        citations = tuple(cited.citations)
        return Answer(question, text, tuple(sentences), citations, False, query.text, notices=tuple(notices))

    # ----- follow-ups --------------------------------------------------------------------------------
    def condense(self, question: str, history: Sequence[Mapping[str, str]]) -> RetrievalQuery:
        """A follow-up rewritten by the model as a standalone question, searched together with the rule-based
        query (so retrieval is never worse than without the model); the rules alone when the model fails."""
        ruled = condense(question, history)
        if not is_followup(question, history):
            return ruled
        turns = "\n".join(f"{t['role']}: {t['content']}" for t in list(history)[-HISTORY_TURNS_FOR_CONDENSE:])
        prompt = self.prompts["condense"].format(history=turns, question=question)
        try:
            rewritten = message_text(self.model.invoke([("human", prompt)]).content).strip().splitlines()
        except Exception as exc:
            log.warning("follow-up not rewritten by the model: %s", describe_failure(exc, self.settings))
            return ruled
        standalone = rewritten[0].strip() if rewritten else ""
        return RetrievalQuery(f"{standalone} {ruled.text}" if standalone else ruled.text, True)


def check_drafted(
    checker: SupportChecker, drafted: Sequence[_Drafted], evidence: Sequence[PageSpan]
) -> tuple[list[SentenceSupport], list[SentenceSupport]]:
    """Each drafted sentence checked against the passages it cites, and against all of them, in one batch:
    the cited passages are among all of them, so every span is embedded once."""
    texts = [d.text for d in drafted]
    cited = [[evidence[n - 1] for n in d.cited] for d in drafted]
    supports = checker.check_many([*texts, *texts], [*cited, *([evidence] * len(drafted))])
    return supports[: len(drafted)], supports[len(drafted) :]


def _index_of(support, retrieved: Sequence[ScoredChunk]) -> int | None:
    for i, r in enumerate(retrieved):
        c = r.chunk
        if c.doc_id == support.doc_id and c.page_start == support.page and c.char_start <= support.start \
                and support.end <= c.char_end:  # fmt: skip
            return i
    return None


def message_text(content) -> str:
    """A message's text, whether the client gives a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content or [])


def as_data(text: str) -> str:
    """``text`` made safe inside a ``<passage>`` tag: angle brackets become ‹ ›, so it cannot close it, and
    bracketed numbers become ［2］, so the model never takes a document's own note marks for passage numbers."""
    return neutralize_markers(text.replace("<", "‹").replace(">", "›"))

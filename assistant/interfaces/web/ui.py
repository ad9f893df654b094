"""The web UI: Gradio Blocks over the handlers (served by ``assistant.interfaces.server``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.drafting.drafts import CITATION_NEEDED
from assistant.errors import TipError
from assistant.interfaces.startup import Startup, already_ready
from assistant.interfaces.web.evaluate import compare_with_previous, gold_sets, run_evaluation
from assistant.interfaces.web.handlers import (
    CANCELLED,
    GROUPINGS,
    NOT_CHECKED_YET,
    OWN_DRAFT,
    DraftResult,
    ViewerStep,
    add_uploads,
    ask_api,
    asked_chat,
    chat_turn_stream,
    check_text,
    cite_tab,
    export_conversation,
    library_state,
    open_checked,
    open_cited,
    removal_question,
    remove_document,
    summarize_tab,
    turn_page,
)
from assistant.interfaces.web.render import (
    EMPTY_CHECK,
    EMPTY_COMPARISON,
    EMPTY_DRAFT,
    EMPTY_EVALUATION,
    EMPTY_FAILURES,
    EMPTY_SOURCES,
    EVALUATION_CSS,
    SOURCES_CSS,
    TABLE_HEADERS,
    UPLOAD_TYPES,
    VIEWER_CSS,
)
from assistant.service import Assistant

if TYPE_CHECKING:  # imported in build_ui: see there why
    import gradio as gr


# Every event but the public /ask endpoint is private: not part of the API a client may call.
PRIVATE = {"api_visibility": "private"}
REMOVE_ID, CANCEL_ID = "tip-remove", "tip-cancel-removal"


def _focus(elem_id: str) -> str:
    """Browser code moving the keyboard focus to the element ``elem_id`` once it shows (a hidden one cannot
    take it: then nothing happens)."""
    return f"() => {{ setTimeout(() => document.getElementById('{elem_id}')?.focus(), 50); }}"


# ----- the page viewer and what opens it ----------------------------------------------------------------------
CHAT_ID, VIEWER_ID = "tip-chat", "tip-viewer"
VIEWER_TITLE_ID, CLOSE_ID = "tip-viewer-title", "tip-viewer-close"
# What the cards of the Sources panel and of the "Check text" result and the chat's markers trigger, with
# {n[, message]}.
OPEN_EVENT = "open_citation"

# The "Open page" buttons of the Sources panel and of the "Check text" result (event delegation: their content is
# replaced with each answer, each check).
SOURCES_JS = f"""
element.addEventListener('click', (event) => {{
  const button = event.target.closest('button.tip-open');
  if (!button) return;
  window.tipViewerOpener = button;
  trigger('{OPEN_EVENT}', {{n: Number(button.dataset.n)}});
}});
"""

# The chat shows answers as plain text (render_markdown=False, allow_tags=False: they quote untrusted documents).
# This turns the text "[n]" of answers, a marker of ours (a document's own bracketed numbers are shown as ［n］),
# into buttons as the chat renders them, and a click into the open event with the marker's number and the
# position of its message in the chat (one message per turn of the conversation kept, in order). The Chatbot
# names each message after its HTML ("bot's message: <span class=…"); this names it after the text it shows.
MARKERS_JS = f"""
const MARKER = /\\[(\\d+(?:\\s*[,;]\\s*\\d+)*)\\]/;  // one marker; group 1 holds its numbers
const SEPARATOR = /(\\s*[,;]\\s*)/;
const LEAD = /^\\w+'s message: /;  // how the Chatbot's name of a message opens
if (!document.getElementById('tip-marker-style')) {{
  const style = document.createElement('style');
  style.id = 'tip-marker-style';
  style.textContent = `#{CHAT_ID} .tip-marker {{ font: inherit; color: var(--color-accent); background: none;
    border: none; padding: 0; margin: 0; cursor: pointer; text-decoration: underline dotted; }}
    #{CHAT_ID} .tip-marker:hover, #{CHAT_ID} .tip-marker:focus-visible {{ text-decoration: underline; }}`;
  document.head.appendChild(style);
}}
function markerButton(n, text) {{
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'tip-marker';
  button.dataset.n = n;
  button.title = 'Open the page of source ' + n;
  button.textContent = text;
  return button;
}}
function markUp(chat) {{
  for (const content of chat.querySelectorAll('.bot-row .message-content')) {{
    const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
    const found = [];
    while (walker.nextNode()) {{
      const node = walker.currentNode;
      if (!node.parentElement.closest('.tip-marker') && MARKER.test(node.data)) found.push(node);
    }}
    for (const node of found) {{
      const pieces = document.createDocumentFragment();
      let last = 0;
      for (const match of node.data.matchAll(new RegExp(MARKER.source, 'g'))) {{
        pieces.append(node.data.slice(last, match.index));
        const parts = match[1].split(SEPARATOR);
        if (parts.length === 1) pieces.append(markerButton(parts[0], match[0]));
        else {{
          pieces.append('[');
          parts.forEach((part, i) => pieces.append(i % 2 ? part : markerButton(part, part)));
          pieces.append(']');
        }}
        last = match.index + match[0].length;
      }}
      pieces.append(node.data.slice(last));
      node.replaceWith(pieces);
    }}
  }}
}}
function plainNames(chat) {{
  for (const message of chat.querySelectorAll('[aria-label]')) {{
    const name = message.getAttribute('aria-label');
    const lead = name.match(LEAD);
    const content = message.querySelector('.message-content');
    if (!lead || !content) continue;
    const plain = lead[0] + content.innerText.replace(/\\s+/g, ' ').trim();
    if (name !== plain) message.setAttribute('aria-label', plain);
  }}
}}
function watch() {{
  const chat = document.getElementById('{CHAT_ID}');
  if (!chat || chat.dataset.tipMarkers) return;
  chat.dataset.tipMarkers = 'on';
  let pending = false;  // one pass per frame, however many changes (a streamed answer changes often)
  const later = () => {{ pending = false; markUp(chat); plainNames(chat); }};
  const changed = () => {{ if (!pending) {{ pending = true; requestAnimationFrame(later); }} }};
  new MutationObserver(changed).observe(chat, {{childList: true, subtree: true, characterData: true,
    attributeFilter: ['aria-label']}});
  later();
  chat.addEventListener('click', (event) => {{
    const button = event.target.closest('button.tip-marker');
    if (!button) return;
    const rows = [...chat.querySelectorAll('.message-row')];
    window.tipViewerOpener = button;
    trigger('{OPEN_EVENT}', {{n: Number(button.dataset.n), message: rows.indexOf(button.closest('.message-row'))}});
  }});
}}
watch();
setInterval(watch, 1000);  // the chat may be drawn after this, or drawn again
"""

# The viewer is a dialog: Escape closes it (one listener for the page, however often the viewer is drawn).
VIEWER_JS = f"""
element.setAttribute('role', 'dialog');
element.setAttribute('aria-modal', 'true');
element.setAttribute('aria-labelledby', '{VIEWER_TITLE_ID}');
if (!window.tipViewerKeys) {{
  window.tipViewerKeys = true;
  document.addEventListener('keydown', (event) => {{
    if (event.key !== 'Escape' || !document.getElementById('{VIEWER_ID}')) return;
    document.getElementById('{CLOSE_ID}')?.click();
  }});
}}
"""

# Once a page shows: the first box of the quote in view (else the page's top), and the keyboard focus on the
# viewer's title unless it is on one of its buttons still usable (Previous or Next, turning pages).
REVEAL_JS = f"""() => {{ setTimeout(() => {{
  const viewer = document.getElementById('{VIEWER_ID}');
  if (!viewer) return;
  const box = viewer.querySelector('.tip-highlight');
  if (box) box.scrollIntoView({{block: 'center'}});
  else viewer.querySelector('[role=dialog]')?.scrollTo(0, 0);
  const focused = document.activeElement;
  if (!(focused && viewer.contains(focused) && focused.tagName === 'BUTTON' && !focused.disabled)) {{
    document.getElementById('{VIEWER_TITLE_ID}')?.focus({{preventScroll: true}});
  }}
}}, 60); }}"""

# Once the viewer closes: the focus back on what opened it, if it is still there.
REFOCUS_JS = "() => { const opener = window.tipViewerOpener; if (opener && opener.isConnected) opener.focus(); }"


INTRO = (
    "## Trafficking-in-persons library assistant\n"
    "Answers are taken from the documents in the library; every sentence cites a document, "
    "page and passage, and is marked ✅ supported, ⚠️ partly supported or ❌ not supported by it "
    "(point at a mark for the reason). Other tools reach the same library through the [JSON API](/docs)."
)


def build_ui(assistant: Assistant, startup: Startup | None = None) -> gr.Blocks:
    """The five tabs (chat, check text, draft, library, evaluate) and the public ``/ask`` endpoint, under a line
    saying what the server is still doing (``startup``: loading the model, adding documents) until it is ready."""
    # Imported here, not at the top: gradio loads huggingface_hub, which reads HF_HUB_OFFLINE once at
    # import, and main() must switch offline mode on before that.
    import gradio as gr

    with gr.Blocks(title="TIP assistant", analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        startup = startup or already_ready()
        status = gr.Markdown(_stage_line(startup), visible=not startup.ready.is_set(), elem_id="tip-startup")
        with gr.Tab("Chat"):
            doc_filter, year_filter, conversation, sources = _chat_tab(assistant)
        with gr.Tab("Check text"):
            check_filter, checked, passages = _check_tab(assistant)
        with gr.Tab("Draft"):
            draft_filter = _draft_tab(assistant)
        with gr.Tab("Library"):
            refresh_library = _library_tab(assistant, demo, [doc_filter, check_filter, draft_filter], year_filter)
        with gr.Tab("Evaluate"):
            _evaluate_tab(assistant)
        _page_viewer(assistant, conversation, sources, checked, passages)  # outside the tabs: any tab opens it
        _follow_startup(demo, startup, status, refresh_library)

        def ask(question: str, history_json: str = "") -> dict:
            """Answer a question with cited passages. history_json: a JSON list of {"role", "content"} turns."""
            try:
                return ask_api(assistant, question, history_json)
            except TipError as exc:  # the client gets the reason, not a bare "error"
                raise gr.Error(str(exc)) from None

        gr.api(ask, api_name="ask")
    return demo


def _stage_line(startup: Startup) -> str:
    return f"⏳ {startup.stage} Questions are answered once the model has loaded."


def _follow_startup(demo: gr.Blocks, startup: Startup, status: gr.Markdown, refresh_library: tuple) -> None:
    """A page opened while the server starts shows the stage and polls it each second; when the start-up is
    over, the line goes (or says why it failed) and the library is refreshed once, since the documents added at
    start-up changed it. A page opened later polls nothing, so nothing resets the user's choices."""
    import gradio as gr

    if startup.ready.is_set():
        return
    timer = gr.Timer(1.0, active=False)

    def stage() -> tuple:
        if not startup.ready.is_set():
            return gr.update(value=_stage_line(startup), visible=True), gr.Timer(active=True)
        if startup.failure:
            return gr.update(value=f"⚠️ {startup.stage}", visible=True), gr.Timer(active=False)
        return gr.update(visible=False), gr.Timer(active=False)

    refresh, inputs, outputs = refresh_library

    def refresh_when_over(*selected) -> tuple:
        return refresh(*selected) if startup.ready.is_set() else tuple(gr.skip() for _ in outputs)

    demo.load(stage, None, [status, timer], **PRIVATE)
    timer.tick(stage, None, [status, timer], **PRIVATE).then(refresh_when_over, inputs, outputs, **PRIVATE)


def _chat_tab(assistant: Assistant) -> tuple[gr.Dropdown, gr.Dropdown, gr.State, gr.HTML]:
    """The conversation and its Sources panel; returns the document and year filters, the conversation kept
    and the Sources panel (for the page viewer)."""
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                elem_id=CHAT_ID,
                height=520,
                # No "share" button: nothing leaves this machine. No "copy" either: it copies a message's HTML
                # (its support marks are markup); "Export conversation" writes the text with its sources.
                buttons=[],
                feedback_options=None,
                allow_tags=False,  # answers quote untrusted documents
                render_markdown=False,  # shown as written: a quoted "- " or "#" is not formatting
                placeholder="Ask about the documents in the library. Follow-up questions are welcome.",
            )
            question = gr.Textbox(
                label="Question", show_label=False, placeholder="Ask a question…", submit_btn="Ask", autofocus=True
            )
            doc_filter = gr.Dropdown(
                label="Search only these documents", info="Leave empty to search the whole library.", multiselect=True
            )
            year_filter = gr.Dropdown(
                label="Published in",
                info="Leave empty for any year; documents without a known year are left out otherwise.",
                multiselect=True,
            )
            with gr.Row():
                export_button = gr.Button("Export conversation", scale=1)
                exported = gr.File(label="Conversation with its sources", file_count="multiple", interactive=False,
                                   scale=3, visible=False)  # fmt: skip
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(EMPTY_SOURCES, css_template=SOURCES_CSS, js_on_load=SOURCES_JS, max_height=640)
    # The turns as the assistant reads them back, as the chat shows them, each answer (for the export) and the
    # passages it cites (for the page viewer).
    conversation = gr.State([])

    def answer(text: str, kept: list, doc_ids: list[str] | None, years: list[int] | None) -> tuple:
        if not text or not text.strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield asked_chat(kept, text.strip()), gr.skip(), "", gr.skip()
        # A question that fails (e.g. the Chroma server is down) comes back to the box, its reason in the chat.
        for chat, panel, box, entries in chat_turn_stream(assistant, text.strip(), kept, doc_ids, years):
            yield chat, gr.skip() if panel is None else panel, box, entries

    inputs, outputs = [question, conversation, doc_filter, year_filter], [chatbot, sources, question, conversation]
    question.submit(answer, inputs, outputs, **PRIVATE)
    # The chat's own bin starts a new conversation.
    chatbot.clear(lambda: (EMPTY_SOURCES, [], _files([])), None, [sources, conversation, exported], **PRIVATE)

    def export(kept: list) -> dict:
        files, message = export_conversation(kept, _export_folder("tip-conversation-"))
        if message:
            gr.Warning(message)
        return _files(files)

    export_button.click(export, conversation, exported, **PRIVATE)
    return doc_filter, year_filter, conversation, sources


def _page_viewer(
    assistant: Assistant, conversation: gr.State, sources: gr.HTML, checked: gr.HTML, passages: gr.State
) -> None:
    """The viewer of a cited page, a dialog opened by the "Open page" buttons of the Sources panel (the latest
    answer's passages), by the [n] markers of the answers in the chat (that answer's passage n) and by the
    "Open page" buttons of the "Check text" result (the passage of that card's sentence)."""
    import gradio as gr

    markers = gr.HTML("", js_on_load=MARKERS_JS, visible="hidden", elem_id="tip-markers")
    with gr.HTML(
        "", html_template="${value}@children", css_template=VIEWER_CSS, js_on_load=VIEWER_JS, elem_id=VIEWER_ID,
        visible=False,
    ) as viewer:  # fmt: skip
        with gr.Row(elem_classes="tip-viewer-toolbar"):
            previous = gr.Button("◀ Previous page", size="sm", elem_id="tip-viewer-previous")
            following = gr.Button("Next page ▶", size="sm", elem_id="tip-viewer-next")
            download = gr.DownloadButton("Download the original file", size="sm", elem_id="tip-viewer-download")
            close = gr.Button("Close", size="sm", variant="primary", elem_id=CLOSE_ID)
        page = gr.HTML("", js_on_load=None, elem_id="tip-viewer-page")
    viewing = gr.State(None)  # the citation the viewer was opened on, and the page it shows
    outputs = [viewer, page, previous, following, download, viewing]

    def show(step: ViewerStep | None) -> tuple:
        if step is None:
            gr.Info(NOT_CHECKED_YET)
            return tuple(gr.skip() for _ in outputs)
        name = Path(step.download).name if step.download else ""
        return (
            gr.update(value=step.heading, visible=True),
            step.page,
            gr.update(interactive=step.previous),
            gr.update(interactive=step.next),
            gr.update(value=step.download, label=f"Download {name}", visible=True)
            if step.download
            else gr.update(value=None, visible=False),
            step.viewing,
        )

    def open_from_chat(entries: list, evt: gr.EventData) -> tuple:
        n, message = _event_number(evt, "n"), _event_number(evt, "message")
        return show(open_cited(assistant, entries, n, message) if n is not None and message is not None else None)

    def open_from_sources(entries: list, evt: gr.EventData) -> tuple:
        n = _event_number(evt, "n")
        return show(open_cited(assistant, entries, n) if n is not None else None)

    def open_from_check(listed: tuple, evt: gr.EventData) -> tuple:
        i = _event_number(evt, "n")
        return show(open_checked(assistant, listed, i) if i is not None else None)

    # Gradio hands the event's data to a parameter annotated gr.EventData; the annotations of this module are
    # strings, and "gr" is no name of it (gradio is imported late, see build_ui), so the class is given itself.
    for opener in (open_from_chat, open_from_sources, open_from_check):
        opener.__annotations__["evt"] = gr.EventData

    def turn(held: tuple | None, step: int) -> tuple:
        return show(turn_page(assistant, held, step)) if held else tuple(gr.skip() for _ in outputs)

    getattr(markers, OPEN_EVENT)(open_from_chat, conversation, outputs, **PRIVATE).then(None, js=REVEAL_JS, **PRIVATE)
    getattr(sources, OPEN_EVENT)(open_from_sources, conversation, outputs, **PRIVATE).then(
        None, js=REVEAL_JS, **PRIVATE
    )
    getattr(checked, OPEN_EVENT)(open_from_check, passages, outputs, **PRIVATE).then(None, js=REVEAL_JS, **PRIVATE)
    previous.click(lambda held: turn(held, -1), viewing, outputs, **PRIVATE).then(None, js=REVEAL_JS, **PRIVATE)
    following.click(lambda held: turn(held, 1), viewing, outputs, **PRIVATE).then(None, js=REVEAL_JS, **PRIVATE)
    close.click(lambda: (gr.update(visible=False), None), None, [viewer, viewing], **PRIVATE).then(
        None, js=REFOCUS_JS, **PRIVATE
    )


def _event_number(evt: gr.EventData, key: str) -> int | None:
    """A whole number the browser sent with an event (``trigger(name, {key: …})``), or None: it is not trusted."""
    try:
        value = getattr(evt, key)
    except (AttributeError, TypeError):  # no such key, or no data at all
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_tab(assistant: Assistant) -> tuple[gr.Dropdown, gr.HTML, gr.State]:
    """Each sentence of a pasted text against the library; returns the document filter, the result and the
    passages its cards open (for the page viewer)."""
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=2):
            to_check = gr.Textbox(
                label="Text to check",
                info="A draft, or another system's answer: each sentence is looked for in the library.",
                lines=10,
                max_lines=30,
                placeholder="Paste text here…",
            )
            check_filter = gr.Dropdown(
                label="Check only against these documents", info="Leave empty to use the whole library.",
                multiselect=True,
            )  # fmt: skip
            check_button = gr.Button("Check", variant="primary")
        with gr.Column(scale=3):
            checked = gr.HTML(EMPTY_CHECK, css_template=SOURCES_CSS, js_on_load=SOURCES_JS, max_height=720)
    passages = gr.State(())

    # Gradio recognises a progress tracker by its default value, hence the call in the signature.
    def check(text: str, doc_ids: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008
        return check_text(assistant, text, doc_ids, progress)

    check_button.click(check, [to_check, check_filter], [checked, passages], **PRIVATE)
    return check_filter, checked, passages


def _draft_tab(assistant: Assistant) -> gr.Dropdown:
    """A cited summary of a topic, or sources attached to the user's draft; returns the document filter."""
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=2):
            topic = gr.Textbox(label="Summarize a topic", placeholder="e.g. UNODC support in refugee settings")
            grouping = gr.Radio(GROUPINGS, value="auto", label="Headings")
            draft_filter = gr.Dropdown(
                label="Use only these documents", info="Leave empty to use the whole library.", multiselect=True
            )
            summarize_button = gr.Button("Summarize", variant="primary")
            own_text = gr.Textbox(
                label=OWN_DRAFT,
                info="Sources are attached to each sentence the library supports; the others are marked "
                f"{CITATION_NEEDED}.",
                lines=8,
                max_lines=30,
            )
            cite_button = gr.Button("Attach sources")
        with gr.Column(scale=3):
            # What to do first, or why nothing was drafted: above the preview, which it leaves as it was.
            draft_message = gr.HTML("", css_template=SOURCES_CSS, js_on_load=None)
            draft_view = gr.HTML(EMPTY_DRAFT, css_template=SOURCES_CSS, js_on_load=None, max_height=720)
            draft_files = gr.File(label="Download", file_count="multiple", interactive=False, visible=False)

    def summarize(topic_text: str, how: str, doc_ids: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008
        return _shown(summarize_tab(assistant, topic_text, how, _export_folder("tip-draft-"), progress, doc_ids))

    def cite(text: str, doc_ids: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008
        return _shown(cite_tab(assistant, text, _export_folder("tip-draft-"), progress, doc_ids))

    outputs = [draft_message, draft_view, draft_files]
    # One progress bar, over the preview, rather than one over each output.
    summarize_button.click(summarize, [topic, grouping, draft_filter], outputs, show_progress_on=draft_view, **PRIVATE)
    cite_button.click(cite, [own_text, draft_filter], outputs, show_progress_on=draft_view, **PRIVATE)
    return draft_filter


def _shown(result: DraftResult) -> tuple[Any, ...]:
    """A Draft tab result as Gradio outputs: a preview or files of None stay as they are."""
    import gradio as gr

    message, preview, files = result
    return message, gr.skip() if preview is None else preview, gr.skip() if files is None else _files(files)


def _files(paths: list[str]) -> dict:
    """A box of files to download, shown only when it holds some."""
    import gradio as gr

    return gr.update(value=paths or None, visible=bool(paths))


def _export_folder(prefix: str) -> Path:
    """A new folder for files to download (Gradio serves files from the system's temporary folder)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def _library_tab(assistant: Assistant, demo: gr.Blocks, filters: list[gr.Dropdown], year_filter: gr.Dropdown) -> tuple:
    """Upload, list and remove documents; every change (and every new page) refreshes the ``filters`` of the
    other tabs, keeping what is still selected. Returns the refresh as (function, inputs, outputs)."""
    import gradio as gr

    with gr.Row():
        with gr.Column():
            label = "Add documents (PDF, Word, web page, .txt, .md)"
            uploads = gr.File(label=label, file_count="multiple", file_types=UPLOAD_TYPES)
            add_button = gr.Button("Add to library", variant="primary")
        ingest_status = gr.Textbox(label="Ingest report", lines=8, interactive=False)
    table = gr.Dataframe(
        headers=TABLE_HEADERS, column_widths=["34%", "30%", "7%", "6%", "6%", "6%", "11%"], interactive=False,
        wrap=True, label="Documents",
    )  # fmt: skip
    # Removal takes two steps: "Remove…" asks, in the Removal box, whether to remove the chosen document
    # (naming it and its chunks) and shows Confirm and Cancel below; only Confirm removes.
    with gr.Row():
        to_remove = gr.Dropdown(label="Document to remove", scale=3)
        remove_button = gr.Button("Remove…", scale=1, elem_id=REMOVE_ID)
    remove_status = gr.Textbox(label="Removal", interactive=False)
    with gr.Row(visible=False) as confirm_row:
        confirm_button = gr.Button("Confirm removal", variant="stop")
        cancel_button = gr.Button("Cancel", elem_id=CANCEL_ID)
    pending = gr.State(None)  # the id of the document the question names: what Confirm removes

    def library_updates(*selected: list[str] | None) -> tuple:
        rows, choices, kept, years = library_state(assistant, selected[0])
        ids = {doc_id for _, doc_id in choices}
        return (
            rows,
            gr.update(choices=choices, value=kept),
            gr.update(choices=choices, value=None),
            gr.update(choices=years),
            *(gr.update(choices=choices, value=[i for i in chosen or [] if i in ids]) for chosen in selected[1:]),
        )

    def ingest(
        files: list[str] | None,
        selected: list[str] | None,
        check_selected: list[str] | None,
        draft_selected: list[str] | None,
        progress=gr.Progress(),  # noqa: B008
    ) -> tuple:
        report, taken = add_uploads(assistant, files, progress)
        # Files nothing was done with (e.g. the Chroma server is down) stay chosen, to add again.
        return report, None if taken else gr.skip(), *library_updates(selected, check_selected, draft_selected)

    def ask_removal(doc_id: str | None) -> tuple:
        awaiting, message = removal_question(assistant, doc_id)
        return message, awaiting, gr.update(visible=awaiting is not None)

    def confirm(doc_id: str | None, *selected: list[str] | None) -> tuple:
        return remove_document(assistant, doc_id), None, gr.update(visible=False), *library_updates(*selected)

    def cancel() -> tuple:
        return CANCELLED, None, gr.update(visible=False)

    def withdraw(doc_id: str | None) -> tuple:
        """Choosing another document withdraws a question about the previous one."""
        if doc_id is None:
            return gr.skip(), gr.skip(), gr.skip()
        return "", None, gr.update(visible=False)

    outputs = [table, filters[0], to_remove, year_filter, *filters[1:]]
    question = [remove_status, pending, confirm_row]
    add_button.click(ingest, [uploads, *filters], [ingest_status, uploads, *outputs], **PRIVATE)
    # The keyboard focus goes to Cancel, the safe choice, when the question shows, and back to "Remove…" when
    # it is answered, rather than to the top of the page with the button that had it.
    remove_button.click(ask_removal, to_remove, question, **PRIVATE).then(None, js=_focus(CANCEL_ID), **PRIVATE)
    confirm_button.click(confirm, [pending, *filters], [*question, *outputs], **PRIVATE).then(
        None, js=_focus(REMOVE_ID), **PRIVATE
    )
    cancel_button.click(cancel, None, question, **PRIVATE).then(None, js=_focus(REMOVE_ID), **PRIVATE)
    to_remove.input(withdraw, pending, question, **PRIVATE)
    demo.load(library_updates, filters, outputs, **PRIVATE)  # a new page sees the current library
    return library_updates, filters, outputs  # the event that refreshes the library, for whoever changes it


FIGURES_TAB, FAILURES_TAB, COMPARISON_TAB = "tip-eval-figures", "tip-eval-failures", "tip-eval-comparison"


def _evaluate_tab(assistant: Assistant) -> None:
    """Run a gold set (a bundled development set or an uploaded file) and see its figures, chart and failed
    items; download the report; compare the run with a previous one's results.json."""
    import gradio as gr

    with gr.Row():
        with gr.Column():
            dev_set = gr.Dropdown(
                choices=gold_sets(),
                value=None,
                label="Gold set",
                info="The development sets found in ../shared/eval beside the project folder. An uploaded file "
                "below is run instead.",
            )
            upload = gr.File(label="Or upload a gold file (.jsonl)", file_types=[".jsonl"])
            run_button = gr.Button("Run evaluation", variant="primary")
        with gr.Column():
            previous = gr.File(label="Previous run to compare with (its results.json)", file_types=[".json"])
            compare_button = gr.Button("Compare with the previous run")
            files = gr.File(label="Download the report (report.md, results.json, chart)", file_count="multiple",
                            interactive=False, visible=False)  # fmt: skip
    with gr.Tabs() as views:
        with gr.Tab("Figures", id=FIGURES_TAB):
            figures = gr.HTML(EMPTY_EVALUATION, css_template=EVALUATION_CSS, js_on_load=None)
            chart = gr.Image(label="Figures by question type", type="filepath", interactive=False, buttons=["download"])
        with gr.Tab("Failed items", id=FAILURES_TAB):
            failures = gr.HTML(EMPTY_FAILURES, css_template=EVALUATION_CSS, js_on_load=None)
        with gr.Tab("Comparison", id=COMPARISON_TAB):
            comparison = gr.HTML(EMPTY_COMPARISON, css_template=EVALUATION_CSS, js_on_load=None)
    last_run = gr.State(None)  # the latest run's evaluation in this page, for a comparison made afterwards

    def run(dev_path: str | None, upload_path: str | None, previous_path: str | None, progress=gr.Progress()):  # noqa: B008
        gold = upload_path or dev_path
        shown, failed, chart_file, report, compared, results = run_evaluation(
            assistant, gold, _evaluation_folder(), previous_path, progress
        )
        return shown, failed, chart_file, _files(report), compared, results

    def compare(results: dict | None, previous_path: str | None):
        return compare_with_previous(results, previous_path), gr.Tabs(selected=COMPARISON_TAB)

    def withdraw_message(results: dict | None):
        """A new gold set takes away the message of a run that did not happen; a run's figures stay."""
        return gr.skip() if results is not None else EMPTY_EVALUATION

    # One evaluation at a time on the server: a run asks every question of the set back to back. Its one
    # progress bar is over the figures, in view from the start.
    run_button.click(lambda: gr.Tabs(selected=FIGURES_TAB), None, views, **PRIVATE).then(
        run, [dev_set, upload, previous], [figures, failures, chart, files, comparison, last_run],
        show_progress_on=figures, concurrency_limit=1, concurrency_id="evaluate", **PRIVATE,
    )  # fmt: skip
    compare_button.click(compare, [last_run, previous], [comparison, views], **PRIVATE)
    dev_set.change(withdraw_message, last_run, figures, **PRIVATE)
    upload.change(withdraw_message, last_run, figures, **PRIVATE)
    # Another previous run takes away the comparison with the one before, or the message saying why there is none.
    previous.change(lambda: EMPTY_COMPARISON, None, comparison, **PRIVATE)


def _evaluation_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="tip-eval-"))

"""The JSON API through FastAPI's TestClient on a small library written here, and the whole server (API
and web UI) over real HTTP on loopback. Real embedder, real store, no LLM."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.interfaces import server
from assistant.interfaces.api import create_api
from assistant.service import Assistant
from assistant.settings import Settings, SettingsError
from tests.docx_factory import make_docx
from tests.ports import free_port

pytestmark = pytest.mark.integration

REPORT = (
    "Shelter network annual report\n\n"
    "In 2023, the Arusha shelter network hosted 212 survivors of trafficking. Most survivors were women "
    "recruited for domestic work abroad.\n\n"
    "In 2023, the Arusha network referred 64 of these survivors to legal aid clinics."
)
QUESTION = "How many survivors did the Arusha shelter network host in 2023?"


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("docs")
    (folder / "shelters-2023.txt").write_text(REPORT, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    assert assistant.ingest([folder]).summary() == "1 added"
    return assistant


@pytest.fixture(scope="module")
def client(library):
    return TestClient(create_api(library))


def test_health_says_the_model_is_loaded_and_counts_documents(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stage": "Ready.", "model_loaded": True, "store": "reachable",
                               "documents": 1, "sentence_vectors": "not started",
                               "answering_processes": "off"}  # fmt: skip


def test_ask_returns_the_cli_json_with_exact_quotes(client, library):
    response = client.post("/api/v1/ask", json={"question": QUESTION})
    assert response.status_code == 200
    answer = response.json()
    assert answer["refused"] is False and "212" in answer["answer"]
    for c in answer["citations"]:
        assert library.page_text(c["doc_id"], c["page"])[c["start"] : c["end"]] == c["quote"]
    followup = client.post("/api/v1/ask", json={
        "question": "How many of them were referred to legal aid?",
        "history": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": answer["answer"]}],
    })  # fmt: skip
    assert followup.status_code == 200 and "64" in followup.json()["answer"]


def test_verify_labels_each_sentence(client):
    text = "The Arusha shelter network hosted 212 survivors in 2023. It hosted 950 survivors in 2023."
    sentences = client.post("/api/v1/verify", json={"text": text}).json()["sentences"]
    assert [s["label"] for s in sentences] == ["supported", "unsupported"]
    assert sentences[0]["source"] == "shelters-2023.txt"


def test_cite_gives_json_markdown_or_a_word_file(client):
    body = {"text": "The Arusha shelter network hosted 212 survivors of trafficking in 2023."}
    cited = client.post("/api/v1/cite", json=body).json()
    assert cited["notes"] and cited["notes"][0]["source"] == "shelters-2023.txt"
    assert cited["sections"][0]["paragraphs"][0][0]["notes"] == [1]
    markdown = client.post("/api/v1/cite", json={**body, "format": "md"})
    assert markdown.headers["content-type"].startswith("text/markdown") and "[^1]" in markdown.text
    word = client.post("/api/v1/cite", json={**body, "format": "docx"})
    assert word.status_code == 200 and word.content[:2] == b"PK"  # a .docx is a zip file


def test_a_body_that_is_not_a_json_object_says_how_to_send_one(client):
    json_list = (b'["Why?"]', {"Content-Type": "application/json"})
    for body, headers in ((b"question=Why?", {}), (b"{not json", {}), json_list):
        response = client.post("/api/v1/ask", content=body, headers=headers)
        assert response.status_code == 400
        assert response.json() == {"error": "the request body must be a JSON object: send it with the header "
                                            "'Content-Type: application/json'"}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", "/api/v1/ask", {"question": "  "}, 400, "the question is empty"),
        ("post", "/api/v1/ask", {}, 400, "question: Field required"),
        ("post", "/api/v1/ask", "{not json", 400, "the request body is not valid JSON"),
        ("post", "/api/v1/ask", {"question": "Why?", "history": [{"role": "robot", "content": "hi"}]}, 400,
         "history.0.role"),
        ("post", "/api/v1/ask", {"question": QUESTION, "documents": ["no-such-report"]}, 404,
         "no document 'no-such-report'"),
        ("post", "/api/v1/verify", {"text": ""}, 400, "the text to check is empty"),
        ("post", "/api/v1/cite", {"text": "Some text.", "format": "pdf"}, 400, "format"),
        ("delete", "/api/v1/documents/no-such-report.pdf", None, 404, "no document 'no-such-report.pdf'"),
        ("post", "/api/v1/documents/local", {"paths": []}, 400, "paths: List should have at least 1 item"),
        ("post", "/api/v1/documents/local", {"paths": ["/etc/hostname"]}, 403, "upload them"),
    ],
)  # fmt: skip
def test_bad_input_is_a_4xx_with_a_message(client, method, path, body, status, message):
    if isinstance(body, str):
        response = client.request(method.upper(), path, content=body, headers={"Content-Type": "application/json"})
    else:
        response = client.request(method.upper(), path, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_uploads_are_added_by_safe_name_and_refusals_store_nothing(tmp_path, embedder):
    assistant = Assistant(Settings(data_dir=tmp_path / "data", max_upload_mb=1), embedder=embedder)
    client = TestClient(create_api(assistant))
    assert client.post("/api/v1/ask", json={"question": QUESTION}).status_code == 409  # an empty library

    files = [
        ("files", ("../../outside.txt", io.BytesIO(REPORT.encode()), "text/plain")),
        ("files", ("slides.pptx", io.BytesIO(b"PK\x03\x04 not really"), "application/octet-stream")),
        ("files", ("brief.docx", make_docx(tmp_path / "brief.docx", [("p", "A brief on referrals.")]).read_bytes(),
                   "application/octet-stream")),
    ]  # fmt: skip
    response = client.post("/api/v1/documents", files=files)
    assert response.status_code == 200
    outcomes = {o["source"]: o for o in response.json()["outcomes"]}
    assert outcomes["outside.txt"]["status"] == "added"  # reduced to its base name
    assert outcomes["brief.docx"]["status"] == "added"
    assert outcomes["slides.pptx"]["status"] in ("failed", "skipped") and "PDF" in outcomes["slides.pptx"]["message"]
    assert not (tmp_path.parent / "outside.txt").exists()
    assert sorted(d["source"] for d in client.get("/api/v1/documents").json()) == ["brief.docx", "outside.txt"]

    oversize = ("files", ("huge.txt", io.BytesIO(b"x" * (1024 * 1024 + 1)), "text/plain"))
    response = client.post("/api/v1/documents", files=[oversize])
    assert response.status_code == 413 and "TIP_MAX_UPLOAD_MB" in response.json()["error"]
    assert len(client.get("/api/v1/documents").json()) == 2  # nothing of it stored

    removed = client.delete("/api/v1/documents/brief.docx")
    assert removed.status_code == 200 and removed.json()["removed"]["source"] == "brief.docx"
    assert [d["source"] for d in client.get("/api/v1/documents").json()] == ["outside.txt"]


def test_a_token_is_asked_of_every_request_when_set(library):
    settings = Settings(data_dir=library.settings.data_dir, api_token="s3cret-token")
    guarded = Assistant(settings, embedder=library.embedder)
    client = TestClient(create_api(guarded))
    refused = client.get("/api/v1/documents")
    assert refused.status_code == 401 and "Authorization: Bearer" in refused.json()["error"]
    assert client.get("/api/v1/documents", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/v1/documents", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    with_cli = TestClient(create_api(guarded, local_token="the-command-lines-token"))
    for token in ("s3cret-token", "the-command-lines-token"):  # the command line's token works beside it
        assert with_cli.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_openapi_description_is_valid_and_lists_every_endpoint(client):
    from jsonschema import Draft202012Validator

    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {"/api/v1/health", "/api/v1/ask", "/api/v1/verify", "/api/v1/summarize", "/api/v1/cite",
            "/api/v1/documents", "/api/v1/documents/local", "/api/v1/documents/{ref}"} <= paths  # fmt: skip
    for component in schema["components"]["schemas"].values():
        Draft202012Validator.check_schema(component)  # each request and response shape is a valid JSON Schema
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text  # served from this machine: it runs offline
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_a_server_off_loopback_refuses_to_start_without_a_token(tmp_path):
    exposed = Settings(data_dir=tmp_path / "data", host="0.0.0.0")
    with pytest.raises(server.ExposedWithoutToken, match="set TIP_API_TOKEN"):
        server.check_exposure(exposed)
    server.check_exposure(Settings(data_dir=tmp_path / "data", host="0.0.0.0", api_token="s3cret-token"))
    server.check_exposure(Settings(data_dir=tmp_path / "data"))  # loopback: nothing asked


@pytest.mark.slow
def test_the_api_and_the_web_ui_are_one_server_over_http(library):
    settings = Settings(data_dir=library.settings.data_dir, port=free_port())
    running = server.serve(Assistant(settings, embedder=library.embedder), background=True)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            assert http.get("/api/v1/health").json()["documents"] == 1
            answer = http.post("/api/v1/ask", json={"question": QUESTION}).json()
            assert "212" in answer["answer"]
            page = http.get("/")
            assert page.status_code == 200 and "TIP assistant" in page.text
    finally:
        running.close()


def test_web_logins_come_from_tip_users_and_never_show_in_errors(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", users="alice:pw-one, bob:p:w2")
    assert settings.logins == {"alice": "pw-one", "bob": "p:w2"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"TIP_USERS": "alice-without-a-password"}, data_dir=tmp_path / "data")
    assert "name:password pairs" in str(raised.value) and "alice-without" not in str(raised.value)


@pytest.mark.slow
def test_the_web_ui_asks_for_a_tip_users_login_or_the_token(library):
    settings = Settings(data_dir=library.settings.data_dir, users="alice:pw-one", api_token="s3cret-token")
    app = server.build_app(Assistant(settings, embedder=library.embedder))
    with TestClient(app) as http:
        assert http.get("/config").status_code == 401  # the UI's configuration is behind the login
        for name, password, accepted in [("alice", "pw-one", True), ("alice", "wrong", False),
                                         ("mallory", "pw-one", False), ("anyone", "s3cret-token", True)]:  # fmt: skip
            response = http.post("/login", data={"username": name, "password": password})
            assert (response.status_code == 200) is accepted, (name, password, response.status_code)


def _events(body: str) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a server-sent event stream."""
    pairs = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        pairs.append((fields["event"], json.loads(fields["data"])))
    return pairs


def test_ask_streams_the_generated_text_then_the_checked_answer(library):
    # A fake chat model stands in for a model server, which cannot run here.
    from tests.fake_models import ScriptedChatModel

    reply = "The Arusha shelter network hosted 212 survivors in 2023 [1]."
    model = ScriptedChatModel(responses=[reply])
    api = TestClient(create_api(Assistant(library.settings, embedder=library.embedder, model=model)))
    with api.stream("POST", "/api/v1/ask", json={"question": QUESTION, "stream": True}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.read().decode("utf-8"))
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 1 and "".join(deltas) == reply  # the pieces add up to the model's text
    name, answer = events[-1]
    assert name == "answer" and "212" in answer["answer"] and answer["citations"][0]["source"] == "shelters-2023.txt"


def test_a_streamed_ask_without_a_model_sends_the_answer_and_errors_stay_json(client):
    response = client.post("/api/v1/ask", json={"question": QUESTION, "stream": True})
    assert [name for name, _ in _events(response.text)] == ["answer"]
    empty = client.post("/api/v1/ask", json={"question": "  ", "stream": True})
    assert empty.status_code == 400 and empty.json() == {"error": "the question is empty: type a question"}


def test_an_answer_given_while_the_server_starts_says_documents_may_be_missing(library):
    from assistant.interfaces.startup import Startup

    startup = Startup()
    startup.moved_to("Adding documents: 4 of 10 files done…")
    starting = TestClient(create_api(library, startup=startup))
    notices = starting.post("/api/v1/ask", json={"question": QUESTION}).json()["notices"]
    assert notices[-1].startswith("The server is still starting (Adding documents: 4 of 10 files done)")
    startup.finished()
    assert not any(
        "still starting" in n for n in starting.post("/api/v1/ask", json={"question": QUESTION}).json()["notices"]
    )

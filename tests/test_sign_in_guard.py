"""The HTTP door (`workbench/ui/guard.py`) on a Starlette app with Streamlit's route shapes:
with a trusted header configured, media and uploads need it exactly once, a repeated header is
a 400 anywhere (websocket handshakes included), and the rest passes so the sign-in page can
load. Without the setting everything passes. The real server and Chromium:
tests/browser/test_media_guard.py."""

from __future__ import annotations

import warnings

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2 in its test client; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from workbench.ui.guard import SignInGuard

HEADER = "X-Forwarded-Email"


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("served")


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def _client(monkeypatch: pytest.MonkeyPatch, header: str | None) -> TestClient:
    if header:
        monkeypatch.setenv("WORKBENCH_TRUSTED_USER_HEADER", header)
    else:
        monkeypatch.delenv("WORKBENCH_TRUSTED_USER_HEADER", raising=False)
    app = Starlette(
        routes=[
            Route("/", _ok),
            Route("/media/{file_id}", _ok),
            Route("/_stcore/upload_file/{session}/{file}", _ok, methods=["PUT"]),
            Route("/_stcore/agent/interact", _ok, methods=["POST"]),
            WebSocketRoute("/_stcore/stream", _socket),
        ],
        middleware=[Middleware(SignInGuard)],
    )
    return TestClient(app)


def test_media_uploads_and_the_agent_api_need_the_header_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = _client(monkeypatch, HEADER)
    assert client.get("/media/abc.png").status_code == 403
    assert client.put("/_stcore/upload_file/s/f", content=b"x").status_code == 403
    assert client.post("/_stcore/agent/interact", json={}).status_code == 403
    assert client.get("/media/abc.png", headers={HEADER: "\x01"}).status_code == 403  # no name
    signed = {HEADER.lower(): "ann@example.com"}
    assert client.get("/media/abc.png", headers=signed).text == "served"
    assert client.put("/_stcore/upload_file/s/f", content=b"x", headers=signed).status_code == 200
    assert client.post("/_stcore/agent/interact", json={}, headers=signed).text == "served"
    assert client.get("/").text == "served"  # the page loads, and its script refuses


def test_a_repeated_header_is_a_400_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(monkeypatch, HEADER)
    twice = [(HEADER, "mallory@x"), (HEADER.lower(), "ann@x")]
    for path in ("/", "/media/abc.png"):
        refused = client.get(path, headers=twice)
        assert refused.status_code == 400 and "more than once" in refused.text
    assert client.get("/", headers={HEADER: "mallory@x, ann@x"}).status_code == 400
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/_stcore/stream", headers=httpx.Headers(twice)) as ws,
    ):
        ws.receive_text()
    with client.websocket_connect("/_stcore/stream", headers={HEADER: "ann@x"}) as ws:
        assert ws.receive_text() == "hello"


def test_without_the_setting_everything_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(monkeypatch, None)
    assert client.get("/media/abc.png").text == "served"
    assert client.get("/", headers=[(HEADER, "a"), (HEADER, "b")]).text == "served"

"""The HTTP door in front of Streamlit when a signing-in proxy names the user
(`WORKBENCH_TRUSTED_USER_HEADER`): an ASGI middleware that `ui/server.py` hands to Streamlit's
own `st.App(..., middleware=[...])` (Streamlit 1.67 serves with Starlette and uvicorn; user
middleware runs before Streamlit's routes).

Pages are guarded inside the script (`ui/identity.gate`, from the websocket's headers), but
Streamlit also answers plain HTTP requests no script sees: the images a page showed
(`/media/<id>`, kept while the session's cache holds them) and file uploads. So, with the header
configured:

- any request, page or websocket, that carries the header more than once (or two values folded
  into one) is answered 400 (a websocket handshake is refused): which value the proxy set
  cannot be told;
- `/media/…`, `/_stcore/upload_file/…` and the agent API (`/_stcore/agent/…`) are answered 403
  unless the request carries the header once with a usable name, as every request through the
  proxy does: a request that bypasses the proxy, or comes after the proxy has signed the person
  out, gets nothing;
- everything else passes, so a request without the header still loads the app far enough to
  show the "Sign-in required" page (the script refuses it: no menu, no data).

Without the setting the middleware passes everything through: the app then listens on
127.0.0.1 only (README). This is as strong as the proxy's header can make it: Streamlit's media
ids are not tied to a browser session, so a signed-in teammate who is given another's media URL
can open it, as they could open the same image in History.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from workbench.config import load_settings
from workbench.errors import WorkbenchError
from workbench.services.team.identity import Refusal, several_values, signed_in

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The routes that serve data or drive the app without a browser's websocket
# (streamlit/web/server/starlette/starlette_routes.py: BASE_ROUTE_MEDIA and the upload route
# under BASE_ROUTE_CORE; starlette_agent_routes.py: the agent API, off unless
# server.enableAgentApi, whose routes answer either way).
GUARDED_PREFIXES = ("/media/", "/_stcore/upload_file", "/_stcore/agent/")


def _trusted_header() -> str | None:
    try:
        return load_settings().trusted_user_header
    except WorkbenchError:  # a malformed setting: the pages say so; serve no media meanwhile
        return "\x00unusable settings"


def _base_path() -> str:
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


class SignInGuard:
    """ASGI middleware; `header` fixes the trusted header (tests), else the settings name it."""

    def __init__(self, app: ASGIApp, header: str | None = None) -> None:
        self.app = app
        # The settings of this process, read once: the environment does not change under it.
        self._header = header or _trusted_header()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = self._header
        if not header:
            await self.app(scope, receive, send)
            return
        wanted = header.lower().encode("latin-1", "replace")
        values = [
            value.decode("latin-1")
            for name, value in scope.get("headers", [])
            if name.lower() == wanted
        ]
        found = signed_in(header, values)
        if isinstance(found, Refusal) and several_values(values):
            await _refuse(scope, receive, send, 400, f"{header} came more than once.")
            return
        path = str(scope.get("path", ""))
        base = _base_path()
        if base and path.startswith(base):
            path = path[len(base):]
        if isinstance(found, Refusal) and path.startswith(GUARDED_PREFIXES):
            await _refuse(scope, receive, send, 403, "Sign-in required.")
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting refuses the handshake (ASGI spec: "websocket.close" sent
        # while connecting makes the server answer 403).
        await receive()  # the "websocket.connect" message
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

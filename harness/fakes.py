"""Loopback fakes of the four hosted APIs, speaking their wire formats over real sockets.

Each fake is a stdlib `ThreadingHTTPServer` on 127.0.0.1:0 (HTTP/1.1, keep-alive) in a daemon
thread. It checks the key the way the real API does, records every request, counts paid
submits, and plays faults queued per route ("submit", "poll", "result", "image"):

    fake.fault("submit", Fault(status=429, headers={"Retry-After": "0"}))
    fake.fault("image", Fault(status=404))

A queued fault is used once, by the next request on that route; `Fault(repeat=True)` stays.
Error bodies are the shapes each provider documents (the source is named beside each one); the
helpers `documented_*` build them for tests, so no test passes by matching an invented shape.
URLs the fakes hand out (polling, status, result, image) use paths a client could not rebuild
from the base URL, so following them "as given" is tested, not assumed. Also used by
bench/providers.py, so it imports nothing from pytest.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def png_bytes(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 90, 40)
) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 8):  # a little structure so it is not one flat colour
        image.putpixel((x, x % height), (10, 200, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image_value(value: Any, *, uri: bool) -> bytes:
    """The image bytes in a reference field: a `data:<mime>;base64,` URI (RFC 2397) where the
    provider takes a URI (`uri=True`), plain base64 where it takes base64. ValueError otherwise
    (this fake serves no http URLs as inputs, and the workbench sends none)."""
    if not isinstance(value, str) or not value:
        raise ValueError("not a string")
    if uri:
        head, sep, payload = value.partition(",")
        if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
            raise ValueError("not a base64 data URI of an image")
        value = payload
    data = base64.b64decode(value, validate=True)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    return data


def fastapi_422(field: str, message: str) -> Reply:
    """FastAPI's `HTTPValidationError` body (BFL's OpenAPI and fal's 422s use this shape)."""
    return Reply(422, {"detail": [{"loc": ["body", field], "msg": message,
                                   "type": "value_error"}]})


def truncated(data: bytes) -> bytes:
    """An image cut short: what a broken transfer leaves behind."""
    return data[: max(len(data) // 2, 16)]


@dataclass
class Fault:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes/str -> as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay_s: float = 0.0  # sleep before answering (slow responses)
    release: threading.Event | None = None  # set: the delay ends at once (a test is done waiting)
    cut: bool = False  # promise the full Content-Length, send half, close
    drop: bool = False  # close the connection without any answer
    passthrough: bool = False  # after delay_s, answer normally
    repeat: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    route: str
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return None

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake.connections += 1

    def finish(self) -> None:  # the client closed the connection (or the server dropped it)
        super().finish()
        with self.server.fake._lock:
            self.server.fake.closed_connections += 1

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.fake._handle(self, "PUT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 reset connections when a run had 64 jobs in flight.
    request_queue_size = 256
    fake: FakeServer


class FakeServer:
    """Base class: sockets, recording, faults. Subclasses implement `route`."""

    auth_header = "authorization"

    def __init__(self, key: str = "test-key-1234") -> None:
        self.key = key
        self.requests: list[Recorded] = []
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.paid_submits = 0
        self.connections = 0  # TCP connections accepted (a client that keeps one: 1)
        self.closed_connections = 0  # of those, the ones that have ended
        self.image: bytes = png_bytes()
        self.image_factory: Callable[[int], bytes] | None = None
        self.seed = 4242
        self.references: list[bytes] = []  # reference images received, decoded, in order
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address (only AF_UNIX gives bytes)
        return f"http://{host}:{port}"

    # -- test controls -----------------------------------------------------------------------
    def fault(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self.faults[route].extend(faults)

    def on(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    def next_id(self) -> str:
        return f"job-{next(self._ids):04d}-7f3a"

    def image_for(self, job_id: str) -> bytes:
        if self.image_factory is not None:
            return self.image_factory(int(job_id.split("-")[1]))
        return self.image

    # -- protocol ------------------------------------------------------------------------------
    def route(self, method: str, path: str) -> tuple[str, Callable[[Recorded], Reply]]:
        raise NotImplementedError

    def authorised(self, request: Recorded) -> bool:
        raise NotImplementedError

    def unauthorised(self) -> Reply:
        return Reply(401, {"detail": "Invalid credentials"})

    def not_found(self, request: Recorded) -> Reply:
        return Reply(404, {"detail": f"Not found: {request.path}"})

    # -- plumbing ------------------------------------------------------------------------------
    def _handle(self, handler: _Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        try:
            route, respond = self.route(method, parts.path)
        except LookupError:
            route, respond = "unknown", self.not_found
        request = Recorded(
            method=method, path=parts.path, query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in handler.headers.items()}, body=body, route=route,
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(request)
            queue = self.faults.get(route)
            fault = None
            if queue:
                fault = queue[0] if queue[0].repeat else queue.pop(0)
        if fault is not None:
            if fault.delay_s:
                if fault.release is not None:
                    fault.release.wait(fault.delay_s)
                else:
                    time.sleep(fault.delay_s)
            if fault.drop:
                handler.close_connection = True
                _shutdown(handler)
                return
            if not fault.passthrough:
                self._write(handler, Reply(fault.status, fault.body, fault.headers,
                                           fault.content_type), cut=fault.cut)
                return
        if route != "image" and not self.authorised(request):
            reply = self.unauthorised()
        else:
            reply = respond(request)
        self._write(handler, reply)

    def _write(self, handler: _Handler, reply: Reply, *, cut: bool = False) -> None:
        body = reply.body
        if isinstance(body, dict | list):
            payload = json.dumps(body).encode()
            content_type = reply.content_type or "application/json"
        elif isinstance(body, str):
            payload = body.encode()
            content_type = reply.content_type or "text/plain"
        else:
            payload = body or b""
            content_type = reply.content_type or "application/octet-stream"
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if cut:
                handler.send_header("Connection", "close")
            handler.end_headers()
            if cut:
                handler.wfile.write(payload[: len(payload) // 2])
                handler.wfile.flush()
                handler.close_connection = True
                _shutdown(handler)
                return
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (a timeout test)

    def image_reply(self, request: Recorded) -> Reply:
        job_id = request.path.rsplit("/", 1)[-1].split(".")[0]
        return Reply(200, self.image_for(job_id), content_type="image/png")


def _pixels(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        return image.width * image.height


def _shutdown(handler: _Handler) -> None:
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------------------------
class FakeGemini(FakeServer):
    """`POST /v1beta/models/{id}:generateContent`, key in `x-goog-api-key`."""

    auth_header = "x-goog-api-key"

    def __init__(self, key: str = "test-key-1234") -> None:
        super().__init__(key)
        self.known_models: set[str] = {
            "gemini-2.5-flash-image", "gemini-3.1-flash-image", "gemini-3-pro-image",
        }
        self.answer: dict[str, Any] | None = None  # None: the default image answer
        self.image_tokens = 1120
        self.thought_tokens = 200
        self.thought_image: bytes = png_bytes(16, 16, (0, 0, 255))

    def route(self, method: str, path: str) -> tuple[str, Callable[[Recorded], Reply]]:
        if method == "POST" and path.startswith("/v1beta/models/") and path.endswith(
            ":generateContent"
        ):
            return "submit", self._generate
        if method == "GET" and path.startswith("/images/"):
            return "image", self.image_reply
        raise LookupError(path)

    def authorised(self, request: Recorded) -> bool:
        return request.headers.get("x-goog-api-key") == self.key

    def unauthorised(self) -> Reply:
        # A wrong key is HTTP 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID
        # (bodies quoted in continuedev/continue#8516 and google/timesketch#3703).
        return Reply(400, {"error": {
            "code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                         "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                         "metadata": {"service": "generativelanguage.googleapis.com"}}]}})

    def _generate(self, request: Recorded) -> Reply:
        model_id = request.path[len("/v1beta/models/"):-len(":generateContent")]
        if model_id not in self.known_models:
            return Reply(404, {"error": {"code": 404, "message": f"models/{model_id} is not found"
                                         " for API version v1beta", "status": "NOT_FOUND"}})
        refused = self._take_references(request.json())
        if refused is not None:
            return refused
        with self._lock:
            self.paid_submits += 1
        if self.answer is not None:
            return Reply(200, self.answer)
        job_id = self.next_id()
        return Reply(200, self.image_answer(self.image_for(job_id), job_id, model_id))

    # Inline image parts: `inlineData` {mimeType, data (base64)} (python-genai Part / Blob;
    # snake_case `inline_data` is accepted by the proto-JSON parser too). Supported image types:
    # PNG, JPEG, WEBP, HEIC, HEIF (ai.google.dev image-understanding page).
    INLINE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")

    def _take_references(self, body: dict[str, Any]) -> Reply | None:
        parts = body["contents"][0]["parts"]
        images = []
        for part in parts:
            blob = part.get("inlineData") or part.get("inline_data")
            if blob is None:
                continue
            mime = blob.get("mimeType") or blob.get("mime_type")
            if mime not in self.INLINE_TYPES:
                return self._invalid(f"Unsupported MIME type: {mime}")
            try:
                images.append(decode_image_value(blob.get("data"), uri=False))
            except ValueError:
                return self._invalid("Invalid value at 'contents[0].parts.inline_data.data'")
        with self._lock:
            self.references.extend(images)
        return None

    @staticmethod
    def _invalid(message: str) -> Reply:
        # google.rpc.Status for a bad request (ai.google.dev troubleshooting: 400 INVALID_ARGUMENT)
        return Reply(400, {"error": {"code": 400, "message": message,
                                     "status": "INVALID_ARGUMENT"}})

    @staticmethod
    def documented_429(delay_s: float = 48.8, *, per_day: bool = False) -> Fault:
        """RESOURCE_EXHAUSTED with the wait in the body only: RetryInfo.retryDelay and "Please
        retry in Ns." in the message, no Retry-After header (ai.google.dev rate-limits page;
        google/rpc/error_details.proto). `per_day` names a per-day quota in QuotaFailure."""
        quota = ("GenerateRequestsPerDayPerProjectPerModel" if per_day
                 else "GenerateRequestsPerMinutePerProjectPerModel")
        metric = ("generate_requests_per_model_per_day" if per_day
                  else "generate_requests_per_model")
        return Fault(429, {"error": {
            "code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": f"You exceeded your current quota. Please retry in {delay_s}s.",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": f"generativelanguage.googleapis.com/{metric}",
                     "quotaId": quota, "quotaValue": "250"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                 "retryDelay": f"{int(delay_s)}s"},
            ]}})

    def image_answer(self, image: bytes, response_id: str = "resp-1", model: str = "") -> dict:
        b64 = base64.b64encode(image).decode()
        thought = base64.b64encode(self.thought_image).decode()
        return {
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Planning the composition.", "thought": True},
                    {"inlineData": {"mimeType": "image/png", "data": thought}, "thought": True},
                    {"text": "Here is your image."},
                    {"inlineData": {"mimeType": "image/png", "data": b64},
                     "thoughtSignature": "c2ln"},
                ]},
                "finishReason": "STOP", "index": 0,
            }],
            "usageMetadata": {
                "promptTokenCount": 12, "candidatesTokenCount": self.image_tokens + 5,
                "thoughtsTokenCount": self.thought_tokens,
                "totalTokenCount": self.image_tokens + 17 + self.thought_tokens,
                "candidatesTokensDetails": [
                    {"modality": "TEXT", "tokenCount": 5},
                    {"modality": "IMAGE", "tokenCount": self.image_tokens},
                ],
            },
            "modelVersion": model, "responseId": response_id,
        }


# --------------------------------------------------------------------------------------------
class FakeBfl(FakeServer):
    """`POST /v1/{model}` -> `polling_url` on a "cluster" path -> `result.sample` URL."""

    auth_header = "x-key"

    def __init__(self, key: str = "test-key-1234") -> None:
        super().__init__(key)
        self.cost_credits: float | None = 3.0
        # The settled charge on the final poll answer (`SettledCostResultResponse.cost`, BFL
        # OpenAPI); None: the answer carries none.
        self.settled_credits: float | None = None
        self.result_prompt = "p"  # `result.prompt` (blackforest responses.py GenerationResult)
        self.pending_polls = 1
        self.final_status = "Ready"
        self.details: Any = None
        self.error: str | None = None
        self.polls: dict[str, int] = defaultdict(int)

    def route(self, method: str, path: str) -> tuple[str, Callable[[Recorded], Reply]]:
        if method == "POST" and path.startswith("/v1/"):
            return "submit", self._submit
        if method == "GET" and path == "/eu2-cluster/v1/get_result":
            return "poll", self._poll
        if method == "GET" and path.startswith("/delivery/"):
            return "image", self.image_reply
        raise LookupError(path)

    def authorised(self, request: Recorded) -> bool:
        return request.headers.get("x-key") == self.key

    def unauthorised(self) -> Reply:
        return Reply(401, {"detail": "Invalid or missing API key"})

    # Reference fields (api.bfl.ai/openapi.json): FLUX.2 `Flux2Inputs` input_image,
    # input_image_2 ... input_image_8, "URL or base64"; Ultra `FluxUltraInput` image_prompt
    # (base64).
    FLUX2_FIELDS = ("input_image", *(f"input_image_{n}" for n in range(2, 9)))

    def _submit(self, request: Recorded) -> Reply:
        body_in = request.json()
        ultra = request.path.endswith("/flux-pro-1.1-ultra")
        fields = ("image_prompt",) if ultra else self.FLUX2_FIELDS
        images = []
        for name in fields:
            if body_in.get(name) is None:
                continue
            try:
                images.append(decode_image_value(body_in[name], uri=False))
            except ValueError:
                return fastapi_422(name, "Invalid base64 image")
        if ultra and any(k.startswith("input_image") for k in body_in):
            return fastapi_422("input_image", "extra fields not permitted")
        with self._lock:
            self.paid_submits += 1
            self.references.extend(images)
        job_id = self.next_id()
        input_mp = sum(_pixels(data) for data in images) / 1_000_000  # BFL counts decimal MP
        body: dict[str, Any] = {
            "id": job_id,
            "polling_url": f"{self.url}/eu2-cluster/v1/get_result?id={job_id}&sig=q1w2",
            "input_mp": round(input_mp, 2), "output_mp": 1.0,
        }
        if self.cost_credits is not None:
            body["cost"] = self.cost_credits
        return Reply(200, body)

    def _poll(self, request: Recorded) -> Reply:
        job_id = request.query.get("id", [""])[0]
        if request.query.get("sig") != ["q1w2"]:
            return Reply(404, {"detail": "unsigned polling url"})
        with self._lock:
            self.polls[job_id] += 1
            count = self.polls[job_id]
        if count <= self.pending_polls:
            return Reply(200, {"id": job_id, "status": "Pending", "result": None,
                               "progress": 0.5})
        settled = {} if self.settled_credits is None else {"cost": self.settled_credits}
        if self.final_status == "Ready":
            return Reply(200, {"id": job_id, "status": "Ready", "result": {
                "sample": f"{self.url}/delivery/{job_id}.png?se=2026&sig=abc",
                "prompt": self.result_prompt, "seed": self.seed}, **settled})
        body = {"id": job_id, "status": self.final_status, "result": None,
                "details": self.details, **settled}
        if self.final_status == "Error" and self.error is not None:
            # an errored task may carry `error` (black-forest-labs/skills error-handling.md)
            body["error"] = self.error
        return Reply(200, body)


# --------------------------------------------------------------------------------------------
class FakeReplicate(FakeServer):
    """`POST /v1/models/{owner}/{name}/predictions` (Prefer: wait) -> `urls.get` -> output URL."""

    def __init__(self, key: str = "test-key-1234") -> None:
        super().__init__(key)
        self.finish_in_submit = True  # Prefer: wait held the request until the end
        self.pending_polls = 1
        self.final_status = "succeeded"
        self.error: str | None = None
        self.polls: dict[str, int] = defaultdict(int)
        self.cancelled: set[str] = set()
        self.canceled_predict_time: float | None = None

    # black-forest-labs/flux-2-{pro,max,flex} input schema (replicate.com model API pages):
    # aspect_ratio is an enum without 21:9 / 9:21; "custom" takes width/height 256-2048.
    FLUX2_RATIOS = ("match_input_image", "custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4",
                    "9:16", "3:4", "4:3")

    def route(self, method: str, path: str) -> tuple[str, Callable[[Recorded], Reply]]:
        if method == "POST" and path.startswith("/v1/models/") and path.endswith("/predictions"):
            return "submit", self._submit
        if method == "POST" and path.startswith("/poll-here/predictions/") and path.endswith(
            "/cancel"
        ):
            return "cancel", self._cancel
        if method == "GET" and path.startswith("/poll-here/predictions/"):
            return "poll", self._poll
        if method == "GET" and path.startswith("/delivery/"):
            return "image", self.image_reply
        raise LookupError(path)

    def authorised(self, request: Recorded) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.key}"

    def unauthorised(self) -> Reply:
        return Reply(401, {"title": "Unauthenticated", "detail": "You did not pass a valid "
                           "authentication token", "status": 401})

    def _prediction(self, job_id: str, model: str, status: str) -> dict[str, Any]:
        done = status == "succeeded"
        # `aborted` never started: no started_at, no metrics (replicate.com prediction-lifecycle
        # docs: "Aborted (never started)"); a prediction canceled while running has started_at
        # and, where set, metrics.predict_time (replicate-python test cassettes).
        started = status not in ("starting", "aborted")
        metrics: dict[str, Any] = {"predict_time": 1.2} if done else {}
        if status == "canceled" and self.canceled_predict_time is not None:
            metrics = {"predict_time": self.canceled_predict_time}
        return {
            "id": job_id, "model": model, "version": "hidden", "status": status,
            "input": {}, "logs": f"Using seed: {self.seed}\nGenerating..." if done else "",
            "output": f"{self.url}/delivery/{job_id}.png" if done else None,
            "error": self.error if status == "failed" else None,
            "created_at": "2026-01-01T10:00:00.000Z",
            "started_at": "2026-01-01T10:00:00.250Z" if started else None,
            "metrics": metrics,
            "urls": {"get": f"{self.url}/poll-here/predictions/{job_id}",
                     "cancel": f"{self.url}/poll-here/predictions/{job_id}/cancel"},
        }

    def documented_422(self, field: str, allowed: tuple[str, ...]) -> Reply:
        """Replicate's answer to a value outside an enum: RFC 7807 problem details with
        `invalid_fields` (replicate-python exceptions.py reads title/detail/status)."""
        listed = ", ".join(f'"{a}"' for a in allowed)
        description = f"{field} must be one of the following: {listed}"
        return Reply(422, {
            "title": "Input validation failed", "status": 422,
            "detail": f"- input.{field}: {description}",
            "invalid_fields": [{"type": "enum", "field": f"input.{field}",
                                "description": description}],
        })

    def _submit(self, request: Recorded) -> Reply:
        model = request.path[len("/v1/models/"):-len("/predictions")]
        given = request.json().get("input") or {}
        flux2 = model.startswith("black-forest-labs/flux-2-") and not model.endswith("-dev")
        if flux2:
            if given.get("aspect_ratio") not in self.FLUX2_RATIOS:
                return self.documented_422("aspect_ratio", self.FLUX2_RATIOS)
            if given.get("aspect_ratio") == "custom":
                for side in ("width", "height"):
                    value = given.get(side)
                    if not isinstance(value, int) or not 256 <= value <= 2048 or value % 32:
                        return self.documented_422(side, ("256-2048, multiple of 32",))
        refused = self._take_references(model, given)
        if refused is not None:
            return refused
        with self._lock:
            self.paid_submits += 1
        job_id = self.next_id()
        status = self.final_status if self.finish_in_submit else "starting"
        return Reply(201, self._prediction(job_id, model, status))

    # Reference inputs per model (replicate.com model API pages): google/nano-banana* take
    # `image_input` (array of URIs, up to 14), black-forest-labs/flux-2-{pro,max} `input_images`
    # (array, up to 8), flux-2-dev up to 4; a data URI stands in for a URL
    # (replicate.com/docs/topics/predictions/input-files).
    REFERENCE_LISTS: ClassVar[dict[str, tuple[str, int]]] = {
        "google/nano-banana": ("image_input", 3),
        "google/nano-banana-2": ("image_input", 14),
        "google/nano-banana-pro": ("image_input", 14),
        "black-forest-labs/flux-2-pro": ("input_images", 8),
        "black-forest-labs/flux-2-max": ("input_images", 8),
        "black-forest-labs/flux-2-flex": ("input_images", 10),
        "black-forest-labs/flux-2-dev": ("input_images", 4),
    }

    def _take_references(self, model: str, given: dict[str, Any]) -> Reply | None:
        field_name, most = self.REFERENCE_LISTS.get(model, ("", 0))
        value = given.get(field_name) if field_name else None
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > most:
            return self.documented_422(field_name, (f"an array of at most {most} URIs",))
        try:
            images = [decode_image_value(v, uri=True) for v in value]
        except ValueError:
            return self.documented_422(field_name, ("URIs of images",))
        with self._lock:
            self.references.extend(images)
        return None

    def _poll(self, request: Recorded) -> Reply:
        job_id = request.path.rsplit("/", 1)[-1]
        with self._lock:
            self.polls[job_id] += 1
            count = self.polls[job_id]
            cancelled = job_id in self.cancelled
        status = "processing" if count <= self.pending_polls else self.final_status
        if cancelled:
            status = "canceled"
        return Reply(200, self._prediction(job_id, "m", status))

    def _cancel(self, request: Recorded) -> Reply:
        job_id = request.path.split("/")[-2]
        with self._lock:
            self.cancelled.add(job_id)
        return Reply(200, self._prediction(job_id, "m", "canceled"))


# --------------------------------------------------------------------------------------------
class FakeFal(FakeServer):
    """`POST /{app}` -> `status_url` -> `response_url` -> public image URL."""

    def __init__(self, key: str = "test-key-1234") -> None:
        super().__init__(key)
        self.pending_polls = 2
        self.final_status = "COMPLETED"
        # An infrastructure fault on the completed status, e.g. ("...", "runner_disconnected")
        # (fal docs model-apis/errors list these error_type values).
        self.completed_error: tuple[str, str] | None = None
        self.blocked = False  # the content checker blocks the result (422 on response_url)
        self.nsfw = False
        self.result_prompt = "p"
        self.polls: dict[str, int] = defaultdict(int)
        self.cancelled: set[str] = set()
        self.queued_polls = 1  # polls answered IN_QUEUE before IN_PROGRESS
        # What a cancel meets (docs.fal.ai queue "Cancel a request" and handle-cancellations):
        # "cancel" - the request ends cancelled; "ignore" - the app finishes it anyway;
        # "completed" - it had already completed (400 ALREADY_COMPLETED).
        self.on_cancel = "cancel"

    def route(self, method: str, path: str) -> tuple[str, Callable[[Recorded], Reply]]:
        if method == "PUT" and path.startswith("/queue-x/") and path.endswith("/cancel"):
            return "cancel", self._cancel
        if method == "GET" and path.startswith("/queue-x/") and path.endswith("/status"):
            return "poll", self._status
        if method == "GET" and path.startswith("/queue-x/"):
            return "result", self._result
        if method == "GET" and path.startswith("/files/"):
            return "image", self.image_reply
        if method == "POST" and path.startswith("/fal-ai/"):
            return "submit", self._submit
        raise LookupError(path)

    def authorised(self, request: Recorded) -> bool:
        return request.headers.get("authorization") == f"Key {self.key}"

    def _submit(self, request: Recorded) -> Reply:
        # Edit endpoints (`.../edit`) require `image_urls`, a list of URLs or data URIs (fal
        # model pages nano-banana/edit, flux-2-pro/edit; fal.ai/docs fal-cdn on data URIs).
        body_in = request.json()
        images: list[bytes] = []
        if request.path.endswith("/edit"):
            urls = body_in.get("image_urls")
            if not isinstance(urls, list) or not urls:
                return fastapi_422("image_urls", "field required")
            try:
                images = [decode_image_value(u, uri=True) for u in urls]
            except ValueError:
                return fastapi_422("image_urls", "Could not load the image from the URL")
        elif "image_urls" in body_in:
            return fastapi_422("image_urls", "extra field: this endpoint takes no images")
        if body_in.get("image_url") is not None:  # flux-pro/v1.1-ultra's image prompt
            try:
                images.append(decode_image_value(body_in["image_url"], uri=True))
            except ValueError:
                return fastapi_422("image_url", "Could not load the image from the URL")
        with self._lock:
            self.paid_submits += 1
            self.references.extend(images)
        job_id = self.next_id()
        app = "/".join(request.path.strip("/").split("/")[:2])
        base = f"{self.url}/queue-x/{app}/requests/{job_id}"
        return Reply(200, {
            "request_id": job_id, "response_url": base, "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel", "status": "IN_QUEUE", "queue_position": 0,
        }, headers={"x-fal-request-id": job_id})

    def _status(self, request: Recorded) -> Reply:
        job_id = request.path.split("/")[-2]
        with self._lock:
            self.polls[job_id] += 1
            count = self.polls[job_id]
            cancelled = job_id in self.cancelled
        if cancelled and self.on_cancel == "cancel":
            # a cancelled request completes with error_type client_cancelled (docs.fal.ai
            # request-errors: "The request was cancelled by the client", 499)
            return Reply(200, {"status": "COMPLETED", "logs": [],
                               "error": "Request was cancelled",
                               "error_type": "client_cancelled"})
        if cancelled:
            return Reply(200, {"status": "COMPLETED", "logs": [],
                               "metrics": {"inference_time": 1.1}})
        if count <= min(self.queued_polls, self.pending_polls):
            return Reply(202, {"status": "IN_QUEUE", "queue_position": 0})
        if count <= self.pending_polls:
            return Reply(202, {"status": "IN_PROGRESS", "logs": []})
        body: dict[str, Any] = {"status": self.final_status, "logs": [],
                                "metrics": {"inference_time": 1.1}}
        if self.completed_error:
            body["error"], body["error_type"] = self.completed_error
        return Reply(200, body)

    @staticmethod
    def documented_ingress_503() -> Fault:
        """A gateway error from fal's ingress: no x-fal-request-id header and an nginx page
        (the case fal_client `_is_ingress_error` retries)."""
        return Fault(503, "<html><head><title>503 Service Temporarily Unavailable</title></head>"
                          "<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
                          "<hr><center>nginx</center></body></html>", content_type="text/html")

    def _cancel(self, request: Recorded) -> Reply:
        job_id = request.path.split("/")[-2]
        with self._lock:
            self.cancelled.add(job_id)
        # docs.fal.ai queue page, "Cancel a request": 202 {"status": "CANCELLATION_REQUESTED"},
        # 400 {"status": "ALREADY_COMPLETED"}, 404 {"status": "NOT_FOUND"}
        if self.on_cancel == "completed":
            return Reply(400, {"status": "ALREADY_COMPLETED"})
        return Reply(202, {"status": "CANCELLATION_REQUESTED"})

    def _result(self, request: Recorded) -> Reply:
        job_id = request.path.rsplit("/", 1)[-1]
        if self.blocked:
            # docs.fal.ai model-apis/request-errors: content_policy_violation, not retryable
            return Reply(422, {"detail": [{
                "loc": ["body", "prompt"], "type": "content_policy_violation",
                "msg": "The content could not be processed because it contained material "
                       "flagged by a content checker.",
                "url": "https://docs.fal.ai/errors#content_policy_violation",
                "ctx": {}, "input": "p"}]}, headers={"X-Fal-Retryable": "false"})
        return Reply(200, {
            "images": [{"url": f"{self.url}/files/{job_id}.png", "content_type": "image/png",
                        "file_name": "output.png", "width": 64, "height": 48}],
            "seed": self.seed, "has_nsfw_concepts": [self.nsfw], "prompt": self.result_prompt,
            "timings": {"inference": 1.1},
        })


FAKES: dict[str, type[FakeServer]] = {
    "gemini": FakeGemini, "bfl": FakeBfl, "replicate": FakeReplicate, "fal": FakeFal,
}

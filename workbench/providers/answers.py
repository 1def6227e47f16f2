"""What a provider's HTTP answer says besides its status: the wait a refusal asks for (the
Retry-After header, Google's `RetryInfo` detail or its message text), the provider's own
explanation of an error in whichever dialect it writes (Google, FastAPI, Replicate, BFL, fal),
and its request id. Pure readings of an `httpx.Response`; `http.ApiClient` decides with them.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import httpx

# Google writes the wait into the message as well: "Please retry in 48.8s."
_RETRY_IN_TEXT = re.compile(r"retry (?:in|after) (\d+(?:\.\d+)?)\s*(?:s\b|sec)", re.I)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")  # protobuf Duration in JSON: "48s", "0.5s"
_DETAIL_LIMIT = 300


def retry_after_s(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        value = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(value):
        return None
    return max(0.0, value)


def body_wait_s(response: httpx.Response) -> float | None:
    """Seconds a provider asks to wait inside its error body: Google's `google.rpc.RetryInfo`
    detail (`retryDelay: "48s"`) or "Please retry in 48.8s." in the message
    (https://ai.google.dev/gemini-api/docs/rate-limits; google/rpc/error_details.proto)."""
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        for item in error.get("details") or []:
            if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
                match = _DURATION.match(str(item.get("retryDelay", "")))
                if match:
                    return float(match.group(1))
    match = _RETRY_IN_TEXT.search(response.text or "")
    return float(match.group(1)) if match else None


def wait_hint_s(response: httpx.Response) -> float | None:
    """The wait a refusal asks for, wherever the provider put it: the Retry-After header,
    then the body (RetryInfo, message text). None when it names no wait."""
    wait = retry_after_s(response)
    return wait if wait is not None else body_wait_s(response)


def google_details(response: httpx.Response) -> list[dict[str, Any]]:
    """`error.details[]` of a Google API error body (ErrorInfo, RetryInfo, QuotaFailure, ...)."""
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.text) if response.text else None
    except ValueError:
        return None


def provider_detail(response: httpx.Response) -> str:
    """The provider's own explanation from an error body, whatever its dialect."""
    text = response.text
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    detail = _detail_from(body) if body is not None else None
    if not detail:
        detail = " ".join(text.split()) if text else ""
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 1] + "…"
    return detail


def _detail_from(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if isinstance(body, list):  # FastAPI validation errors
        parts = [_detail_from(item) for item in body]
        return "; ".join(p for p in parts if p) or None
    if not isinstance(body, dict):
        return None
    if "msg" in body and isinstance(body["msg"], str):
        loc = body.get("loc")
        where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
        return f"{where}: {body['msg']}" if where else body["msg"]
    fields = body.get("invalid_fields")
    if isinstance(fields, list) and fields:  # Replicate: 422 with invalid_fields[]
        described = [
            f"{f.get('field', '')}: {f.get('description', '')}".strip(": ")
            for f in fields
            if isinstance(f, dict)
        ]
        if described:
            return "; ".join(described)
    error = body.get("error")
    if isinstance(error, dict):  # Google: {"error": {"code", "message", "status"}}
        message = error.get("message")
        status = error.get("status")
        if isinstance(message, str) and message:
            return f"{message} ({status})" if isinstance(status, str) and status else message
    for name in ("detail", "message", "title"):
        found = _detail_from(body.get(name)) if body.get(name) is not None else None
        if found:
            return found
    if isinstance(error, str) and error:
        return error
    return None


def request_id_header(response: httpx.Response) -> str | None:
    for name in ("x-request-id", "x-fal-request-id", "x-goog-request-id"):
        value = response.headers.get(name)
        if value:
            return value[:200]
    return None

"""The judge's Gemini client: one `generateContent` call whose answer is JSON bound to a schema,
with images sent inline. Built on the shared HTTP rules of `http.py` (timeouts, retries, the
one mapping of HTTP answers to `ProviderError`) and Gemini's own error dialect (`gemini.classify`:
a wrong key, a per-day quota).

Wire format (https://ai.google.dev/gemini-api/docs/structured-output and
/image-understanding; field names as python-genai serialises them):

    POST {base}/v1beta/models/{model}:generateContent      x-goog-api-key: <key>
    {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType", "data"}}..., {"text"}]}],
     "generationConfig": {"temperature": 0, "responseMimeType": "application/json",
                          "responseSchema": {...}, "maxOutputTokens": N, "thinkingConfig": {...}}}

- Images go first, then the text (image-understanding: "place the image before the text").
  Inline data must keep the whole request under 20 MB; `MAX_REQUEST_BYTES` checks the encoded
  body before anything is sent.
- `responseSchema` (the OpenAPI subset, types in upper case) is sent, never
  `responseJsonSchema` as well: the API takes one or the other.
- The JSON is the text of `candidates[0].content.parts[0]`; `finishReason` and `usageMetadata`
  (`promptTokenCount`, `candidatesTokenCount`, `thoughtsTokenCount`) come with it. Billed tokens
  are read even from an answer that is then refused (withheld for SAFETY, or JSON that does not
  parse): Google bills those calls, so the error carries the usage (`JudgeCallError.usage`).
- `maxOutputTokens` bounds what one call can cost; `thinkingConfig` keeps thinking small
  (2.5 models: `thinkingBudget`, 0 turns it off on Flash; Gemini 3 models: `thinkingLevel`).

Retries: only where Google did no work (a refused connection; 429 RESOURCE_EXHAUSTED and 503
UNAVAILABLE, honouring the wait in `RetryInfo`), as for image generation. A 404 NOT_FOUND means
the model id is retired or wrong: the error names the setting that picks it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.providers.base import ProviderError, to_base64
from workbench.providers.gemini import MODERATED_REASONS
from workbench.providers.gemini import classify as gemini_classify
from workbench.providers.http import HostedProvider, HttpPolicy, Sleep, refused

MODEL_SETTING = "WORKBENCH_JUDGE_MODEL"
MAX_REQUEST_BYTES = 20 * 1024 * 1024  # ai.google.dev image-understanding: inline requests < 20 MB
INLINE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")


@dataclass(frozen=True)
class InlineImage:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Usage:
    """Billed tokens of one call (usageMetadata)."""

    input: int = 0  # promptTokenCount
    output: int = 0  # candidatesTokenCount
    thinking: int = 0  # thoughtsTokenCount (billed at the output price)

    @classmethod
    def read(cls, usage: Any) -> Usage | None:
        if not isinstance(usage, dict):
            return None

        def count(name: str) -> int:
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
            return 0

        return cls(
            count("promptTokenCount"), count("candidatesTokenCount"), count("thoughtsTokenCount")
        )


@dataclass(frozen=True)
class JudgeReply:
    data: dict[str, Any]  # the parsed JSON object
    usage: Usage | None
    finish_reason: str
    model_id: str
    response_id: str | None
    provider_ms: float  # time spent waiting on Google


class JudgeCallError(ProviderError):
    """A judge call that failed; `usage` holds what Google billed for it, when it said."""

    def __init__(self, base: ProviderError, usage: Usage | None = None) -> None:
        super().__init__(
            base.kind,
            base.message,
            status_code=base.status_code,
            provider_request_id=base.provider_request_id,
            retryable=base.retryable,
        )
        self.usage = usage
        self.retries, self.retry_wait_s = base.retries, base.retry_wait_s


def retired_message(model_id: str, detail: str = "") -> str:
    said = f" Google said: {detail}" if detail else ""
    return (
        f"The Gemini API does not serve the judge model '{model_id}' (HTTP 404 NOT_FOUND): the "
        f"id is retired or misspelt. Set {MODEL_SETTING} to a current Gemini Flash model "
        f"(https://ai.google.dev/gemini-api/docs/models).{said}"
    )


class GeminiJudgeClient(HostedProvider):
    name = "gemini"
    classify = staticmethod(gemini_classify)

    def __init__(
        self, *, key: str, base_url: str, policy: HttpPolicy, sleep: Sleep | None = None
    ) -> None:
        super().__init__(key=key, base_url=base_url, policy=policy, sleep=sleep)

    @staticmethod
    def body(
        images: Sequence[InlineImage],
        text: str,
        schema: dict[str, Any],
        *,
        max_output_tokens: int,
        thinking: dict[str, Any] | None,
    ) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [
            {"inlineData": {"mimeType": im.mime, "data": to_base64(im.data)}}
            for im in images
        ]
        parts.append({"text": text})
        config: dict[str, Any] = {
            "temperature": 0,
            "responseMimeType": "application/json",
            "responseSchema": schema,
            "maxOutputTokens": max_output_tokens,
        }
        if thinking:
            config["thinkingConfig"] = thinking
        return {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}

    async def ask(
        self,
        model_id: str,
        *,
        images: Sequence[InlineImage],
        text: str,
        schema: dict[str, Any],
        max_output_tokens: int,
        thinking: dict[str, Any] | None = None,
    ) -> JudgeReply:
        for image in images:
            if image.mime not in INLINE_TYPES:
                raise ProviderError(
                    "bad_request", f"Gemini does not read {image.mime} images inline."
                )
        body = self.body(
            images, text, schema, max_output_tokens=max_output_tokens, thinking=thinking
        )
        size = len(json.dumps(body))
        if size >= MAX_REQUEST_BYTES:
            raise ProviderError(
                "bad_request",
                f"The judge request would be {size / 1024 / 1024:.1f} MB; Gemini takes inline "
                "requests under 20 MB. Nothing was sent.",
            )
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self._policy.deadline_s):
                response = await self._api.submit(
                    f"{self._base}/v1beta/models/{model_id}:generateContent",
                    json_body=body,
                    headers={"x-goog-api-key": self._key, "Content-Type": "application/json"},
                    retry_submit=refused(429, 503),
                    read_s=self._policy.read_s,
                )
                answer = self._api.json(response, "the judge call")
        except TimeoutError:
            raise JudgeCallError(
                ProviderError(
                    "timeout",
                    f"Gemini did not answer the judge call within {self._policy.deadline_s:g} s; "
                    "it may still be billed.",
                )
            ) from None
        except ProviderError as exc:
            if exc.status_code == 404:
                raise JudgeCallError(
                    ProviderError("config", retired_message(model_id, exc.message),
                                  status_code=404)
                ) from None
            raise JudgeCallError(exc) from None
        provider_ms = (loop.time() - started) * 1000
        return self._read(answer, model_id, provider_ms)

    @staticmethod
    def _read(answer: dict[str, Any], model_id: str, provider_ms: float) -> JudgeReply:
        usage = Usage.read(answer.get("usageMetadata"))
        response_id = answer.get("responseId")
        rid = response_id if isinstance(response_id, str) else None

        def fail(kind: Any, message: str) -> JudgeCallError:
            return JudgeCallError(ProviderError(kind, message, provider_request_id=rid), usage)

        feedback = answer.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            said = feedback["blockReason"]
            raise fail("moderated", f"Gemini blocked the judge request ({said}).")
        candidates = answer.get("candidates")
        if not isinstance(candidates, list) or not candidates or not isinstance(
            candidates[0], dict
        ):
            raise fail("malformed", "Gemini answered the judge call without a candidate.")
        candidate = candidates[0]
        finish = str(candidate.get("finishReason") or "none")
        if finish in MODERATED_REASONS:
            raise fail("moderated", f"Gemini withheld the judge's answer (finish reason {finish}).")
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        texts = [
            p["text"] for p in parts or []
            if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
        ]
        if not texts:
            raise fail("malformed", f"Gemini's judge answer has no text (finish reason {finish}).")
        try:
            data = json.loads(texts[0])
        except ValueError:
            cut = " (cut off at the output limit)" if finish == "MAX_TOKENS" else ""
            raise fail("malformed", f"Gemini's judge answer is not valid JSON{cut}.") from None
        if not isinstance(data, dict):
            raise fail("malformed", "Gemini's judge answer is JSON but not an object.")
        return JudgeReply(data, usage, finish, model_id, rid, provider_ms)

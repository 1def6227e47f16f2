"""Google Gemini API adapter for the Nano Banana models: one synchronous `generateContent` call.

Wire format (docs/providers.md, "Gemini"): `POST {base}/v1beta/models/{id}:generateContent`
with the key in `x-goog-api-key`, aspect ratio and image size in
`generationConfig.imageConfig` (size only for models with more than one size tier). The answer
carries the image as base64 `inlineData`; "thinking" models may add interim images marked
`thought: true`, which are skipped, and the last remaining image part is taken.

Seed: `generationConfig.seed` (python-genai `GenerateContentConfig.seed`, serialised by
`_GenerateContentConfig_to_mldev`; its docstring promises "best effort" determinism), sent
when the user gives one; the catalog marks these offers `seed_best_effort`, and the seed sent
is the one recorded (the API does not echo it).

Reference images go as parts before the text part of the one user turn, each
`{"inlineData": {"mimeType": ..., "data": <base64>}}` (python-genai `models.py` serialises
`Part.inline_data` as `inlineData` / `mimeType`; https://ai.google.dev/gemini-api/docs/
image-generation, "image editing": image and text parts together). Inline data is allowed while
the whole request stays under 20 MB (https://ai.google.dev/gemini-api/docs/image-understanding);
the catalog's `max_bytes` keeps each image well under that. Google bills them as input tokens,
which `usageMetadata.promptTokenCount` reports and the cost below counts.

Model ids: the catalog's stable id first, then its `fallback_ids` (the `-preview` ids) when the
API answers 404 NOT_FOUND for an id (no work was done, so trying the next id is free).

Retries (never a second paid call unless Google did no work):
- the connection could not be made: retried with backoff;
- 429 RESOURCE_EXHAUSTED and 503 UNAVAILABLE: refused before any generation, retried honouring
  Retry-After (bounded);
- 500, 502, 504, a read timeout or a dropped connection: NOT retried, the model may already have
  generated (and billed) the image;
- 400, 401/403, 402: never.

Error mapping (https://ai.google.dev/gemini-api/docs/troubleshooting, the "api-errors" table;
bodies follow google.rpc.Status with `details[]` from google/rpc/error_details.proto):
- 400 INVALID_ARGUMENT with an `ErrorInfo` whose reason is `API_KEY_INVALID` -> auth (a wrong
  key is a 400, not a 401/403; continuedev/continue#8516 quotes the body);
- 403 PERMISSION_DENIED -> auth; 402 RESOURCE_EXHAUSTED (prepaid credits) -> credits;
- 429 RESOURCE_EXHAUSTED -> rate_limited, waiting what `RetryInfo.retryDelay` (or the message,
  "Please retry in 48.8s.") asks; with a `QuotaFailure` violation on a per-day quota ->
  quota_exhausted at once ("daily quota reached for MODEL on Google Gemini API");
- 400 otherwise -> bad_request; 404 NOT_FOUND -> the next fallback id; 500/503/504 -> server.

Outcomes: `promptFeedback.blockReason` -> moderated; a finish reason in `MODERATED_REASONS`
without an image -> moderated; any other answer without an image (NO_IMAGE, IMAGE_OTHER, ...)
-> failed (`no_image`) with the reason and whatever text the model said.

Cost: every billed token count in `usageMetadata` x the offer's `token_usd_per_million`:
`promptTokenCount` at the input price, `thoughtsTokenCount` and the TEXT part of
`candidatesTokensDetails` at the text-output price, its IMAGE part at the image-output price
(Gemini 3 image models bill thinking and input as well). The cost is marked estimated unless the
catalog confirms the offer's price from a first-party source.
"""

from __future__ import annotations

import binascii
from typing import Any

import httpx

from workbench.providers.answers import google_details
from workbench.providers.base import (
    ImageRequest,
    ImageResult,
    ProviderError,
    base64_of,
    from_base64,
    reference_fields,
)
from workbench.providers.http import (
    HostedProvider,
    Job,
    current_job,
    mark_submitted,
    refused,
)

MODERATED_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
    }
)
_TEXT_LIMIT = 200


def classify(response: httpx.Response, detail: str) -> ProviderError | None:
    """Gemini's own error dialect (see the module docstring for sources)."""
    details = google_details(response)
    code = response.status_code
    if code == 400 and any(d.get("reason") == "API_KEY_INVALID" for d in details):
        return ProviderError(
            "auth",
            f"Google Gemini API says the key is not valid (HTTP 400 API_KEY_INVALID). Check your "
            f"key for gemini: {_key_help()}.",
        )
    if code == 429 and any(_per_day(d) for d in details):
        job = current_job()
        model = job.model_name if job is not None and job.model_name else "this model"
        said = f": {detail}" if detail else ""
        return ProviderError(
            "quota_exhausted",
            f"Daily quota reached for {model} on Google Gemini API (HTTP 429){said}. "
            "It resets at midnight Pacific time; retrying sooner will not help.",
        )
    return None


def _per_day(detail: dict[str, Any]) -> bool:
    if not str(detail.get("@type", "")).endswith("QuotaFailure"):
        return False
    violations = detail.get("violations")
    for violation in violations if isinstance(violations, list) else []:
        if not isinstance(violation, dict):
            continue
        names = f"{violation.get('quotaId', '')} {violation.get('quotaMetric', '')}".lower()
        if "perday" in names or "per_day" in names:
            return True
    return False


def _key_help() -> str:
    from workbench.providers.http import key_help

    return key_help("gemini")


class GeminiProvider(HostedProvider):
    name = "gemini"
    classify = staticmethod(classify)

    # -- what is sent ------------------------------------------------------------------------
    def _generation_config(self, request: ImageRequest) -> dict[str, Any]:
        image_config: dict[str, Any] = {"aspectRatio": request.aspect_ratio}
        if len(request.model.sizes) > 1:  # Nano Banana (2.5) has one fixed size and no field
            image_config["imageSize"] = request.size
        config: dict[str, Any] = {
            "responseModalities": ["TEXT", "IMAGE"], "imageConfig": image_config,
        }
        if request.seed is not None and request.offer.accepts_seed:
            config["seed"] = request.seed
        return config

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        names = [f"contents[0].parts[{i}].inlineData" for i in range(len(request.references))]
        return {
            "model_id": request.offer.model_id,
            "fallback_ids": list(request.offer.fallback_ids),
            "generationConfig": self._generation_config(request),
            **reference_fields(request, names),
        }

    def _body(self, request: ImageRequest) -> dict[str, Any]:
        images = [
            {"inlineData": {"mimeType": ref.mime, "data": base64_of(ref)}}
            for ref in request.references
        ]
        return {
            "contents": [{"role": "user", "parts": [*images, {"text": request.prompt}]}],
            "generationConfig": self._generation_config(request),
        }

    # -- the call ----------------------------------------------------------------------------
    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job.for_request(request)
        return await self._api.run(self._generate(request, job), job)

    async def _generate(self, request: ImageRequest, job: Job) -> ImageResult:
        ids = (request.offer.model_id, *request.offer.fallback_ids)
        body = self._body(request)
        headers = {"x-goog-api-key": self._key, "Content-Type": "application/json"}
        missing: list[str] = []
        last_404: ProviderError | None = None
        # A synchronous call has no "accepted" moment before it ends, and a crash mid-call may
        # still be billed: record the submit before sending, so a resume never sends it again.
        mark_submitted(request, None)
        for model_id in ids:
            try:
                response = await self._api.submit(
                    f"{self._base}/v1beta/models/{model_id}:generateContent",
                    json_body=body,
                    headers=headers,
                    retry_submit=refused(429, 503),
                    read_s=self._policy.sync_read_s,
                )
            except ProviderError as exc:
                if exc.status_code == 404:
                    missing.append(model_id)
                    last_404 = exc
                    continue
                raise
            answer = self._api.json(response, "the generation")
            job.request_id = _str(answer.get("responseId"))
            return self._result(request, model_id, answer, job)
        detail = last_404.message if last_404 else ""
        raise ProviderError(
            "config",
            f"The Gemini API does not know the model "
            f"{'id' if len(missing) == 1 else 'ids'} {', '.join(missing)} (HTTP 404). "
            f"Update model_id / fallback_ids in the catalog (workbench/domain/data/catalog.toml). "
            f"{detail}".strip(),
            status_code=404,
        )

    def _result(
        self, request: ImageRequest, model_id: str, answer: dict[str, Any], job: Job
    ) -> ImageResult:
        feedback = answer.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            reason = str(feedback["blockReason"])
            said = _str(feedback.get("blockReasonMessage"))
            raise ProviderError(
                "moderated",
                f"Gemini blocked the prompt ({reason})" + (f": {said}" if said else "."),
            )
        candidates = answer.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            raise ProviderError("no_image", "Gemini answered without any candidate image.")
        candidate = candidates[0] if isinstance(candidates[0], dict) else {}
        finish = _str(candidate.get("finishReason")) or "none"
        content = candidate.get("content")
        raw_parts = content.get("parts") if isinstance(content, dict) else None
        parts = [p for p in raw_parts if isinstance(p, dict)] if isinstance(raw_parts, list) else []
        image = _last_image(parts)
        if image is None:
            said = _model_text(parts) or _str(candidate.get("finishMessage"))
            said_text = f" The model said: {said}" if said else ""
            if finish in MODERATED_REASONS:
                raise ProviderError(
                    "moderated", f"Gemini withheld the image (finish reason {finish}).{said_text}"
                )
            raise ProviderError(
                "no_image", f"Gemini returned no image (finish reason {finish}).{said_text}"
            )
        data_b64, mime = image
        usage = answer.get("usageMetadata")
        limit = self._policy.max_image_bytes
        if len(data_b64) * 3 // 4 > limit:  # counted before decoding; the tokens are billed
            raise ProviderError(
                "malformed",
                f"Gemini's image is larger than {limit / 1024 / 1024:g} MB; not decoded or stored.",
                cost_usd=token_cost(request, usage),
                cost_confirmed=request.offer.price_confirmed,
                billed="billed",
            )
        try:
            data = from_base64(data_b64, strict=True)
        except (binascii.Error, ValueError):
            raise ProviderError("malformed", "Gemini's image part is not valid base64.") from None
        return ImageResult(
            data=data,
            mime=mime,
            provider_request_id=job.request_id,
            provider_model_id=model_id,
            seed=request.seed if request.offer.accepts_seed else None,  # sent, not echoed
            cost_usd=token_cost(request, usage),
            cost_confirmed=request.offer.price_confirmed,
            meta={"finish_reason": finish, "tokens": billed_tokens(usage)},
        )



def _last_image(parts: list[dict[str, Any]]) -> tuple[str, str | None] | None:
    """The last image part that is not a `thought` (draft) image."""
    for part in reversed(parts):
        if part.get("thought") is True:
            continue
        blob = part.get("inlineData") or part.get("inline_data")
        if isinstance(blob, dict) and isinstance(blob.get("data"), str) and blob["data"]:
            mime = blob.get("mimeType") or blob.get("mime_type")
            return blob["data"], mime if isinstance(mime, str) else None
    return None


def _model_text(parts: list[dict[str, Any]]) -> str:
    texts = [p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought")]
    text = " ".join(" ".join(texts).split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def billed_tokens(usage: Any) -> dict[str, int]:
    """Billed token counts by price class: input, text (answer text and thinking), image."""
    if not isinstance(usage, dict):
        return {}

    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    tokens = {"input": count(usage.get("promptTokenCount")), "text": 0, "image": 0}
    tokens["text"] += count(usage.get("thoughtsTokenCount"))
    details = usage.get("candidatesTokensDetails")
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict):
                kind = "image" if item.get("modality") == "IMAGE" else "text"
                tokens[kind] += count(item.get("tokenCount"))
    else:  # no per-modality split: all candidate tokens are image tokens for these models
        tokens["image"] += count(usage.get("candidatesTokenCount"))
    return tokens


def token_cost(request: ImageRequest, usage: Any) -> float | None:
    prices = request.offer.token_usd_per_million
    tokens = billed_tokens(usage)
    if prices is None or not tokens.get("image"):
        return None
    total = (
        tokens["input"] * prices.input
        + tokens["text"] * prices.text_output
        + tokens["image"] * prices.image_output
    )
    return round(total / 1_000_000, 6)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

"""Google Gemini API adapter for the Nano Banana models: one synchronous `generateContent` call.

Wire format from ../shared/providers.md §1: `POST {base}/v1beta/models/{id}:generateContent`
with the key in `x-goog-api-key`, aspect ratio and image size in
`generationConfig.imageConfig` (size only for models with more than one size tier). The answer
carries the image as base64 `inlineData`; "thinking" models may add interim images marked
`thought: true`, which are skipped, and the last remaining image part is taken.

Model ids: the catalog's stable id first, then its `fallback_ids` (the `-preview` ids) when the
API answers 404 NOT_FOUND for an id (no work was done, so trying the next id is free).

Retries (never a second paid call unless Google did no work):
- the connection could not be made: retried with backoff;
- 429 RESOURCE_EXHAUSTED and 503 UNAVAILABLE: refused before any generation, retried honouring
  Retry-After (bounded);
- 500, 502, 504, a read timeout or a dropped connection: NOT retried, the model may already have
  generated (and billed) the image;
- 400, 401/403, 402: never.

Outcomes: `promptFeedback.blockReason` -> moderated; a finish reason in `MODERATED_REASONS`
without an image -> moderated; any other answer without an image (NO_IMAGE, IMAGE_OTHER, ...)
-> failed (`no_image`) with the reason and whatever text the model said.

Cost: image tokens (`usageMetadata.candidatesTokensDetails`, modality IMAGE) x the catalog's
`image_token_usd_per_million` when the catalog marks that price confirmed; otherwise None and
the generation records the catalog estimate.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from workbench.providers.base import ImageRequest, ImageResult, ProviderError
from workbench.providers.http import (
    HostedProvider,
    Job,
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


class GeminiProvider(HostedProvider):
    name = "gemini"

    # -- what is sent ------------------------------------------------------------------------
    def _generation_config(self, request: ImageRequest) -> dict[str, Any]:
        image_config: dict[str, Any] = {"aspectRatio": request.aspect_ratio}
        if len(request.model.sizes) > 1:  # Nano Banana (2.5) has one fixed size and no field
            image_config["imageSize"] = request.size
        return {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": image_config}

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "model_id": request.offer.model_id,
            "fallback_ids": list(request.offer.fallback_ids),
            "generationConfig": self._generation_config(request),
        }

    def _body(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "generationConfig": self._generation_config(request),
        }

    # -- the call ----------------------------------------------------------------------------
    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job()
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
            f"The Gemini API does not know the model id(s) {', '.join(missing)} (HTTP 404). "
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
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderError("malformed", "Gemini's image part is not valid base64.") from None
        return ImageResult(
            data=data,
            mime=mime,
            provider_request_id=job.request_id,
            provider_model_id=model_id,
            seed=None,  # the Nano Banana models take no seed
            cost_usd=_token_cost(request, usage),
            meta={"finish_reason": finish, "image_tokens": _image_tokens(usage)},
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


def _image_tokens(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    details = usage.get("candidatesTokensDetails")
    if not isinstance(details, list):
        return None
    tokens = [
        d.get("tokenCount") for d in details if isinstance(d, dict) and d.get("modality") == "IMAGE"
    ]
    counts = [t for t in tokens if isinstance(t, int) and not isinstance(t, bool) and t >= 0]
    return sum(counts) if counts else None


def _token_cost(request: ImageRequest, usage: Any) -> float | None:
    per_million = request.offer.image_token_usd_per_million
    tokens = _image_tokens(usage)
    if per_million is None or tokens is None or not request.offer.price_confirmed:
        return None
    return round(tokens * per_million / 1_000_000, 6)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

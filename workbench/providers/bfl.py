"""Black Forest Labs API adapter (FLUX.2 pro / max / flex, FLUX1.1 pro Ultra): submit, poll,
download.

Wire format (docs/providers.md, "Black Forest Labs"; https://api.bfl.ai/openapi.json):
`POST {base}/v1/{model_id}` with the key in `x-key`;
the answer gives `id`, `polling_url` and `cost` (credits, 1 credit = $0.01). The client then
GETs `polling_url` exactly as given (it names the cluster that took the job; it is never
rebuilt) until the status is terminal, and downloads `result.sample` at once (it expires after
10 minutes) without sending the key. FLUX.2 takes `width`/`height` (multiples of 16 from the
request); Ultra takes `aspect_ratio` (and `raw`) instead. Flex passes `steps` and `guidance`.

Prompt rewriting (https://api.bfl.ai/openapi.json): FLUX.2 [pro] and [max] upsample the prompt
unless `disable_pup` is true (`Flux2Inputs.disable_pup`); [flex] has `prompt_upsampling`, default
true (`Flux2FlexInputs`); Ultra has `prompt_upsampling`, default false (`FluxUltraInput`). The
catalog's `prompt_rewrite` names the field per model, and it is sent set to "keep my prompt"
unless the user allowed the rewrite. The result's `prompt` (blackforest `responses.py`
`GenerationResult.prompt`) is kept when it differs from the prompt sent.

Reference images (https://api.bfl.ai/openapi.json, `Flux2Inputs` / `Flux2FlexInputs`:
"input_image ... URL or base64", `input_image_2` ... `input_image_8`; `FluxUltraInput`:
`image_prompt`, base64): FLUX.2 sends the first as `input_image`, the next as `input_image_2`
and so on; Ultra sends one as `image_prompt`. Both as plain base64 (no `data:` prefix). BFL bills
the input megapixels (the submit answer's `input_mp`; black-forest-labs/skills SKILL.md: "1 MP
I2I" costs more than T2I).

Statuses: `Pending` (and the progress names `Reasoning`, `Generating` seen in third-party
clients) keep polling; `Ready` succeeds; `Request Moderated` / `Content Moderated` -> moderated;
`Error` / `Failed` -> failed (server), with the task's `error` text or `details` (an errored
task may answer `{"status": "Error", "error": ...}`: black-forest-labs/skills
references/error-handling.md), except `"error": "content_policy_violation"`, BFL's policy block
reported on the poll (the same skills page) -> moderated; `Task not found` -> failed
(not_found); anything else -> failed (malformed, "unknown status").

Retries (never a second paid submit unless BFL did no work):
- the connection could not be made: retried;
- 429 (too many active tasks) and 503: BFL refused the task, retried honouring Retry-After;
- 500, 502, 504, a read timeout or a dropped connection on the submit: NOT retried, the task may
  exist and be billed;
- polls and the image download are free and idempotent: 408/429/5xx and transport errors are
  retried with backoff within the overall deadline.

Errors on calls (https://docs.bfl.ai/api_integration/integration_guidelines; skills
error-handling.md): 401/403 -> auth; 402 -> credits; 422 (FastAPI `detail[]`) -> bad_request;
429 (more than 24 active tasks) -> rate_limited; 5xx -> server.

Deadline: BFL has no cancel endpoint, so a job given up at the deadline is recorded as
"timed out (may be billed)"; `workbench recover` can fetch it later from its polling URL. Sizes
are counted in decimal megapixels (1024 x 1024 = 1.05 MP) and each side is at least 256 px
(help.bfl.ai).

Cost: the settled `cost` of the poll answer when present (`SettledCostResultResponse.cost`,
https://api.bfl.ai/openapi.json), else the submit answer's provisional `cost` (both in credits,
recorded on every later outcome, moderated and failed ones too); otherwise None and the catalog
estimate is used.
"""

from __future__ import annotations

import time
from typing import Any

from workbench.providers.base import (
    ImageRequest,
    ImageResult,
    ProviderError,
    Resumable,
    base64_of,
    reference_fields,
    rewrite_fields,
)
from workbench.providers.http import (
    HostedProvider,
    Job,
    mark_submitted,
    refused,
)

PENDING = frozenset({"Pending", "Reasoning", "Generating"})
MODERATED = {"Request Moderated": "the prompt", "Content Moderated": "the generated image"}
FAILED = frozenset({"Error", "Failed"})
FLEX_OPTIONS = ("steps", "guidance")
POLICY_BLOCK = "content_policy_violation"
OUTPUT_FORMAT = "png"
FLUX2_REFERENCE_FIELDS = ["input_image", *(f"input_image_{n}" for n in range(2, 9))]
ULTRA_REFERENCE_FIELDS = ["image_prompt"]


def _reference_names(request: ImageRequest) -> list[str]:
    if request.model.wire_shape == "flux-ultra":
        return ULTRA_REFERENCE_FIELDS
    return FLUX2_REFERENCE_FIELDS


class BflProvider(HostedProvider):
    name = "bfl"

    def _params(self, request: ImageRequest) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.model.wire_shape == "flux-ultra":
            params["aspect_ratio"] = request.aspect_ratio
            params.update(rewrite_fields(request))
            if "raw" in request.options:
                params["raw"] = bool(request.options["raw"])
        else:
            params["width"] = request.width
            params["height"] = request.height
            params.update(rewrite_fields(request))
            for name in FLEX_OPTIONS:
                if name in request.options:
                    params[name] = request.options[name]
        if request.seed is not None:
            params["seed"] = request.seed
        params["output_format"] = OUTPUT_FORMAT
        return params

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "endpoint": f"/v1/{request.offer.model_id}",
            **self._params(request),
            **reference_fields(request, _reference_names(request)),
        }

    def _references(self, request: ImageRequest) -> dict[str, str]:
        names = _reference_names(request)
        return {name: base64_of(ref) for name, ref in zip(names, request.references, strict=False)}

    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job.for_request(request)
        return await self._api.run(self._generate(request, job), job)

    async def _generate(self, request: ImageRequest, job: Job) -> ImageResult:
        api = self._api
        auth = {"x-key": self._key}
        response = await api.submit(
            f"{self._base}/v1/{request.offer.model_id}",
            json_body={
                "prompt": request.prompt,
                **self._params(request),
                **self._references(request),
            },
            headers={**auth, "Content-Type": "application/json"},
            retry_submit=refused(429, 503),
        )
        job.submitted_at = time.perf_counter()
        accepted = api.json(response, "the submit")
        job.request_id = _str(accepted.get("id"))
        job.cost_usd = _credits_to_usd(accepted.get("cost"))
        polling_url = _str(accepted.get("polling_url"))
        mark_submitted(request, job.request_id, polling_url)
        if polling_url is None:
            raise api.malformed(
                "the submit answer has no polling_url, and the workbench does not guess one."
            )
        answer = await self._poll(polling_url)
        return await self._outcome(
            answer, job, request.offer.model_id, request.seed, request.prompt
        )

    async def recover(self, resumable: Resumable) -> ImageResult:
        """The result of a task accepted before a crash: poll its polling_url; a sample link
        lives 10 minutes (blackforest `responses.py`), after which it has expired."""
        job = Job(request_id=resumable.provider_request_id)

        async def fetch() -> ImageResult:
            answer = await self._poll(resumable.resume_url)
            return await self._outcome(
                answer, job, resumable.provider_model_id, resumable.seed
            )

        return await self._api.run(fetch(), job)

    async def _poll(self, polling_url: str) -> dict[str, Any]:
        return await self._api.poll(
            polling_url,
            headers={"x-key": self._key},
            what="the status poll",
            is_terminal=lambda body: body.get("status") not in PENDING,
        )

    async def _outcome(
        self,
        answer: dict[str, Any],
        job: Job,
        model_id: str | None,
        seed_asked: int | None,
        prompt_sent: str | None = None,
    ) -> ImageResult:
        api = self._api
        status = answer.get("status")
        settled = _credits_to_usd(answer.get("cost"))
        if settled is not None:  # the settled charge replaces the submit's provisional one
            job.cost_usd = settled
        details = _details(answer.get("error") or answer.get("details"))
        if status == "Ready":
            result = answer.get("result")
            sample = _str(result.get("sample")) if isinstance(result, dict) else None
            if sample is None:
                raise ProviderError("no_image", "BFL said Ready but gave no result.sample URL.")
            image = await api.download(sample)
            seed = result.get("seed") if isinstance(result, dict) else None
            used = _str(result.get("prompt")) if isinstance(result, dict) else None
            return ImageResult(
                data=image.data,
                mime=image.mime,
                provider_request_id=job.request_id,
                provider_model_id=model_id,
                seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else seed_asked,
                cost_usd=job.cost_usd,
                prompt_used=used if used is not None and used != prompt_sent else None,
            )
        if status in MODERATED:
            raise ProviderError(
                "moderated", f"BFL's moderation blocked {MODERATED[status]} ({status}){details}."
            )
        if status in FAILED and _policy_block(answer):
            raise ProviderError(
                "moderated", f"BFL's content policy blocked the task ({status}){details}."
            )
        if status in FAILED:
            raise ProviderError(
                "server", f"BFL reported an error for the task ({status}){details}."
            )
        if status == "Task not found":
            raise ProviderError(
                "not_found", "BFL no longer knows the task (Task not found); it may have expired."
            )
        shown = repr(status)[:60]
        raise api.malformed(f"the task has an unknown status {shown}.")



def _credits_to_usd(cost: Any) -> float | None:
    if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
        return round(float(cost) / 100, 6)
    return None


def _policy_block(answer: dict[str, Any]) -> bool:
    error, details = answer.get("error"), answer.get("details")
    if error == POLICY_BLOCK:
        return True
    return isinstance(details, dict) and POLICY_BLOCK in (details.get("error"), details.get("type"))


def _details(details: Any) -> str:
    """A short readable rendering of BFL's free-form `details` (shape UNCONFIRMED)."""
    if not details:
        return ""
    if isinstance(details, dict):
        parts = []
        for key, value in details.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {shown}")
        text = "; ".join(parts)
    elif isinstance(details, list):
        text = ", ".join(map(str, details))
    else:
        text = str(details)
    text = " ".join(text.split())
    return f": {text[:200]}" if text else ""


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

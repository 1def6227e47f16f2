"""Replicate adapter: predictions on official models (both families, FLUX.2 [dev] included).

Wire format (docs/providers.md, "Replicate"): `POST {base}/v1/models/{owner}/{name}/predictions`
with `Authorization: Bearer`, body `{"input": {...}}` and `Prefer: wait=N` (sync mode, at most
60 s). When the answer is not finished yet (status `starting` / `processing` without output)
the client polls `urls.get` exactly as given (never rebuilt) until the status is terminal or
output is present, then downloads the output URL (it expires after an hour) without the key.

Statuses: `succeeded` (or any status with `output` present) -> image; `failed` -> moderated when
the error reads like a safety block, else failed (server) with Replicate's error text;
`canceled` / `aborted` -> failed, billed as Replicate's prediction-lifecycle docs say
(https://replicate.com/docs/topics/predictions/lifecycle): "Aborted (never started): No
charge"; "Canceled (started running): You pay for the time the prediction ran", so a prediction
canceled after `started_at` is "may be billed", its cost estimated from `metrics.predict_time`
where the offer has a per-second price (`usd_per_second`), else unknown; canceled before it
started ran for no time and is not billed; anything else -> failed (malformed, "unknown
status").

Retries (never a second paid prediction unless Replicate did no work):
- the connection could not be made: retried;
- 429 on create: throttled before any prediction exists, retried honouring Retry-After;
- 5xx, a read timeout or a dropped connection on create: NOT retried, a prediction may exist;
- polls and downloads are free and idempotent: retried with backoff within the deadline.

Deadline: the create carries `Cancel-After` (the workbench's overall deadline): a prediction
still running then is stopped by Replicate itself (`aborted` before it starts is not billed).
If the workbench gives up first it POSTs `urls.cancel`
(https://replicate.com/docs/topics/predictions/create-a-prediction; replicate-python
`Prediction.cancel`) and polls `urls.get` until the prediction is final: succeeded (stored,
paid), aborted (free) or canceled (billed as above).

Prompt rewriting: FLUX.2 [flex] takes `prompt_upsampling` (default true; replicate.com
black-forest-labs/flux-2-flex/api), sent false unless the user allows the rewrite; FLUX.2 [pro] /
[max] list no such input although BFL upsamples them by default, which the catalog marks so the
Build page says it cannot be turned off.

Error mapping (https://replicate.com/docs/reference/http; errors are RFC 7807 problem details,
replicate-python `exceptions.ReplicateError`): 401 -> auth; 402 -> credits; 422 "Input
validation failed" with `invalid_fields[]` (a value outside an enum, say) -> bad_request with
each field's description; 429 -> rate_limited (Retry-After); 5xx -> server; a prediction
`failed` whose error reads like a safety block (E005 "flagged as sensitive") -> moderated.

Aspect ratios: FLUX.2 pro/max/flex list no 21:9 or 9:21; the catalog marks those offers with
`custom_size`, and such a ratio goes as `aspect_ratio: "custom"` with `width`/`height`
(256-2048 px, multiples of 32) instead of a 422.

Reference images go as URIs in the model's own input field (replicate.com model API pages):
`image_input` (a list) for the Nano Banana models, `input_images` (a list) for FLUX.2 pro / max /
flex / dev, `image_prompt` (one) for FLUX1.1 Ultra (third-party copies of its schema). The
workbench sends data URIs, which Replicate accepts in place of a URL and recommends under 1 MB
(https://replicate.com/docs/topics/predictions/input-files); the catalog's `max_bytes` keeps each
image under that.

Cost: Replicate reports none per prediction, so the catalog estimate is recorded. The seed is
read from the logs ("seed: N") when the model prints it, else the one asked for.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime
from typing import Any

from workbench.domain.catalog import accepts_ratio
from workbench.providers.base import (
    ErrorKind,
    ImageRequest,
    ImageResult,
    ProviderError,
    Resumable,
    data_uri,
    reference_fields,
    rewrite_fields,
)
from workbench.providers.http import (
    HostedProvider,
    Job,
    Stopped,
    mark_submitted,
    refused,
)

RUNNING = frozenset({"starting", "processing"})
STOPPED = frozenset({"canceled", "aborted"})
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
_SAFETY = re.compile(r"nsfw|safety|sensitive|flagged|moderat|content polic|\bE005\b", re.I)
_SEED_IN_LOGS = re.compile(r"\bseed\b\D{0,4}(\d{1,12})", re.I)
NANO_RESOLUTIONS = ("1K", "2K", "4K")
DEV_SIDE = (256, 1440)
FLEX_OPTIONS = ("steps", "guidance")
# The input field that takes reference images, per wire shape, and whether it is a list.
REFERENCE_FIELD = {
    "nano-banana": ("image_input", True),
    "flux-2": ("input_images", True),
    "flux-2-dev": ("input_images", True),
    "flux-ultra": ("image_prompt", False),
}


def _reference_names(request: ImageRequest) -> list[str]:
    name, is_list = REFERENCE_FIELD[request.model.wire_shape]
    count = max(len(request.references), 1) if is_list else 1
    return [f"{name}[{i}]" if is_list else name for i in range(count)]


class ReplicateProvider(HostedProvider):
    name = "replicate"

    def _input(self, request: ImageRequest) -> dict[str, Any]:
        """The model's input without the prompt, in the names Replicate's schemas use."""
        model = request.model
        params: dict[str, Any] = {"aspect_ratio": request.aspect_ratio}
        shape = model.wire_shape
        if shape == "nano-banana":
            if len(model.sizes) > 1:
                if request.size not in NANO_RESOLUTIONS:
                    raise ProviderError(
                        "bad_request",
                        f"Replicate serves {model.name} at {', '.join(NANO_RESOLUTIONS)} only, "
                        f"not {request.size}; choose another size or provider.",
                    )
                params["resolution"] = request.size
            params["output_format"] = "png"
            return params
        if shape == "flux-ultra":
            if "raw" in request.options:
                params["raw"] = bool(request.options["raw"])
            params.update(rewrite_fields(request))
        elif shape == "flux-2-dev":
            if request.size != "1MP":  # other sizes need a custom width x height
                low, high = DEV_SIDE
                if not (low <= request.width <= high and low <= request.height <= high):
                    raise ProviderError(
                        "bad_request",
                        f"Replicate's {model.name} takes {low}-{high} px a side; "
                        f"{request.width}x{request.height} is outside that. Choose a smaller "
                        "size or another aspect ratio.",
                    )
                params.update(aspect_ratio="custom", width=request.width, height=request.height)
            params.update(rewrite_fields(request))
        else:
            if accepts_ratio(request.offer, request.aspect_ratio):
                params["resolution"] = request.size.replace("MP", " MP")
            else:  # the catalog routed this ratio to an explicit size
                params.update(aspect_ratio="custom", width=request.width, height=request.height)
            params.update(rewrite_fields(request))
            for name in FLEX_OPTIONS:
                if name in request.options:
                    params[name] = request.options[name]
        if request.seed is not None:
            params["seed"] = request.seed
        params["output_format"] = "png"
        return params

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "model": request.offer.model_id,
            **self._input(request),
            **reference_fields(request, _reference_names(request)),
        }

    def _references(self, request: ImageRequest) -> dict[str, Any]:
        if not request.references:
            return {}
        name, is_list = REFERENCE_FIELD[request.model.wire_shape]
        uris = [data_uri(ref) for ref in request.references]
        return {name: uris if is_list else uris[0]}

    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job.for_request(request)
        return await self._api.run(self._generate(request, job), job)

    async def _generate(self, request: ImageRequest, job: Job) -> ImageResult:
        api = self._api
        auth = {"Authorization": f"Bearer {self._key}"}
        headers = {
            **auth,
            "Content-Type": "application/json",
            "Cancel-After": f"{max(5, math.ceil(self._policy.deadline_s))}s",
        }
        wait = self._policy.replicate_wait_s
        if wait > 0:
            headers["Prefer"] = f"wait={wait}"
        response = await api.submit(
            f"{self._base}/v1/models/{request.offer.model_id}/predictions",
            json_body={
                "input": {
                    "prompt": request.prompt,
                    **self._input(request),
                    **self._references(request),
                }
            },
            headers=headers,
            retry_submit=refused(429),
            read_s=self._policy.sync_read_s if wait > 0 else None,
        )
        job.submitted_at = time.perf_counter()
        prediction = api.json(response, "the prediction")
        job.request_id = _str(prediction.get("id"))
        urls = prediction.get("urls")
        get_url = _str(urls.get("get")) if isinstance(urls, dict) else None
        cancel_url = _str(urls.get("cancel")) if isinstance(urls, dict) else None
        rate = request.offer.usd_per_second
        if cancel_url is not None:

            async def stop() -> Stopped | ImageResult:
                answer = api.json(
                    await api.cancel("POST", cancel_url, headers=auth), "the cancel"
                )
                if not _final(answer) and get_url is not None:
                    answer = await api.poll(
                        get_url, headers=auth, what="the prediction poll", is_terminal=_final
                    )
                if answer.get("status") in STOPPED:
                    return _stopped(answer, rate)
                return await self._outcome(answer, job, request.offer.model_id, request.seed)

            job.stop = stop
        mark_submitted(request, job.request_id, get_url)
        if not _finished(prediction):
            if get_url is None:
                raise api.malformed(
                    "the unfinished prediction has no urls.get, and the workbench does not "
                    "guess one."
                )
            prediction = await api.poll(
                get_url, headers=auth, what="the prediction poll", is_terminal=_finished
            )
        return await self._outcome(
            prediction, job, request.offer.model_id, request.seed, rate
        )

    async def recover(self, resumable: Resumable) -> ImageResult:
        """The result of a prediction created before a crash: poll its urls.get; output files
        are deleted after an hour (replicate.com docs, "output files"), then it has expired."""
        job = Job(request_id=resumable.provider_request_id)

        async def fetch() -> ImageResult:
            prediction = await self._api.poll(
                resumable.resume_url,
                headers={"Authorization": f"Bearer {self._key}"},
                what="the prediction poll",
                is_terminal=_finished,
            )
            return await self._outcome(
                prediction, job, resumable.provider_model_id, resumable.seed
            )

        return await self._api.run(fetch(), job)

    async def _outcome(
        self,
        prediction: dict[str, Any],
        job: Job,
        model_id: str | None,
        seed: int | None,
        rate: float | None = None,
    ) -> ImageResult:
        api = self._api
        status = prediction.get("status")
        output_url = _output_url(prediction.get("output"))
        if output_url is not None and status not in ("failed", "canceled", "aborted"):
            image = await api.download(output_url)
            return ImageResult(
                data=image.data,
                mime=image.mime,
                provider_request_id=job.request_id,
                provider_model_id=model_id,
                seed=_seed_from_logs(prediction.get("logs"), seed),
                queue_ms=_queue_ms(prediction),
            )
        error = " ".join(str(prediction.get("error") or "").split())[:300]
        if status == "failed":
            kind: ErrorKind = "moderated" if _SAFETY.search(error) else "server"
            raise ProviderError(
                kind, "Replicate's prediction failed" + (f": {error}" if error else ".")
            )
        if status in STOPPED:
            stopped = _stopped(prediction, rate)
            raise ProviderError(
                "server", f"{stopped.said}.", billed=stopped.billed, cost_usd=stopped.cost_usd,
                cost_confirmed=stopped.cost_confirmed,
            )
        if status == "succeeded":
            raise ProviderError("no_image", "Replicate's prediction succeeded without an output.")
        raise api.malformed(f"the prediction has an unknown status {repr(status)[:60]}.")



def _finished(prediction: dict[str, Any]) -> bool:
    status = prediction.get("status")
    if status in RUNNING:
        return _output_url(prediction.get("output")) is not None
    return True  # terminal, or unknown (reported as such instead of polling forever)


def _final(prediction: dict[str, Any]) -> bool:
    return prediction.get("status") in TERMINAL


def _stopped(prediction: dict[str, Any], usd_per_second: float | None) -> Stopped:
    """A prediction that ended `aborted` or `canceled`, billed as Replicate's lifecycle docs
    say (module docstring): free unless it started running, then the time it ran."""
    if prediction.get("status") == "aborted":
        return Stopped(
            "not_billed", "Replicate aborted the prediction before it started (not billed)",
            cost_usd=0.0, cost_confirmed=False,
        )
    metrics = prediction.get("metrics")
    ran = metrics.get("predict_time") if isinstance(metrics, dict) else None
    ran_s = float(ran) if isinstance(ran, int | float) and not isinstance(ran, bool) else None
    if not prediction.get("started_at") and not ran_s:
        return Stopped(
            "not_billed", "Replicate canceled the prediction before it started running",
            cost_usd=0.0, cost_confirmed=False,
        )
    ran_text = f" after running {ran_s:g} s" if ran_s is not None else " after it started"
    cost = round(ran_s * usd_per_second, 6) if ran_s and usd_per_second is not None else None
    return Stopped(
        "may_be_billed",
        f"Replicate canceled the prediction{ran_text}; it may be billed for the time it ran",
        cost_usd=cost, cost_confirmed=False,
    )


def _output_url(output: Any) -> str | None:
    if isinstance(output, str) and output:
        return output
    if isinstance(output, list):
        urls = [o for o in output if isinstance(o, str) and o]
        return urls[0] if urls else None
    return None


def _seed_from_logs(logs: Any, asked: int | None) -> int | None:
    if isinstance(logs, str):
        match = _SEED_IN_LOGS.search(logs)
        if match:
            return int(match.group(1))
    return asked


def _queue_ms(prediction: dict[str, Any]) -> float | None:
    created, started = prediction.get("created_at"), prediction.get("started_at")
    if not (isinstance(created, str) and isinstance(started, str)):
        return None
    try:
        delta = datetime.fromisoformat(started) - datetime.fromisoformat(created)
    except ValueError:
        return None
    ms = delta.total_seconds() * 1000
    return round(ms, 3) if ms >= 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

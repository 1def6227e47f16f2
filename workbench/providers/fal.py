"""fal.ai adapter: the queue API for both families (FLUX.2 [dev] is `fal-ai/flux-2`).

Wire format (docs/providers.md, "fal.ai"; https://docs.fal.ai/model-apis/model-endpoints/queue
and fal_client `client.py`): `POST {base}/{app_id}` with `Authorization: Key` and the model input
as the body; the answer gives `request_id`, `status_url`, `response_url` and `cancel_url`, which
are followed exactly as given (never rebuilt: subpaths differ). The client polls `status_url`
until `COMPLETED`, GETs `response_url` for the result JSON and downloads `images[0].url`
without the key (fal CDN URLs are public; data URIs are decoded).

Error mapping (https://docs.fal.ai/model-apis/errors, .../request-errors; fal_client
`_raise_for_status`): a content-policy block still reaches `COMPLETED`; fetching the result
then answers 422 whose `detail[].type` is `content_policy_violation` (with `X-Fal-Retryable:
false`) -> moderated. Other 422s -> bad_request with fal's detail. A `COMPLETED` status that
carries `error` / `error_type` names an infrastructure fault (`request_timeout`,
`runner_disconnected`, ...) -> server. `has_nsfw_concepts` flagging the image -> moderated
(fal blanks such images). 401/403 -> auth, 402 or "insufficient credits" -> credits.

Retries (never a second paid submit unless fal cannot have received it), as fal_client's
`_should_retry_response` / `_is_ingress_error` decide:
- the connection could not be made: retried;
- 408 / 429: the request was refused, retried honouring Retry-After;
- 502 / 503 / 504 only when fal's ingress answered: no `x-fal-request-id` header AND an nginx
  error body (fal's own heuristic); any other 5xx, a read timeout or a dropped connection on
  the submit is NOT retried;
- status polls, the result fetch and the download are idempotent: retried with backoff.

Deadline: the submit carries `X-Fal-Request-Timeout` (seconds; fal_client `_headers.py`), which
is a deadline for the request to *start*: "does not limit total request time ... once a runner
begins processing, the timeout stops" (fal platform-headers doc). A request fal could not start
in time fails there (`startup_timeout` / `request_timeout`, 5xx, not billed: fal faq). When the
workbench's own deadline passes first it PUTs `cancel_url`, and since a cancel of a running
request is only a signal the app may ignore (docs.fal.ai handle-cancellations), it polls the
status to the final state: the cancel answers `CANCELLATION_REQUESTED` (202),
`ALREADY_COMPLETED` (400) or `NOT_FOUND` (404) (docs.fal.ai queue, "Cancel a request"); a
`COMPLETED` request with images is a success, stored and paid; one that ends cancelled
(`error_type` `client_cancelled`, docs.fal.ai request-errors) is free when the cancel came
while it was still `IN_QUEUE` ("removed and never processed": handle-cancellations), else
"may be billed".

Inputs: Nano Banana apps take `aspect_ratio` and `resolution` (fal writes 512 as "0.5K");
FLUX.2 apps take `image_size: {width, height}`; Ultra takes `aspect_ratio` and `raw`. The Flex
option names on fal (`num_inference_steps`, `guidance_scale`) follow FLUX.2 [dev]'s schema and
are UNCONFIRMED for `fal-ai/flux-2-flex`. Prompt rewriting: the catalog's `prompt_rewrite`
names the input (`enable_prompt_expansion` on FLUX.2 [flex] / [dev], `enhance_prompt` on Ultra),
sent off unless the user allows the rewrite; fal's FLUX.2 [pro] / [max] rewrite with no input to
stop it, which the Build page says. The result's `prompt` is kept when it differs from the one
sent.

Reference images: Nano Banana and FLUX.2 apps take them on their edit endpoints (the catalog's
`reference.model_id`, e.g. `fal-ai/flux-2-pro/edit`, `fal-ai/flux-2-flex/edit`) as `image_urls`,
a list (fal model pages `fal-ai/nano-banana-2/edit`, `fal-ai/flux-2-max/edit`,
`fal-ai/flux-2-flex/edit` llms.txt); FLUX1.1 Ultra takes one as
`image_url` on its own endpoint. The workbench sends data URIs: "some models also accept data
URIs (`data:image/png;base64,...`) for inline file content" (https://fal.ai/docs/documentation/
model-apis/fal-cdn). fal counts input images in the price of the FLUX.2 edit endpoints.

Cost: fal reports none per request, so the catalog estimate is recorded.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import httpx

from workbench.providers.base import (
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
    elapsed_ms,
    mark_submitted,
)

PENDING = frozenset({"IN_QUEUE", "IN_PROGRESS"})
_INGRESS_RETRY = frozenset({502, 503, 504})
FAL_RESOLUTION = {"512": "0.5K"}
FLEX_OPTIONS = {"steps": "num_inference_steps", "guidance": "guidance_scale"}
CANCELLED = "client_cancelled"  # docs.fal.ai request-errors: "cancelled by the client", 499
# The cancel's answers (docs.fal.ai queue, "Cancel a request"): 202, 400 and 404 all say where
# the request stands, so none of them is an error here.
CANCEL_ANSWERS = frozenset({202, 400, 404})


def _reference_names(request: ImageRequest) -> list[str]:
    if request.model.wire_shape == "flux-ultra":
        return ["image_url"]
    return [f"image_urls[{i}]" for i in range(max(len(request.references), 1))]


def _retry_submit(response: httpx.Response) -> bool:
    if response.status_code in (408, 429):
        return True
    return _ingress_error(response)


def _ingress_error(response: httpx.Response) -> bool:
    """fal_client's `_is_ingress_error`: a gateway answer that never reached a fal app."""
    return (
        response.status_code in _INGRESS_RETRY
        and "x-fal-request-id" not in response.headers
        and "nginx" in response.text.lower()
    )


def classify(response: httpx.Response, detail: str) -> ProviderError | None:
    """fal's content-policy 422 and its cancelled request (see the module docstring for
    sources)."""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    error_type = body.get("error_type") if isinstance(body, dict) else None
    if CANCELLED in (error_type, response.headers.get("x-fal-error-type")):
        return ProviderError("cancelled", f"fal cancelled the request ({CANCELLED}).")
    if response.status_code != 422 or body is None:
        return None
    items = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    if any(isinstance(i, dict) and i.get("type") == "content_policy_violation" for i in items):
        return ProviderError(
            "moderated", f"fal's content policy blocked this request (HTTP 422): {detail}"
        )
    return None


class FalProvider(HostedProvider):
    name = "fal"
    classify = staticmethod(classify)

    def _input(self, request: ImageRequest) -> dict[str, Any]:
        model = request.model
        params: dict[str, Any] = {}
        shape = model.wire_shape
        if shape in ("nano-banana", "flux-ultra"):
            params["aspect_ratio"] = request.aspect_ratio
            if shape == "nano-banana" and len(model.sizes) > 1:
                params["resolution"] = FAL_RESOLUTION.get(request.size, request.size)
            if "raw" in request.options:
                params["raw"] = bool(request.options["raw"])
            if shape == "flux-ultra":
                params.update(rewrite_fields(request))
            params["num_images"] = 1
        else:
            params["image_size"] = {"width": request.width, "height": request.height}
            params.update(rewrite_fields(request))
            for name, wire in FLEX_OPTIONS.items():
                if name in request.options:
                    params[wire] = request.options[name]
            if shape == "flux-2-dev":
                params["num_images"] = 1
        if request.seed is not None:
            params["seed"] = request.seed
        params["output_format"] = "png"
        return params

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "app": request.endpoint_id,
            **self._input(request),
            **reference_fields(request, _reference_names(request)),
        }

    def _references(self, request: ImageRequest) -> dict[str, Any]:
        if not request.references:
            return {}
        uris = [data_uri(ref) for ref in request.references]
        if request.model.wire_shape == "flux-ultra":
            return {"image_url": uris[0]}
        return {"image_urls": uris}

    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job.for_request(request)
        return await self._api.run(self._generate(request, job), job)

    async def _generate(self, request: ImageRequest, job: Job) -> ImageResult:
        api = self._api
        auth = {"Authorization": f"Key {self._key}"}
        timeout = max(2, math.ceil(self._policy.deadline_s))  # fal wants more than 1 s
        response = await api.submit(
            f"{self._base}/{request.endpoint_id}",
            json_body={
                "prompt": request.prompt,
                **self._input(request),
                **self._references(request),
            },
            headers={
                **auth,
                "Content-Type": "application/json",
                "X-Fal-Request-Timeout": str(timeout),
            },
            retry_submit=_retry_submit,
        )
        job.submitted_at = time.perf_counter()
        queued = api.json(response, "the submit")
        job.request_id = _str(queued.get("request_id"))
        status_url, response_url = _str(queued.get("status_url")), _str(queued.get("response_url"))
        cancel_url = _str(queued.get("cancel_url"))
        mark_submitted(request, job.request_id, status_url)
        if status_url is None or response_url is None:
            raise api.malformed(
                "the submit answer lacks status_url or response_url, and the workbench does "
                "not guess them."
            )
        sent = (request.offer.model_id, request.seed, request.prompt)
        if cancel_url is not None:

            async def stop() -> Stopped | ImageResult:
                return await self._stop(cancel_url, status_url, response_url, job, sent)

            job.stop = stop
        status = await self._poll(status_url, job)
        return await self._outcome(status, response_url, job, *sent)

    async def _stop(
        self,
        cancel_url: str,
        status_url: str,
        response_url: str,
        job: Job,
        sent: tuple[str, int | None, str],
    ) -> Stopped | ImageResult:
        """Cancel at the deadline and follow the request to its final state (module
        docstring): the image if it completed after all, else whether it is billed."""
        api = self._api
        started = job.started_at is not None  # fal said IN_PROGRESS before the cancel
        answer = await api.cancel(
            "PUT", cancel_url, headers={"Authorization": f"Key {self._key}"},
            accept=lambda r: r.status_code in CANCEL_ANSWERS,
        )
        said = _str(_json_or_empty(answer).get("status")) or f"HTTP {answer.status_code}"
        if said == "NOT_FOUND":
            return Stopped("may_be_billed", "fal no longer knows the request (NOT_FOUND)")
        status = await self._poll(status_url, job)
        try:
            return await self._outcome(status, response_url, job, *sent)
        except ProviderError as exc:
            if exc.kind != "cancelled":
                raise
        if not started and said == "CANCELLATION_REQUESTED":
            return Stopped(
                "not_billed", "fal removed the request from its queue before it started"
            )
        return Stopped(
            "may_be_billed", f"fal stopped the request after it started ({said})"
        )

    async def recover(self, resumable: Resumable) -> ImageResult:
        """The result of a request queued before a crash: poll its status_url, then fetch the
        result at the status answer's `response_url` (fal's queue docs: the result lives at the
        status URL without `/status`). fal keeps results and files for a while; a 404/410
        means they have expired."""
        job = Job(request_id=resumable.provider_request_id)

        async def fetch() -> ImageResult:
            status = await self._poll(resumable.resume_url, job)
            given = _str(status.get("response_url"))
            response_url = given or resumable.resume_url.removesuffix("/status")
            try:
                return await self._outcome(
                    status, response_url, job, resumable.provider_model_id, resumable.seed
                )
            except ProviderError as exc:
                if exc.kind != "cancelled":
                    raise
                # cancelled by someone before this process could fetch it: a final outcome
                raise ProviderError(
                    "server", f"{exc.message} It may have run before it was stopped.",
                    billed="may_be_billed",
                ) from None

        return await self._api.run(fetch(), job)

    async def _poll(self, status_url: str, job: Job) -> dict[str, Any]:
        def is_terminal(body: dict[str, Any]) -> bool:
            if job.started_at is None and body.get("status") != "IN_QUEUE":
                job.started_at = time.perf_counter()
            return body.get("status") not in PENDING

        return await self._api.poll(
            status_url,
            headers={"Authorization": f"Key {self._key}"},
            is_terminal=is_terminal,
            what="the status poll",
        )

    async def _outcome(
        self,
        status: dict[str, Any],
        response_url: str,
        job: Job,
        model_id: str | None,
        seed_asked: int | None,
        prompt_sent: str | None = None,
    ) -> ImageResult:
        api = self._api
        auth = {"Authorization": f"Key {self._key}"}
        state = status.get("status")
        if state != "COMPLETED":
            raise api.malformed(f"the request has an unknown status {repr(state)[:60]}.")
        error, error_type = status.get("error"), status.get("error_type")
        if error_type == CANCELLED:
            raise ProviderError("cancelled", "fal cancelled the request (client_cancelled).")
        if error or error_type:  # fal documents these as infrastructure faults
            text = " ".join(str(error or error_type).split())[:300]
            typed = f" ({error_type})" if isinstance(error_type, str) and error_type else ""
            raise ProviderError("server", f"fal completed the request with an error{typed}: {text}")
        result = api.json(await api.get(response_url, headers=auth), "the result")
        images = result.get("images")
        first = images[0] if isinstance(images, list) and images else None
        url = _str(first.get("url")) if isinstance(first, dict) else None
        nsfw = result.get("has_nsfw_concepts")
        if isinstance(nsfw, list) and nsfw and nsfw[0] is True:
            raise ProviderError(
                "moderated", "fal's safety checker flagged the generated image (it is blanked)."
            )
        if url is None:
            raise ProviderError("no_image", "fal's result has no image URL.")
        image = await api.download(url)
        seed = result.get("seed")
        used = _str(result.get("prompt"))
        mime = first.get("content_type") if isinstance(first, dict) else None
        return ImageResult(
            data=image.data,
            mime=image.mime or (mime if isinstance(mime, str) else None),
            provider_request_id=job.request_id,
            provider_model_id=model_id,
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else seed_asked,
            queue_ms=elapsed_ms(job.submitted_at, job.started_at) if job.started_at else None,
            prompt_used=used if used is not None and used != prompt_sent else None,
        )



def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

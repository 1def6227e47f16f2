"""The generation service with the offline renderer and small scripted providers: every attempt
that reaches a provider leaves one completed row; invalid requests leave none."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PIL import Image

from workbench.config import Settings
from workbench.domain.filters import HistoryFilter
from workbench.providers.base import ImageRequest, ImageResult, ProviderError
from workbench.services.runs.generation import (
    GenerateRequest,
    InvalidRequest,
    generate_sync,
    parse_request,
    plan,
)
from workbench.services.workbench import Workbench, open_workbench

SLOTS = {"subject": "A woman", "environment": "on a sun-filled apartment balcony"}
SEED_NANO = (
    "A woman reading on a sun-filled apartment balcony, late afternoon, warm and unhurried, "
    "photorealistic"
)


class ScriptedProvider:
    """Answers with whatever the test scripted, and notes what the log held meanwhile."""

    def __init__(self, wb_ref: list[Workbench], outcome: Any) -> None:
        self.name = "bfl"
        self._wb_ref = wb_ref
        self._outcome = outcome
        self.seen_status: str | None = None

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {"width": request.width, "height": request.height, "seed": request.seed}

    async def generate(self, request: ImageRequest) -> ImageResult:
        rows = self._wb_ref[0].log.page(HistoryFilter(), limit=1)
        self.seen_status = rows[0].status if rows else None
        await asyncio.sleep(0)
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome

    async def aclose(self) -> None:
        return None


def _scripted(settings: Settings, outcome: Any) -> tuple[Workbench, ScriptedProvider]:
    ref: list[Workbench] = []
    provider = ScriptedProvider(ref, outcome)
    wb = open_workbench(settings, provider_factory=lambda name, s: provider, idle_close_s=0)
    ref.append(wb)
    return wb, provider


def _png_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_offline_generation_logs_everything(wb: Workbench) -> None:
    outcome = generate_sync(
        wb,
        GenerateRequest(
            model="nano-banana-2",
            prompt=SEED_NANO + " --ar 16:9",
            template_id="nano-banana-scene",
            slots=SLOTS,
            seed=11,
            size="1K",
        ),
    )
    assert outcome.status == "succeeded"
    row = wb.log.get(outcome.id)
    assert row.prompt == SEED_NANO  # the --ar flag left the text...
    assert row.prompt_written.endswith("--ar 16:9")
    assert row.aspect_ratio == "16:9"  # ...and became the parameter
    assert row.params["aspect_ratio"] == "16:9" and row.params["seed"] == 11
    assert (row.provider, row.provider_model_id, row.template_id) == (
        "offline",
        "sketch",
        "nano-banana-scene",
    )
    assert row.slots == SLOTS
    assert row.cost_usd == 0 and row.cost_kind == "known"
    assert row.latency_ms > 0 and row.seed_returned == 11
    with Image.open(outcome.image_path) as image:
        assert image.size == (row.width, row.height)


def test_offline_sketch_is_deterministic_for_prompt_and_seed(wb: Workbench) -> None:
    a = generate_sync(wb, GenerateRequest(model="flux-2-pro", prompt="A kettle", seed=5))
    b = generate_sync(wb, GenerateRequest(model="flux-2-pro", prompt="A kettle", seed=5))
    c = generate_sync(wb, GenerateRequest(model="flux-2-pro", prompt="A kettle", seed=6))
    assert a.image_path == b.image_path != c.image_path
    other_model = generate_sync(wb, GenerateRequest(model="flux-2-max", prompt="A kettle", seed=5))
    assert other_model.image_path != a.image_path


def test_the_row_is_pending_while_the_provider_works(settings: Settings) -> None:
    wb, provider = _scripted(
        settings,
        ImageResult(data=_png_bytes(), cost_usd=0.03, seed=9, provider_request_id="task-1"),
    )
    outcome = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle")
    )
    assert provider.seen_status == "pending"
    row = wb.log.get(outcome.id)
    assert (row.status, row.cost_usd, row.cost_kind) == ("succeeded", 0.03, "known")
    assert row.provider_request_id == "task-1" and row.seed_returned == 9
    wb.close()


def test_without_a_reported_cost_the_catalog_estimate_is_logged_as_estimated(
    settings: Settings,
) -> None:
    wb, _ = _scripted(settings, ImageResult(data=_png_bytes()))
    outcome = generate_sync(
        wb,
        GenerateRequest(
            model="flux-2-pro", provider="bfl", prompt="A kettle", size="1MP", aspect_ratio="1:1"
        ),
    )
    # BFL counts decimal megapixels: 1024 x 1024 = 1.048576 MP -> $0.03 + 0.048576 x $0.015
    assert (outcome.cost_usd, outcome.cost_kind) == (pytest.approx(0.030729), "estimated")
    wb.close()


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (ProviderError("auth", "Check your key for bfl."), "failed", "auth"),
        (ProviderError("moderated", "Content Moderated"), "moderated", "moderated"),
        (ProviderError("timeout", "No answer within 30 s."), "failed", "timeout"),
    ],
)
def test_provider_errors_are_recorded(
    settings: Settings, error: ProviderError, status: str, kind: str
) -> None:
    wb, _ = _scripted(settings, error)
    outcome = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle")
    )
    row = wb.log.get(outcome.id)
    assert (row.status, row.error_kind, row.error_message) == (status, kind, error.message)
    assert row.finished_at is not None
    wb.close()


def test_bytes_that_are_not_an_image_fail_the_attempt(settings: Settings) -> None:
    wb, _ = _scripted(settings, ImageResult(data=b"<html>expired</html>"))
    outcome = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle")
    )
    assert (outcome.status, outcome.error_kind) == ("failed", "malformed")
    assert wb.log.count(HistoryFilter()) == 1
    wb.close()


def test_a_bug_in_a_provider_still_completes_the_row(settings: Settings) -> None:
    wb, _ = _scripted(settings, RuntimeError("boom"))
    outcome = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle")
    )
    row = wb.log.get(outcome.id)
    assert (row.status, row.error_kind) == ("failed", "internal")
    assert "RuntimeError: boom" in row.error_message
    wb.close()


def test_an_attempt_without_a_key_is_not_sent_and_is_no_models_failure(wb: Workbench) -> None:
    outcome = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle")
    )
    assert outcome.status == "not_sent" and outcome.error_kind == "config"
    assert "BFL_API_KEY" in (outcome.error or "")
    row = wb.log.get(outcome.id)
    assert (row.status, row.cost_usd, row.cost_kind) == ("not_sent", 0.0, "not_sent")
    assert row.submitted_at is None
    assert wb.spending.spent_today(wb.settings.user) == (0.0, 0.0)  # nothing reserved
    # The same model made one image (offline): its failure rate stays 0 of 1.
    generate_sync(wb, GenerateRequest(model="flux-2-pro", provider="offline", prompt="A kettle"))
    rates = {
        r.model: r for r in wb.performance.by_model(HistoryFilter(include_offline=True))
    }
    assert (rates["flux-2-pro"].attempts, rates["flux-2-pro"].failed) == (1, 0)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"model": "dall-e", "prompt": "x"}, "Unknown model"),
        ({"model": "flux-2-dev", "provider": "bfl", "prompt": "x"}, "not served"),
        ({"model": "nano-banana", "prompt": "x", "aspect_ratio": "1:8"}, "aspect ratio 1:8"),
        ({"model": "nano-banana", "prompt": "x", "size": "4K"}, "size 4K"),
        ({"model": "nano-banana", "prompt": "   "}, "empty"),
        ({"model": "nano-banana", "prompt": "a" * 100_000}, "100,000"),
        ({"model": "nano-banana", "prompt": "x", "seed": -1}, "seed"),
        ({"model": "nano-banana", "prompt": "x", "template_id": "nope"}, "Unknown template"),
        ({"model": "nano-banana", "prompt": "x", "colour": "red"}, "colour"),
    ],
)
def test_invalid_requests_get_a_clear_message_and_no_row(
    wb: Workbench, data: dict, needle: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan(wb, parse_request(data))
    assert needle in str(caught.value)
    assert wb.log.count(HistoryFilter()) == 0


def test_a_failed_attempt_gives_its_reservation_back(settings: Settings) -> None:
    """A cap with room for one image: an attempt that fails without a bill releases its
    reservation, so the next image still fits (a kept reservation would refuse it)."""
    request = GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle", size="1MP")
    probe = open_workbench(settings, idle_close_s=0)
    most = plan(probe, request).max_cost_usd
    probe.close()
    assert most
    capped = settings.model_copy(update={"daily_budget_usd": most * 1.5})
    wb, provider = _scripted(capped, ProviderError("bad_request", "width must be a multiple"))
    failed = generate_sync(wb, request)
    assert failed.status == "failed"
    assert wb.spending.spent_today(wb.settings.user)[0] == 0.0
    provider._outcome = ImageResult(data=_png_bytes(), cost_usd=most)
    assert generate_sync(wb, request).status == "succeeded"
    assert wb.spending.spent_today(wb.settings.user)[0] == pytest.approx(most)
    wb.close()

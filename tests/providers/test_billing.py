"""Cancels and settled costs are recorded as each provider documents them: what the adapter
returns says whether the attempt is billed and where its cost comes from (reported, estimated,
unknown). Each fake behaviour cites its source in harness/fakes.py."""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import replace
from typing import Any

import pytest

from tests.providers.conftest import DEFAULT_MODEL, FAST, KEY
from workbench.domain.catalog import CATALOG_FILE, parse_catalog
from workbench.providers.base import ImageResult, ProviderError
from workbench.providers.registry import build_provider
from workbench.services.runs import generation


def _run(h: Any, model: str | None = None, **policy: Any) -> ImageResult | ProviderError:
    """One generation straight through the adapter, with the fake's key and base URL."""
    planned = generation.plan(h.wb, generation.parse_request({
        "model": model or DEFAULT_MODEL[h.provider], "provider": h.provider,
        "prompt": "a kite over the dunes", "size": "1MP", "aspect_ratio": "1:1"}))
    provider = build_provider(h.provider, h.wb.settings, policy=replace(FAST, **policy),
                              sleep=h.sleeps)

    async def go() -> ImageResult | ProviderError:
        try:
            return await provider.generate(planned.image_request)
        except ProviderError as exc:
            return exc
        finally:
            await provider.aclose()

    return asyncio.run(go())


def _stuck(h: Any) -> None:
    h.fake.finish_in_submit = False  # Replicate: Prefer: wait gave up, poll from here
    h.fake.pending_polls = 10**9  # never finishes by itself


# -- Replicate: "Aborted (never started): No charge. Canceled (started running): You pay for the
# time the prediction ran" (replicate.com prediction-lifecycle docs) --------------------------
def test_replicate_canceled_after_it_started_may_be_billed(make_harness) -> None:
    h = make_harness("replicate")
    _stuck(h)
    error = _run(h, deadline_s=0.3)
    assert isinstance(error, ProviderError)
    assert (error.kind, error.billed) == ("timeout", "may_be_billed")
    assert error.cost_kind == "unknown"  # no per-second price for this offer
    assert "cancelled at provider, may be billed" in error.message
    assert len(h.fake.on("cancel")) == 1 and h.fake.paid_submits == 1


def test_replicate_canceled_cost_is_estimated_from_predict_time(make_harness) -> None:
    h = make_harness("replicate")
    _stuck(h)
    h.fake.canceled_predict_time = 4.0  # metrics.predict_time on the canceled prediction
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    pro = next(m for m in data["models"] if m["id"] == "flux-2-pro")
    next(o for o in pro["offers"] if o["provider"] == "replicate")["usd_per_second"] = 0.001
    h.wb.catalog = parse_catalog(data)
    error = _run(h, deadline_s=0.3)
    assert isinstance(error, ProviderError) and error.billed == "may_be_billed"
    assert (error.cost_usd, error.cost_kind) == (pytest.approx(0.004), "estimated")
    assert "after running 4 s" in error.message


def test_replicate_aborted_before_it_started_is_not_billed(make_harness) -> None:
    h = make_harness("replicate")
    h.fake.final_status = "aborted"  # Cancel-After passed before it started
    error = _run(h)
    assert isinstance(error, ProviderError)
    assert error.billed == "not_billed" and error.cost_usd == 0.0
    assert "before it started" in error.message


def test_the_log_records_a_replicate_cancel_as_may_be_billed(make_harness) -> None:
    h = make_harness("replicate", deadline_s=0.3)
    _stuck(h)
    _, row = h.generate()
    assert (row.status, row.error_kind, row.cost_kind) == ("failed", "timeout", "unknown")
    assert "may be billed" in row.error_message


# -- fal: a cancel is a signal; poll to the final state (docs.fal.ai queue "Cancel a request",
# handle-cancellations, request-errors) ---------------------------------------------------------
def test_fal_already_completed_at_the_cancel_is_a_success(make_harness) -> None:
    h = make_harness("fal")
    h.fake.pending_polls = 10**9
    h.fake.on_cancel = "completed"  # 400 {"status": "ALREADY_COMPLETED"}
    result = _run(h, deadline_s=0.3)
    assert isinstance(result, ImageResult), result
    assert result.data == h.fake.image and result.billed == "billed"
    assert len(h.fake.on("cancel")) == 1 and len(h.fake.on("result")) == 1


def test_fal_cancellation_requested_then_completed_is_stored_and_paid(make_harness) -> None:
    h = make_harness("fal", deadline_s=0.3)
    h.fake.pending_polls = 10**9
    h.fake.on_cancel = "ignore"  # 202 CANCELLATION_REQUESTED, the app finishes anyway
    outcome, row = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.wb.images.absolute(row.image_path).read_bytes() == h.fake.image
    assert row.cost_kind == "estimated" and row.cost_usd > 0  # fal reports no cost
    assert len(h.fake.on("cancel")) == 1 and h.fake.paid_submits == 1


def test_fal_cancel_acknowledged_before_start_is_free(make_harness) -> None:
    h = make_harness("fal")
    h.fake.pending_polls = h.fake.queued_polls = 10**9  # IN_QUEUE until the cancel
    error = _run(h, deadline_s=0.3)
    assert isinstance(error, ProviderError)
    assert (error.kind, error.billed) == ("timeout", "not_billed")
    assert "removed the request from its queue before it started" in error.message


def test_fal_cancel_after_start_may_be_billed(make_harness) -> None:
    h = make_harness("fal")
    h.fake.pending_polls = 10**9  # IN_QUEUE once, then IN_PROGRESS
    error = _run(h, deadline_s=0.3)
    assert isinstance(error, ProviderError)
    assert error.billed == "may_be_billed"
    assert "after it started (CANCELLATION_REQUESTED)" in error.message


def test_fal_timeout_header_is_sent_as_a_start_deadline(make_harness) -> None:
    h = make_harness("fal")
    _run(h)
    (submit,) = h.fake.on("submit")
    assert submit.headers["x-fal-request-timeout"] == "10"  # FAST.deadline_s
    assert KEY in submit.headers["authorization"]


# -- BFL: the settled cost of the result replaces the submit's provisional one (BFL OpenAPI
# SettledCostResultResponse.cost) -----------------------------------------------------------
def test_bfl_settled_cost_replaces_the_submit_cost(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.cost_credits, h.fake.settled_credits = 3.0, 4.5
    _, row = h.generate()
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.045), "known")


def test_bfl_settled_cost_is_kept_on_a_moderated_task(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.final_status, h.fake.settled_credits = "Content Moderated", 1.0
    _, row = h.generate()
    assert row.status == "moderated"
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.01), "known")

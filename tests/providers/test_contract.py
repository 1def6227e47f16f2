"""The contract every hosted-provider client keeps, run against each loopback fake: success is
stored and costed, every fault becomes a completed row with the right status, kind and a
readable message, and a paid submit is only repeated when the provider did no work."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import socket

import pytest

from harness.fakes import Fault, png_bytes, truncated
from tests.providers.conftest import DEFAULT_MODEL, HOSTED, KEY
from workbench.config import KEY_VARIABLES
from workbench.domain.catalog import estimate_cost, load_catalog
from workbench.services.runs import generation
from workbench.services.runs.recovery import recover_jobs_sync

POLLING = ("bfl", "replicate", "fal")


def _async_flow(h) -> None:  # type: ignore[no-untyped-def]
    """Make Replicate answer the submit unfinished, so it polls like the others."""
    if h.provider == "replicate":
        h.fake.finish_in_submit = False


@pytest.mark.parametrize("provider", HOSTED)
def test_success_stores_the_image_and_records_the_attempt(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.image = png_bytes(80, 40, (12, 34, 56))
    outcome, row = h.generate(seed=7 if provider != "gemini" else None)

    assert outcome.status == "succeeded", outcome.error
    stored = h.wb.images.absolute(row.image_path).read_bytes()
    assert stored == h.fake.image
    assert row.image_sha256 == hashlib.sha256(h.fake.image).hexdigest()
    assert (row.width, row.height) == (80, 40)
    assert row.provider_request_id
    assert row.error_kind is None and row.error_message is None
    assert row.latency_ms > 0
    assert h.fake.paid_submits == 1
    model = load_catalog().model(row.model)
    if provider == "gemini":
        # every billed token: 12 input x $0.50 + (200 thinking + 5 text) x $3 + 1120 image x $60
        # per 1M; the dollar prices are second-hand, so the cost is an estimate
        assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.067821), "estimated")
        assert row.seed_returned is None
    elif provider == "bfl":  # 3 credits from the submit answer
        assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.03), "known")
        assert row.seed_returned == h.fake.seed
    else:
        expected = estimate_cost(model, provider, row.aspect_ratio, row.size)
        assert (row.cost_usd, row.cost_kind) == (pytest.approx(expected), "estimated")
        assert row.seed_returned == h.fake.seed


@pytest.mark.parametrize("provider", HOSTED)
def test_wrong_key_is_an_auth_failure_that_names_the_variable_not_the_key(
    make_harness, provider
) -> None:
    h = make_harness(provider, key=KEY + "-wrong", fake_key=KEY)
    _, row = h.generate()

    assert (row.status, row.error_kind) == ("failed", "auth")
    message = row.error_message
    assert f"check your key for {provider}" in message.lower()
    assert KEY_VARIABLES[provider][0] in message
    assert KEY not in message and "wrong" not in message
    assert len(h.fake.on("submit")) == 1  # a refused key is not tried again


@pytest.mark.parametrize("provider", HOSTED)
def test_a_400_saying_insufficient_credits_is_the_credits_kind(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(400, {"detail": "Insufficient credits"}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "credits")
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_no_credits_is_reported_as_such(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(402, {"detail": "Insufficient credits: balance 0.00"}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "credits")
    assert "no credits" in row.error_message and "balance 0.00" in row.error_message
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_rejected_parameters_keep_the_providers_own_detail(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(422, {"detail": [
        {"loc": ["body", "width"], "msg": "Input should be a multiple of 16", "type": "x"}]}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "bad_request")
    assert "width: Input should be a multiple of 16" in row.error_message
    assert "HTTP 422" in row.error_message
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_429_is_retried_after_the_time_retry_after_asks(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(429, {"detail": "Too many requests"},
                                 headers={"Retry-After": "7"}))
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert len(h.fake.on("submit")) == 2
    assert h.fake.paid_submits == 1  # the refused submit did no work
    assert h.sleeps.waits == [7.0]


@pytest.mark.parametrize("provider", HOSTED)
def test_429_retries_are_bounded(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(429, {"detail": "Slow down"}, headers={"Retry-After": "1"},
                                 repeat=True))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "rate_limited")
    assert len(h.fake.on("submit")) == 3
    assert "after 3 tries" in row.error_message and "Slow down" in row.error_message


@pytest.mark.parametrize("provider", HOSTED)
def test_retry_after_beyond_the_cap_is_reported_not_waited(make_harness, provider) -> None:
    h = make_harness(provider, retry_after_max_s=5.0)
    h.fake.fault("submit", Fault(429, {"detail": "quota"}, headers={"Retry-After": "3600"}))
    _, row = h.generate()
    assert row.error_kind == "rate_limited"
    assert "3600" in row.error_message
    assert len(h.fake.on("submit")) == 1 and h.sleeps.waits == []


@pytest.mark.parametrize("provider", HOSTED)
def test_a_500_on_the_paid_submit_is_never_sent_twice(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(500, {"detail": "internal error"}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "server")
    assert "HTTP 500" in row.error_message and "internal error" in row.error_message
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize(
    ("provider", "retried"),
    # fal only when its ingress answered (an nginx page): see test_fal.py
    [("gemini", True), ("bfl", True), ("replicate", False), ("fal", False)],
)
def test_a_503_refusal_is_retried_only_where_it_means_no_work(
    make_harness, provider, retried
) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(503, {"detail": "overloaded"}))
    outcome, row = h.generate()
    if retried:
        assert outcome.status == "succeeded", outcome.error
        assert len(h.fake.on("submit")) == 2
    else:
        assert row.error_kind == "server"
        assert len(h.fake.on("submit")) == 1


def test_fal_does_not_retry_a_503_once_fal_has_queued_the_request(make_harness) -> None:
    h = make_harness("fal")
    h.fake.fault("submit", Fault(503, {"detail": "runner gone"},
                                 headers={"x-fal-request-id": "req-1"}))
    _, row = h.generate()
    assert row.error_kind == "server"
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_a_slow_submit_hits_the_read_timeout_and_is_not_repeated(make_harness, provider) -> None:
    h = make_harness(provider, read_s=0.3, sync_read_s=0.3)
    h.fake.fault("submit", Fault(delay_s=1.0, passthrough=True))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "timeout")
    assert "0.3 s" in row.error_message
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_a_connection_dropped_after_sending_is_not_resubmitted(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(drop=True))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "connection")
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_an_unreachable_provider_is_a_connection_failure(make_harness, provider) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    h = make_harness(provider, base_url=f"http://127.0.0.1:{port}")
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "connection")
    assert f"127.0.0.1:{port}" in row.error_message
    assert len(h.sleeps.calls) == 2  # three tries (two backoffs): the request never left


@pytest.mark.parametrize("provider", HOSTED)
def test_a_submit_answer_that_is_not_json_fails_cleanly(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(200, "<html>Bad gateway</html>", content_type="text/html"))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert "not JSON" in row.error_message
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", HOSTED)
def test_an_overall_deadline_stops_a_job_that_never_ends(make_harness, provider) -> None:
    h = make_harness(provider, deadline_s=0.3)
    if provider == "gemini":
        h.fake.fault("submit", Fault(delay_s=1.0, passthrough=True))
    else:
        _async_flow(h)
        h.fake.pending_polls = 10**9
    _, row = h.generate()
    # BFL cannot be told to stop: the job is left running there for `recover` to fetch
    expected = ("interrupted", "left_running") if provider == "bfl" else ("failed", "timeout")
    assert (row.status, row.error_kind) == expected
    assert "overall deadline of 0.3 s" in row.error_message
    assert h.fake.paid_submits <= 1 and len(h.fake.on("submit")) == 1
    if provider != "gemini":
        assert row.provider_request_id  # the job is known, so the row says which
        assert len(h.fake.on("poll")) > 1
    if provider == "bfl":
        assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.03), "known")


@pytest.mark.parametrize(
    ("provider", "method", "outcome"),
    [("replicate", "POST", "cancelled at provider, may be billed"),
     ("fal", "PUT", "cancelled at provider, may be billed"), ("bfl", None, "may be billed")],
)
def test_at_the_deadline_the_job_is_cancelled_at_the_provider(
    make_harness, provider, method, outcome
) -> None:
    h = make_harness(provider, deadline_s=0.5)
    _async_flow(h)
    h.fake.pending_polls = 10**9  # the fake never finishes
    _, row = h.generate()
    cancels = h.fake.on("cancel")
    if method is None:  # BFL has no cancel endpoint: the job is left to finish, then fetched
        assert not cancels
        assert (row.status, row.error_kind) == ("interrupted", "left_running")
        assert row.error_message.startswith("Past the deadline (may be billed)")
        h.fake.pending_polls = 0  # it finishes at BFL after all
        assert recover_jobs_sync(h.wb).recovered == [row.id]
        done = h.wb.log.get(row.id)
        assert done.status == "succeeded" and done.image_path
    else:
        assert (row.status, row.error_kind) == ("failed", "timeout")
        assert row.error_message.startswith(f"Timed out ({outcome})")
        (cancel,) = cancels
        assert cancel.method == method and row.provider_request_id in cancel.path
        assert KEY in " ".join(cancel.headers.values())
    assert h.fake.paid_submits == 1


# -- polling providers ---------------------------------------------------------------------
@pytest.mark.parametrize("provider", POLLING)
def test_polls_follow_the_url_the_provider_gave(make_harness, provider) -> None:
    h = make_harness(provider)
    _async_flow(h)
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.fake.on("poll"), "the client must poll the URL it was given"
    assert not h.fake.on("unknown"), "no URL may be rebuilt from the base URL"


@pytest.mark.parametrize("provider", POLLING)
def test_a_failing_poll_is_retried_without_a_second_submit(make_harness, provider) -> None:
    h = make_harness(provider)
    _async_flow(h)
    h.fake.fault("poll", Fault(500, {"detail": "hiccup"}), Fault(drop=True))
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.fake.paid_submits == 1 and len(h.fake.on("submit")) == 1


@pytest.mark.parametrize("provider", POLLING)
def test_a_poll_that_answers_garbage_fails_the_attempt(make_harness, provider) -> None:
    h = make_harness(provider)
    _async_flow(h)
    h.fake.fault("poll", Fault(200, "{not json", content_type="application/json", repeat=True))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert row.provider_request_id
    assert len(h.fake.on("submit")) == 1


@pytest.mark.parametrize(
    ("provider", "status"),
    [("bfl", "Exploded"), ("replicate", "teleported"), ("fal", "ON_FIRE")],
)
def test_an_unknown_status_fails_instead_of_polling_forever(make_harness, provider, status):
    h = make_harness(provider)
    _async_flow(h)
    h.fake.final_status = status
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert "unknown status" in row.error_message and status in row.error_message


@pytest.mark.parametrize("provider", POLLING)
def test_an_expired_image_url_is_not_found(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("image", Fault(404, "expired", repeat=True))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "not_found")
    assert "gone (HTTP 404)" in row.error_message
    assert row.provider_request_id
    assert len(h.fake.on("image")) == 1  # a 404 will not come back
    assert h.fake.paid_submits == 1
    if provider == "bfl":
        assert row.cost_kind == "known"


@pytest.mark.parametrize("provider", HOSTED)
def test_truncated_image_bytes_fail_and_are_not_stored(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.image = truncated(png_bytes(200, 200))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert "not an image (" in row.error_message and "object at 0x" not in row.error_message
    assert row.image_sha256 is None
    assert not list((h.wb.settings.data_dir / "images").rglob("*.png"))


@pytest.mark.parametrize("provider", POLLING)
def test_a_download_cut_off_mid_body_is_retried_then_fails(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.image = png_bytes(300, 300)
    h.fake.fault("image", Fault(200, h.fake.image, content_type="image/png", cut=True,
                                repeat=True))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert "cut off" in row.error_message
    assert len(h.fake.on("image")) == 3
    assert h.fake.paid_submits == 1


@pytest.mark.parametrize("provider", POLLING)
def test_a_download_cut_once_then_complete_succeeds(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.image = png_bytes(300, 300)
    h.fake.fault("image", Fault(200, h.fake.image, content_type="image/png", cut=True))
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert len(h.fake.on("image")) == 2


@pytest.mark.parametrize("provider", POLLING)
def test_image_downloads_never_carry_a_key(make_harness, provider) -> None:
    h = make_harness(provider)
    outcome, _ = h.generate()
    assert outcome.status == "succeeded"
    (download,) = h.fake.on("image")
    headers = " ".join(f"{k}: {v}" for k, v in download.headers.items())
    assert KEY not in headers
    assert "authorization" not in download.headers and "x-key" not in download.headers
    api_calls = [r for r in h.fake.requests if r.route != "image"]
    assert all(KEY in " ".join(r.headers.values()) for r in api_calls)


def test_retry_after_is_honoured_on_the_wire(make_harness) -> None:
    """With the real clock: the second submit comes no sooner than Retry-After allows."""
    h = make_harness("bfl", real_sleep=True)
    h.fake.fault("submit", Fault(429, {"detail": "busy"}, headers={"Retry-After": "1"}))
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    first, second = h.fake.on("submit")
    assert second.at - first.at >= 0.95


@pytest.mark.parametrize("provider", HOSTED)
def test_the_submit_is_reported_once_before_any_polling(make_harness, provider) -> None:
    """The log learns of a (possibly billed) job before the client waits on it."""
    h = make_harness(provider)
    _async_flow(h)
    planned = generation.plan(h.wb, generation.parse_request({
        "model": DEFAULT_MODEL[provider], "provider": provider, "prompt": "a kite"}))
    seen: list[tuple[str | None, int, int]] = []

    def on_submitted(request_id: str | None, resume_url: str | None) -> None:
        seen.append((request_id, len(h.fake.on("submit")), len(h.fake.on("poll"))))

    request = dataclasses.replace(planned.image_request, on_submitted=on_submitted)
    client = h.wb.open_provider(provider)

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await client.generate(request)
        finally:
            await client.aclose()

    result = asyncio.run(go())
    assert result.data == h.fake.image
    if provider == "gemini":  # synchronous: recorded before the call is sent
        assert seen == [(None, 0, 0)]
    else:
        assert seen == [(result.provider_request_id, 1, 0)]


def test_a_submit_the_log_cannot_record_does_not_lose_the_image(make_harness) -> None:
    h = make_harness("bfl")
    planned = generation.plan(h.wb, generation.parse_request({
        "model": "flux-2-pro", "provider": "bfl", "prompt": "a kite"}))

    def broken(request_id: str | None, resume_url: str | None) -> None:
        raise RuntimeError("database is busy")

    request = dataclasses.replace(planned.image_request, on_submitted=broken)
    client = h.wb.open_provider("bfl")

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await client.generate(request)
        finally:
            await client.aclose()

    assert asyncio.run(go()).data == h.fake.image

"""Recovery instead of loss: an interrupted attempt a provider had accepted is fetched from the
provider (its image stored, the row succeeded) and never sent again; a result the provider no
longer keeps is marked expired at the provider."""

from __future__ import annotations

import pytest

from harness.fakes import Fault
from tests.providers.conftest import DEFAULT_MODEL
from workbench.cli import main
from workbench.services.runs import generation
from workbench.services.runs.recovery import recover_jobs_sync


def _interrupted(h, job_id: str, resume_url: str) -> str:  # type: ignore[no-untyped-def]
    """A row as a dead process leaves it: sent, accepted (id and status URL), interrupted."""
    planned = generation.plan(h.wb, generation.parse_request(
        {"model": DEFAULT_MODEL[h.provider], "provider": h.provider, "prompt": "a kite",
         "seed": 3, "size": "1MP", "aspect_ratio": "1:1"}))
    gid = f"gen_{h.provider}_lost"
    h.wb.attempts.insert_pending(planned.row(gid, {}))
    h.wb.attempts.mark_submitted(gid, job_id, resume_url)
    with h.wb.db.cursor() as cur:
        cur.execute(
            "UPDATE generations SET status = 'interrupted', error_kind = 'interrupted'"
            " WHERE id = ?",
            [gid],
        )
    return gid


def _urls(h, job_id: str) -> str:  # type: ignore[no-untyped-def]
    if h.provider == "bfl":
        return f"{h.fake.url}/eu2-cluster/v1/get_result?id={job_id}&sig=q1w2"
    if h.provider == "replicate":
        return f"{h.fake.url}/poll-here/predictions/{job_id}"
    return f"{h.fake.url}/queue-x/fal-ai/flux-2-pro/requests/{job_id}/status"


@pytest.mark.parametrize("provider", ["bfl", "replicate", "fal"])
def test_an_accepted_job_is_fetched_not_resent(make_harness, provider) -> None:
    h = make_harness(provider)
    gid = _interrupted(h, "job-0042-7f3a", _urls(h, "job-0042-7f3a"))
    report = recover_jobs_sync(h.wb)
    assert report.recovered == [gid]
    row = h.wb.log.get(gid)
    assert row.status == "succeeded" and row.error_kind is None
    assert h.wb.images.absolute(row.image_path).read_bytes() == h.fake.image
    assert row.cost_kind == "estimated" and row.cost_usd > 0
    assert not h.fake.on("submit") and h.fake.on("poll")
    assert recover_jobs_sync(h.wb).checked == 0  # done once, never asked again


@pytest.mark.parametrize("provider", ["bfl", "replicate"])
def test_a_result_gone_at_the_provider_is_marked_expired(make_harness, provider) -> None:
    h = make_harness(provider)
    gid = _interrupted(h, "job-0043-7f3a", _urls(h, "job-0043-7f3a"))
    h.fake.fault("image", Fault(404, "gone", repeat=True))  # links live 10 min / 1 h
    report = recover_jobs_sync(h.wb)
    assert report.expired == [gid]
    row = h.wb.log.get(gid)
    assert (row.status, row.error_kind) == ("interrupted", "expired")
    assert row.error_message.startswith("Expired at the provider")
    assert not h.fake.on("submit")
    assert recover_jobs_sync(h.wb).checked == 0


def test_a_moderated_job_records_its_real_outcome(make_harness) -> None:
    h = make_harness("fal")
    gid = _interrupted(h, "job-0044-7f3a", _urls(h, "job-0044-7f3a"))
    h.fake.blocked = True
    assert recover_jobs_sync(h.wb).finished_badly == [gid]
    assert h.wb.log.get(gid).status == "moderated"


def test_the_recover_command_reports_what_it_did(make_harness, capsys, monkeypatch) -> None:
    h = make_harness("bfl")
    _interrupted(h, "job-0045-7f3a", _urls(h, "job-0045-7f3a"))
    settings = h.wb.settings
    h.wb.close()
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BFL_API_KEY", settings.key("bfl"))
    monkeypatch.setenv("BFL_BASE_URL", h.fake.url)
    assert main(["recover"]) == 0
    out = capsys.readouterr().out
    assert "1 recovered" in out and "expired" in out
    assert not h.fake.on("submit")


def test_a_request_cancelled_at_fal_before_recovery_is_a_final_outcome(make_harness) -> None:
    h = make_harness("fal")
    gid = _interrupted(h, "job-0046-7f3a", _urls(h, "job-0046-7f3a"))
    h.fake.cancelled.add("job-0046-7f3a")  # fal ended it client_cancelled (request-errors doc)
    assert recover_jobs_sync(h.wb).finished_badly == [gid]
    row = h.wb.log.get(gid)
    assert (row.status, row.error_kind) == ("failed", "server")
    assert "client_cancelled" in row.error_message
    assert recover_jobs_sync(h.wb).checked == 0


def test_a_recovered_file_that_is_not_an_image_keeps_its_billed_cost(make_harness) -> None:
    h = make_harness("bfl")
    gid = _interrupted(h, "job-0044-7f3a", _urls(h, "job-0044-7f3a"))
    h.fake.image = b"<html>upstream error</html>"
    report = recover_jobs_sync(h.wb)
    assert report.finished_badly == [gid]
    row = h.wb.log.get(gid)
    assert (row.status, row.error_kind) == ("failed", "malformed")
    # BFL delivered (and billed) it: recorded at what a success would have been, not $0
    assert row.cost_kind == "estimated" and row.cost_usd > 0

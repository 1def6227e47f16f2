"""Attempts cut off while sending ("may or may not have reached PROVIDER") are sent again only on
purpose: `resend` (History's Send again, `workbench generate --resend`) and `run --resume
--resend-uncertain`. The new attempt names the old one; a resend of an attempt that succeeded,
reached its provider or belongs to another database is refused with a reason."""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

import pytest
from PIL import Image

from workbench import cli
from workbench.config import Settings
from workbench.providers.base import ImageRequest, ImageResult
from workbench.services.runs.generation import CannotResend, GenerateRequest, resend
from workbench.services.runs.runner import Cell, RunSettings, resume_run, start_run
from workbench.services.workbench import Workbench, open_workbench


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 20, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


class HeldProvider:
    """While `hold` is set, a request goes out and no answer ever comes (with a request id
    when `accept`); otherwise it answers at once."""

    name = "bfl"

    def __init__(self) -> None:
        self.hold = True
        self.accept = False
        self.submits = 0
        self.out = threading.Event()

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {"seed": request.seed}

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.submits += 1
        if self.hold:
            if self.accept:
                request.submitted(f"task-{self.submits}", f"https://bfl.example/r/{self.submits}")
            self.out.set()
            await asyncio.sleep(3600)
        return ImageResult(data=_png(), cost_usd=0.03, seed=request.seed)

    async def aclose(self) -> None:
        return None


@pytest.fixture
def held(settings: Settings) -> tuple[Workbench, HeldProvider]:
    provider = HeldProvider()
    wb = open_workbench(settings, provider_factory=lambda name, s: provider, idle_close_s=0)
    yield wb, provider
    wb.close()


def _cells(n: int) -> list[Cell]:
    return [
        Cell(f"k{i}", GenerateRequest(model="flux-2-pro", provider="bfl", prompt=f"A lamp {i}",
                                      seed=i, size="1MP"))
        for i in range(n)
    ]


def _cut_off(wb: Workbench, provider: HeldProvider, cells: int = 1) -> str:
    """A run whose first request is out when the run stops waiting for it: its run id."""
    handle = start_run(wb, "matrix", "cut", _cells(cells), RunSettings(concurrency={"bfl": 1}))
    handle.start_in_thread()
    assert provider.out.wait(10)
    handle.abandon()
    assert handle.done.wait(10)
    return handle.run_id


def test_an_attempt_cut_off_while_sending_says_it_may_or_may_not_have_arrived(
    held: tuple[Workbench, HeldProvider],
) -> None:
    wb, provider = held
    run_id = _cut_off(wb, provider)
    [row] = [r for r in wb.log.run_cells(run_id) if r.status == "interrupted"]
    assert row.error_kind == "uncertain"
    assert "may or may not have reached Black Forest Labs" in (row.error_message or "")
    # every action it names exists
    assert f"workbench run --resume {run_id} --resend-uncertain" in row.error_message
    assert f"workbench generate --resend {row.id}" in row.error_message


def test_resend_sends_it_again_once_and_links_the_new_attempt(
    held: tuple[Workbench, HeldProvider],
) -> None:
    wb, provider = held
    run_id = _cut_off(wb, provider)
    [old] = [r for r in wb.log.run_cells(run_id) if r.status == "interrupted"]
    provider.hold = False
    outcome = resend(wb, old.id)
    assert outcome.status == "succeeded" and provider.submits == 2
    new = wb.log.get(outcome.id)
    assert new.resend_of == old.id and new.run_id == run_id and new.cell == "k0"
    assert wb.log.get(old.id).error_kind == "resent"
    with pytest.raises(CannotResend, match="already sent again"):
        resend(wb, old.id)
    with pytest.raises(CannotResend, match="succeeded"):
        resend(wb, outcome.id)
    with pytest.raises(CannotResend, match="another data directory"):
        resend(wb, "gen_from_another_database")
    assert provider.submits == 2  # no refusal sent anything


def test_an_attempt_the_provider_accepted_is_recovered_not_resent(
    held: tuple[Workbench, HeldProvider],
) -> None:
    wb, provider = held
    provider.accept = True
    run_id = _cut_off(wb, provider)
    [row] = [r for r in wb.log.run_cells(run_id) if r.status == "interrupted"]
    assert row.error_kind == "interrupted"
    with pytest.raises(CannotResend, match="workbench recover"):
        resend(wb, row.id)
    assert provider.submits == 1


def test_resume_sends_uncertain_cells_again_only_when_asked(
    held: tuple[Workbench, HeldProvider],
) -> None:
    wb, provider = held
    run_id = _cut_off(wb, provider, cells=3)
    provider.hold = False
    resume_run(wb, run_id).run_sync()  # the two never sent go; the uncertain one does not
    assert provider.submits == 3
    handle = resume_run(wb, run_id, resend_uncertain=True)
    progress = handle.run_sync()
    assert provider.submits == 4 and progress.succeeded == 1
    rows = wb.log.run_cells(run_id)
    assert sorted(r.status for r in rows) == ["interrupted", "succeeded", "succeeded",
                                              "succeeded"]
    [old] = [r for r in rows if r.status == "interrupted"]
    assert old.error_kind == "resent"
    assert any(wb.log.get(r.id).resend_of == old.id for r in rows if r.status == "succeeded")


def test_generate_resend_refuses_a_succeeded_attempt_in_one_line(
    data_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["generate", "--model", "flux-2-pro", "--prompt", "A lamp", "--json"]) == 0
    import json

    gid = json.loads(capsys.readouterr().out)["id"]
    assert cli.main(["generate", "--resend", gid]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "succeeded" in err and "billed" not in err


def test_a_server_that_exits_stops_its_launched_runs_as_if_cancelled(
    held: tuple[Workbench, HeldProvider],
) -> None:
    """The app's runs live in the server process (a browser session that closes leaves them
    going); when the server process exits they stop as if cancelled, then stop waiting for a
    job that never answers: nothing is left pending or queued."""
    from workbench.services.runs import runner

    wb, provider = held
    handle = start_run(wb, "matrix", "app", _cells(3), RunSettings(concurrency={"bfl": 1}))
    runner.launch(handle)
    assert provider.out.wait(10)
    runner._stop_launched(wait_s=0.2)  # what the process runs at exit
    assert handle.done.is_set()
    statuses = sorted(r.status for r in wb.log.run_cells(handle.run_id))
    assert statuses == ["cancelled", "cancelled", "interrupted"]
    assert wb.runs.get(handle.run_id).status == "interrupted"


def test_every_command_the_messages_suggest_exists() -> None:
    """The actions named in the money messages (uncertain, accepted, resend refusals, stop
    reasons, the ledger) are command lines the CLI accepts."""
    import inspect
    import re
    from pathlib import Path

    from workbench.services.runs import generation, runner
    from workbench.store import attempts
    from workbench.store.sent_ledger import LedgerUnwritable

    messages = [
        attempts.uncertain_message("gen_1", "Google Gemini API", "run_1"),
        attempts.uncertain_message("gen_2", "Google Gemini API", None),
        attempts.ACCEPTED,
        str(LedgerUnwritable(Path("/x/w.duckdb.sent"), "denied")),
        inspect.getsource(generation.resend_plan),
        inspect.getsource(runner.RunHandle),
    ]
    commands = {c for m in messages for c in re.findall(r"`(workbench [^`]+)`", m)}
    assert {"workbench recover", "workbench generate --resend gen_1"} <= commands
    assert any(c.startswith("workbench run --resume") for c in commands)
    parser = cli.build_parser()
    for command in commands:
        parser.parse_args(command.split()[1:])  # raises on an unknown command or flag

"""Keys never leak: after successes, refused keys and providers that echo the key back, the
key appears nowhere in the data directory (DuckDB file and WAL included), the captured
stdout/stderr, the log records (httpx and httpcore at DEBUG) or the messages returned."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from harness.fakes import Fault
from tests.providers.conftest import HOSTED, KEY


@pytest.mark.parametrize("provider", HOSTED)
def test_the_key_is_nowhere_after_success_and_failures(
    make_harness, provider, capfd, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    good = make_harness(provider)
    echoing = make_harness(provider)  # same data dir layout, another workbench
    refused = make_harness(provider, fake_key="the-right-key-is-another-one")
    echoing.fake.fault("submit", Fault(400, {"detail": f"Bad request from key {KEY}"}))
    echoing.fake.fault("submit", Fault(200, f"<html>key={KEY}</html>", content_type="text/html"))

    results = [
        good.generate(),
        echoing.generate(),
        echoing.generate(),
        refused.generate(),
    ]
    outcomes = [outcome for outcome, _ in results]
    assert [o.status for o in outcomes] == ["succeeded", "failed", "failed", "failed"]
    assert [o.error_kind for o in outcomes[1:]] == ["bad_request", "malformed", "auth"]
    assert "[redacted]" in outcomes[1].error  # the echo was there, and was masked

    shown = json.dumps([o.as_json() for o in outcomes]) + json.dumps(
        [dataclasses.asdict(row) for _, row in results], default=str
    )
    assert KEY not in shown

    for harness in (good, echoing, refused):
        harness.wb.close()  # checkpoint, so the file holds everything written
        files = [p for p in harness.wb.settings.data_dir.rglob("*") if p.is_file()]
        assert any(p.suffix == ".duckdb" for p in files)
        for path in files:
            assert KEY.encode() not in path.read_bytes(), f"key found in {path}"

    out, err = capfd.readouterr()
    assert KEY not in out and KEY not in err
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records
    )
    assert any(r.name.startswith("httpx") for r in caplog.records), "httpx logs were captured"
    assert KEY not in logged
    # The key did travel where it must: in the auth header of every API call.
    assert all(KEY in " ".join(r.headers.values()) for r in good.fake.on("submit"))

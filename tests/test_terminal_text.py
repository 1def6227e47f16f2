"""What the command line prints from outside (a provider's error, a shared log's text) cannot
drive the terminal: escape sequences and control characters are removed
(`workbench.redact.printable` / `one_line`), on the paths that print them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fakes import FakeBfl, Fault
from workbench import cli, config
from workbench.config import load_settings
from workbench.redact import one_line, printable
from workbench.services.workbench import open_workbench
from workbench.store.attempts import NewGeneration, Outcome

KEY = "terminal-test-key-7788"
# A screen clear, a window title (OSC 0), a clipboard write (OSC 52), an 8-bit CSI colour, a
# terminal reset, a bell, a NUL and a right-to-left override.
HOSTILE = (
    "\x1b[2J\x1b]0;pwned\x07refused:\x1b]52;c;Y3VybCBldmlsfHNo\x1b\\ \x9b31mred\x1bc"
    "\x07\x00 \u202eosla"
)
CONTROLS = ("\x1b", "\x9b", "\x07", "\x00", "\u202e")


def test_printable_removes_sequences_whole_and_keeps_text() -> None:
    assert printable(HOSTILE) == "refused: red osla"
    assert printable("line one\n\tline two") == "line one\n\tline two"
    assert one_line("a\x1b[31m\nb") == "a b"


@pytest.fixture
def bfl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBfl]:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_POLL_INTERVAL_S", "0")
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")
    with FakeBfl(KEY) as fake:
        monkeypatch.setenv("BFL_API_KEY", KEY)
        monkeypatch.setenv("BFL_BASE_URL", fake.url)
        yield fake


def test_a_provider_error_with_escapes_is_printed_plain(
    bfl: FakeBfl, capsys: pytest.CaptureFixture[str]
) -> None:
    # FastAPI's 422 body, the shape BFL's OpenAPI documents, with a hostile message.
    bfl.fault("submit", Fault(422, {"detail": [{"loc": ["body", "prompt"], "msg": HOSTILE,
                                                "type": "value_error"}]}))
    code = cli.main(["generate", "--model", "flux-2-pro", "--provider", "bfl",
                     "--prompt", "a chair, 50mm, window light, oak grain"])
    out, err = capsys.readouterr()
    assert code == 1 and "refused:" in err and "osla" in err, err
    assert not any(c in out + err for c in CONTROLS)


def test_logged_text_with_escapes_is_printed_plain_by_history(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wb = open_workbench(load_settings(), idle_close_s=0)
    try:  # what anyone who can write to a shared log could leave there
        wb.attempts.insert_pending(NewGeneration(
            id="gen_hostile", model="flux-2-pro", provider="bfl", prompt=HOSTILE,
            prompt_written=HOSTILE))
        wb.attempts.complete("gen_hostile", Outcome(status="failed", error_kind="invalid",
                                                    error_message=HOSTILE))
    finally:
        wb.close()
    assert cli.main(["history"]) == 0
    out, err = capsys.readouterr()
    assert "refused: red osla" in out
    assert not any(c in out + err for c in CONTROLS)

"""One error root: expected failures (`WorkbenchError`) become a one-line message and a
documented exit code on the command line; anything else surfaces with its traceback."""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import pytest

from workbench import cli, config
from workbench.commands import EXIT_FAILED, EXIT_STORE, EXIT_USAGE
from workbench.domain.catalog import CatalogError
from workbench.domain.model_options import InvalidOptions
from workbench.domain.suites import SuiteError
from workbench.engines.ocr import OcrFailed, OcrUnavailable
from workbench.errors import ConfigError, InvalidInput, WorkbenchError
from workbench.imaging.measure import MeasurementError
from workbench.providers.base import ProviderError
from workbench.services.delivery.exports import ImportRejected
from workbench.services.evidence.arena import InvalidVote, NoPairAvailable
from workbench.services.runs.generation import InvalidRequest
from workbench.services.runs.runner import RunRefused
from workbench.stats.bradley_terry import RatingInputError
from workbench.store.db import DatabaseLocked, StoreError
from workbench.store.images import NotAnImage


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (StoreError, RuntimeError), (DatabaseLocked, RuntimeError), (ProviderError, Exception),
        (CatalogError, ValueError), (SuiteError, ValueError), (InvalidOptions, ValueError),
        (InvalidRequest, ValueError), (InvalidVote, ValueError), (RunRefused, ValueError),
        (ImportRejected, ValueError), (NotAnImage, ValueError), (RatingInputError, ValueError),
        (ConfigError, ValueError), (NoPairAvailable, LookupError),
        (MeasurementError, Exception), (OcrUnavailable, RuntimeError), (OcrFailed, RuntimeError),
    ],
    ids=lambda c: c.__name__,
)
def test_every_expected_failure_shares_the_root_and_keeps_its_builtin_base(
    error: type[Exception], builtin: type[Exception]
) -> None:
    # The builtin base stays so that older `except ValueError:` callers still catch it.
    assert issubclass(error, WorkbenchError)
    assert issubclass(error, builtin)


def test_validation_errors_are_invalid_input() -> None:
    for error in (CatalogError, SuiteError, InvalidOptions, InvalidRequest, InvalidVote,
                  RunRefused, ImportRejected, NotAnImage, RatingInputError, ConfigError):
        assert issubclass(error, InvalidInput), error
    assert not issubclass(StoreError, InvalidInput)
    assert not issubclass(ProviderError, InvalidInput)


def test_a_malformed_setting_is_a_config_error_naming_the_variable(tmp_path: Path) -> None:
    env = {"WORKBENCH_DATA_DIR": str(tmp_path), "WORKBENCH_LOCK_TIMEOUT_S": "soon"}
    with pytest.raises(ConfigError, match="WORKBENCH_LOCK_TIMEOUT_S must be a number"):
        config.load_settings(env=env, secrets_file=tmp_path / "none.toml")


# -- the command line ---------------------------------------------------------------------------
def _command_raising(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Registers a throwaway `boom` command that raises `error` (a fake command module)."""

    def register(subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser("boom")

        def run(args: argparse.Namespace) -> int:
            raise error

        parser.set_defaults(run=run)

    module = types.ModuleType("tests._boom_command")
    module.register = register  # type: ignore[attr-defined]  # a module built at run time
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, module.__name__))


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ProviderError("server", "The provider answered 500 twice."), EXIT_FAILED),
        (CatalogError("Unknown model 'nano-banana-9'."), EXIT_USAGE),
        (StoreError("The data directory /x cannot be created."), EXIT_STORE),
        (WorkbenchError("Something expected\nwent wrong."), EXIT_FAILED),
    ],
    ids=["provider", "invalid-input", "store", "root"],
)
def test_cli_turns_an_expected_failure_into_one_line_and_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    error: WorkbenchError, code: int,
) -> None:
    _command_raising(monkeypatch, error)
    assert cli.main(["boom"]) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"error: {' '.join(str(error).split())}\n"
    assert "Traceback" not in err


def test_cli_lets_an_unexpected_error_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    _command_raising(monkeypatch, ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError, match="a bug"):
        cli.main(["boom"])


def test_cli_reports_a_malformed_setting_as_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "soon")
    code = cli.main(["history"])
    _, err = capsys.readouterr()
    assert code == EXIT_USAGE
    assert "WORKBENCH_LOCK_TIMEOUT_S must be a number of seconds, got 'soon'" in err

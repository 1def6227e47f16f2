"""`workbench app`: every argument after `app` goes to `streamlit run`, in order; other commands
still refuse arguments they do not know. (tests/test_install.py starts the real server.)"""

from __future__ import annotations

import sys

import pytest

from workbench import cli
from workbench.commands import EXIT_USAGE
from workbench.commands.app import streamlit_command
from workbench.ui.main import SERVER


def test_app_passes_its_arguments_to_streamlit_run_in_order() -> None:
    args = cli.build_parser().parse_known_args(
        ["app", "--server.port", "8600", "--server.headless", "true", "--theme.base=dark"]
    )
    namespace, unknown = args
    assert namespace.passes_unknown_args is True
    assert streamlit_command(unknown) == [
        sys.executable, "-m", "streamlit", "run", str(SERVER),
        "--server.port", "8600", "--server.headless", "true", "--theme.base=dark",
    ]
    assert SERVER.name == "server.py" and SERVER.parent.name == "ui" and SERVER.is_file()


def test_other_commands_still_refuse_unknown_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["history", "--server.port", "8600"]) == EXIT_USAGE
    _, err = capsys.readouterr()
    assert err == "error: workbench: unrecognized arguments: --server.port 8600 (see --help)\n"

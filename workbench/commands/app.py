"""`workbench app [STREAMLIT OPTIONS]`: starts the Streamlit app (`workbench/ui/server.py`: the
script `workbench/ui/main.py` behind the sign-in guard).

Every argument after `app` goes to `streamlit run` unchanged (`--server.port 8600`, say). The
process becomes Streamlit's (exec), so Ctrl-C and exit codes are Streamlit's own.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app",
        help="start the app in the browser (options go to `streamlit run`)",
        description="Start the Streamlit app. Options after `app` go to `streamlit run`, "
        "e.g. `workbench app --server.port 8600`.",
    )
    # argparse's REMAINDER refuses a first argument that looks like an option (`--server.port`),
    # so the CLI hands this command the arguments it does not know instead.
    parser.set_defaults(run=run, passes_unknown_args=True)


def streamlit_command(streamlit_args: list[str]) -> list[str]:
    """The command line that runs the packaged app with this interpreter's Streamlit."""
    from workbench.ui.main import SERVER

    return [sys.executable, "-m", "streamlit", "run", str(SERVER), *streamlit_args]


# Outside a checkout no `.streamlit/config.toml` says so: no watching of the source files
# (scanning every loaded module per new session delays each page's first paint by 0.5-3 s).
# `--server.fileWatcherType auto` after `app` still turns it on. Nor that a widget's default
# is the session's value on purpose (`ui/widget_value.py`), which Streamlit would log as a
# mistake.
QUIET_SOURCES = {
    "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
    "STREAMLIT_GLOBAL_DISABLE_WIDGET_STATE_DUPLICATION_WARNING": "true",
}


def run(args: argparse.Namespace) -> int:
    for name, value in QUIET_SOURCES.items():
        os.environ.setdefault(name, value)
    command = streamlit_command(list(args.unknown_args))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
    return 0  # unreachable: exec replaces the process

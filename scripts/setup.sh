#!/usr/bin/env bash
# Creates .venv beside the project (once), installs the given pinned requirements file into it,
# then the project itself (editable, so `.venv/bin/workbench` runs this checkout's code).
# Used by app.sh and test.sh; safe to run again (pip skips what is already there).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
# --no-deps: the dependencies are the pinned ones just installed, not pyproject's ranges.
# editable_mode=compat: a plain path entry instead of setuptools' import finder, which every
# interpreter start imported (~28 ms of a 0.1 s `workbench history` answered by a run).
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . \
  --config-settings editable_mode=compat
# Compile the project's modules now: every command is a fresh interpreter, and where
# PYTHONDONTWRITEBYTECODE is set (containers often set it) it would otherwise recompile all of
# them on each start (~0.25 s here); pip already does this for installed packages.
.venv/bin/python -m compileall -q workbench >/dev/null

#!/usr/bin/env bash
# Creates .venv beside the project (once) and installs the given requirements file into it.
# Used by app.sh and test.sh; safe to run again (pip skips what is already there).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"

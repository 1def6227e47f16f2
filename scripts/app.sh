#!/usr/bin/env bash
# Sets up the virtual environment and starts the app (http://localhost:8501) with `workbench app`.
# Extra arguments go to `streamlit run`, e.g. `bash scripts/app.sh --server.port 8600`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/workbench app "$@"

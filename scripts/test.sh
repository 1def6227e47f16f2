#!/usr/bin/env bash
# Sets up the virtual environment (with test tools, Debian's chromium and PostgreSQL 15),
# checks the code with ruff and mypy (settings in pyproject.toml) and runs the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
# Debian packages the tests start for real: chromium (browser tests) and PostgreSQL 15 (team-mode
# tests run a throwaway server as the `postgres` user).
install_debian() {
  echo "Installing Debian's $1 for the tests…"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1"
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1"
  else
    echo "$1 is missing and cannot be installed without root: apt-get install $1" >&2
    exit 1
  fi
}
[ -x "${WORKBENCH_CHROMIUM:-/usr/bin/chromium}" ] || install_debian chromium
if [ "${WORKBENCH_SKIP_POSTGRES:-0}" != "1" ] && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  install_debian postgresql
fi
.venv/bin/ruff check .
.venv/bin/python -m mypy
# Temporary files (every test's data directory, the PostgreSQL clusters) go to memory when
# /dev/shm is a tmpfs with room (4 GiB free) and TMPDIR is not set: each DuckDB commit syncs
# its write-ahead log to disk, and a test's database is thrown away at its end, so the disk's
# sync bought nothing. A killed process loses nothing either way (the kernel holds its
# writes). Elsewhere the system's temporary directory is used.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] \
  && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = "tmpfs" ] \
  && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -ge 4194304 ]; then
  export TMPDIR=/dev/shm
fi
# Two worker processes (pytest-xdist; a 2-core CI machine), tests handed out one by one.
# WORKBENCH_TEST_WORKERS=0 runs everything in this process; arguments given here go to one run
# (`bash scripts/test.sh -n 0 tests/test_x.py`). The 25 slowest tests are listed at the end.
workers="${WORKBENCH_TEST_WORKERS:-2}"
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup --durations=25 "$@"
fi
# The browser journeys run after the rest, on one worker: beside the other tests on two cores
# a journey's rerun waited past its 60 s timeout (the whole run is CPU-bound either way: side by
# side took 399 s on a clean clone, one after the other about the same, without the flake).
.venv/bin/python -m pytest -n "$workers" --dist load --durations=25 -m "not browser"
exec .venv/bin/python -m pytest -n 0 --durations=10 -m browser

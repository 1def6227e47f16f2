"""Debian's chromium as the browser tests and `bench/pages.py` start it (never a browser build
of Playwright's own), and the heading each page of the app shows once it has drawn."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet on a closed network: without the background-networking flags chromium
# keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# url path -> the page's heading
TITLES = {
    "build": "Build a prompt",
    "compare": "Compare models",
    "matrix": "Matrix",
    "history": "History",
    "arena": "Arena",
    "leaderboard": "Leaderboard",
    "measurements": "Measurements",
    "status": "Status",
}

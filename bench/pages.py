"""How long each page takes to open in a real browser once the server is up.

Starts `streamlit run app.py` on a free loopback port with a fresh data directory holding a
small log (a Compare run of 2 models x 4 variations and a Matrix run of 8 cells, offline
sketches), then for each page opens its URL in a new Chromium tab and times from navigation
until the page's title is shown and Streamlit reports the run finished (the status widget is
gone): in a fresh browser profile (a first visit: Streamlit's ~100 JavaScript files fetched
and parsed) and in a new tab of a profile that has them cached (anyone who opened the app
before; `cached_*`). It also times each page reached from the menu of an already open tab, and
an empty Streamlit page served the same way (`st.App`), the floor under every page: on a shared
machine the absolute figures move with the load, a page's time over the empty page much less.
Each figure is the median of several opens after one warm-up (a page and the empty page opened in
turns, so both meet the same load); the target is <= 1.5 s.
Needs Debian's chromium and Playwright (as the browser tests do). Last line: one JSON object.

Usage: .venv/bin/python bench/pages.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.chromium import CHROMIUM, CHROMIUM_ARGS, TITLES  # noqa: E402

MENU = {name: name.capitalize() for name in TITLES}  # the menu's link text


def _seed(data_dir: Path) -> None:
    from workbench.config import load_settings
    from workbench.services.runs import grids
    from workbench.services.runs.runner import start_run
    from workbench.services.workbench import open_workbench

    wb = open_workbench(
        load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)}, secrets_file=data_dir / "x"),
        idle_close_s=0,
    )
    providers = {"nano-banana-2": "offline", "flux-2-pro": "offline"}
    variant = grids.Variant(label="P1", text="a lighthouse at dusk, oil painting")
    start_run(wb, "compare", "bench", grids.compare_cells(wb, providers, variant, 4, 1)).run_sync()
    variants = [grids.Variant(label=f"P{i}", text=f"a kettle, take {i}") for i in (1, 2)]
    cells = grids.matrix_cells(wb, variants, providers, [1, 2], [None])
    start_run(wb, "matrix", "bench", cells).run_sync()
    wb.close()


_EMPTY_PAGE = """import streamlit as st

st.title("Empty")
"""
_EMPTY_APP = """from pathlib import Path

import streamlit as st

app = st.App(str(Path(__file__).with_name("empty_page.py")))
"""


def _serve(script: Path, env: dict[str, str]) -> tuple[Any, str]:
    """`streamlit run script` on a free loopback port, once it answers its health check."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.2)


VIEWPORT: Any = {"width": 1400, "height": 1000}  # playwright's ViewportSize


def _open_once(browser: Any, url: str, title: str, context: Any = None) -> float:
    """Seconds from navigation in a new tab until `title` is shown and the script run is over:
    in a fresh browser profile (nothing cached, a first visit), or in a new tab of `context`
    (the app's JavaScript and fonts already cached, as for anyone who opened it before)."""
    fresh = context is None
    holder = browser.new_context(viewport=VIEWPORT) if fresh else context
    page = holder.new_page()
    page.set_default_timeout(60_000)
    start = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).first.wait_for()
    page.wait_for_timeout(100)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
    elapsed = time.perf_counter() - start - 0.1
    page.close()
    if fresh:
        holder.close()
    return elapsed


def _open_times(
    browser: Any, url: str, title: str, empty_url: str, repeat: int, context: Any = None
) -> tuple[list[float], list[float]]:
    """(this page's opens, the empty page's opens), taken in turns after one warm-up of each,
    so that both meet the same load."""
    _open_once(browser, url, title, context)
    _open_once(browser, empty_url, "Empty", context)
    pages, empties = [], []
    for _ in range(repeat):
        empties.append(_open_once(browser, empty_url, "Empty", context))
        pages.append(_open_once(browser, url, title, context))
    return pages, empties


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import os

    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    _seed(data_dir)
    # The floor: an empty Streamlit page on the same server stack (`st.App`), timed the same
    # way. On a shared machine every figure moves with the load; a page's time over the empty
    # page is what the workbench adds and moves much less.
    empty_dir = Path(tempfile.mkdtemp(prefix="bench-empty-"))
    (empty_dir / "empty_page.py").write_text(_EMPTY_PAGE)
    (empty_dir / "empty_app.py").write_text(_EMPTY_APP)
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(data_dir)}
    server, url = _serve(ROOT / "app.py", env)
    empty_server, empty_url = _serve(empty_dir / "empty_app.py", dict(os.environ))
    try:
        figures: dict[str, float] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            all_empty: list[float] = []
            cached_empty: list[float] = []
            cached = browser.new_context(viewport=VIEWPORT)  # one profile: files cached
            for name, title in TITLES.items():
                for kind, context in (("open", None), ("cached", cached)):
                    times, empties = _open_times(browser, f"{url}/{name}", title, empty_url,
                                                 args.repeat, context)
                    took = statistics.median(times)
                    over = statistics.median(t - e for t, e in zip(times, empties, strict=True))
                    figures[f"{kind}_{name}_s"] = round(took, 3)
                    figures[f"{kind}_{name}_over_empty_s"] = round(over, 3)
                    (all_empty if kind == "open" else cached_empty).extend(empties)
                    print(f"{kind:6s} {name:13s} {took:.3f} s ({over:+.3f} s over the empty "
                          "page)", flush=True)
            cached.close()
            floor = statistics.median(all_empty)
            figures["open_empty_page_s"] = round(floor, 3)
            figures["cached_empty_page_s"] = round(statistics.median(cached_empty), 3)
            print(f"open   {'(empty page)':13s} {floor:.3f} s", flush=True)
            # the same pages from the menu of an open tab (no page load, one rerun each)
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(60_000)
            page.goto(f"{url}/build")
            page.get_by_role("heading", name=TITLES["build"], exact=True).first.wait_for()
            nav: dict[str, list[float]] = {name: [] for name in TITLES}
            for _ in range(args.repeat):
                for name, title in TITLES.items():
                    start = time.perf_counter()
                    page.get_by_role("link", name=MENU[name], exact=True).click()
                    page.get_by_role("heading", name=title, exact=True).first.wait_for()
                    page.wait_for_timeout(100)
                    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
                    nav[name].append(time.perf_counter() - start - 0.1)
            for name, times in nav.items():
                figures[f"menu_{name}_s"] = round(statistics.median(times), 3)
                print(f"menu {name:13s} {statistics.median(times):.3f} s", flush=True)
            browser.close()
    finally:
        for process in (server, empty_server):
            process.terminate()
            process.wait(timeout=10)
    result = dict(figures)
    for kind in ("open", "cached"):
        opens = {k: v for k, v in figures.items() if k.startswith(f"{kind}_")
                 and "_over_" not in k and "_empty_page_" not in k}
        result[f"page_{kind}_max_s"] = max(opens.values())
        result[f"page_{kind}_over_empty_max_s"] = max(
            v for k, v in figures.items() if k.startswith(f"{kind}_") and "_over_empty" in k)
    result["page_menu_max_s"] = max(v for k, v in figures.items() if k.startswith("menu_"))
    result["load_average_1min"] = round(os.getloadavg()[0], 2)  # a busy machine is slower
    print(json.dumps(result))


if __name__ == "__main__":
    main()

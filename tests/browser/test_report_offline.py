"""The HTML report in real Chromium: every embedded image decodes, the page
makes no request beyond its own file, and it holds no script."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.library_data import offline_run
from workbench.services.delivery.provenance import generation_ids
from workbench.services.delivery.report import build_report
from workbench.services.workbench import Workbench

pytestmark = pytest.mark.browser


def test_the_report_opens_offline_with_every_image_decoded(
    wb: Workbench, browser, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    # Two models x two prompts (one hostile) x three seeds. On a thread of its own: Playwright's
    # sync API keeps an event loop running on this one, and the run engine starts its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        run_id = pool.submit(offline_run, wb, 3).result()
    report = build_report(wb, generation_ids(wb, run_id=run_id), "Compare run")
    target = tmp_path / "report.html"
    target.write_bytes(report.data)

    context = browser.new_context(offline=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(target.as_uri(), wait_until="load")
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth)")
    assert len(widths) == report.images == 12
    assert all(isinstance(w, int) and w > 0 for w in widths), widths
    assert page.evaluate("document.scripts.length") == 0
    assert [u for u in requests if not u.startswith("data:")] == [target.as_uri()]
    # The hostile prompt stayed text: no image element points anywhere but at embedded data.
    sources = page.eval_on_selector_all("img", "els => els.map(e => e.src.slice(0, 23))")
    assert set(sources) == {"data:image/jpeg;base64,"}
    context.close()

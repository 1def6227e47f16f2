"""Behind a signing-in proxy, in real Chromium against `streamlit run app.py`: the images a page
shows (`/media/…`, served by Streamlit outside any script) answer a request that carries the
trusted header once and nobody else, and a request carrying it twice is refused outright
(`workbench/ui/guard.py`)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.arena_data import add_generation
from tests.browser.conftest import start_app
from workbench.config import load_settings
from workbench.services.workbench import open_workbench

pytestmark = pytest.mark.browser

HEADER = "X-Forwarded-Email"
ANN = "ann@example.com"


@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("guarded-data")
    wb = open_workbench(load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)}), idle_close_s=0)
    try:  # an Arena pair: two images on the page
        add_generation(wb, "nano-banana-2", "a lighthouse only the team may see")
        add_generation(wb, "flux-2-pro", "a lighthouse only the team may see", provider="bfl")
    finally:
        wb.close()
    with start_app(data_dir, {"WORKBENCH_TRUSTED_USER_HEADER": HEADER}) as url:
        yield url


def _get(url: str, headers: list[tuple[str, str]]) -> int:
    """A GET with these header lines as given (a repeated name stays two lines)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest("GET", parts.path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_media_urls_answer_the_signed_in_only(guarded_app, browser) -> None:  # type: ignore[no-untyped-def]
    signed_in = browser.new_context(
        extra_http_headers={HEADER: ANN}, viewport={"width": 1400, "height": 1000}
    )
    page = signed_in.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{guarded_app}/arena")
    page.get_by_role("heading", name="Arena").wait_for()
    image = page.locator('img[src*="/media/"]').first
    image.wait_for()
    src = image.get_attribute("src") or ""
    media = src if src.startswith("http") else f"{guarded_app}{src}"
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")  # it loaded for Ann
    assert _get(media, [(HEADER, ANN)]) == 200
    assert _get(media, []) == 403  # around the proxy, or after it signed Ann out
    assert _get(media, [(HEADER, "mallory@example.com"), (HEADER, ANN)]) == 400
    assert _get(f"{guarded_app}/", [(HEADER, "mallory@example.com"), (HEADER, ANN)]) == 400
    signed_in.close()

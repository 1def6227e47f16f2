"""Behind a signing-in proxy, in real Chromium against `streamlit run app.py`: the images a page
shows (`/media/…`, served by Streamlit outside any script) answer a request that carries the
trusted header once and nobody else, and a request carrying it twice is refused outright
(`workbench/ui/guard.py`)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import TRUSTED_HEADER

pytestmark = pytest.mark.browser

HEADER = TRUSTED_HEADER  # the server of `proxied_app` (tests/browser/conftest.py) trusts it
ANN = "ann@example.com"


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


def test_media_urls_answer_the_signed_in_only(proxied_app, browser) -> None:  # type: ignore[no-untyped-def]
    guarded_app, _data_dir = proxied_app
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

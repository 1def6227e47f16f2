"""Behind an authenticating proxy, in real Chromium: with
WORKBENCH_TRUSTED_USER_HEADER set, a browser whose requests carry the header is signed in under
that name (read only in the sidebar) and a vote it casts records it; a browser without the
header sees the refusal page and nothing of the workbench."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TEAM_PROMPTS, TRUSTED_HEADER
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import open_workbench

pytestmark = pytest.mark.browser

HEADER = TRUSTED_HEADER  # the server of `proxied_app` (tests/browser/conftest.py) trusts it
ANN = "ann@example.com"


def test_the_header_signs_in_and_its_absence_is_refused(proxied_app, browser) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = proxied_app

    signed_in = browser.new_context(
        extra_http_headers={HEADER: ANN}, viewport={"width": 1400, "height": 1000}
    )
    page = signed_in.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/arena")
    page.get_by_role("heading", name="Arena").wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(ANN).wait_for()
    assert sidebar.get_by_text("Signed in as").count() == 1
    assert sidebar.locator("input").count() == 0  # the name cannot be changed here
    page.get_by_role("button", name="Left is better").click()
    page.get_by_role("button", name="Next pair").wait_for()
    signed_in.close()

    anonymous = browser.new_context()
    page = anonymous.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/history")
    page.get_by_role("heading", name="Sign-in required").wait_for()
    # the explanation names the header; once it is drawn, the script has stopped (st.stop)
    page.get_by_text(HEADER, exact=False).first.wait_for()
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
    body = page.locator('[data-testid="stApp"]').inner_text()
    assert HEADER in body
    assert not any(prompt in body for prompt in TEAM_PROMPTS)
    assert "History" not in body and "Arena" not in body
    assert page.locator('[data-testid="stSidebar"]').count() == 0
    anonymous.close()

    wb = open_workbench(load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)}), idle_close_s=0)
    try:
        [vote] = wb.votes.frame(HistoryFilter()).to_dict("records")
    finally:
        wb.close()
    assert vote["rater"] == ANN

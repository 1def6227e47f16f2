"""The main journey in real Chromium: build a Nano Banana 2 prompt, generate, see the image,
find it in History, rate it, and see the rating on the Leaderboard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SEED_NANO = (
    "A woman reading on a sun-filled apartment balcony, late afternoon, warm and unhurried, "
    "photorealistic"
)
ARTIFACTS = Path(
    os.environ.get("WORKBENCH_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")
)


def _settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished the rerun the last action started."""
    page.wait_for_timeout(150)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)


def test_build_generate_find_rate_and_rank(app_server, browser) -> None:  # type: ignore[no-untyped-def]
    url, _data_dir = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)  # generous: CI machines are small and may be busy
    page.goto(url)
    page.get_by_role("heading", name="Build a prompt").wait_for()

    # Build: Nano Banana 2 is the default model; fill the template slot by slot.
    fields = {
        "Subject *": "A woman",
        "Action or pose": "reading",
        "Environment *": "on a sun-filled apartment balcony",
        "Time of day": "late afternoon",
        "Mood": "warm and unhurried",
    }
    for label, value in fields.items():
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
        # The rerun this commit started is done when the assembled prompt shows the value.
        page.locator('[data-testid="stCode"]').filter(has_text=value).first.wait_for()
        _settle(page)
    sent = page.locator('[data-testid="stCode"]').filter(has_text=SEED_NANO)
    sent.first.wait_for()
    assert sent.count() >= 2  # as written and as sent are the same here

    # Generate with the offline sketch renderer and see the image.
    page.get_by_role("button", name="Generate").click()
    page.get_by_role("heading", name="Result").wait_for()
    _settle(page)
    result_image = page.locator('[data-testid="stImage"] img').first
    result_image.wait_for()
    page.get_by_text("offline sketch, no model").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "journey-1-build.png"), full_page=True)

    # Find it in History.
    page.get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History").wait_for()
    _settle(page)
    page.get_by_text("1 generation matches").wait_for()
    page.get_by_role("heading", name="Generation gen_").wait_for()
    page.locator('[data-testid="stCode"]').filter(has_text=SEED_NANO).first.wait_for()

    # Rate it: five stars overall.
    overall = page.locator('[data-testid="stFeedback"]').first
    overall.get_by_role("radio", name="5 out of 5 stars").click()
    page.get_by_text("Saved 5★ for overall.").wait_for()
    _settle(page)
    page.screenshot(path=str(ARTIFACTS / "journey-2-history.png"), full_page=True)

    # See it on the Leaderboard (sketches count only when the user includes them).
    page.get_by_role("link", name="Leaderboard").click()
    page.get_by_role("heading", name="Leaderboard").wait_for()
    _settle(page)
    page.get_by_text("Include offline sketches").click()
    _settle(page)
    stars = page.locator('[data-testid="stTable"]').first
    stars.wait_for()
    # sketches compete under their own name, never as the model itself
    row = stars.locator("tr").filter(has_text="Nano Banana 2 (offline sketch)")
    row.first.wait_for()
    assert row.count() == 1
    assert "5.0 (n=1)" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "journey-3-leaderboard.png"), full_page=True)
    page.close()

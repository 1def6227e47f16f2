"""The main journey in real Chromium: build a Nano Banana 2 prompt, generate, see the image,
find it in History, rate it, see the rating on the Leaderboard, then refine the draft on FLUX.2
Pro and find both in one lineage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.chromium import TITLES
from tests.browser.steps import choose_option, settle

pytestmark = pytest.mark.browser

SEED_NANO = (
    "A woman reading on a sun-filled apartment balcony, late afternoon, warm and unhurried, "
    "photorealistic"
)
ARTIFACTS = Path(
    os.environ.get("WORKBENCH_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")
)


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
        settle(page)
    sent = page.locator('[data-testid="stCode"]').filter(has_text=SEED_NANO)
    sent.first.wait_for()
    assert sent.count() >= 2  # as written and as sent are the same here

    # Generate with the offline sketch renderer and see the image.
    page.get_by_role("button", name="Generate").click()
    page.get_by_role("heading", name="Result").wait_for()
    settle(page)
    result_image = page.locator('[data-testid="stImage"] img').first
    result_image.wait_for()
    page.get_by_text("offline sketch, no model").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "journey-1-build.png"), full_page=True)

    # Find it in History.
    page.get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History").wait_for()
    settle(page)
    page.get_by_text("1 generation matches").wait_for()
    page.get_by_role("heading", name="Generation gen_").wait_for()
    page.locator('[data-testid="stCode"]').filter(has_text=SEED_NANO).first.wait_for()

    # Rate it: five stars overall.
    overall = page.locator('[data-testid="stFeedback"]').first
    overall.get_by_role("radio", name="5 out of 5 stars").click()
    page.get_by_text("Saved 5★ for overall.").wait_for()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "journey-2-history.png"), full_page=True)

    # See it on the Leaderboard (sketches count only when the user includes them).
    page.get_by_role("link", name="Leaderboard").click()
    page.get_by_role("heading", name="Leaderboard").wait_for()
    settle(page)
    page.get_by_text("Include offline sketches").click()
    settle(page)
    stars = page.locator('[data-testid="stTable"]').first
    stars.wait_for()
    # sketches compete under their own name, never as the model itself
    row = stars.locator("tr").filter(has_text="Nano Banana 2 (offline sketch)")
    row.first.wait_for()
    assert row.count() == 1
    assert "5.0 (n=1)" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "journey-3-leaderboard.png"), full_page=True)

    # Refine on FLUX.2 Pro: from the draft's detail to the builder, prefilled.
    page.get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History").wait_for()
    settle(page)
    page.get_by_role("button", name="Refine on FLUX.2 Pro").click()
    page.get_by_role("heading", name="Build a prompt").wait_for()
    settle(page)
    page.get_by_text("Refining", exact=False).first.wait_for()
    subject = page.get_by_role("textbox", name="Subject, described in detail *")
    assert subject.input_value() == "A woman reading"
    assert page.get_by_role("checkbox", name="Send the draft as reference image").is_checked()
    lighting = page.get_by_role("textbox", name="Precise lighting · to fill")
    lighting.fill("soft window light from the left")
    lighting.press("Tab")
    page.locator('[data-testid="stCode"]').filter(
        has_text="soft window light from the left").first.wait_for()
    settle(page)
    page.get_by_text("The draft goes along as a reference image", exact=False).first.wait_for()
    page.get_by_role("button", name="Generate").click()
    page.get_by_role("heading", name="Result").wait_for()
    settle(page)
    page.get_by_text("FLUX.2 Pro (offline sketch, no model)").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "journey-7-refine.png"), full_page=True)

    # History: the refinement opens first, with the draft in its lineage chain.
    page.get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History").wait_for()
    settle(page)
    page.get_by_text("2 generations match").wait_for()
    page.get_by_text("Lineage (first draft → refinements)").wait_for()
    page.get_by_text("▶ FLUX.2 Pro · succeeded").wait_for()
    page.get_by_text("Nano Banana 2 · succeeded").wait_for()
    page.screenshot(path=str(ARTIFACTS / "journey-8-lineage.png"), full_page=True)
    page.close()


# A tracking pixel, raw HTML and a script link: shown as text, none may make the browser fetch.
HOSTILE = (
    "![x](http://127.0.0.1:9/x.png) <img src=http://127.0.0.1:9/y.png> "
    "[a](javascript:alert(1))"
)


def _heading(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("heading", name=name, exact=True).first.wait_for()
    settle(page)


def test_every_page_has_its_own_url(app_server, browser) -> None:  # type: ignore[no-untyped-def]
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    for name, title in TITLES.items():
        page.goto(f"{url}/{name}")
        _heading(page, title)
        assert page.get_by_text("Page not found").count() == 0
        assert page.url.split("?")[0].rstrip("/").endswith(f"/{name}")  # a page's state may follow
    page.goto(url)  # the bare address opens Build, at its own URL
    _heading(page, TITLES["build"])
    assert page.url.rstrip("/").endswith("/build")
    page.close()


def test_hostile_text_compare_arena_and_a_rating_that_stays(app_server, browser) -> None:  # type: ignore[no-untyped-def]
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(60_000)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # Build: the hostile text in a slot, generated.
    page.goto(f"{url}/build")
    _heading(page, TITLES["build"])
    for label, value in {"Subject *": f"A fox {HOSTILE}", "Environment *": "in a barn"}.items():
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
        settle(page)
    page.get_by_role("button", name="Generate").click()
    page.get_by_role("heading", name="Result").wait_for()
    settle(page)

    # Compare: 2 models x 2 variations of a hostile free-text prompt.
    page.get_by_role("link", name="Compare").click()
    _heading(page, TITLES["compare"])
    page.get_by_text("Free text", exact=True).click()
    settle(page)
    prompt = page.get_by_label("Prompt (sent as written to every model)")
    prompt.fill(f"{HOSTILE} a lighthouse at dusk")
    prompt.press("Tab")
    settle(page)
    variations = page.get_by_label("Variations per model")
    variations.fill("2")
    variations.press("Tab")
    settle(page)
    page.get_by_role("button", name="Run 4 generations").click()
    page.get_by_role("button", name="Download the run as ZIP").wait_for()  # the run is done
    settle(page)
    assert page.locator('[data-testid="stImage"] img').count() >= 4
    page.screenshot(path=str(ARTIFACTS / "journey-4-compare.png"), full_page=True)

    # Matrix: the hostile text as a variant, its label list opened.
    page.get_by_role("link", name="Matrix").click()
    _heading(page, TITLES["matrix"])
    variants = page.get_by_label("Prompt variants", exact=False)
    variants.fill(HOSTILE)
    variants.press("Tab")
    settle(page)
    page.get_by_text("Prompt labels").click()
    settle(page)
    page.get_by_text("![x](http://127.0.0.1:9/x.png)", exact=False).first.wait_for()  # as text

    # Arena: a vote on a pair of the Compare run (offline sketches included).
    page.get_by_role("link", name="Arena").click()
    _heading(page, TITLES["arena"])
    page.get_by_text("Include offline sketches").click()
    settle(page)
    page.get_by_role("button", name="Left is better").click()
    settle(page)
    page.get_by_text("you preferred").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "journey-5-arena.png"), full_page=True)

    # History: open the second generation, rate it; the view stays on it.
    page.get_by_role("link", name="History").click()
    _heading(page, TITLES["history"])
    page.get_by_role("tab", name="Gallery").click()
    settle(page)
    heading = page.get_by_role("heading", name="Generation gen_").first
    first_opened = heading.inner_text()
    choose_option(page, "Open generation", index=1)
    page.wait_for_function(  # the detail below follows the choice
        "old => ![...document.querySelectorAll('h2, h3')].some(h => h.innerText === old)",
        arg=first_opened,
    )
    settle(page)
    opened = heading.inner_text()
    assert opened != first_opened
    page.locator('[data-testid="stFeedback"]').first.get_by_role(
        "radio", name="4 out of 5 stars"
    ).click()
    page.get_by_text("Saved 4★ for overall.").wait_for()
    settle(page)
    assert page.get_by_role("heading", name="Generation gen_").first.inner_text() == opened
    page.screenshot(path=str(ARTIFACTS / "journey-6-history-rating.png"), full_page=True)

    for name in ("leaderboard", "measurements", "status"):
        page.get_by_role("link", name=TITLES[name]).click()
        _heading(page, TITLES[name])

    leaving = [
        r for r in requests if not r.startswith((url, "data:", "blob:", "about:"))
    ]
    assert leaving == [], f"requests left the app: {leaving}"
    assert not any("127.0.0.1:9" in r for r in requests)
    page.close()

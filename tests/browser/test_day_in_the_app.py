"""A working day in the app, in real Chromium: an image downloaded from History opens its recipe
on Build; History's filters survive another page, a reload and a shared link; a cleared rating
stays cleared after a reload and a slider never writes ratings."""

from __future__ import annotations

import contextlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.steps import choose_option, settle
from workbench.config import KEY_VARIABLES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def _cli(data_dir: Path, *args: str) -> str:
    """`workbench ARGS` on the app's data directory, keyless (offline sketches); what it
    printed. The command line's own `main`, run in this process (no interpreter to start) on a
    thread of its own: Playwright's sync API keeps an event loop running on this one, and a
    command starts its own. The command closes its workbench before it returns, as a process
    of its own would at exit, so the app gets the database file back."""
    from workbench import cli, config

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WORKBENCH_DATA_DIR", str(data_dir))
        env.setattr(config, "SECRETS_FILE", data_dir.parent / "no-secrets.toml")
        for names in KEY_VARIABLES.values():
            for name in names:
                env.delenv(name, raising=False)
        with ThreadPoolExecutor(max_workers=1) as pool, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = pool.submit(cli.main, list(args)).result(timeout=120)
    assert code == 0, err.getvalue()
    return out.getvalue()


def _generate(data_dir: Path, prompt: str, model: str = "nano-banana-2", seed: int = 7) -> str:
    out = _cli(data_dir, "generate", "--model", model, "--prompt", prompt, "--seed", str(seed),
               "--json")
    return str(json.loads(out)["id"])


def _history(page, url: str, query: str = "") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/history{query}")
    page.get_by_role("heading", name="History", exact=True).wait_for()
    settle(page)


def test_a_downloaded_image_opens_its_recipe_on_build(app_server, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = app_server
    prompt = "A brass telescope on a ship's deck at dawn, recipe journey"
    gid = _generate(data_dir, prompt, seed=4242)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    _history(page, url)  # the newest generation opens first
    page.get_by_role("heading", name=f"Generation {gid}").wait_for()
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download image").click()
    saved = tmp_path / caught.value.suggested_filename
    caught.value.save_as(saved)
    assert saved.name == f"{gid}.png"

    page.goto(f"{url}/build")
    page.get_by_role("heading", name="Build a prompt").wait_for()
    settle(page)
    page.get_by_text("Open from image").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(saved))
    settle(page)
    page.get_by_role("button", name="Restore its recipe").click()
    page.get_by_text("Restored the prompt and settings from the image.").wait_for()
    settle(page)
    page.locator('[data-testid="stCode"]').filter(has_text=prompt).first.wait_for()
    assert page.get_by_role("textbox", name="Seed").input_value() == "4242"
    page.close()


def _ratings(data_dir: Path, generation_id: str) -> list[int | None]:
    """The ratings rows of a generation, oldest first (None: a cleared rating). Read through
    the workbench's own turn-taking on the database file: the app holds the file while it
    works and gives it up to a process that waits, where a bare read-only connection would
    be refused."""
    from workbench.config import load_settings
    from workbench.services.workbench import open_workbench

    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(data_dir), "WORKBENCH_LOCK_TIMEOUT_S": "60"},
        secrets_file=data_dir.parent / "no-secrets.toml",
    )
    wb = open_workbench(settings, idle_close_s=0)
    try:
        with wb.db.cursor() as cur:
            rows = cur.execute(
                "SELECT stars FROM ratings WHERE generation_id = ? ORDER BY id", [generation_id]
            ).fetchall()
    finally:
        wb.close()
    return [r[0] for r in rows]


def test_a_rating_is_written_once_the_slider_writes_none_and_a_clear_stays(
    app_server, browser
) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = app_server
    gid = _generate(data_dir, "A paper boat on a puddle, rating journey", seed=5)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    _history(page, url)
    page.get_by_role("heading", name=f"Generation {gid}").wait_for()
    overall = page.locator('[data-testid="stFeedback"]').first
    overall.get_by_role("radio", name="4 out of 5 stars").click()
    page.get_by_text("Saved 4★ for overall.").wait_for()
    settle(page)
    # Two quick presses of → on the "Minimum rating" slider, then back down.
    handle = page.get_by_role("slider", name="Minimum rating (mean stars)")
    for key in ("ArrowRight", "ArrowRight", "ArrowLeft", "ArrowLeft"):
        handle.press(key)
        settle(page)
    # On a busy machine a press can land while the rerun redraws the slider and do nothing;
    # back at its minimum either way, so the filter shows this generation again.
    for _ in range(4):
        if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemin"):
            break
        handle.press("ArrowLeft")
        settle(page)
    assert handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemin")
    assert _ratings(data_dir, gid) == [4]
    # Click the selected star again: the rating is cleared, and stays cleared after a reload.
    overall = page.locator('[data-testid="stFeedback"]').first
    overall.get_by_role("radio", name="4 out of 5 stars").click()
    page.get_by_text("Cleared the rating for overall.").wait_for()
    settle(page)
    assert _ratings(data_dir, gid) == [4, None]
    page.reload()
    page.get_by_role("heading", name=f"Generation {gid}").wait_for()
    settle(page)
    stars = page.locator('[data-testid="stFeedback"]').first
    assert stars.get_by_role("radio", checked=True).count() == 0
    assert _ratings(data_dir, gid) == [4, None]
    page.close()


def _with_param(address: str, name: str, value: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(address)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != name] + [(name, value)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _shows(page, text: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page shows `text` (an earlier run's elements stay on screen meanwhile)."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)


def _text_box(page):  # type: ignore[no-untyped-def]
    return page.get_by_role("textbox", name="Prompt, tag or note contains")


def _caption(page) -> str:  # type: ignore[no-untyped-def]
    text = page.get_by_text("match · page", exact=False).or_(
        page.get_by_text("matches · page", exact=False)).first
    text.wait_for()
    return str(text.inner_text())


def test_history_filters_survive_another_page_a_reload_back_and_a_shared_link(
    app_server, browser
) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = app_server
    marker = "lighthouse-url-journey"
    wanted = _generate(data_dir, f"A {marker} at dusk", seed=1)
    _generate(data_dir, f"A {marker} at noon", model="flux-2-pro", seed=2)
    _generate(data_dir, "An unrelated teapot", seed=3)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    _history(page, url)
    box = page.locator('input[aria-label="Prompt, tag or note contains"]')
    box.fill(marker)
    box.press("Enter")
    settle(page)
    _shows(page, "2 generations match")
    assert f"h_text={marker}" in page.url
    # the open generation follows the URL too
    page.goto(_with_param(page.url, "open", wanted))
    page.get_by_role("heading", name=f"Generation {wanted}").wait_for()
    settle(page)
    filtered = page.url
    assert f"open={wanted}" in filtered

    # Another page and back through the menu: the filter is still there.
    page.get_by_role("link", name="Leaderboard").click()
    page.get_by_role("heading", name="Leaderboard").wait_for()
    settle(page)
    page.get_by_role("link", name="History").click()
    page.get_by_role("heading", name="History", exact=True).wait_for()
    settle(page)
    _shows(page, "2 generations match")
    expect(_text_box(page)).to_have_value(marker, timeout=60_000)

    # The browser's back button from another page.
    page.get_by_role("link", name="Status").click()
    page.get_by_role("heading", name="Status").wait_for()
    settle(page)
    page.go_back()
    page.get_by_role("heading", name="History", exact=True).wait_for()
    settle(page)
    _shows(page, "2 generations match")

    # A reload, and the link opened in a fresh browser context (someone it was sent to).
    page.reload()
    page.get_by_role("heading", name="History", exact=True).wait_for()
    settle(page)
    _shows(page, "2 generations match")
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    shared = other.new_page()
    shared.set_default_timeout(60_000)
    shared.goto(filtered)
    shared.get_by_role("heading", name="History", exact=True).wait_for()
    settle(shared)
    _shows(shared, "2 generations match")
    shared.get_by_role("heading", name=f"Generation {wanted}").wait_for()
    expect(_text_box(shared)).to_have_value(marker, timeout=60_000)
    other.close()
    page.close()


def test_archive_and_restore(app_server, browser) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = app_server
    gid = _generate(data_dir, "A glass buoy on a beach, archive journey", seed=11)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    _history(page, url, f"?open={gid}")
    page.get_by_role("heading", name=f"Generation {gid}").wait_for()
    page.get_by_role("button", name="Archive", exact=True).click()
    page.get_by_text(f"Archived {gid}.").wait_for()
    settle(page)
    assert page.get_by_role("heading", name=f"Generation {gid}").count() == 0
    _history(page, url, f"?h_archived=only&open={gid}")
    page.get_by_role("heading", name=f"Generation {gid}").wait_for()
    page.get_by_role("button", name="Restore", exact=True).click()
    page.get_by_text("Restored: shown again everywhere.").wait_for()
    settle(page)
    _history(page, url, f"?open={gid}")
    page.get_by_role("heading", name=f"Generation {gid}").wait_for()
    page.close()


def test_reopen_a_run_and_export_the_filtered_history(app_server, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = app_server
    _cli(data_dir, "run", "quick", "--models", "nano-banana-2,flux-2-pro")
    newest = _cli(data_dir, "history", "--json", "--limit", "1")
    run_id = json.loads(newest.splitlines()[0])["run_id"]
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/matrix")
    page.get_by_role("heading", name="Matrix", exact=True).wait_for()
    settle(page)
    choose_option(page, "Open a run's grid", text=run_id)
    settle(page)
    page.locator("[data-testid^='stBaseButton']", has=page.get_by_text("Open", exact=True)).click()
    page.get_by_text(f"Run {run_id}", exact=False).first.wait_for()
    settle(page)
    assert run_id in page.url

    _history(page, url, f"?h_run={run_id}")
    caption = _caption(page)
    total = int(caption.split()[0].replace(",", ""))
    assert total > 1
    with page.expect_download() as caught:
        page.get_by_role("button", name=f"Export all {total} rows as CSV").click()
    saved = tmp_path / "history.csv"
    caught.value.save_as(saved)
    import pandas as pd

    table = pd.read_csv(saved)
    assert len(table) == total and set(table["run_id"]) == {run_id}
    page.close()


ARTIFACTS = Path(os.environ.get("WORKBENCH_ARTIFACTS", ROOT / "artifacts"))
WHITE = "rgb(255, 255, 255)"


def test_keys_and_a_theme_that_follows_the_system(app_server, browser) -> None:  # type: ignore[no-untyped-def]
    url, data_dir = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    first = _generate(data_dir, "A red door in a white wall, keys journey", seed=21)
    second = _generate(data_dir, "A blue door in a white wall, keys journey", seed=22)
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, color_scheme=scheme
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        _history(page, url, "?h_text=keys+journey")
        page.get_by_role("heading", name=f"Generation {second}").wait_for()
        _shows(page, "2 generations match")
        page.get_by_text("Rate it").first.wait_for()
        settle(page)
        # The widgets finish drawing (the → / ← shortcuts below are not heard before): no DOM
        # state marks it.
        page.wait_for_timeout(1500)
        # the theme the system asks for has been applied (white for light, anything else dark)
        app = page.locator('[data-testid="stApp"]')
        if scheme == "light":
            expect(app).to_have_css("background-color", WHITE, timeout=60_000)
        else:
            expect(app).not_to_have_css("background-color", WHITE, timeout=60_000)
        backgrounds[scheme] = page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"
        )
        page.screenshot(path=str(ARTIFACTS / f"theme-{scheme}-history.png"), full_page=True)
        if scheme == "light":
            # → opens the next generation of the page, ← goes back
            page.locator("h1").first.click()  # focus outside any input
            page.keyboard.press("ArrowRight")
            page.get_by_role("heading", name=f"Generation {first}").wait_for()
            settle(page)
            page.keyboard.press("ArrowLeft")
            page.get_by_role("heading", name=f"Generation {second}").wait_for()
            settle(page)
            # Ctrl+Enter generates on Build
            page.goto(f"{url}/build")
            page.get_by_role("heading", name="Build a prompt").wait_for()
            settle(page)
            page.get_by_role("button", name="Load example", exact=False).first.click()
            page.locator('[data-testid="stCode"]').filter(has_text="balcony").first.wait_for()
            settle(page)
            page.locator("h1").first.click()
            page.keyboard.press("Control+Enter")
            page.get_by_role("heading", name="Result").wait_for()
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "theme-light-build.png"), full_page=False)
        context.close()
    assert backgrounds["light"] != backgrounds["dark"]
    assert backgrounds["light"] == WHITE

"""Steps the browser journeys share: waiting for a rerun to finish, and choosing an option of a
selectbox the way a user does."""

from __future__ import annotations

from typing import Any


def settle(page: Any) -> None:
    """Wait until Streamlit has finished the rerun the last action started: a moment for the
    request to reach the server, then until the status widget is gone. (Waiting on the app's
    `data-test-script-state` instead let Build's next field be filled while the rerun was still
    drawing it.)"""
    page.wait_for_timeout(150)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)


def choose_option(page: Any, label: str, *, index: int | None = None,
                  text: str | None = None) -> None:
    """Open the selectbox called `label` and pick its option number `index`, or the option
    showing `text` (typed into the box first, as a user narrows a long list: the list draws
    only the options in view). A rerun that lands while the list is open closes it again (seen
    on a busy CI machine), so open it until the option shows, a few times at most."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    options = page.get_by_role("option")
    option = options.filter(has_text=text).first if text is not None else options.nth(index or 0)
    for _ in range(5):
        combo = box.get_by_role("combobox")
        combo.click()
        if text is not None:
            combo.fill(text)
        try:
            option.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            settle(page)
            continue
        option.click()
        return
    raise AssertionError(f"the {label!r} list never showed option {text or index!r}")

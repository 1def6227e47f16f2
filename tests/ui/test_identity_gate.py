"""Who is working, in the running app (AppTest runs `app.py`, gate and menu included): the
sidebar's "Working as", what the chosen name is recorded on, and the refusal page when a
trusted proxy header is configured (AppTest sends no headers, like a request that bypassed the
proxy). The browser test (tests/browser/test_identity.py) sends the header for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.ui import main as main_module
from workbench.ui.identity import NAME_INPUT_KEY
from workbench.ui.shared import USER_KEY

APP = str(Path(__file__).parents[2] / "app.py")
TIMEOUT = 30


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def test_the_sidebar_starts_with_workbench_user_and_generations_record_the_chosen_name(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_USER", "ann")
    at = _app()
    at.run()
    assert not at.exception
    assert at.text_input(key=NAME_INPUT_KEY).value == "ann"
    at.text_input(key=NAME_INPUT_KEY).set_value("  Bo Lee ").run()
    assert at.session_state[USER_KEY] == "Bo Lee"
    assert at.text_input(key=NAME_INPUT_KEY).value == "Bo Lee"  # trimmed
    at.button(key="example_nano-banana-scene_0").click().run()
    at.button(key="b_generate").click().run()
    assert not at.exception
    from workbench.config import load_settings
    from workbench.services.workbench import open_workbench

    wb = open_workbench(load_settings(), idle_close_s=0)
    try:
        [row] = wb.log.page(HistoryFilter())
        assert wb.log.get(row.id).created_by == "Bo Lee"
        with wb.db.cursor() as cur:  # the money is reserved under that name too
            reserved = cur.execute("SELECT person FROM spend_reservations").fetchall()
        assert reserved == [("Bo Lee",)]
    finally:
        wb.close()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("   ", "blank"), ("x" * 65, "at most 64"), ("two\nlines", "control characters")],
)
def test_a_bad_name_is_refused_and_the_old_one_kept(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, bad: str, reason: str
) -> None:
    monkeypatch.setenv("WORKBENCH_USER", "ann")
    at = _app()
    at.run()
    at.text_input(key=NAME_INPUT_KEY).set_value("cy").run()
    at.text_input(key=NAME_INPUT_KEY).set_value(bad).run()
    assert not at.exception
    assert at.session_state[USER_KEY] == "cy"
    assert at.text_input(key=NAME_INPUT_KEY).value == "cy"
    [message] = [e.value for e in at.sidebar.error]
    assert message.startswith("Name not changed:") and reason in message
    assert message.endswith("Still working as cy.")


def test_without_the_trusted_header_the_request_sees_only_the_refusal(
    data_dir: Path, seeded: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_sync(seeded, GenerateRequest(model="nano-banana-2", prompt="secret lighthouse"))
    monkeypatch.setenv("WORKBENCH_TRUSTED_USER_HEADER", "X-Forwarded-Email")
    menus: list[object] = []
    real_pages = main_module.all_pages
    monkeypatch.setattr(main_module, "all_pages", lambda: menus.append(1) or real_pages())
    at = _app()
    at.run()
    assert not at.exception
    assert menus == []  # the gate stopped the script before the menu and any page existed
    assert [t.value for t in at.title] == ["Sign-in required"]
    [error] = at.error
    assert "X-Forwarded-Email" in error.value
    # nothing else: no sidebar name box, no page widgets, no data
    assert not at.text_input and not at.button and not at.selectbox and not at.sidebar.markdown
    assert "secret lighthouse" not in str(at._tree)


def test_a_page_run_without_the_gate_refuses_too(
    data_dir: Path, seeded: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page's `workbench()` checks again, so no page can read data past a missing header."""
    generate_sync(seeded, GenerateRequest(model="nano-banana-2", prompt="secret lighthouse"))
    monkeypatch.setenv("WORKBENCH_TRUSTED_USER_HEADER", "X-Forwarded-Email")
    at = AppTest.from_function(pages.history_page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign-in required"]
    assert "secret lighthouse" not in str(at._tree)


def test_history_ratings_record_the_session_user(data_dir: Path, seeded: Workbench) -> None:
    gid = generate_sync(seeded, GenerateRequest(model="nano-banana-2", prompt="a kite")).id
    at = AppTest.from_function(pages.history_page, default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = "Ada"
    at.run()
    at.feedback(key=f"rate_{gid}_overall").set_value(2).run()
    assert not at.exception
    assert seeded.ratings.latest_for(gid, "Ada") == {"overall": 3}
    assert seeded.ratings.latest_for(gid, seeded.settings.user) == {}


def test_team_mode_without_a_proxy_warns_on_every_page(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 1 on loopback: nothing listens, whatever the store then makes of the URL.
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", "postgresql://team:s3cr3t-pw@127.0.0.1:1/wb")
    at = _app()
    at.run()
    assert not at.exception
    [warning] = [w.value for w in at.warning if "anyone who can reach this port" in w.value]
    assert "WORKBENCH_TRUSTED_USER_HEADER" in warning
    assert "s3cr3t-pw" not in str(at._tree)

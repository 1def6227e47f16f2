"""Every page in Streamlit's AppTest: what a user sees and does, with the offline renderer."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.services.runs.generation import SEED_PROBLEM, GenerateRequest, generate_sync
from workbench.services.workbench import Workbench

SEED_NANO = (
    "A woman reading on a sun-filled apartment balcony, late afternoon, warm and unhurried, "
    "photorealistic"
)
TIMEOUT = 30


def _app(page) -> AppTest:  # type: ignore[no-untyped-def]
    return AppTest.from_function(page, default_timeout=TIMEOUT)


def _texts(at: AppTest, kind: str) -> list[str]:
    return [str(el.value) for el in getattr(at, kind)]


def test_entrypoint_runs_the_build_page(data_dir: Path) -> None:
    at = AppTest.from_file(str(Path(__file__).parents[2] / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Build a prompt"


def test_build_page_loads_the_seed_example_and_generates(data_dir: Path, seeded: Workbench) -> None:
    at = _app(pages.build_page)
    at.run()
    assert at.selectbox(key="b_model").value == "nano-banana-2"
    at.button(key="example_nano-banana-scene_0").click().run()
    assert at.text_input(key="slot_nano-banana-scene_subject").value == "A woman"
    assert SEED_NANO in _texts(at, "code")  # what will be sent, verbatim
    at.button(key="b_generate").click().run()
    assert not at.exception
    assert _texts(at, "metric")[0] == "succeeded"
    assert len(at.image) == 1
    rows = seeded.log.page(HistoryFilter())
    assert [r.prompt for r in rows] == [SEED_NANO]
    assert rows[0].template_id == "nano-banana-scene"


def test_build_page_shows_live_checks_as_the_user_types(data_dir: Path) -> None:
    at = _app(pages.build_page)
    at.run()
    at.selectbox(key="b_model").set_value("flux-2-pro").run()
    at.text_input(key="slot_flux-photographic_subject").set_value("A kettle").run()
    warnings = " ".join(_texts(at, "warning"))
    assert "lighting direction" in warnings and "lens" in warnings and "materials" in warnings
    at.text_input(key="slot_flux-photographic_camera").set_value("85mm f/1.4").run()
    assert "No lens" not in " ".join(_texts(at, "warning"))
    at.selectbox(key="slot_flux-photographic_aspect_ratio").set_value("21:9").run()
    assert "A kettle, 85mm f/1.4 --ar 21:9" in _texts(at, "code")  # as written
    assert "A kettle, 85mm f/1.4" in _texts(at, "code")  # as sent: the flag became a parameter
    assert any("aspect ratio 21:9" in c for c in _texts(at, "caption"))


def test_build_page_refuses_bad_input_without_a_traceback(
    data_dir: Path, seeded: Workbench
) -> None:
    at = _app(pages.build_page)
    at.run()
    at.button(key="example_nano-banana-scene_0").click().run()
    at.text_input(key="b_seed").set_value("-5").run()
    assert any("Seed" in e for e in _texts(at, "error"))
    assert at.button(key="b_generate").disabled
    at.text_input(key="b_seed").set_value("").run()
    at.text_input(key="slot_nano-banana-scene_subject").set_value("x" * 100_000).run()
    assert any("100," in e for e in _texts(at, "error"))
    assert at.button(key="b_generate").disabled
    assert not at.exception
    assert seeded.log.count(HistoryFilter()) == 0


def test_build_page_explains_a_missing_key(data_dir: Path) -> None:
    at = _app(pages.build_page)
    at.run()
    at.selectbox(key="b_provider_nano-banana-2").set_value("gemini").run()
    info = " ".join(_texts(at, "info"))
    assert "GEMINI_API_KEY" in info and "secrets.toml" in info


def _seed_history(wb: Workbench) -> list[str]:
    ids = []
    for prompt, model in [
        ("A red kettle on a stove", "flux-2-pro"),
        ("A fox under a tree", "nano-banana-2"),
        ("A sign that reads 50% OFF_TODAY", "flux-2-pro"),
    ]:
        ids.append(generate_sync(wb, GenerateRequest(model=model, prompt=prompt, seed=1)).id)
    return ids


def test_history_page_filters_pages_and_opens_a_detail(data_dir: Path, seeded: Workbench) -> None:
    ids = _seed_history(seeded)
    at = _app(pages.history_page)
    at.run()
    assert not at.exception
    assert "3 generations match" in at.caption[0].value
    table = at.dataframe[0].value
    assert set(table["id"]) == set(ids)
    assert table["thumbnail"].str.startswith("data:image/jpeg;base64,").all()
    at.multiselect(key="h_models").set_value(["nano-banana-2"]).run()
    assert "1 generation matches" in at.caption[0].value
    assert at.subheader[0].value == f"Generation {ids[1]}"
    assert "A fox under a tree" in _texts(at, "code")


def test_history_detail_says_random_seed_and_model_default_not_none(
    data_dir: Path, seeded: Workbench
) -> None:
    gid = generate_sync(seeded, GenerateRequest(model="flux-2-pro", prompt="A quiet pond")).id
    at = _app(pages.history_page)
    at.run()
    assert at.subheader[0].value == f"Generation {gid}"
    facts = next(t.value for t in at.table if "value" in t.value.columns)["value"]
    assert facts["seed asked / returned"].startswith("random / ")
    assert "None" not in " ".join(str(v) for v in facts)


@pytest.mark.parametrize("hostile", ["'; DROP TABLE generations; --", "%_\\", "50% OFF_"])
def test_history_text_filter_takes_hostile_text_literally(
    data_dir: Path, seeded: Workbench, hostile: str
) -> None:
    _seed_history(seeded)
    at = _app(pages.history_page)
    at.run()
    at.text_input(key="h_text").set_value(hostile).run()
    assert not at.exception
    expected = 1 if hostile == "50% OFF_" else 0
    match = "1 generation matches" if expected == 1 else f"{expected} generations match"
    assert match in at.caption[0].value
    assert seeded.log.count(HistoryFilter()) == 3


def test_history_rating_is_saved_and_the_latest_wins(data_dir: Path, seeded: Workbench) -> None:
    ids = _seed_history(seeded)
    at = _app(pages.history_page)
    at.run()
    newest = ids[-1]
    at.feedback(key=f"rate_{newest}_overall").set_value(3).run()
    at.feedback(key=f"rate_{newest}_overall").set_value(4).run()
    assert not at.exception
    assert seeded.ratings.latest_for(newest, seeded.settings.user) == {"overall": 5}


def test_open_in_builder_carries_the_prompt_over(data_dir: Path, seeded: Workbench) -> None:
    outcome = generate_sync(
        seeded,
        GenerateRequest(
            model="nano-banana-2",
            prompt=SEED_NANO,
            template_id="nano-banana-scene",
            slots={
                "subject": "A woman",
                "action": "reading",
                "environment": "on a sun-filled apartment balcony",
                "time_of_day": "late afternoon",
                "mood": "warm and unhurried",
            },
            aspect_ratio="3:2",
            seed=42,
        ),
    )
    record = seeded.log.get(outcome.id)
    from workbench.services.history import remix

    at = _app(pages.build_page)
    at.session_state["builder_load"] = remix(record)
    at.run()
    assert at.text_input(key="slot_nano-banana-scene_environment").value == (
        "on a sun-filled apartment balcony"
    )
    assert at.selectbox(key="b_ar_nano-banana-2").value == "3:2"
    assert at.text_input(key="b_seed").value == "42"
    assert SEED_NANO in _texts(at, "code")


def test_leaderboard_shows_ratings_and_measures_and_leaves_sketches_out(
    data_dir: Path, seeded: Workbench
) -> None:
    ids = _seed_history(seeded)
    for gid, stars in zip(ids, (4, 5, 3), strict=True):
        seeded.ratings.add(gid, "overall", stars)
    at = _app(pages.leaderboard_page)
    at.run()
    assert not at.exception
    assert not at.table  # offline sketches only: nothing to rank by default
    at.toggle(key="lb_offline").set_value(True).run()
    flux, nano = "FLUX.2 Pro (offline sketch)", "Nano Banana 2 (offline sketch)"
    stars = at.table[0].value
    assert set(stars.index) == {flux, nano}
    assert stars.loc[flux, "Overall (stars)"].startswith("3.50")
    assert stars.loc[nano, "Overall (stars)"].startswith("5.0 (n=1)")
    measured = next(t.value for t in at.table if "Failure rate" in t.value.columns)
    assert measured.loc[flux, "Failure rate"] == "0% of 2"  # two attempts, none failed


def test_status_page_names_keys_without_showing_them(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"
    monkeypatch.setenv("BFL_API_KEY", secret)
    at = _app(pages.status_page)
    at.run()
    assert not at.exception
    keys = at.dataframe[0].value.set_index("provider")
    assert keys.loc["Black Forest Labs API", "key"] == "present"
    assert keys.loc["Black Forest Labs API", "from"] == "BFL_API_KEY (environment)"
    assert keys.loc["Google Gemini API", "key"] == "missing"
    shown = " ".join(str(x) for x in at.get("markdown")) + keys.to_string()
    assert secret not in shown
    assert any("0001_initial" in m.value for m in at.markdown)


def test_pages_show_a_locked_database_as_a_message(data_dir: Path) -> None:
    import subprocess
    import sys
    import textwrap

    from workbench.services.workbench import open_workbench

    open_workbench().close()
    db = data_dir / "workbench.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, time
            con = duckdb.connect({str(db)!r})
            print("holding", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        import streamlit as st

        st.cache_resource.clear()
        at = _app(pages.history_page)
        at.run()
        assert not at.exception
        assert any(
            "in use by another process" in e and f"PID {holder.pid}" in e
            for e in _texts(at, "error")
        )
    finally:
        holder.kill()
        holder.wait()


def test_free_text_is_checked_and_its_ar_flag_becomes_the_parameter(
    data_dir: Path, seeded: Workbench
) -> None:
    at = _app(pages.build_page)
    at.run()
    at.radio(key="b_template_nano-banana").set_value("free-text").run()
    assert not at.exception
    at.text_area(key="slot_free-text_prompt").set_value(
        "A tall lighthouse on a cliff --ar 9:16"
    ).run()
    assert "A tall lighthouse on a cliff" in _texts(at, "code")  # as sent, flag removed
    assert any("aspect ratio 9:16" in c for c in _texts(at, "caption"))
    at.selectbox(key="b_model").set_value("nano-banana").run()
    at.radio(key="b_template_nano-banana").set_value("free-text").run()
    at.text_area(key="slot_free-text_prompt").set_value("A tall lighthouse --ar 1:8").run()
    assert any("does not take --ar 1:8" in e for e in _texts(at, "error"))
    assert at.button(key="b_generate").disabled
    assert not at.exception


def test_history_rating_stays_on_its_generation_among_same_label_twins(
    data_dir: Path, seeded: Workbench
) -> None:
    """Two generations with the same second, model, status and prompt (a Matrix run with seeds
    1 and 2): rating the second must neither move the view to the first nor rate the first."""
    first, second = (
        generate_sync(
            seeded, GenerateRequest(model="flux-2-pro", prompt="A lake at dusk", seed=s)
        ).id
        for s in (1, 2)
    )
    with seeded.db.transaction() as con:  # the same second, as in a fast run
        con.execute("UPDATE generations SET created_at = (SELECT min(created_at) FROM generations)")
    at = _app(pages.history_page)
    at.run()
    at.selectbox(key="h_open").set_value(second).run()
    assert at.subheader[0].value == f"Generation {second}"
    at.feedback(key=f"rate_{second}_overall").set_value(3).run()
    assert not at.exception
    assert at.subheader[0].value == f"Generation {second}"
    at.run()
    assert at.subheader[0].value == f"Generation {second}"
    assert seeded.ratings.latest_for(second, seeded.settings.user) == {"overall": 4}
    assert seeded.ratings.latest_for(first, seeded.settings.user) == {}


def test_build_states_why_generate_is_off_beside_the_button(data_dir: Path) -> None:
    at = _app(pages.build_page)
    at.run()
    assert at.button(key="b_generate").disabled
    assert any(c.startswith("Generate is off: the prompt is empty") for c in _texts(at, "caption"))
    at.button(key="example_nano-banana-scene_0").click().run()
    at.text_input(key="b_seed").set_value("-5").run()
    assert at.button(key="b_generate").disabled
    assert f"Generate is off: {SEED_PROBLEM}" in _texts(at, "caption")
    at.text_input(key="b_seed").set_value("").run()
    assert not at.button(key="b_generate").disabled
    assert not any(c.startswith("Generate is off") for c in _texts(at, "caption"))


def test_seed_message_is_the_same_on_build_and_compare(data_dir: Path) -> None:
    build = _app(pages.build_page)
    build.run()
    build.text_input(key="b_seed").set_value("abc").run()
    compare = _app(pages.compare_page)
    compare.run()
    compare.text_input(key="c_seed").set_value("abc").run()
    assert SEED_PROBLEM in _texts(build, "error")
    assert SEED_PROBLEM in _texts(compare, "error")
    assert not any("Input should" in e for e in _texts(build, "error"))


def test_a_result_from_another_model_is_marked_previous(data_dir: Path, seeded: Workbench) -> None:
    at = _app(pages.build_page)
    at.run()
    at.button(key="example_nano-banana-scene_0").click().run()
    at.button(key="b_generate").click().run()
    assert len(at.image) == 1
    assert not any("Previous result" in w for w in _texts(at, "warning"))
    at.selectbox(key="b_model").set_value("flux-2-pro").run()
    warnings = _texts(at, "warning")
    assert any(w.startswith("Previous result: it came from Nano Banana 2") for w in warnings)


def test_load_example_keeps_the_aspect_ratio_the_user_chose(data_dir: Path) -> None:
    at = _app(pages.build_page)
    at.run()
    at.selectbox(key="b_model").set_value("flux-2-pro").run()
    ar = "slot_flux-photographic_aspect_ratio"
    at.selectbox(key=ar).set_value("21:9").run()
    at.button(key="example_flux-photographic_0").click().run()
    assert at.selectbox(key=ar).value == "21:9"
    assert at.text_input(key="slot_flux-photographic_subject").value  # the example did load

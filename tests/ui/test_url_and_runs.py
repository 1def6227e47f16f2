"""Pages opened from a URL (AppTest's query parameters stand for a link or a reload): History's
filters, run and category filters and open generation; junk in a URL falls back to defaults;
a past run's grid opens on Compare (a suite prompt in one row) and on Matrix."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.library_data import offline_run
from tests.ui import pages
from workbench.domain.suites import load_suites
from workbench.services.runs import grids
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.runs.runner import start_run
from workbench.services.workbench import Workbench


def _app(page) -> AppTest:  # type: ignore[no-untyped-def]
    return AppTest.from_function(page, default_timeout=30)


def _seed(wb: Workbench) -> list[str]:
    made = []
    for model, prompt, category in (
        ("nano-banana-2", "A lighthouse at dusk", "landscape"),
        ("flux-2-pro", "A lighthouse at noon", "landscape"),
        ("nano-banana-2", "A teapot", "product"),
    ):
        made.append(generate_sync(wb, GenerateRequest(
            model=model, prompt=prompt, seed=1, category=category)).id)
    return made


def test_history_opens_with_the_urls_filters_and_generation(
    data_dir: Path, seeded: Workbench
) -> None:
    ids = _seed(seeded)
    at = _app(pages.history_page)
    at.query_params["h_text"] = "lighthouse"
    at.query_params["h_categories"] = ["landscape"]
    at.query_params["open"] = ids[0]
    at.run()
    assert not at.exception
    assert "2 generations match" in at.caption[0].value
    assert at.subheader[0].value == f"Generation {ids[0]}"
    assert at.text_input(key="h_text").value == "lighthouse"
    at.multiselect(key="h_models").set_value(["flux-2-pro"]).run()  # the URL follows
    assert at.query_params["h_models"] in (["flux-2-pro"], "flux-2-pro")
    assert "1 generation matches" in at.caption[0].value


def test_junk_in_the_url_falls_back_to_defaults(data_dir: Path, seeded: Workbench) -> None:
    _seed(seeded)
    at = _app(pages.history_page)
    at.query_params["h_models"] = ["nope", "'; DROP TABLE generations; --"]
    at.query_params["h_sort"] = "sideways"
    at.query_params["h_min"] = "lots"
    at.query_params["h_dates"] = ["yesterday"]
    at.query_params["open"] = "gen_not_there"
    at.run()
    assert not at.exception
    assert "3 generations match" in at.caption[0].value
    assert at.multiselect(key="h_models").value == []
    assert at.selectbox(key="h_sort").value == "newest"


def test_numbers_outside_their_widgets_bounds_in_a_link_fall_back_to_defaults(
    data_dir: Path, seeded: Workbench
) -> None:
    _seed(seeded)
    at = _app(pages.history_page)
    at.query_params["h_adh_max"] = "999"
    at.query_params["h_adh_min"] = "-5"
    at.query_params["h_min"] = "nan"
    at.run()
    assert not at.exception
    assert "3 generations match" in at.caption[0].value
    assert at.number_input(key="h_adh_max").value == 100
    assert at.number_input(key="h_adh_min").value == 0
    assert at.slider(key="h_min").value == 0.0
    at = _app(pages.history_page)
    at.query_params["h_adh_max"] = "100"  # the bounds themselves are values a link may hold
    at.query_params["h_min"] = "5"
    at.run()
    assert not at.exception
    assert at.number_input(key="h_adh_max").value == 100
    assert at.slider(key="h_min").value == 5.0
    compare = _app(pages.compare_page)
    compare.query_params["c_k"] = "50"
    compare.run()
    assert not compare.exception
    assert compare.number_input(key="c_k").value == 3


def test_history_filters_by_run_and_category(data_dir: Path, seeded: Workbench) -> None:
    _seed(seeded)
    run_id = offline_run(seeded, n=1, prompts=("a kite",), category="portrait")
    at = _app(pages.history_page)
    at.run()
    at.selectbox(key="h_run").set_value(run_id).run()
    assert "2 generations match" in at.caption[0].value
    assert any(b.key == "h_open_run" for b in at.button)
    at.selectbox(key="h_run").select_index(0).run()  # "any run", as the browser sends it
    at.multiselect(key="h_categories").set_value(["product"]).run()
    assert "1 generation matches" in at.caption[0].value


def test_a_suite_run_opens_on_compare_with_one_row_per_prompt(
    data_dir: Path, seeded: Workbench
) -> None:
    suite = load_suites()["quick"]
    cells = grids.suite_cells(
        seeded, suite, {"nano-banana-2": "offline", "flux-2-pro": "offline"}, [1]
    )
    handle = start_run(seeded, "compare", "suite", cells)
    handle.run_sync()
    at = _app(pages.compare_page)
    at.query_params["c_results"] = handle.run_id
    at.query_params["c_rows"] = "prompt"
    at.run()
    assert not at.exception
    assert any(handle.run_id in c.value for c in at.caption)
    rows = {e.id for e in suite.prompts}
    shown = [m.value.strip("*") for m in at.markdown]
    # one row header per suite prompt, though each model family got its own wording
    assert sorted(v for v in shown if v in rows) == sorted(rows)


def test_a_matrix_run_opens_its_grid_from_the_url(data_dir: Path, seeded: Workbench) -> None:
    run_id = offline_run(seeded, n=1, prompts=("a kite",), kind="matrix")
    at = _app(pages.matrix_page)
    at.query_params["m_grid"] = run_id
    at.run()
    assert not at.exception
    assert any(s.value == "Grid" for s in at.subheader)
    assert any(run_id in c.value for c in at.caption)
    assert at.selectbox(key="m_open_run").options  # every past run can be opened


def test_junk_providers_in_a_compare_url_keep_the_defaults(data_dir: Path) -> None:
    at = _app(pages.compare_page)
    at.query_params["c_provider_nano-banana-2"] = "evil.example"
    at.query_params["c_k"] = "many"
    at.query_params["c_results"] = "run_not_there"
    at.run()
    assert not at.exception
    assert at.selectbox(key="c_provider_nano-banana-2").value == "offline"
    assert at.number_input(key="c_k").value == 3


def test_previous_and_next_move_through_the_page(data_dir: Path, seeded: Workbench) -> None:
    ids = _seed(seeded)  # newest first on the page: ids[2], ids[1], ids[0]
    at = _app(pages.history_page)
    at.run()
    assert at.subheader[0].value == f"Generation {ids[2]}"
    assert at.button(key="h_next").proto.shortcut == "right"
    assert at.button(key="h_previous").disabled
    at.button(key="h_next").click().run()
    assert at.subheader[0].value == f"Generation {ids[1]}"
    at.button(key="h_next").click().run()
    assert at.subheader[0].value == f"Generation {ids[0]}"
    assert at.button(key="h_next").disabled
    at.button(key="h_previous").click().run()
    assert at.subheader[0].value == f"Generation {ids[1]}"


def test_a_non_numeric_measurement_value_leaves_the_other_filters_working(
    data_dir: Path, seeded: Workbench
) -> None:
    _seed(seeded)
    at = _app(pages.history_page)
    at.run()
    at.selectbox(key="h_metric").set_value("warmth").run()
    at.text_input(key="h_metric_value").set_value("warm-ish").run()
    at.text_input(key="h_text").set_value("lighthouse").run()
    assert not at.exception
    assert "2 generations match" in at.caption[0].value
    assert any("Not a number" in e.value for e in at.error)


def test_an_older_url_sent_with_a_change_keeps_what_was_typed_and_the_change(
    data_dir: Path, seeded: Workbench,
) -> None:
    """The browser sends its URL with every rerun; on a busy server it can still be the one
    before this session's last write. Such a rerun carries the user's change: the session
    wins, so neither the text typed before nor the change itself is lost."""
    _seed(seeded)
    at = _app(pages.history_page).run()
    at.selectbox(key="h_sort").select("oldest").run()
    older = {k: at.query_params[k] for k in at.query_params}
    assert older.get("h_sort") in (["oldest"], "oldest")
    at.text_input(key="h_text").input("lighthouse").run()
    assert at.query_params.get("h_text") in (["lighthouse"], "lighthouse")
    at.query_params.clear()
    at.query_params.update(older)  # the URL before the text was published
    at.selectbox(key="h_sort").select("cheapest").run()
    assert not at.exception
    assert at.text_input(key="h_text").value == "lighthouse"
    assert at.selectbox(key="h_sort").value == "cheapest"
    # Moved by back/forward (no widget changed): the URL still wins.
    at.query_params.clear()
    at.query_params.update(older)
    at.run()
    assert at.text_input(key="h_text").value == ""
    assert at.selectbox(key="h_sort").value == "oldest"

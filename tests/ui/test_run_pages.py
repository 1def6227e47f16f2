"""Compare and Matrix pages in AppTest, with the offline renderer."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.services.runs import runner as run_service
from workbench.services.workbench import Workbench


def _wait_for_run(run_id: str) -> None:
    handle = run_service.active(run_id)
    assert handle is not None and handle.thread is not None
    handle.thread.join(60)
    assert handle.progress.finished


def test_compare_shows_each_models_text_then_runs_the_grid(
    data_dir: Path, seeded: Workbench
) -> None:
    at = AppTest.from_function(pages.compare_page, default_timeout=30)
    at.run()
    at.text_input(key="c_slot_subject").set_value("A fisherman mending nets").run()
    at.text_input(key="c_slot_environment").set_value("on a wooden pier").run()
    at.text_input(key="c_slot_time_of_day").set_value("early morning").run()
    at.text_input(key="c_slot_camera").set_value("85mm f/1.4").run()
    codes = [c.value for c in at.code]
    assert "A fisherman mending nets on a wooden pier, early morning, photorealistic" in codes
    assert "A fisherman mending nets on a wooden pier, 85mm f/1.4" in codes
    at.number_input(key="c_k").set_value(2).run()
    at.text_input(key="c_seed").set_value("7").run()
    assert at.metric[0].value == "4"  # images
    at.button(key="c_run").click().run()
    assert not at.exception
    run_id = at.session_state["c_results"]
    _wait_for_run(run_id)
    at.run()
    rows = seeded.log.page(HistoryFilter(run_id=run_id))
    assert len(rows) == 4 and {r.status for r in rows} == {"succeeded"}
    assert sorted({r.seed for r in rows}) == [7, 8]
    assert len(at.image) == 4


def test_compare_refuses_a_bad_seed_and_an_impossible_budget(data_dir: Path) -> None:
    at = AppTest.from_function(pages.compare_page, default_timeout=30)
    at.run()
    at.text_input(key="c_seed").set_value("minus one").run()
    assert any("whole number" in e.value for e in at.error)
    at.text_input(key="c_seed").set_value("").run()
    at.text_input(key="c_slot_subject").set_value("A kettle").run()
    at.text_input(key="c_slot_environment").set_value("in a kitchen").run()
    at.selectbox(key="c_provider_flux-2-pro").set_value("bfl").run()
    at.number_input(key="c_budget").set_value(0.01).run()
    assert any("over its budget" in e.value for e in at.error)
    assert not at.button  # no Run button while the run cannot start
    assert not at.exception


def test_matrix_runs_prompt_by_model_by_seed_and_lists_the_run(
    data_dir: Path, seeded: Workbench
) -> None:
    at = AppTest.from_function(pages.matrix_page, default_timeout=30)
    at.run()
    at.text_area(key="m_prompts").set_value("a lighthouse at dusk\na lighthouse at dawn").run()
    at.text_input(key="m_seeds").set_value("1-2").run()
    assert at.metric[0].value == "8"  # 2 prompts x 2 models x 2 seeds
    at.button(key="m_run").click().run()
    run_id = at.session_state["m_grid"]
    _wait_for_run(run_id)
    at.run()
    assert not at.exception
    cells = {r.cell for r in seeded.log.run_cells(run_id)}
    assert "prompt=2|model=flux-2-pro|seed=2|ar=default" in cells and len(cells) == 8
    runs = at.dataframe[0].value
    assert runs.loc[0, "run"] == run_id and runs.loc[0, "status"] == "finished"


def test_matrix_bad_seed_range_is_a_message(data_dir: Path) -> None:
    at = AppTest.from_function(pages.matrix_page, default_timeout=30)
    at.run()
    at.text_area(key="m_prompts").set_value("x").run()
    at.text_input(key="m_seeds").set_value("5-1").run()
    assert any(e.value.startswith("Seeds: whole numbers") for e in at.error)
    # the message names the seed field, not prompts or models
    assert not any("Write at least one prompt" in i.value for i in at.info)
    assert not at.exception


def test_grid_cells_pair_with_another_model_and_open_on_the_arena(
    data_dir: Path, seeded: Workbench
) -> None:
    from workbench.services.runs import grids
    from workbench.ui.navigation import ARENA_PAIR_KEY

    at = AppTest.from_function(pages.compare_page, default_timeout=30)
    at.run()
    at.segmented_control(key="c_mode").set_value("Free text").run()
    at.text_area(key="c_text").set_value("A kettle on a stove").run()
    at.number_input(key="c_k").set_value(2).run()
    at.text_input(key="c_seed").set_value("3").run()
    at.button(key="c_run").click().run()
    run_id = at.session_state["c_results"]
    _wait_for_run(run_id)
    at.run()
    grid = grids.run_grid(seeded, run_id)
    pairs = grids.neighbours(grid)
    by_id = {c["generation_id"]: c for c in grid}
    assert len(pairs) == 4
    for first, second in pairs.items():
        a, b = by_id[first], by_id[second]
        assert a["model"] != b["model"] and a["seed"] == b["seed"]  # same variation
    assert {b.key for b in at.button if b.key.startswith("c_pair_")} == {
        f"c_pair_{gid}" for gid in pairs
    }
    assert {b.key for b in at.button if b.key.startswith("c_open_")} == {
        f"c_open_{gid}" for gid in by_id
    }
    first, second = next(iter(pairs.items()))
    arena = AppTest.from_function(pages.arena_page, default_timeout=30)
    arena.session_state[ARENA_PAIR_KEY] = (first, second)
    arena.run()
    assert not arena.exception
    shown = arena.session_state["arena_pair"]
    assert {shown.left.generation_id, shown.right.generation_id} == {first, second}


def test_a_suite_on_compare_fills_the_run_with_categories_and_expected_text(
    data_dir: Path, seeded: Workbench
) -> None:
    from workbench.domain.suites import load_suite

    at = AppTest.from_function(pages.compare_page, default_timeout=30)
    at.run()
    at.segmented_control(key="c_mode").set_value("Suite").run()
    at.selectbox(key="c_suite").set_value("text").run()
    at.number_input(key="c_k").set_value(1).run()
    suite = load_suite("text")
    assert at.metric[0].value == str(2 * len(suite.prompts))  # every prompt on both models
    at.button(key="c_run").click().run()
    run_id = at.session_state["c_results"]
    _wait_for_run(run_id)
    rows = seeded.log.page(HistoryFilter(run_id=run_id), every_column=True)
    assert {r.category for r in rows} == {"text"}
    expected = {e.id: e.expected_text for e in suite.prompts}
    by_key = {r.prompt_key: r.expected_text for r in rows}
    assert by_key == {f"suite:text/{k}": v for k, v in expected.items()}
    texts = {(r.model, r.prompt_key): r.prompt for r in rows}
    entry = suite.prompts[0]
    for model in ("nano-banana-2", "flux-2-pro"):
        family = seeded.catalog.model(model).family
        assert texts[(model, f"suite:text/{entry.id}")].startswith(
            entry.for_family(family).text.split(" --ar")[0][:20]
        )


def test_a_suite_fills_the_matrix_prompt_axis(data_dir: Path, seeded: Workbench) -> None:
    at = AppTest.from_function(pages.matrix_page, default_timeout=30)
    at.run()
    at.selectbox(key="m_suite").set_value("portrait").run()
    at.text_input(key="m_seeds").set_value("1").run()
    assert at.metric[0].value == "12"  # 6 prompts x 2 models x 1 seed
    at.button(key="m_run").click().run()
    run_id = at.session_state["m_grid"]
    _wait_for_run(run_id)
    rows = seeded.log.page(HistoryFilter(run_id=run_id), every_column=True)
    assert len(rows) == 12 and {r.category for r in rows} == {"portrait"}


def test_build_can_file_a_single_prompt_under_a_category(data_dir: Path, seeded: Workbench) -> None:
    at = AppTest.from_function(pages.build_page, default_timeout=30)
    at.run()
    at.button(key="example_nano-banana-scene_0").click().run()
    at.selectbox(key="b_category").set_value("portrait").run()
    at.button(key="b_generate").click().run()
    assert [r.category for r in seeded.log.page(HistoryFilter())] == ["portrait"]


def test_a_big_run_needs_a_second_look_showing_its_estimate(
    data_dir: Path, seeded: Workbench
) -> None:
    at = AppTest.from_function(pages.matrix_page, default_timeout=30)
    at.run()
    prompts = [f"a kettle, take {i}" for i in range(25)]
    at.text_area(key="m_prompts").set_value("\n".join(prompts[:13])).run()
    at.text_input(key="m_seeds").set_value("1-2").run()
    assert at.metric[0].value == "52"  # 13 x 2 models x 2 seeds: over 50 images
    assert any(c.value.startswith("Spent today (UTC): ") for c in at.caption)
    warning = next(w.value for w in at.warning if w.value.startswith("A big run"))
    assert "52 images" in warning
    assert at.button(key="m_run").disabled
    confirm = next(c for c in at.checkbox if c.key.startswith("m_confirm_"))
    confirm.check().run()
    assert not at.button(key="m_run").disabled
    # exactly 50 images runs without asking
    at.text_area(key="m_prompts").set_value("\n".join(prompts))
    at.text_input(key="m_seeds").set_value("1").run()
    assert at.metric[0].value == "50"
    assert not at.button(key="m_run").disabled
    assert not any(w.value.startswith("A big run") for w in at.warning)
    assert seeded.log.count(HistoryFilter()) == 0  # nothing sent by looking


def test_a_run_over_the_dollar_threshold_asks_first() -> None:
    from workbench.ui.run_panel import needs_confirmation

    def est(images: int, cost: float) -> run_service.Estimate:
        return run_service.Estimate(images, cost, 0, 1.0, 0.0)

    assert not needs_confirmation(est(10, 1.00), 1.0)
    assert needs_confirmation(est(10, 1.01), 1.0)
    assert not needs_confirmation(est(50, 0.0), 1.0)
    assert needs_confirmation(est(51, 0.0), 1.0)
    assert needs_confirmation(est(10, 0.60), 0.5)  # the threshold is the user's

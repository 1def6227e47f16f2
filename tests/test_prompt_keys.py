"""One intent, different wordings per model family: the prompt key ties them together so the
arena and the paired metrics still treat them as the same prompt; suites record it and their
expected text."""

from __future__ import annotations

from workbench import cli
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.arena import NoPairAvailable, draw_pair
from workbench.services.runs import grids
from workbench.services.runs.runner import start_run
from workbench.services.workbench import Workbench

SLOTS = {
    "subject": "A fisherman mending nets",
    "environment": "on a wooden pier",
    "time_of_day": "early morning",
    "camera": "85mm f/1.4",
}


def test_slot_intent_gets_one_key_across_families(wb: Workbench) -> None:
    variant = grids.Variant(label="P1", slots=SLOTS)
    cells = grids.compare_cells(
        wb,
        {"nano-banana-2": "offline", "flux-2-pro": "offline"},
        variant,
        variations=1,
        base_seed=3,
    )
    texts = {c.request.prompt for c in cells}
    assert len(texts) == 2  # each family its own structure...
    assert {c.request.prompt_key for c in cells} == {variant.prompt_key}  # ...one intent
    other = grids.Variant(label="P2", slots={**SLOTS, "subject": "A baker"})
    assert other.prompt_key != variant.prompt_key


def _compare_one_intent(wb: Workbench) -> list:
    cells = grids.compare_cells(
        wb,
        {"nano-banana-2": "offline", "flux-2-pro": "offline"},
        grids.Variant(label="P1", slots=SLOTS),
        1,
        3,
    )
    start_run(wb, "compare", "c", cells).run_sync()
    return cells


def test_the_arena_pairs_images_of_one_intent_worded_differently(wb: Workbench) -> None:
    _compare_one_intent(wb)
    pair = draw_pair(wb, "overall", HistoryFilter())
    assert pair.left.generation_id != pair.right.generation_id


def test_without_a_shared_key_different_texts_are_not_a_pair(wb: Workbench) -> None:
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    generate_sync(wb, GenerateRequest(model="nano-banana-2", prompt="a fox in snow"))
    generate_sync(wb, GenerateRequest(model="flux-2-pro", prompt="a fox in the snow"))
    try:
        draw_pair(wb, "overall", HistoryFilter())
    except NoPairAvailable:
        pass
    else:
        raise AssertionError("two different prompts were offered as a pair")


def test_suite_runs_record_entry_key_and_expected_text(tmp_path, monkeypatch, capsys) -> None:
    from workbench import config
    from workbench.config import load_settings
    from workbench.services.workbench import open_workbench

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "none.toml")
    assert cli.main(["run", "quick", "--models", "flux-2-pro", "--quiet"]) == 0
    wb = open_workbench(load_settings(), idle_close_s=0)
    rows = [wb.log.get(r.id) for r in wb.log.page(HistoryFilter(), limit=100)]
    wb.close()
    assert all(r.prompt_key.startswith("suite:quick/") for r in rows)
    text_rows = [r for r in rows if r.category == "text"]
    assert text_rows and all(r.expected_text for r in text_rows)
    assert all(
        f'"{r.expected_text}"' in r.prompt or r.expected_text in r.prompt
        for r in text_rows
    )


def test_a_pair_worded_differently_shows_the_shared_intent_not_either_text(wb: Workbench) -> None:
    cells = _compare_one_intent(wb)
    pair = draw_pair(wb, "overall", HistoryFilter())
    # the template wording would reveal the family: the intent is shown instead
    assert dict(pair.intent) == {k.replace("_", " "): v for k, v in SLOTS.items()}
    texts = {c.request.prompt for c in cells}
    assert not any(text in "\n".join(v for _, v in pair.intent) for text in texts)


def test_a_pair_given_the_same_text_shows_that_text(wb: Workbench) -> None:
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    for model in ("nano-banana-2", "flux-2-pro"):
        generate_sync(wb, GenerateRequest(model=model, prompt="a fox in snow", seed=1))
    pair = draw_pair(wb, "overall", HistoryFilter(include_offline=True))
    assert pair.intent == () and pair.prompt == "a fox in snow"

"""The Leaderboard page in AppTest: Bradley–Terry and star cells, measured and automatic
columns, the verdict table, filters, offline sketches, thin data (all ties, one model) without
NaN, charts, downloads and the all-or-nothing import."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest, app_test

from tests.arena_data import add_generation
from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.imaging.measure import TEXT_ACCURACY, VERSIONS, MetricResult
from workbench.services.evidence import arena
from workbench.services.evidence import measurements as metrics_service
from workbench.services.evidence.leaderboard import FITS
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.votes import NewVote

MODELS = {"nano-banana-2": "gemini", "flux-2-pro": "bfl", "flux-2-max": "bfl"}
NAMES = {"nano-banana-2": "Nano Banana 2", "flux-2-pro": "FLUX.2 Pro", "flux-2-max": "FLUX.2 Max"}
STRENGTH = {"nano-banana-2": 3.0, "flux-2-pro": 1.0, "flux-2-max": 0.5}
SCORE_CELL = re.compile(r"^\d{3,4} \[\d{3,4}–\d{3,4}\] #\d+ · (Excellent|Very Good|Good|Fair)$")


@pytest.fixture(autouse=True)
def _fresh_fits() -> Iterator[None]:
    FITS.clear()
    yield
    FITS.clear()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[MediaFileManager]:
    """The media file managers AppTest creates, one per run, to read what a download button
    would send (its deferred callable, run as a click would run it)."""
    managers: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, storage: Any) -> None:
            super().__init__(storage)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Recording)
    return managers


def _download(at: AppTest, managers: list[MediaFileManager], key: str) -> tuple[str, bytes]:
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    entry = managers[-1]._deferred_callables[button.proto.deferred_file_id]
    data = entry["callable"]()
    return entry["filename"], data if isinstance(data, bytes) else data.encode()


def _app() -> AppTest:
    return AppTest.from_function(pages.leaderboard_page, default_timeout=30)


def _arena_data(wb: Workbench, prompts: int = 6, votes: int = 60, seed: int = 7,
                categories: tuple[str, ...] = ("portrait", "text")) -> None:
    """Same-prompt images of three models (real providers, written to the log) and votes cast
    through the arena service, the strongest model winning most."""
    with wb.db.cursor():  # one connection for the setup (the fixture closes it when idle)
        _fill(wb, prompts, votes, seed, categories)


def _fill(wb: Workbench, prompts: int, votes: int, seed: int,
          categories: tuple[str, ...]) -> None:
    model_of: dict[str, str] = {}  # generation id -> model, as written here
    for i in range(prompts):
        for model, provider in MODELS.items():
            generation_id = add_generation(
                wb, model, f"prompt {i}", provider=provider,
                category=categories[i % len(categories)],
                latency_ms={"nano-banana-2": 9000, "flux-2-pro": 5000,
                            "flux-2-max": 12000}[model],
                cost_usd={"nano-banana-2": 0.039, "flux-2-pro": 0.03,
                          "flux-2-max": 0.07}[model])
            model_of[generation_id] = model
    rng = random.Random(seed)
    for _ in range(votes):
        pair = arena.draw_pair(wb, "overall", rng=rng, repeat_rate=0)
        a = model_of[pair.left.generation_id]
        b = model_of[pair.right.generation_id]
        won = rng.random() < STRENGTH[a] / (STRENGTH[a] + STRENGTH[b])
        arena.record_vote(wb, pair.vote("left" if won else "right"))


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with this column."""
    return next(t.value for t in at.table if column in t.value.columns)


SCORES, MEASURED, BT = "Overall (votes)", "Median time", "Score [95% interval]"


def _all_text(at: AppTest) -> str:
    parts = [t.value.to_string() for t in at.table]
    parts += [str(e.value) for kind in ("markdown", "caption", "info", "error", "success")
              for e in getattr(at, kind)]
    return "\n".join(parts)


def _no_nan(at: AppTest) -> None:
    for table in at.table:
        frame = table.value.reset_index()
        for value in frame.to_numpy().ravel():
            assert not (isinstance(value, float) and value != value), frame
            assert str(value).strip().lower() not in ("nan", "<na>", "none", "nat", ""), frame
        assert not re.search(r"\bnan\b|<NA>", frame.to_string(), re.IGNORECASE)


def test_votes_and_ratings_give_bradley_terry_and_star_cells(
    data_dir: Path, seeded: Workbench
) -> None:
    _arena_data(seeded)
    rated = seeded.log.page(HistoryFilter(models=("nano-banana-2",)))[:3]
    for row, stars in zip(rated, (5, 4, 5), strict=True):
        seeded.ratings.add(row.id, "overall", stars)
    at = _app()
    at.run()
    assert not at.exception
    scores = at.table[0].value  # models x criteria comes first
    assert list(scores.index) == sorted(NAMES.values())
    for name in NAMES.values():
        assert SCORE_CELL.match(scores.loc[name, "Overall (votes)"]), scores.loc[name]
    assert scores.loc["Nano Banana 2", "Overall (stars)"] == "4.67 [3.2–5.0] n=3 · Excellent"
    assert scores.loc["FLUX.2 Pro", "Overall (stars)"] == "—"
    # the strongest simulated model ranks first in the criterion's Bradley–Terry table
    bt = _table(at, BT)
    assert bt.iloc[0]["Model"] == "Nano Banana 2" and bt.index[0] == "1"
    assert bt["Votes"].sum() == 2 * 60
    measured = _table(at, MEASURED)
    assert measured.loc["FLUX.2 Pro", "Median time"] == "5.0 s"
    assert measured.loc["FLUX.2 Max", "Cost / image"] == "$0.070"
    assert measured.loc["Nano Banana 2", "Failure rate"] == "0% of 6"
    shown = _all_text(at)
    assert "Excellent ≥ 65%" in shown and "Excellent ≥ 4.5" in shown  # the label scales
    assert "Rank(UB)" in shown
    _no_nan(at)


def test_the_verdict_table_has_evidence_counts_and_says_when_data_is_thin(
    data_dir: Path, seeded: Workbench
) -> None:
    _arena_data(seeded)
    at = _app()
    at.run()
    at.multiselect(key="lb_verdict_models").set_value(
        ["nano-banana-2", "flux-2-pro", "flux-2-max"]).run()
    verdict = next(t.value for t in at.table if t.value.index.name == "Criterion")
    assert list(verdict.columns) == ["Nano Banana 2", "FLUX.2 Pro", "FLUX.2 Max"]
    overall = verdict.loc["Overall"]
    assert re.fullmatch(r"(Excellent|Very Good) \(\d+ votes\)", overall["Nano Banana 2"])
    assert sum(int(re.search(r"\((\d+) votes\)", c).group(1)) for c in overall) == 2 * 60
    assert verdict.loc["Skin warmth", "FLUX.2 Pro"].startswith("not enough data")
    assert verdict.loc["Generation speed (median)", "FLUX.2 Pro"] == "5.0 s (6 images)"
    assert verdict.loc["Cost per image", "FLUX.2 Max"] == "$0.070 (6 images)"
    assert any("Excellent ≥ 65%" in c.value for c in at.caption)
    assert any("| Criterion | Nano Banana 2 | FLUX.2 Pro | FLUX.2 Max |" in c.value
               for c in at.code)
    _no_nan(at)


def test_filters_change_the_result(data_dir: Path, seeded: Workbench) -> None:
    _arena_data(seeded, prompts=6, votes=90)
    at = _app()
    at.run()

    def bt_votes() -> int:
        bt = _table(at, BT)
        return int(bt["Votes"].sum()) // 2

    everything = bt_votes()
    assert everything == 90
    at.multiselect(key="lb_categories").set_value(["text"]).run()
    text_only = bt_votes()
    in_text = seeded.votes.count(HistoryFilter(categories=("text",)), "overall")
    assert text_only == in_text and 0 < text_only < everything
    # the measured columns follow the filter too: three text prompts each
    assert _table(at, MEASURED).loc["FLUX.2 Pro", "Failure rate"] == "0% of 3"
    at.multiselect(key="lb_categories").set_value([]).run()
    at.multiselect(key="lb_providers").set_value(["bfl"]).run()
    assert set(_table(at, SCORES).index) == {"FLUX.2 Pro", "FLUX.2 Max"}
    at.multiselect(key="lb_providers").set_value([]).run()
    long_ago = date.today() - timedelta(days=400)
    at.date_input(key="lb_dates").set_value((long_ago, long_ago + timedelta(days=1))).run()
    assert not at.exception
    assert not at.table and "Nothing to rank" in at.info[0].value


def test_offline_sketches_are_left_out_unless_included(
    data_dir: Path, seeded: Workbench
) -> None:
    outcome = generate_sync(seeded, GenerateRequest(model="nano-banana-2", prompt="A fox", seed=1))
    seeded.ratings.add(outcome.id, "overall", 5)
    at = _app()
    at.run()
    assert not at.table and "Offline sketches are left out" in at.info[0].value
    at.toggle(key="lb_offline").set_value(True).run()
    scores = at.table[0].value  # the first table is the one the browser journey reads
    assert scores.loc["Nano Banana 2 (offline sketch)", "Overall (stars)"].startswith("5.0 (n=1)")
    assert "Only one model" in at.info[0].value  # a single model: nothing to rank against
    _no_nan(at)


def test_all_ties_show_a_message_and_equal_scores_not_nan(
    data_dir: Path, seeded: Workbench
) -> None:
    with seeded.db.cursor():
        for i in range(2):
            for model, provider in MODELS.items():
                add_generation(seeded, model, f"prompt {i}", provider=provider)
        rng = random.Random(3)
        for k in range(36):
            pair = arena.draw_pair(seeded, "overall", rng=rng, repeat_rate=0)
            arena.record_vote(seeded, pair.vote("tie" if k % 2 else "both_bad"))
    at = _app()
    at.run()
    assert not at.exception
    assert any("Every vote was a tie or both bad" in i.value for i in at.info)
    bt = _table(at, BT)
    assert set(bt["Score [95% interval]"]) == {"1000 [1000–1000]"}
    assert set(bt["Expected wins vs field"]) == {"50%"}
    _no_nan(at)


def test_a_single_model_and_a_criterion_without_votes_show_messages(
    data_dir: Path, seeded: Workbench
) -> None:
    gid = add_generation(seeded, "flux-2-pro", "a kettle", provider="bfl")
    add_generation(seeded, "flux-2-pro", "a kettle", provider="bfl", status="failed")
    seeded.ratings.add(gid, "skin_warmth", 2)
    at = _app()
    at.run()
    assert not at.exception
    assert "Only one model in this selection — FLUX.2 Pro —" in at.info[0].value
    assert any("No votes yet" in i.value for i in at.info)
    assert _table(at, MEASURED).loc["FLUX.2 Pro", "Failure rate"] == "50% of 2"
    assert not at.get("vega_lite_chart")  # nothing to plot: no score with a cost yet
    _no_nan(at)


def test_charts_draw_the_pareto_frontier_and_both_heatmaps(
    data_dir: Path, seeded: Workbench
) -> None:
    _arena_data(seeded)
    at = _app()
    at.run()
    charts = at.get("vega_lite_chart")
    specs = [c.proto.spec for c in charts]
    assert len(specs) == 4
    assert all("step-after" in s and "on_frontier" in s for s in specs[:2])
    assert '"cost_per_image_usd"' in specs[0] and '"latency_median_s"' in specs[1]
    assert '"win_rate"' in specs[2] and '"votes"' in specs[3]
    # rater consistency: the arena shows sides at random, so both sides win some votes
    assert any("Left image won" in m.value and "Repeated pairs" in m.value for m in at.markdown)


def test_automatic_measures_and_text_accuracy_are_columns(
    data_dir: Path, seeded: Workbench
) -> None:
    ids = {}
    for model, provider in MODELS.items():
        for i in range(2):
            gid = add_generation(seeded, model, f'a sign that says "OPEN {i}"',
                                 provider=provider, category="text")
            metrics_service.measure_generation(seeded, gid, text=False)
            ids[(model, i)] = gid
    store = metrics_service.metric_log(seeded)
    for (model, i), gid in ids.items():
        accuracy = {"nano-banana-2": 1.0, "flux-2-pro": 0.5, "flux-2-max": 0.75}[model]
        store.record(gid, [MetricResult(TEXT_ACCURACY, VERSIONS[TEXT_ACCURACY],
                                        accuracy - 0.1 * i)])
    at = _app()
    at.run()
    assert not at.exception
    measured = _table(at, MEASURED)
    assert measured.loc["Nano Banana 2", "Text accuracy (text prompts)"] == (
        "95% [31%–100%] · 50% exact · 2 images")
    assert "vs others, 2 prompts" in measured.loc["FLUX.2 Pro", "Warmth (b*) vs others"]
    assert "vs others, 2 prompts" in measured.loc["FLUX.2 Pro", "Text accuracy vs others"]
    at.multiselect(key="lb_categories").set_value(["portrait"]).run()
    assert not at.table  # nothing in portrait
    _no_nan(at)


def test_downloads_send_the_votes_and_tables(
    data_dir: Path, seeded: Workbench, downloads: list[MediaFileManager]
) -> None:
    _arena_data(seeded, votes=30)
    at = _app()
    at.run()
    name, data = _download(at, downloads, "lb_dl_battles")
    battles = pd.read_csv(io.BytesIO(data))
    assert name == "battles.csv" and len(battles) == 30
    assert list(battles.columns[:3]) == ["model_a", "model_b", "winner"]
    assert set(battles["winner"]) <= {"model_a", "model_b"}
    stored = seeded.votes.frame(HistoryFilter())
    assert list(battles["model_a"]) == list(stored["left_model"])

    name, data = _download(at, downloads, "lb_dl_csv")
    table = pd.read_csv(io.BytesIO(data))
    assert name == "leaderboard.csv"
    assert set(table["model"]) == set(MODELS)
    assert table["overall_votes"].sum() == 2 * 30
    at.selectbox(key="lb_table").set_value("bradley_terry_overall").run()
    name, data = _download(at, downloads, "lb_dl_parquet")
    frame = pd.read_parquet(io.BytesIO(data))
    assert name == "bradley_terry_overall.parquet"
    assert frame["model"].iloc[0] == "nano-banana-2" and frame["votes"].sum() == 2 * 30


def test_a_tampered_import_lists_problems_and_imports_nothing(
    data_dir: Path, seeded: Workbench, downloads: list[MediaFileManager]
) -> None:
    _arena_data(seeded, votes=20)
    at = _app()
    at.run()
    _, exported = _download(at, downloads, "lb_dl_battles")
    lines = exported.decode().splitlines()
    columns = lines[0].count(",")
    tampered = "\n".join([
        lines[0],
        lines[1].replace(",model_a,", ",model_z,", 1).replace(",model_b,", ",model_z,", 1),
        *lines[2:],
        "flux-2-pro,flux-2-pro,tie,overall" + "," * (columns - 3),  # a model against itself
        "nano-banana-2,flux-2-pro",  # a cut-off row
    ]) + "\n"
    before = seeded.votes.count(HistoryFilter())
    at.file_uploader(key="lb_import_file").set_value(("battles.csv", tampered.encode(),
                                                      "text/csv")).run()
    at.button(key="lb_import").click().run()
    assert not at.exception
    error = re.sub(r"\\(.)", r"\1", at.error[0].value)  # shown as plain text: escaped
    assert error.startswith("Nothing was imported: the file has 3 problems.")
    assert "row 2: unknown winner 'model_z'" in error
    assert "row 22: model_a and model_b are the same model (flux-2-pro)" in error
    assert "row 23: fewer fields than columns" in error
    assert seeded.votes.count(HistoryFilter()) == before

    # the untouched file is all duplicates; a new vote is imported and counts at once
    fresh = exported.decode() + "nano-banana-2,flux-2-max,model_a,overall" + "," * (columns - 3)
    at.file_uploader(key="lb_import_file").set_value(("more.csv", fresh.encode(),
                                                      "text/csv")).run()
    at.button(key="lb_import").click().run()
    assert not at.error
    assert "Imported 1 of 21 votes. 20 votes were already in the database" in at.success[0].value
    assert seeded.votes.count(HistoryFilter()) == before + 1
    bt = _table(at, BT)
    assert int(bt["Votes"].sum()) == 2 * 21


def test_a_vote_for_a_deleted_generation_still_counts(data_dir: Path, seeded: Workbench) -> None:
    seeded.votes.add_many(
        NewVote(left_model="flux-2-pro", right_model="nano-banana-2", winner="right",
                criterion="overall", left_provider="bfl", right_provider="gemini",
                left_generation_id="gen_gone", right_generation_id="gen_gone_too")
        for _ in range(12)
    )
    at = _app()
    at.run()
    assert not at.exception
    bt = _table(at, BT)
    assert list(bt["Model"]) == ["Nano Banana 2", "FLUX.2 Pro"]
    _no_nan(at)


def test_rater_filter_consistency_per_rater_and_agreement(
    data_dir: Path, seeded: Workbench
) -> None:
    _arena_data(seeded, prompts=6, votes=0)
    nano = seeded.log.page(HistoryFilter(models=("nano-banana-2",)))
    # ann and bob rate the same six images, bob one star lower each time except once
    for row, (ann, bob) in zip(nano, [(5, 4), (4, 3), (3, 2), (2, 1), (5, 4), (1, 1)],
                               strict=True):
        seeded.ratings.add(row.id, "overall", ann, rater="ann")
        seeded.ratings.add(row.id, "overall", bob, rater="bob")
    pair = arena.draw_pair(seeded, "overall", rng=random.Random(1), repeat_rate=0)
    first = arena.record_vote(seeded, pair.vote("left", rater="ann"))
    arena.record_vote(seeded, pair.vote("left", rater="bob"))
    again = arena.draw_pair(seeded, "overall", rater="ann", rng=random.Random(2), repeat_rate=1,
                            skip_recent=0)
    assert again.repeat_of == first.vote_id
    arena.record_vote(seeded, again.vote("tie", rater="ann"))
    at = _app()
    at.run()
    assert not at.exception
    shown = _all_text(at)
    assert "Repeated pairs judged the same way" in shown
    per_rater = _table(at, "Repeated pairs judged the same way")
    assert list(per_rater.index) == ["ann", "bob"]
    assert per_rater.loc["ann", "Repeated pairs judged the same way"].endswith(" of 1")
    assert per_rater.loc["bob", "Repeated pairs judged the same way"] == "no data yet"
    agreement = _table(at, "Stars: Krippendorff's α (ordinal)")
    alpha_cell = agreement.loc["Overall", "Stars: Krippendorff's α (ordinal)"]
    assert re.fullmatch(r"α = 0\.\d\d \(n = 6\)", alpha_cell), alpha_cell
    assert agreement.loc["Overall", "Votes: same decision"].startswith(
        "not enough overlap yet (n = 1")
    # everyone's stars: 35 over 12 ratings; then only bob's (15 over 6), only ann's (20 over 6)
    assert _table(at, SCORES).loc["Nano Banana 2", "Overall (stars)"].startswith("2.92 ")
    at.multiselect(key="lb_raters").set_value(["ann"]).run()
    assert _table(at, SCORES).loc["Nano Banana 2", "Overall (stars)"].startswith("3.33 ")
    at.multiselect(key="lb_raters").set_value(["bob"]).run()
    assert not at.exception
    assert _table(at, SCORES).loc["Nano Banana 2", "Overall (stars)"].startswith("2.50 ")
    assert "Not enough overlap yet" in _all_text(at)  # one rater cannot disagree
    _no_nan(at)

"""Measurements in the app (AppTest): readings on the History detail view (and "not measured
yet" while the background worker is on it), the measurement filter and sort, the Measurements
page's agreement with ratings, near-duplicates, recompute button and OCR note. OCR is a fake
engine standing in for RapidOCR, installed as the process-wide engine the worker uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.metric_images import COOL, WARM, png, scene
from tests.ui import pages
from workbench.domain.filters import METRICS, HistoryFilter
from workbench.domain.ids import new_id
from workbench.engines import ocr
from workbench.imaging import measure as m
from workbench.services.evidence import measurements as metrics_service
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome
from workbench.store.measurements import MetricLog

TIMEOUT = 30
SIGN = 'A neon sign that says "OPEN 24 HOURS" above a diner door'
SELECTED_KEY = "history_selected"


@dataclass
class _Output:
    txts: tuple[str, ...]
    scores: tuple[float, ...]


class FakeReader:
    """Answers every image with one fixed line, optionally only once `gate` is set."""

    def __init__(self, text: str, gate: threading.Event | None = None) -> None:
        self.text = text
        self.gate = gate
        self.calls = 0

    def __call__(self, image: Image.Image) -> _Output:
        if self.gate is not None:
            assert self.gate.wait(20), "the test never opened the OCR gate"
        self.calls += 1
        return _Output((self.text,), (0.99,))


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> FakeReader:
    """The process-wide OCR engine reads "OPFN 24 HOURS" (one letter wrong)."""
    fake = FakeReader("OPFN 24 HOURS")
    monkeypatch.setattr(ocr, "_shared", ocr.OcrEngine(loader=lambda threads: fake))
    return fake


def _app(page: Callable[[], None]) -> AppTest:
    return AppTest.from_function(page, default_timeout=TIMEOUT)


def _texts(at: AppTest, kind: str) -> list[str]:
    return [str(el.value) for el in getattr(at, kind)]


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _add(
    wb: Workbench, image: Image.Image | bytes, *, prompt: str = "A red kettle",
    model: str = "nano-banana-2", seed: int | None = None,
) -> str:
    """A succeeded generation with this image, logged without measuring it."""
    gid = new_id("gen")
    wb.attempts.insert_pending(NewGeneration(
        id=gid, model=model, provider="offline", prompt=prompt, prompt_written=prompt, seed=seed))
    stored = wb.images.put(image if isinstance(image, bytes) else png(image))
    wb.attempts.complete(gid, Outcome(status="succeeded", image=stored, seed_returned=seed))
    return gid


def _put(wb: Workbench, gid: str, metric: str, value: float) -> None:
    MetricLog(wb.db).record(gid, [m.MetricResult(metric, m.VERSIONS[metric], value)])


def _matches(at: AppTest) -> str:
    return next(c for c in _texts(at, "caption") if "generations match" in c)


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The table that has this column (AppTest does not keep a plain dataframe's key)."""
    return next(d.value for d in [*at.dataframe, *at.table] if column in d.value.columns)


def _measured(wb: Workbench, gid: str, metric: str) -> bool:
    return metric in MetricLog(wb.db).for_generation(gid)


# -- History: the detail view -----------------------------------------------------------------

def test_detail_shows_readings_after_the_worker_measured_offline_sketches(
    data_dir: Path, seeded: Workbench, reader: FakeReader
) -> None:
    kettle = "A red kettle on a stove"
    ids = [
        generate_sync(seeded, GenerateRequest(model=model, prompt=kettle, seed=seed)).id
        for model, seed in (("flux-2-pro", 1), ("nano-banana-2", 2), ("flux-2-pro", 3))
    ]
    sign = generate_sync(seeded, GenerateRequest(model="flux-2-pro", prompt=SIGN, seed=1)).id
    worker = metrics_service.worker_for(seeded)
    try:
        assert worker.submit_many([*ids, sign]) == 4
        assert worker.wait_idle(30)
    finally:
        worker.close()
    assert reader.calls == 1  # only the sign asks for text

    at = _app(pages.history_page)
    at.session_state[SELECTED_KEY] = ids[0]
    at.run()
    assert not at.exception
    lines = " ".join(_texts(at, "markdown"))
    # each measure is placed against the other two images of the same prompt
    assert "than the median of this prompt's images" in lines or "about the same as" in lines
    assert "Warmth (b\\*):" in lines and "Detail (Tenengrad):" in lines
    assert "no near-duplicate among this model's other images of the prompt" in lines
    assert not any("Not measured yet" in i for i in _texts(at, "info"))

    at.session_state[SELECTED_KEY] = sign
    at.run()
    lines = " ".join(_texts(at, "markdown"))
    assert "Text accuracy: 91% — asked OPEN 24 HOURS, read OPFN 24 HOURS." in lines
    table = at.dataframe[0].value.set_index("id")
    assert table.loc[sign, "text_accuracy"] == pytest.approx(1 - 1 / 11)
    assert table.loc[ids[0], "warmth"] == pytest.approx(
        MetricLog(seeded.db).for_generation(ids[0])[m.WARMTH].value)
    assert table["text_accuracy"].isna().sum() == 3  # no text asked, no number


def test_detail_says_not_measured_yet_while_the_worker_is_busy(
    data_dir: Path, seeded: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    slow = FakeReader("OPEN 24 HOURS", gate)
    monkeypatch.setattr(ocr, "_shared", ocr.OcrEngine(loader=lambda threads: slow))
    gid = _add(seeded, scene(256, 4), prompt=SIGN)

    at = _app(pages.history_page)
    at.run()
    infos = " ".join(_texts(at, "info"))
    assert ("Not measured yet: warmth, detail and the near-duplicate hash; text accuracy "
            "(asked OPEN 24 HOURS).") in infos
    try:
        at.button(key=f"h_measure_{gid}").click().run()  # queued on the app's worker
        assert not at.exception
        _wait_for(lambda: _measured(seeded, gid, m.PHASH))  # fast lane done, OCR held
        at.run()
        infos = " ".join(_texts(at, "info"))
        assert "Not measured yet: text accuracy (asked OPEN 24 HOURS)" in infos
        assert "Measuring in the background (1 job in the queue)" in infos
        assert "Warmth (b\\*)" in " ".join(_texts(at, "markdown"))
        assert f"h_measure_{gid}" not in [b.key for b in at.button]  # none while busy
    finally:
        gate.set()
    _wait_for(lambda: _measured(seeded, gid, m.TEXT_ACCURACY))
    _wait_for(lambda: not any("Measuring" in i for i in _texts(at.run(), "info")))
    assert "Text accuracy: 100% — asked OPEN 24 HOURS, read OPEN 24 HOURS." in " ".join(
        _texts(at, "markdown"))
    assert slow.calls == 1


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n not really a picture"])
def test_a_corrupt_image_file_is_shown_as_a_measurement_error(
    data_dir: Path, seeded: Workbench, reader: FakeReader, data: bytes
) -> None:
    gid = _add(seeded, scene(256, 5), prompt=SIGN)
    seeded.images.absolute(seeded.log.get(gid).image_path).write_bytes(data)
    worker = metrics_service.worker_for(seeded)
    try:
        assert worker.submit(gid) and worker.wait_idle(20)
    finally:
        worker.close()

    at = _app(pages.history_page)
    at.run()
    assert not at.exception
    errors = _texts(at, "error")
    reason = "is empty (0 bytes)" if not data else "is not a readable image"
    failed = [e for e in errors if "could not be measured" in e]
    assert len(failed) == 1 and reason in failed[0]  # one line for every measure it hit
    assert all(m.SPECS[name].label in failed[0] for name in (m.DETAIL, m.PHASH, m.TEXT_ACCURACY))
    assert "Warmth (b\\*)" in failed[0]  # escaped: shown as written, not as Markdown
    assert reader.calls == 0  # nothing to read: OCR never ran
    assert not any("Not measured yet" in i for i in _texts(at, "info"))


# -- History: filter and sort by a measurement ---------------------------------------------------

def _measured_log(wb: Workbench) -> dict[str, str]:
    """Four generations: three with text accuracy and warmth, one never measured."""
    ids = {name: _add(wb, scene(64, i), prompt=f"{name} sign") for i, name in
           enumerate(("exact", "typo", "garbled", "unmeasured"), start=1)}
    for name, accuracy, warmth in (("exact", 1.0, 3.0), ("typo", 0.9, 12.5),
                                   ("garbled", 0.2, -4.0)):
        _put(wb, ids[name], m.TEXT_ACCURACY, accuracy)
        _put(wb, ids[name], m.WARMTH, warmth)
    return ids


def test_history_filters_and_sorts_by_a_measurement(data_dir: Path, seeded: Workbench) -> None:
    ids = _measured_log(seeded)
    at = _app(pages.history_page)
    at.run()
    assert "4 generations match" in _matches(at)

    at.selectbox(key="h_metric").set_value(m.TEXT_ACCURACY).run()
    assert "4 generations match" in _matches(at)  # no value yet: no condition
    assert any("Type a value" in c for c in _texts(at, "caption"))
    at.selectbox(key="h_metric_op").set_value("<").run()
    at.text_input(key="h_metric_value").set_value("1.0").run()
    assert not at.exception
    assert "2 generations match" in _matches(at)
    table = at.dataframe[0].value
    assert set(table["id"]) == {ids["typo"], ids["garbled"]}
    assert list(table.columns).count("text_accuracy") == 1

    at.selectbox(key="h_metric_op").set_value(">=").run()
    at.text_input(key="h_metric_value").set_value("0.9").run()
    assert set(at.dataframe[0].value["id"]) == {ids["exact"], ids["typo"]}

    at.selectbox(key="h_metric").select_index(0).run()  # "no measurement"
    at.text_input(key="h_metric_value").set_value("").run()
    at.selectbox(key="h_sort").set_value("warmth_high").run()
    table = at.dataframe[0].value
    assert list(table["id"]) == [ids["typo"], ids["exact"], ids["garbled"], ids["unmeasured"]]
    assert list(table["warmth"])[:3] == [12.5, 3.0, -4.0]  # and the sort's column is shown
    at.selectbox(key="h_sort").set_value("warmth_low").run()
    assert list(at.dataframe[0].value["id"]) == [
        ids["garbled"], ids["exact"], ids["typo"], ids["unmeasured"]]  # unmeasured stay last
    assert seeded.log.count(HistoryFilter(metric="warmth", metric_op=">", metric_value=0)) == 2


@pytest.mark.parametrize("hostile", ["'; DROP TABLE generations; --", "1 OR 1=1", "0.5%"])
def test_a_measurement_value_that_is_not_a_number_leaves_the_other_filters_working(
    data_dir: Path, seeded: Workbench, hostile: str
) -> None:
    _measured_log(seeded)
    at = _app(pages.history_page)
    at.run()
    at.selectbox(key="h_metric").set_value(m.TEXT_ACCURACY).run()
    at.text_input(key="h_metric_value").set_value(hostile).run()
    assert not at.exception
    assert _texts(at, "error") == ["Not a number: this condition is not applied."]
    assert len(at.dataframe[0].value) == 4  # every generation, as without the condition
    assert seeded.log.count(HistoryFilter()) == 4


@pytest.mark.parametrize("hostile", ["nan", "1e999"])
def test_history_rejects_a_measurement_value_that_is_no_finite_number_with_a_message(
    data_dir: Path, seeded: Workbench, hostile: str
) -> None:
    _measured_log(seeded)
    at = _app(pages.history_page)
    at.run()
    at.selectbox(key="h_metric").set_value(m.TEXT_ACCURACY).run()
    at.text_input(key="h_metric_value").set_value(hostile).run()
    assert not at.exception
    errors = _texts(at, "error")
    assert len(errors) == 1 and errors[0].startswith("Filter not applied: Measurement value:")
    assert not at.dataframe  # nothing is listed under a filter that was not applied
    assert seeded.log.count(HistoryFilter()) == 4


def test_history_asks_for_a_measurement_when_only_a_value_is_given(
    data_dir: Path, seeded: Workbench
) -> None:
    _measured_log(seeded)
    at = _app(pages.history_page)
    at.run()
    at.text_input(key="h_metric_value").set_value("0.5").run()
    assert not at.exception
    assert any("needs both a measurement and a value" in e for e in _texts(at, "error"))


def test_the_filters_list_of_measurements_matches_the_metrics() -> None:
    assert set(METRICS) == set(m.SPECS) - {m.PHASH}
    for metric in METRICS:
        assert HistoryFilter(sort=f"{metric}_high").sort_metric == (metric, True)


# -- the Measurements page ----------------------------------------------------------------------

def test_measurements_page_recomputes_and_shows_agreement_with_ratings(
    data_dir: Path, seeded: Workbench, reader: FakeReader
) -> None:
    prompts = ["A red kettle", "A fox under a tree", "A harbour at dusk", "A wool scarf",
               "A marble bust"]
    ids = [generate_sync(seeded, GenerateRequest(model="flux-2-pro", prompt=p, seed=1)).id
           for p in prompts]
    generate_sync(seeded, GenerateRequest(model="nano-banana-2", prompt=prompts[0], seed=1))
    at = _app(pages.measurements_page)
    at.run()
    assert not at.exception
    assert "0 of 6 images measured · 6 not measured yet" in " ".join(_texts(at, "caption"))

    at.segmented_control(key="ms_mode").set_value("All").run()
    at.button(key="ms_recompute").click().run()
    assert not at.exception

    def finished() -> bool:
        at.run()
        return any("Last recompute finished" in s for s in _texts(at, "success"))

    _wait_for(finished, 60)
    assert "Last recompute finished: 6 of 6 images measured; text read on 0 images" in " ".join(
        _texts(at, "success"))
    assert "6 of 6 images measured" in " ".join(_texts(at, "caption"))

    # stars that follow warmth exactly, and stars that run against detail
    store = MetricLog(seeded.db)
    by_warmth = sorted(ids, key=lambda g: store.for_generation(g)[m.WARMTH].value)
    by_detail = sorted(ids, key=lambda g: store.for_generation(g)[m.DETAIL].value)
    for stars, gid in enumerate(by_warmth, start=1):
        seeded.ratings.add(gid, "skin_warmth", stars)
    for stars, gid in enumerate(reversed(by_detail), start=1):
        seeded.ratings.add(gid, "micro_texture", stars)
    at.run()
    table = _frame(at, "rated criterion").reset_index().set_index("rated criterion")
    warmth = table.loc["Skin warmth"]
    assert warmth["measure"] == m.SPECS[m.WARMTH].label
    assert warmth["images (n)"] == 5 and warmth["Spearman ρ"] == "+1.00"
    assert warmth["95% interval"].startswith("+")
    assert warmth["how far to trust it"].startswith("strong: the measure agrees with the stars")
    texture = table.loc["Micro-texture"]
    assert texture["Spearman ρ"] == "-1.00"
    assert "runs against the stars" in texture["how far to trust it"]
    assert table.loc["Text in image", "images (n)"] == 0
    assert "not enough data" in table.loc["Text in image", "how far to trust it"]
    assert len(at.get("vega_lite_chart")) == 2  # one scatter per rated criterion

    at.multiselect(key="ms_models").set_value(["nano-banana-2"]).run()  # measured, not rated
    table = _frame(at, "rated criterion").reset_index().set_index("rated criterion")
    assert table.loc["Skin warmth", "images (n)"] == 0
    at.multiselect(key="ms_models").set_value(["flux-2-pro"]).run()
    assert _frame(at, "rated criterion").reset_index().set_index("rated criterion").loc[
        "Skin warmth", "images (n)"] == 5


def test_measurements_page_flags_near_duplicates_and_notes_missing_ocr(
    data_dir: Path, seeded: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(threads: int):  # type: ignore[no-untyped-def]
        raise ImportError("No module named 'rapidocr'", name="rapidocr")

    engine = ocr.OcrEngine(loader=missing)
    monkeypatch.setattr(ocr, "_shared", engine)
    same = png(scene(256, 7))
    twice = [_add(seeded, same, prompt="A lighthouse", seed=s) for s in (1, 2)]
    other = _add(seeded, scene(256, 8), prompt="A lighthouse", seed=3)
    graded = _add(seeded, scene(256, 7, grade=WARM), prompt="A lighthouse", model="flux-2-pro",
                  seed=4)
    cool = _add(seeded, scene(256, 7, grade=COOL), prompt="A lighthouse", model="flux-2-pro",
                seed=4)  # the same seed: expected to match, not flagged
    sign = _add(seeded, scene(256, 9), prompt=SIGN)
    report = metrics_service.recompute(seeded)
    assert report.skipped == 1 and report.fast_done == 6
    assert engine.unavailable_reason  # the worker tried to load OCR and could not

    at = _app(pages.measurements_page)
    at.run()
    assert not at.exception
    assert any("pip install rapidocr onnxruntime" in i for i in _texts(at, "info"))
    assert "skipped on 1 (no OCR)" in " ".join(_texts(at, "caption"))
    pairs = _frame(at, "bits apart")
    assert [sorted([a, b]) for a, b in zip(pairs["generation A"], pairs["generation B"],
                                           strict=True)] == [sorted(twice)]
    assert pairs["bits apart"].tolist() == [0]
    assert other not in set(pairs["generation A"]) | set(pairs["generation B"])
    assert {graded, cool}.isdisjoint(set(pairs["generation A"]) | set(pairs["generation B"]))

    hist = _app(pages.history_page)  # and on History, the skipped text says why
    hist.session_state[SELECTED_KEY] = sign
    hist.run()
    warnings = " ".join(_texts(hist, "warning"))
    assert "Text accuracy: skipped" in warnings and "pip install rapidocr" in warnings


def test_measurements_page_without_any_image(data_dir: Path, reader: FakeReader) -> None:
    at = _app(pages.measurements_page)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Measurements"
    assert "0 of 0 images measured" in " ".join(_texts(at, "caption"))
    assert any("are both measured and rated" in i for i in _texts(at, "info"))
    assert any("No near-duplicates" in s for s in _texts(at, "success"))

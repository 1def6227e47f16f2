"""The Measurements page's numbers add up (AppTest): every count on it (the coverage line, what is
left out and why, the recompute's progress and its summary) comes from one definition of a
measurable image (succeeded, with a stored image, not archived, matching the filters), on a log
that mixes succeeded images, an offline sketch, a failed attempt, an archived image and an image
whose file has gone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.metric_images import png, scene
from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.domain.ids import new_id
from workbench.engines import ocr
from workbench.imaging import measure as m
from workbench.services import history as history_service
from workbench.services.evidence import measurements as service
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome

TIMEOUT = 30


@dataclass
class _Read:  # what RapidOCR answers: the lines read and their scores
    txts: tuple[str, ...]
    scores: tuple[float, ...]


def _reader() -> ocr.OcrEngine:
    """A stand-in for RapidOCR that reads "OPEN" on every image."""
    return ocr.OcrEngine(loader=lambda threads: lambda image: _Read(("OPEN",), (0.99,)))


@pytest.fixture(autouse=True)
def _fake_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "_shared", _reader())


def _add(wb: Workbench, seed: int | None, *, provider: str = "gemini",
         model: str = "nano-banana-2", failed: bool = False, prompt: str | None = None) -> str:
    """A logged attempt of `model` via `provider`: succeeded with its own image, or failed."""
    gid = new_id("gen")
    prompt = prompt or f"A red kettle, take {seed}"
    wb.attempts.insert_pending(NewGeneration(
        id=gid, model=model, provider=provider, prompt=prompt, prompt_written=prompt, seed=seed))
    if failed:
        wb.attempts.complete(gid, Outcome(status="failed", error_kind="server",
                                          error_message="503 from the provider"))
    else:
        stored = wb.images.put(png(scene(160, seed or 0)))
        wb.attempts.complete(gid, Outcome(status="succeeded", image=stored, seed_returned=seed))
    return gid


def _mix(wb: Workbench) -> dict[str, str]:
    """Three images that measure, an offline sketch, a failed attempt, an archived image and
    an image whose file was removed behind the workbench's back."""
    ids = {f"ok{i}": _add(wb, i) for i in (1, 2)}
    ids["sign"] = _add(wb, 3, prompt='A neon sign that says "OPEN" above a door')
    ids["sketch"] = _add(wb, 4, provider="offline")
    ids["failed"] = _add(wb, 5, failed=True)
    ids["archived"] = _add(wb, 6)
    history_service.archive(wb, ids["archived"])
    ids["gone"] = _add(wb, 7)
    record = wb.log.get(ids["gone"])
    assert record is not None and record.image_path
    wb.images.absolute(record.image_path).unlink()
    return ids


def _captions(at: AppTest) -> str:
    return " ".join(str(c.value) for c in at.caption)


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_every_count_on_the_measurements_page_comes_from_one_definition(
    data_dir: Path, seeded: Workbench
) -> None:
    _mix(seeded)
    at = AppTest.from_function(pages.measurements_page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    # 5 measurable: 3 images, the sketch and the image whose file is gone
    captions = _captions(at)
    assert "0 of 5 images measured · 5 not measured yet" in captions
    assert ("1 of the 5 images is an offline sketch; not counted: 1 archived image and 1 "
            "generation without an image (failed, moderated, cancelled or unfinished).") in captions

    at.segmented_control(key="ms_mode").set_value("All").run()
    at.button(key="ms_recompute").click().run()
    assert not at.exception

    def finished() -> bool:
        at.run()
        return any("Last recompute finished" in str(s.value) for s in at.success)

    _wait_for(finished)
    summary = " ".join(str(s.value) for s in at.success)
    # the recompute speaks of the same five images as the line above it
    assert ("Last recompute finished: 4 of 5 images measured, 1 could not be measured; "
            "text read on 1 image") in summary
    captions = _captions(at)
    assert ("4 of 5 images measured · 1 could not be measured (file missing or unreadable) · "
            "text read on 1 image") in captions
    assert "not measured yet" not in captions

    # the filters narrow every count alike: the offline sketch alone
    at.multiselect(key="ms_providers").set_value(["offline"]).run()
    captions = _captions(at)
    assert "1 of 1 image measured" in captions
    assert "The image is an offline sketch." in captions


def test_the_recompute_progress_counts_the_images_the_coverage_counts(
    data_dir: Path, seeded: Workbench
) -> None:
    ids = _mix(seeded)
    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, stage: str) -> None:
        seen.append((done, total, stage))

    before = service.coverage(seeded)
    report = service.recompute(seeded, only_missing=False, progress=progress, ocr=_reader())
    after = service.coverage(seeded)
    assert before.images == after.images == report.candidates == 5
    # each stage counts its own images, never images plus text jobs
    assert [s for s in seen if s[0] == s[1]] == [
        (5, 5, service.MEASURING), (1, 1, service.READING_TEXT)]
    assert after.text_read == report.text_done == 1
    assert (after.measured, after.errors, after.unmeasured) == (4, 1, 0)
    assert (report.fast_done - report.fast_errors, report.fast_errors) == (
        after.measured, after.errors)
    assert (after.archived, after.without_image, after.sketches) == (1, 1, 1)

    # an archived image is neither counted nor measured again; restored, it is both
    history_service.restore(seeded, ids["archived"])
    restored = service.coverage(seeded)
    assert (restored.images, restored.unmeasured, restored.archived) == (6, 1, 0)
    seen.clear()
    assert service.recompute(seeded, progress=progress, text=False).fast_done == 1
    assert seen == [(1, 1, service.MEASURING)]
    assert service.coverage(seeded).unmeasured == 0

    only_sketches = HistoryFilter(providers=("offline",))
    assert service.coverage(seeded, only_sketches).images == 1


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (service.RecomputeState(True, 0, 0, None), "Listing the images to measure"),
        (service.RecomputeState(True, 3, 522, None),
         "Measuring warmth, detail and hash: 3 of 522 images"),
        (service.RecomputeState(True, 1, 1, None, service.READING_TEXT),
         "Reading text: 1 of 1 image"),
    ],
)
def test_the_progress_line_names_its_stage_and_unit(
    state: service.RecomputeState, expected: str
) -> None:
    assert state.sentence() == expected


def _quantitative_axes(spec: dict) -> list[dict]:
    """Every quantitative x/y encoding of a Vega-Lite spec, layers included."""
    found = []
    for part in [spec, *spec.get("layer", [])]:
        for channel in ("x", "y"):
            enc = part.get("encoding", {}).get(channel)
            if enc and enc.get("type") == "quantitative":
                found.append(enc)
    return found


def test_the_agreement_charts_label_axes_in_plain_numbers_and_models_by_name(
    data_dir: Path, seeded: Workbench
) -> None:
    ids = [_add(seeded, seed) for seed in (1, 2, 3, 4)]
    service.recompute(seeded, text=False)
    for stars, gid in enumerate(ids, start=1):
        seeded.ratings.add(gid, "skin_warmth", stars)
    at = AppTest.from_function(pages.measurements_page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert charts
    for chart in charts:
        # people read the model's name in the legend and tooltips, not its id (the points
        # travel as Arrow bytes beside the spec, their strings as written)
        sent = chart.proto.SerializeToString()
        assert b"Nano Banana 2" in sent and b"nano-banana-2" not in sent
        axes = _quantitative_axes(json.loads(chart.proto.spec))
        assert len(axes) == 2
        for enc in axes:
            fmt = enc.get("axis", {}).get("format")
            assert fmt, f"{enc['field']} has no axis format"
            assert "s" not in fmt  # no SI prefixes ("250µ")
        stars = next(e for e in axes if e["field"] == "stars")
        assert stars["axis"]["values"] == [1, 2, 3, 4, 5] and stars["axis"]["format"] == "d"


def test_the_counts_agree_on_each_backend(backend_wb: Workbench) -> None:
    _mix(backend_wb)
    before = service.coverage(backend_wb)
    assert (before.images, before.unmeasured, before.archived, before.without_image,
            before.sketches) == (5, 5, 1, 1, 1)
    report = service.recompute(backend_wb, text=False)
    after = service.coverage(backend_wb)
    assert report.candidates == after.images == 5
    assert (after.measured, after.errors, after.unmeasured) == (4, 1, 0)


def test_an_image_missing_one_current_measure_is_not_measured_yet(
    data_dir: Path, seeded: Workbench
) -> None:
    ids = [_add(seeded, seed) for seed in (1, 2)]
    service.recompute(seeded, text=False)
    assert service.coverage(seeded).measured == 2
    # a method's version changes: its old rows no longer count, for the count and the recompute
    with seeded.db.cursor() as cur:
        cur.execute("DELETE FROM metrics WHERE generation_id = ? AND metric = ?",
                    [ids[0], m.DETAIL])
    missing = service.coverage(seeded)
    assert (missing.measured, missing.unmeasured) == (1, 1)
    seen: list[tuple[int, int, str]] = []
    service.recompute(seeded, text=False,
                      progress=lambda done, total, stage: seen.append((done, total, stage)))
    assert seen == [(1, missing.unmeasured, service.MEASURING)]
    assert service.coverage(seeded).measured == 2

"""Measurements stored and read back on a real workbench (`wb`): rows per metric and version,
errors as rows, paired per-model comparisons, text accuracy, history clauses, near-duplicates,
agreement with ratings, the background worker, recompute, and the `metrics` command."""

from __future__ import annotations

import argparse
import io
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.metric_images import COOL, WARM, png, scene, text_image
from workbench import cli, config
from workbench.commands import EXIT_USAGE, CommandError
from workbench.commands import metrics as metrics_command
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.domain.ids import new_id
from workbench.engines.ocr import OcrEngine
from workbench.imaging import measure as m
from workbench.services.evidence import measurements as service
from workbench.services.workbench import Workbench, open_workbench
from workbench.stats.ratings import t95
from workbench.store.attempts import NewGeneration, Outcome
from workbench.store.measurements import MetricLog
from workbench.store.metric_comparisons import MetricComparisons
from workbench.store.queries import filter_sql, metric_condition_sql, metric_value_sql

SIGN = 'A neon sign that says "OPEN 24 HOURS" above a diner door'


def add(
    wb: Workbench, image: Image.Image | bytes | None = None, *, model: str = "nano-banana-2",
    prompt: str = "A red kettle", seed: int | None = None, category: str | None = None,
    params: dict | None = None,
) -> str:
    gid = new_id("gen")
    wb.attempts.insert_pending(NewGeneration(
        id=gid, model=model, provider="offline", prompt=prompt, prompt_written=prompt,
        seed=seed, category=category, params=params or {}))
    stored = None
    if image is not None:
        stored = wb.images.put(image if isinstance(image, bytes) else png(image))
    wb.attempts.complete(gid, Outcome(status="succeeded", image=stored, seed_returned=seed))
    return gid


def put(wb: Workbench, gid: str, metric: str, value: float | None, *, version: int | None = None,
        detail: dict | None = None, status: str = "ok") -> None:
    MetricLog(wb.db).record(gid, [m.MetricResult(
        metric, m.VERSIONS[metric] if version is None else version, value, detail or {},
        None if status == "ok" else "why", status)])


@dataclass
class _Output:
    txts: tuple[str, ...]
    scores: tuple[float, ...]


class FakeOcr:
    """Stands in for RapidOCR: answers with a fixed text, optionally holding until released."""

    def __init__(self, text: str, gate: threading.Event | None = None) -> None:
        self.text = text
        self.gate = gate
        self.calls = 0
        self.started = threading.Event()

    def __call__(self, image: Image.Image) -> _Output:
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(20), "test never released the OCR gate"
        self.calls += 1
        return _Output((self.text,), (0.99,))

    def engine(self) -> OcrEngine:
        return OcrEngine(loader=lambda threads: self)


def _missing_loader(threads: int):
    raise ImportError("No module named 'rapidocr'", name="rapidocr")


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- measuring one generation ---------------------------------------------------------------------

def test_measuring_a_generation_stores_every_fast_metric_with_its_version(wb: Workbench) -> None:
    image = scene(512, 3)
    gid = add(wb, image)
    results = service.measure_generation(wb, gid, ocr=FakeOcr("unused").engine())
    assert [r.name for r in results] == list(m.FAST_METRICS)  # no text asked, no OCR row
    stored = MetricLog(wb.db).for_generation(gid)
    assert set(stored) == set(m.FAST_METRICS)
    direct = {r.name: r for r in m.measure_fast(image)}
    assert stored[m.WARMTH].value == pytest.approx(direct[m.WARMTH].value)
    assert stored[m.DETAIL].value == pytest.approx(direct[m.DETAIL].value)
    assert stored[m.PHASH].detail["hash"] == direct[m.PHASH].detail["hash"]
    assert all(row.version == m.VERSIONS[name] for name, row in stored.items())


def test_zero_size_and_corrupt_image_files_are_recorded_as_measurement_errors(
    wb: Workbench,
) -> None:
    empty = add(wb, scene(128, 1), prompt=SIGN)
    corrupt = add(wb, scene(128, 2))
    for gid, data in ((empty, b""), (corrupt, b"\x89PNG\r\n\x1a\n not really")):
        path = wb.images.absolute(wb.log.get(gid).image_path)
        path.write_bytes(data)
    ocr = FakeOcr("OPEN 24 HOURS")
    results = service.measure_generation(wb, empty, ocr=ocr.engine())
    assert {r.status for r in results} == {"error"}
    assert len(results) == len(m.FAST_METRICS) + 1  # the text row fails too, OCR never runs
    assert ocr.calls == 0
    service.measure_generation(wb, corrupt)
    store = MetricLog(wb.db)
    for gid, reason in ((empty, "empty (0 bytes)"), (corrupt, "not a readable image")):
        rows = store.for_generation(gid)
        assert rows[m.WARMTH].status == "error" and rows[m.WARMTH].value is None
        assert reason in rows[m.DETAIL].error
    sentences = [r.sentence for r in service.readings(wb, empty)]
    assert any("could not be measured" in s and "empty" in s for s in sentences)


def test_a_generation_without_an_image_is_not_measured(wb: Workbench) -> None:
    gid = add(wb, None)
    assert service.measure_generation(wb, gid) == []
    assert service.measure_generation(wb, "gen_missing") == []


def test_text_accuracy_keeps_what_was_asked_and_what_was_read(wb: Workbench) -> None:
    gid = add(wb, text_image("OPFN 24 HOURS", 256), prompt=SIGN)
    results = service.measure_generation(wb, gid, ocr=FakeOcr("OPFN 24 HOURS").engine())
    text = next(r for r in results if r.name == m.TEXT_ACCURACY)
    assert text.value == pytest.approx(1 - 1 / 11)
    row = MetricLog(wb.db).for_generation(gid)[m.TEXT_ACCURACY]
    assert row.detail["items"][0] == {"expected": "OPEN 24 HOURS", "read": "OPFN 24 HOURS",
                                         "distance": 1, "length": 11,
                                         "accuracy": round(1 - 1 / 11, 6)}
    sentence = next(r.sentence for r in service.readings(wb, gid) if r.metric == m.TEXT_ACCURACY)
    assert "asked OPEN 24 HOURS, read OPFN 24 HOURS" in sentence


def test_an_explicit_expected_text_in_params_beats_the_prompt(wb: Workbench) -> None:
    gid = add(wb, text_image("CLOSED", 256), prompt=SIGN, params={"expected_text": "CLOSED"})
    service.measure_generation(wb, gid, ocr=FakeOcr("CLOSED").engine())
    row = MetricLog(wb.db).for_generation(gid)[m.TEXT_ACCURACY]
    assert row.value == 1.0 and row.detail["items"][0]["expected"] == "CLOSED"


def test_missing_ocr_is_skipped_with_a_note_and_recompute_retries_it(wb: Workbench) -> None:
    gid = add(wb, text_image("OPEN 24 HOURS", 256), prompt=SIGN)
    service.measure_generation(wb, gid, ocr=OcrEngine(loader=_missing_loader))
    row = MetricLog(wb.db).for_generation(gid)[m.TEXT_ACCURACY]
    assert row.status == "skipped" and row.value is None
    assert "pip install rapidocr onnxruntime" in row.error
    assert set(MetricLog(wb.db).for_generation(gid)) >= set(m.FAST_METRICS)  # fast ones ran

    report = service.recompute(wb, ocr=OcrEngine(loader=_missing_loader))
    assert (report.fast_done, report.text_done, report.skipped) == (0, 0, 1)
    assert "not installed" in report.summary()

    report = service.recompute(wb, ocr=FakeOcr("OPEN 24 HOURS").engine())
    assert (report.fast_done, report.text_done, report.skipped) == (0, 1, 0)
    assert MetricLog(wb.db).for_generation(gid)[m.TEXT_ACCURACY].value == 1.0


# -- the store's rules ----------------------------------------------------------------------------

def test_the_newest_row_wins_and_other_versions_never_mix_in(wb: Workbench) -> None:
    a, b = add(wb, prompt="p"), add(wb, prompt="p", model="flux-2-pro")
    put(wb, a, m.WARMTH, 1.0)
    put(wb, a, m.WARMTH, 5.0)  # recomputed: replaces 1.0
    put(wb, a, m.WARMTH, 100.0, version=m.WARMTH_VERSION + 1)  # a future method
    put(wb, b, m.WARMTH, 2.0)
    put(wb, b, m.WARMTH, -50.0, version=0)  # an old method
    store = MetricLog(wb.db)
    assert store.for_generation(a)[m.WARMTH].value == 5.0
    assert store.values_for([a, b], [m.WARMTH]) == {a: {m.WARMTH: 5.0}, b: {m.WARMTH: 2.0}}
    rows = {r.model: r for r in MetricComparisons(wb.db).paired_by_model(None, m.WARMTH)}
    assert rows["nano-banana-2"].mean_diff == pytest.approx(3.0)
    assert rows["flux-2-pro"].mean_diff == pytest.approx(-3.0)
    with wb.db.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM metrics").fetchone()[0] == 5  # nothing lost


def test_paired_comparison_on_the_same_prompt_with_an_interval(wb: Workbench) -> None:
    a_vals, b_vals = (12.0, 25.0, 31.0), (10.0, 20.0, 30.0)
    for i, (va, vb) in enumerate(zip(a_vals, b_vals, strict=True)):
        category = "portrait" if i < 2 else "landscape"
        put(wb, add(wb, prompt=f"prompt {i}", model="A", category=category), m.WARMTH, va)
        put(wb, add(wb, prompt=f"prompt {i}", model="B", category=category), m.WARMTH, vb)
    put(wb, add(wb, prompt="only A has this one", model="A"), m.WARMTH, 100.0)
    store = MetricComparisons(wb.db)
    rows = {r.model: r for r in store.paired_by_model(None, m.WARMTH)}
    diffs = [2.0, 5.0, 1.0]
    mean = sum(diffs) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2)
    half = t95(2) * sd / math.sqrt(3)
    a = rows["A"]
    assert (a.images, a.prompts) == (4, 3)
    assert a.mean == pytest.approx((12 + 25 + 31 + 100) / 4)  # unpaired mean: misleading
    assert a.mean_diff == pytest.approx(mean)
    assert (a.diff_low, a.diff_high) == (pytest.approx(mean - half),
                                               pytest.approx(mean + half))
    assert rows["B"].mean_diff == pytest.approx(-mean)

    by_cat = {(r.category, r.model): r
              for r in store.paired_by_model(None, m.WARMTH, by_category=True)}
    assert by_cat[("portrait", "A")].mean_diff == pytest.approx(3.5)
    assert by_cat[("landscape", "A")].prompts == 1
    assert by_cat[("landscape", "A")].diff_low is None  # one prompt: no interval
    only_portrait = store.paired_by_model(HistoryFilter(categories=("portrait",)), m.WARMTH)
    assert {r.model: r.mean_diff for r in only_portrait} == {
        "A": pytest.approx(3.5), "B": pytest.approx(-3.5)}
    cells = {r["model"]: r["text"] for r in service.paired_columns(wb, metrics=(m.WARMTH,))}
    assert cells["A"].startswith("+2.67 [") and cells["A"].endswith("3 prompts")


def test_pairing_uses_the_mean_of_the_other_models_images(wb: Workbench) -> None:
    put(wb, add(wb, prompt="p", model="A"), m.DETAIL, 12.0)
    put(wb, add(wb, prompt="p", model="B"), m.DETAIL, 10.0)
    put(wb, add(wb, prompt="p", model="C"), m.DETAIL, 4.0)
    put(wb, add(wb, prompt="p", model="C"), m.DETAIL, 6.0)
    rows = {r.model: r for r in MetricComparisons(wb.db).paired_by_model(None, m.DETAIL)}
    assert rows["A"].mean_diff == pytest.approx(12 - (10 + 4 + 6) / 3)
    assert rows["C"].mean_diff == pytest.approx(5 - (12 + 10) / 2)


def test_text_accuracy_per_model(wb: Workbench) -> None:
    for model, values in (("A", (1.0, 1.0, 0.8)), ("B", (0.5, 0.9))):
        for v in values:
            put(wb, add(wb, prompt=SIGN, model=model, category="text"), m.TEXT_ACCURACY, v)
    put(wb, add(wb, prompt=SIGN, model="B", category="portrait"), m.TEXT_ACCURACY, 0.0)
    rows = {r.model: r for r in service.text_accuracy(wb, HistoryFilter(categories=("text",)))}
    assert rows["A"].images == 3 and rows["A"].mean == pytest.approx(2.8 / 3)
    assert rows["A"].exact_share == pytest.approx(2 / 3)
    assert rows["A"].high == 1.0  # clipped to the scale
    assert rows["B"].mean == pytest.approx(0.7) and rows["B"].exact_share == 0


def test_history_clause_and_sort_expression_compose_with_filter_sql(wb: Workbench) -> None:
    perfect = add(wb, prompt=SIGN, model="A")
    flawed = add(wb, prompt=SIGN, model="A")
    worse = add(wb, prompt=SIGN, model="B")
    unmeasured = add(wb, prompt=SIGN, model="A")
    for gid, v in ((perfect, 1.0), (flawed, 0.9), (worse, 0.4)):
        put(wb, gid, m.TEXT_ACCURACY, v)
    put(wb, unmeasured, m.TEXT_ACCURACY, None, status="skipped")
    where, params = filter_sql(HistoryFilter(models=("A",)))
    clause, extra = metric_condition_sql(m.TEXT_ACCURACY, "<", 1.0)
    value, value_params = metric_value_sql(m.TEXT_ACCURACY)
    with wb.db.cursor() as cur:
        ids = [r[0] for r in cur.execute(
            f"SELECT g.id FROM generations g{where} AND {clause}", [*params, *extra]).fetchall()]
        ordered = [r[0] for r in cur.execute(
            f"SELECT g.id FROM generations g ORDER BY {value} ASC NULLS LAST, g.id",
            value_params).fetchall()]
    assert ids == [flawed]
    assert ordered[:3] == [worse, flawed, perfect] and ordered[3] == unmeasured
    with pytest.raises(ValueError, match="unknown comparison"):
        metric_condition_sql(m.TEXT_ACCURACY, "; DROP TABLE metrics", 1.0)
    with pytest.raises(KeyError):
        metric_value_sql("sparkle")


def test_near_duplicates_need_one_model_one_prompt_and_different_seeds(wb: Workbench) -> None:
    base = 0x0F0F_F0F0_1234_ABCD

    def hashed(value: int, **kw) -> str:
        gid = add(wb, **kw)
        put(wb, gid, m.PHASH, None, detail={"hash": m.hash_hex(value)})
        return gid

    a = hashed(base, prompt="p", seed=1)
    b = hashed(base ^ 0b111, prompt="p", seed=2)  # 3 bits apart, other seed: suspicious
    c = hashed(base, prompt="p", seed=1)  # same seed as a: identical images are expected
    hashed(base ^ ((1 << 20) - 1), prompt="p", seed=3)  # 20 bits apart: a different image
    hashed(base, prompt="p", seed=4, model="flux-2-pro")  # another model
    hashed(base, prompt="q", seed=5)  # another prompt
    pairs = service.near_duplicates(wb)
    found = {(p.generation_a, p.generation_b): p.distance for p in pairs}
    assert found == {tuple(sorted((a, b))): 3, tuple(sorted((c, b))): 3}
    sentence = next(r.sentence for r in service.readings(wb, a) if r.metric == m.PHASH)
    assert b in sentence and "3 bits apart" in sentence


def test_correlation_view_pairs_each_measure_with_its_criterion(wb: Workbench) -> None:
    for i, stars in enumerate((1, 2, 3, 4, 5)):
        gid = add(wb, prompt=f"p{i}")
        put(wb, gid, m.WARMTH, float(i * 3))  # warmer images got more skin-warmth stars
        put(wb, gid, m.DETAIL, float(10 - i))
        wb.ratings.add(gid, "skin_warmth", 5)  # superseded: the latest rating counts
        wb.ratings.add(gid, "skin_warmth", stars)
        wb.ratings.add(gid, "micro_texture", stars)
    found = {(c.criterion, c.metric): c for c in service.correlations(wb)}
    assert set(found) == {("skin_warmth", m.WARMTH), ("hair_detail", m.DETAIL),
                          ("micro_texture", m.DETAIL), ("text_in_image", m.TEXT_ACCURACY)}
    warmth = found[("skin_warmth", m.WARMTH)]
    assert warmth.n == 5 and warmth.spearman == pytest.approx(1.0)
    assert warmth.verdict.startswith("strong: the measure agrees")
    assert found[("micro_texture", m.DETAIL)].spearman == pytest.approx(-1.0)
    assert found[("hair_detail", m.DETAIL)].n == 0
    assert "not enough data" in found[("text_in_image", m.TEXT_ACCURACY)].verdict


def test_reading_compares_with_the_median_of_the_prompts_images(wb: Workbench) -> None:
    prompt = "A portrait by a window"
    warm = add(wb, scene(256, 4, grade=WARM), prompt=prompt, model="A")
    add(wb, scene(256, 4), prompt=prompt, model="B")
    add(wb, scene(256, 4, grade=COOL), prompt=prompt, model="C")
    service.recompute(wb, text=False)
    sentences = {r.metric: r.sentence for r in service.readings(wb, warm)}
    assert sentences[m.WARMTH].startswith(
        "Warmth (b*): warmer (more yellow) than the median of this prompt's images")
    assert "2 images" in sentences[m.WARMTH]
    assert "a warmer white balance" in sentences[m.WB_CAST]
    assert m.PHASH in sentences


# -- background worker and recompute --------------------------------------------------------------

def test_fast_measures_keep_flowing_while_ocr_is_busy(wb: Workbench) -> None:
    gate = threading.Event()
    fake = FakeOcr("OPEN 24 HOURS", gate)
    worker = service.MetricsWorker(wb, ocr=fake.engine())
    try:
        texty = add(wb, text_image("OPEN 24 HOURS", 256), prompt=SIGN)
        plain = [add(wb, scene(256, s)) for s in (1, 2, 3)]
        assert worker.submit(texty)
        assert fake.started.wait(20)  # OCR is now held mid-image
        assert worker.submit_many(plain) == 3
        store = MetricLog(wb.db)
        _wait_for(lambda: all(m.DETAIL in store.for_generation(g) for g in plain))
        assert m.TEXT_ACCURACY not in store.for_generation(texty)  # still reading
        assert worker.pending == 1
        gate.set()
        assert worker.wait_idle(20)
        assert store.for_generation(texty)[m.TEXT_ACCURACY].value == 1.0
        assert (worker.stats.measured, worker.stats.ocr_measured) == (4, 1)
    finally:
        gate.set()
        worker.close()
    assert not worker.submit(plain[0])  # closed: refuses politely


def test_a_full_queue_drops_work_that_recompute_later_catches_up(wb: Workbench) -> None:
    gate = threading.Event()
    fake = FakeOcr("OPEN 24 HOURS", gate)
    worker = service.MetricsWorker(wb, ocr=fake.engine(), queue_size=1)
    try:
        ids = [add(wb, text_image("OPEN 24 HOURS", 128 + 16 * i), prompt=SIGN) for i in range(3)]
        assert worker.submit(ids[0])
        assert fake.started.wait(20)  # first in OCR, held
        assert worker.submit(ids[1])
        store = MetricLog(wb.db)
        _wait_for(lambda: m.DETAIL in store.for_generation(ids[1]))  # second waits for OCR
        assert worker.submit(ids[2])
        _wait_for(lambda: m.DETAIL in store.for_generation(ids[2]))
        _wait_for(lambda: worker.stats.dropped == 1)  # no room for its OCR: dropped
        gate.set()
        assert worker.wait_idle(20)
    finally:
        gate.set()
        worker.close()
    assert [m.TEXT_ACCURACY in store.for_generation(g) for g in ids] == [True, True, False]
    report = service.recompute(wb, ocr=FakeOcr("OPEN 24 HOURS").engine())
    assert (report.fast_done, report.text_done) == (0, 1)


def test_recompute_measures_what_is_missing_or_everything(wb: Workbench) -> None:
    ids = [add(wb, scene(192, s)) for s in (1, 2, 3)]
    add(wb, None)  # a failed attempt: nothing to measure
    seen: list[tuple[int, int]] = []
    report = service.recompute(wb, progress=lambda done, total, _: seen.append((done, total)))
    assert report.candidates == 3 and report.fast_done == 3 and seen[-1] == (3, 3)
    assert service.recompute(wb).fast_done == 0
    put(wb, ids[0], m.DETAIL, 1.0, version=0)  # an old method's row does not count
    with wb.db.cursor() as cur:
        cur.execute("DELETE FROM metrics WHERE generation_id = ? AND metric = ?",
                    [ids[1], m.PHASH])
    assert service.recompute(wb).fast_done == 1
    assert service.recompute(wb, only_missing=False).fast_done == 3


def test_the_worker_survives_a_corrupt_file_and_is_one_per_workbench(wb: Workbench) -> None:
    broken = add(wb, scene(128, 5))
    wb.images.absolute(wb.log.get(broken).image_path).write_bytes(b"")
    fine = add(wb, scene(128, 6))
    worker = service.worker_for(wb)
    assert service.worker_for(wb) is worker
    try:
        assert worker.submit_many([broken, "gen_unknown", fine]) == 3
        assert worker.wait_idle(20)
        store = MetricLog(wb.db)
        assert store.for_generation(broken)[m.DETAIL].status == "error"
        assert store.for_generation(fine)[m.DETAIL].status == "ok"
        assert worker.stats.errors == len(m.FAST_METRICS)  # one error row per fast measure
    finally:
        worker.close()
    assert service.worker_for(wb) is not worker  # a closed worker is replaced
    service.worker_for(wb).close()


def test_each_workbench_holds_its_own_worker_and_stops_it_on_close(tmp_path: Path) -> None:
    def opened(name: str) -> Workbench:
        env = {"WORKBENCH_DATA_DIR": str(tmp_path / name), "WORKBENCH_LOCK_TIMEOUT_S": "2"}
        return open_workbench(load_settings(env=env, secrets_file=tmp_path / "none.toml"),
                              idle_close_s=0)

    first, second = opened("a"), opened("b")
    try:
        assert "measurements" not in first.background  # started on first use only
        worker = service.worker_for(first)
        assert first.background["measurements"] is worker and worker.wb is first
        other = service.worker_for(second)
        assert second.background["measurements"] is other and other is not worker
    finally:
        first.close()
    assert worker.closed and not other.closed
    second.close()
    assert other.closed


def test_recompute_in_background_reports_progress(wb: Workbench) -> None:
    [add(wb, scene(128, s)) for s in (1, 2)]
    worker = service.MetricsWorker(wb, ocr=FakeOcr("x").engine())
    try:
        assert worker.recompute_in_background()
        _wait_for(lambda: not worker.recomputing)
        assert worker.recompute_progress == (2, 2)
        assert worker.last_recompute is not None and worker.last_recompute.fast_done == 2
    finally:
        worker.close()


# -- the command ----------------------------------------------------------------------------------

def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="workbench")
    metrics_command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["metrics", *argv])


def test_metrics_command_recomputes_then_reports_coverage(wb: Workbench) -> None:
    add(wb, scene(160, 1))
    add(wb, scene(160, 2))
    out, err = io.StringIO(), io.StringIO()
    args = _parse("--recompute")
    assert args.run(args, wb, out=out, err=err) == 0
    assert "Checked 2 stored images: 2 of 2 images measured" in out.getvalue()
    assert "2/2" in err.getvalue()
    out = io.StringIO()
    args = _parse()
    assert args.run(args, wb, out=out, err=err) == 0
    table = out.getvalue()
    assert "warmth" in table and "Current versions:" in table
    assert any(line.split()[:4] == ["detail", "1", "ok", "2"] for line in table.splitlines())
    args = _parse("--all")
    with pytest.raises(CommandError, match="--recompute") as info:
        args.run(args, wb)
    assert info.value.exit_code == EXIT_USAGE


def test_python_m_workbench_metrics_recompute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "2")
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")
    seeded = open_workbench(load_settings(), idle_close_s=0)
    gid = add(seeded, scene(160, 3))
    seeded.close()
    assert cli.main(["metrics", "--recompute", "--no-text"]) == 0
    assert "1 image measured" in capsys.readouterr().out
    assert cli.main(["metrics", "--no-text"]) == EXIT_USAGE
    assert "only make sense with --recompute" in capsys.readouterr().err
    reopened = open_workbench(load_settings(), idle_close_s=0)
    try:
        assert set(MetricLog(reopened.db).for_generation(gid)) == set(m.FAST_METRICS)
    finally:
        reopened.close()


def test_metric_detail_is_json_in_the_table(wb: Workbench) -> None:
    gid = add(wb, scene(128, 9))
    service.measure_generation(wb, gid)
    with wb.db.cursor() as cur:
        raw = cur.execute("SELECT detail FROM metrics WHERE generation_id = ? AND metric = ?",
                          [gid, m.COLOUR_TEMP]).fetchone()[0]
    detail = json.loads(raw)
    assert detail["unit"] == "mired" and 1000 < detail["kelvin"] < 25000

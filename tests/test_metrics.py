"""The measures themselves, on synthetic images made here: warm vs cool grading, content vs
cast, sharp vs blurred, size normalisation, near-duplicates, expected text, text scores,
unreadable files, and the OCR adapter (lazy loading, missing package, the real engine)."""

from __future__ import annotations

import importlib.util
import io
import itertools
import random
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.metric_images import COOL, ORANGE, WARM, jpeg, png, scene, text_image
from workbench.engines.ocr import INSTALL_HINT, OcrEngine, OcrUnavailable
from workbench.imaging import measure as m

ROOT = Path(__file__).resolve().parent.parent
HAS_RAPIDOCR = importlib.util.find_spec("rapidocr") is not None
needs_ocr = pytest.mark.skipif(not HAS_RAPIDOCR, reason="rapidocr is not installed")


def _values(results: list[m.MetricResult]) -> dict[str, float]:
    return {r.name: r.value for r in results if r.value is not None}


# -- warmth ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_warm_grade_reads_warmer_than_neutral_and_cool(seed: int) -> None:
    warm, neutral, cool = (_values(m.measure_warmth(scene(256, seed, grade=g)))
                           for g in (WARM, (1, 1, 1), COOL))
    for metric in (m.WARMTH, m.COLOUR_TEMP, m.WB_CAST):
        assert warm[metric] > neutral[metric] > cool[metric], metric


def test_grey_edge_cast_is_moved_far_less_by_scene_content_than_mean_b() -> None:
    """Orange material under neutral light shifts mean b* about as much as a warm grade does;
    the grey-edge cast moves only a fraction of its grade response."""
    b_ratios, cast_ratios = [], []
    for seed in range(1, 7):
        neutral = _values(m.measure_warmth(scene(256, seed)))
        warm = _values(m.measure_warmth(scene(256, seed, grade=WARM)))
        cool = _values(m.measure_warmth(scene(256, seed, grade=COOL)))
        orange = _values(m.measure_warmth(scene(256, seed, content=ORANGE)))
        for key, ratios in ((m.WARMTH, b_ratios), (m.WB_CAST, cast_ratios)):
            ratios.append((orange[key] - neutral[key]) / (warm[key] - cool[key]))
    assert np.mean(b_ratios) > 0.9  # content fools the mean colour ...
    assert np.mean(cast_ratios) < 0.5 * np.mean(b_ratios)  # ... much less the cast
    assert sum(c < b for c, b in zip(cast_ratios, b_ratios, strict=True)) == 6


def test_colour_temperature_is_in_mireds_and_daylight_white_is_near_6500_k() -> None:
    mired, clipped = m.mccamy_mired(np.array([0.95047, 1.0, 1.08883]))  # D65 white
    assert not clipped
    assert 1e6 / mired == pytest.approx(6504, abs=15)
    grey = _values(m.measure_warmth(Image.new("RGB", (64, 64), (128, 128, 128))))
    assert grey[m.WARMTH] == pytest.approx(0, abs=0.01)
    assert grey[m.COLOUR_TEMP] == pytest.approx(1e6 / 6504, rel=0.01)
    assert m.SPECS[m.COLOUR_TEMP].unit == "mired"


def test_black_and_clipped_pixels_are_left_out_of_the_mean_colour() -> None:
    base = np.zeros((100, 100, 3), dtype=np.uint8)
    base[:, :50] = (160, 140, 100)  # a warm half
    with_black = _values(m.measure_warmth(Image.fromarray(base)))
    base[:, 50:] = (255, 255, 255)  # now a blown-out half instead of a black one
    with_white = _values(m.measure_warmth(Image.fromarray(base)))
    only_warm = _values(m.measure_warmth(Image.new("RGB", (50, 100), (160, 140, 100))))
    assert with_black[m.WARMTH] == pytest.approx(only_warm[m.WARMTH], abs=1e-6)
    assert with_white[m.WARMTH] == pytest.approx(only_warm[m.WARMTH], abs=1e-6)


def test_a_flat_image_has_no_cast_and_says_so() -> None:
    results = {r.name: r for r in m.measure_warmth(Image.new("RGB", (64, 64), (90, 120, 150)))}
    assert results[m.WB_CAST].status == "error"
    assert "no edges" in results[m.WB_CAST].error
    assert results[m.WARMTH].status == "ok"


# -- detail ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sharp_scores_above_blurred_on_both_signals(seed: int) -> None:
    sharp = scene(1024, seed)
    blurred = sharp.filter(ImageFilter.GaussianBlur(2))
    s, b = _values(m.measure_detail(sharp)), _values(m.measure_detail(blurred))
    assert s[m.DETAIL] > 1.5 * b[m.DETAIL]
    assert s[m.DETAIL_LAPLACIAN] > 1.5 * b[m.DETAIL_LAPLACIAN]


def test_detail_does_not_depend_on_output_size() -> None:
    """The same picture rendered at 2048 and 1024 px scores alike, though the raw Tenengrad of
    the two native frames differs several-fold (which is why the copy is resized first)."""
    big, small = scene(2048, 5), scene(1024, 5)
    d_big, d_small = _values(m.measure_detail(big)), _values(m.measure_detail(small))
    assert d_big[m.DETAIL] == pytest.approx(d_small[m.DETAIL], rel=0.08)
    assert d_big[m.DETAIL_LAPLACIAN] == pytest.approx(d_small[m.DETAIL_LAPLACIAN], rel=0.1)
    native_big = m.tenengrad(np.asarray(big.convert("L"), dtype=np.float32))
    native_small = m.tenengrad(np.asarray(small.convert("L"), dtype=np.float32))
    assert native_small > 2 * native_big


# -- perceptual hash ------------------------------------------------------------------------------

def test_resized_reencoded_copy_is_a_near_duplicate_and_another_image_is_not() -> None:
    original = scene(1024, 7)
    copy = m.load_image(jpeg(original.resize((700, 700), Image.Resampling.BICUBIC), 70))
    regraded = scene(1024, 7, grade=WARM)
    other = scene(1024, 8)
    h = m.phash(original)
    assert m.hamming(h, m.phash(copy)) <= m.NEAR_DUPLICATE_DISTANCE
    assert m.hamming(h, m.phash(regraded)) <= m.NEAR_DUPLICATE_DISTANCE
    assert m.hamming(h, m.phash(other)) > 2 * m.NEAR_DUPLICATE_DISTANCE
    stored = m.measure_hash(original).detail["hash"]
    assert len(stored) == 16 and int(stored, 16) == h


def test_fast_measures_come_out_named_and_versioned() -> None:
    results = m.measure_fast(scene(512, 2))
    assert [r.name for r in results] == list(m.FAST_METRICS)
    assert all(r.version == m.VERSIONS[r.name] and r.status == "ok" for r in results)


# -- unreadable files -----------------------------------------------------------------------------

def test_zero_size_missing_and_corrupt_files_raise_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(png(scene(256, 1))[:2000])
    html = tmp_path / "error.png"
    html.write_bytes(b"<html>502 Bad Gateway</html>")
    with pytest.raises(m.UnreadableImage, match="empty"):
        m.load_image(empty)
    with pytest.raises(m.UnreadableImage, match="missing"):
        m.load_image(tmp_path / "nowhere.png")
    for bad in (truncated, html):
        with pytest.raises(m.UnreadableImage, match="not a readable image"):
            m.load_image(bad)
    assert issubclass(m.UnreadableImage, m.MeasurementError)


# -- expected text --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ('A neon sign that says "OPEN 24 HOURS" above a door', ["OPEN 24 HOURS"]),
        ('A diner whose sign reads "Joe\'s Diner", rainy night', ["Joe's Diner"]),
        ("A diner sign reading 'Joe's Diner' in red", ["Joe's Diner"]),
        ("A shop sign reading ‘Joe’s Diner’", ["Joe’s Diner"]),
        ("A book titled “The Long Night”, on a desk", ["The Long Night"]),
        ("A bakery sign reading „Bäckerei“ in gold leaf", ["Bäckerei"]),
        ("A poster with the words «Liberté, égalité» printed large", ["Liberté, égalité"]),
        ("看板に「営業中」と書かれた店", ["営業中"]),
        ('"FRESH BREAD" written in chalk on a board', ["FRESH BREAD"]),
        ('A label: "Olive Oil" and a logo "ACME"', ["Olive Oil", "ACME"]),
        ('A "vintage" car on a country road', []),
        ('A sign on the wall. A "retro" bicycle leans on it', []),
        ("The girl's 'lucky' hat, a sign in the distance", []),
        ("The girl's 'lucky' hat and a sign reading 'OPEN'", ["OPEN"]),
        ('A sign that says "OPEN" and another that says "OPEN"', ["OPEN"]),
        ("No quotes here, just a sign", []),
    ],
)
def test_expected_texts_from_quotes_near_cue_words(prompt: str, expected: list[str]) -> None:
    assert m.expected_texts(prompt) == expected


def test_quotes_without_a_cue_count_when_cues_are_not_required() -> None:
    assert m.expected_texts('A "vintage" car', require_cue=False) == ["vintage"]


def test_an_explicit_expected_text_overrides_the_prompt() -> None:
    prompt = 'A sign that says "OPEN"'
    assert m.expected_texts(prompt, explicit="CLOSED") == ["CLOSED"]
    assert m.expected_texts(prompt, explicit=["A", " ", "B"]) == ["A", "B"]
    assert m.expected_texts(prompt, explicit="  ") == ["OPEN"]  # blank means none given


# -- text score -----------------------------------------------------------------------------------

def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_substring_distance_equals_the_best_edit_distance_over_all_substrings() -> None:
    rng = random.Random(4)
    for _ in range(150):
        pattern = "".join(rng.choice("abc") for _ in range(rng.randint(1, 6)))
        text = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 12)))
        brute = min(_levenshtein(pattern, text[i:j])
                    for i, j in itertools.combinations_with_replacement(range(len(text) + 1), 2))
        distance, start, end = m.substring_distance(pattern, text)
        assert distance == brute
        assert _levenshtein(pattern, text[start:end]) == distance


def test_text_score_is_one_minus_the_character_error_rate() -> None:
    score = m.score_text("OPEN 24 HOURS", "Welcome!  OPFN 24 HOURS  since 1962")
    assert score.distance == 1 and score.length == len("open24hours")
    assert score.accuracy == pytest.approx(1 - 1 / 11)
    assert score.read == "OPFN 24 HOURS"
    assert score.sentence() == "asked OPEN 24 HOURS, read OPFN 24 HOURS"


def test_text_score_ignores_case_and_spacing_but_not_letters() -> None:
    assert m.score_text("Joe's Diner", "JOE'S  DI NER").accuracy == 1.0
    assert m.score_text("Café", "CAFE").distance == 1
    nothing = m.score_text("OPEN", "")
    assert nothing.accuracy == 0.0 and nothing.read == ""
    assert m.score_text("OPEN", "PEN").accuracy == pytest.approx(0.75)


def test_text_metric_averages_strings_and_keeps_what_was_read() -> None:
    result = m.measure_text(["OPEN", "Joe's Diner"], ["JOE'S DINER", "0PEN"])
    assert result.value == pytest.approx((0.75 + 1.0) / 2)
    assert result.detail["ocr_text"] == "JOE'S DINER 0PEN"
    assert [i["read"] for i in result.detail["items"]] == ["0PEN", "JOE'S DINER"]


# -- words and correlations -----------------------------------------------------------------------

def test_describe_places_a_value_against_the_median() -> None:
    warmer = m.describe(m.WARMTH, 12.0, [3.0, 5.0, 8.0], "this prompt's images")
    assert warmer.startswith("Warmth (b*): warmer (more yellow) than the median of this prompt's")
    assert "b* 12.0 vs 5.00, 3 images" in warmer
    assert "cooler" in m.describe(m.WARMTH, 1.0, [3.0, 5.0], "this prompt's images")
    assert "about the same" in m.describe(m.DETAIL, 1000.0, [1000.0, 1001.0], "x")
    assert "no other images" in m.describe(m.WB_CAST, 150.0, [], "this prompt's images")


def test_spearman_handles_ties_and_reports_none_when_undefined() -> None:
    assert m.spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert m.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks with ties: x = 1,2,3.5,3.5 ; y = 1,2,3,4 -> r = 0.9487
    assert m.spearman([1, 2, 5, 5], [1, 2, 3, 4]) == pytest.approx(0.9486833, rel=1e-6)
    assert m.spearman([1, 2], [1, 2]) is None
    assert m.spearman([3, 3, 3], [1, 2, 3]) is None
    low, high = m.correlation_interval(0.5, 30)
    assert low < 0.5 < high and low > 0


# -- the OCR adapter ------------------------------------------------------------------------------

def test_importing_the_workbench_and_fast_measures_do_not_load_ocr() -> None:
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import workbench
        for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
            importlib.import_module(info.name)
        from PIL import Image
        from workbench.imaging import measure as metrics
        from workbench.engines.ocr import shared_engine
        metrics.measure_fast(Image.new("RGB", (300, 200), (120, 90, 60)))
        shared_engine()  # creating the engine object must not load it either
        heavy = sorted(n for n in sys.modules
                       if n.split(".")[0] in {"rapidocr", "onnxruntime", "cv2"})
        print(",".join(heavy) or "none")
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "none"


def test_missing_ocr_package_is_reported_with_the_install_command() -> None:
    calls = []

    def missing(threads: int):
        calls.append(threads)
        raise ImportError("No module named 'rapidocr'", name="rapidocr")

    engine = OcrEngine(loader=missing)
    assert not engine.available()
    with pytest.raises(OcrUnavailable, match="not installed") as info:
        engine.read(text_image("OPEN"))
    assert INSTALL_HINT in str(info.value)
    assert len(calls) == 1  # the failed import is remembered, not retried per image


@dataclass
class _Output:
    txts: tuple[str, ...]
    scores: tuple[float, ...]


def test_ocr_input_is_shrunk_to_1024_px_long_side() -> None:
    seen: list[tuple[int, int]] = []

    def engine(image: Image.Image) -> _Output:
        seen.append(image.size)
        return _Output(("HELLO", " "), (0.9, 0.1))

    ocr = OcrEngine(loader=lambda threads: engine)
    lines = ocr.read(Image.new("RGB", (2048, 1536), "white"))
    assert seen == [(1024, 768)]
    assert [line.text for line in lines] == ["HELLO"]
    ocr.read(Image.new("RGB", (640, 480), "white"))
    assert seen[-1] == (640, 480)  # never enlarged


@pytest.fixture(scope="module")
def real_ocr() -> OcrEngine:
    return OcrEngine()


@pytest.mark.ocr
@needs_ocr
def test_real_ocr_scores_a_misspelled_sign_at_its_true_edit_distance(real_ocr: OcrEngine) -> None:
    image = text_image("OPFN 24 HOURS", side=2048)
    lines = real_ocr.read(image)
    result = m.measure_text(["OPEN 24 HOURS"], [line.text for line in lines])
    assert result.value == pytest.approx(1 - 1 / 11)
    assert result.detail["items"][0]["read"] == "OPFN 24 HOURS"
    assert result.detail["summary"] == "asked OPEN 24 HOURS, read OPFN 24 HOURS"


@pytest.mark.ocr
@needs_ocr
def test_real_ocr_reads_a_correct_sign_exactly(real_ocr: OcrEngine) -> None:
    lines = real_ocr.read(m.load_image(io.BytesIO(jpeg(text_image("FRESH BREAD"), 90)).read()))
    assert m.measure_text(["Fresh Bread"], [line.text for line in lines]).value == 1.0

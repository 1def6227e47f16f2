"""The HTML report: self-contained, escaped, with ratings and verdict rows."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.arena_data import add_generation
from tests.library_data import PROMPTS, offline_run
from workbench import cli, config
from workbench.imaging.preview import jpeg_preview
from workbench.services.delivery.provenance import generation_ids
from workbench.services.delivery.report import ReportError, build_report
from workbench.services.workbench import Workbench
from workbench.store.votes import NewVote

HOSTILE = PROMPTS[1]


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def test_a_run_report_embeds_every_image_and_loads_nothing_from_outside(wb: Workbench) -> None:
    run_id = offline_run(wb, n=2)
    ids = generation_ids(wb, run_id=run_id)
    report = build_report(wb, ids, "Compare <b>run</b>")
    tags = _parse(report.html)
    images = [a for t, a in tags.tags if t == "img"]
    assert len(images) == report.images == len(ids) == 8
    for attrs in images:
        assert attrs["src"].startswith("data:image/jpeg;base64,")
        data = base64.b64decode(attrs["src"].split(",", 1)[1])
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (
                int(attrs["width"]), int(attrs["height"]))
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "a", "base"}
    for _, attrs in tags.tags:
        for key, value in attrs.items():
            if key in ("src", "href", "srcset", "action", "poster") and value:
                assert value.startswith("data:"), (key, value[:60])
    assert "url(" not in report.html and "@import" not in report.html


def test_every_report_image_carries_its_recipe(wb: Workbench) -> None:
    from workbench.services.delivery.recipes import recipe_from_image

    run_id = offline_run(wb, n=1)
    ids = generation_ids(wb, run_id=run_id)
    report = build_report(wb, ids, "Recipes")
    sources = [a["src"] for t, a in _parse(report.html).tags if t == "img"]
    assert len(sources) == len(ids)
    restored = set()
    for src in sources:
        data = base64.b64decode(src.split(",", 1)[1])
        recipe = recipe_from_image(wb, data, "nano-banana-2")
        assert recipe.source == "workbench"
        restored.add(recipe.load["prompt"])
    assert restored == {wb.log.get(gid).prompt_written or wb.log.get(gid).prompt for gid in ids}


def test_user_text_is_escaped_and_shown_literally(wb: Workbench) -> None:
    run_id = offline_run(wb, n=1, prompts=(HOSTILE,), models=("flux-2-pro",))
    report = build_report(wb, generation_ids(wb, run_id=run_id), "<script>alert(1)</script>")
    tags = _parse(report.html)
    assert [t for t, _ in tags.tags].count("img") == 1  # the prompt's <img> is text, not a tag
    text = "".join(tags.text)
    assert HOSTILE in text  # the prompt as sent, character for character
    assert "<script>alert(1)</script>" in text
    assert "<script" not in report.html


def test_costs_latency_and_star_ratings_are_shown(wb: Workbench) -> None:
    gen = add_generation(wb, "flux-2-pro", "a copper kettle", provider="bfl", cost_usd=0.03,
                         latency_ms=4200.0)
    wb.ratings.add(gen, "overall", 4, rater=wb.settings.user)  # the reader's own stars
    text = "".join(_parse(build_report(wb, [gen]).html).text)
    assert "★★★★☆ 4" in text and "Overall" in text
    assert "$0.03" in text and "4.2 s" in text and "FLUX.2 Pro" in text


def test_verdict_rows_appear_only_when_there_are_votes(wb: Workbench) -> None:
    flux = [add_generation(wb, "flux-2-pro", f"p{i}", provider="bfl") for i in range(12)]
    nano = [add_generation(wb, "nano-banana-2", f"p{i}") for i in range(12)]
    ids = [*flux, *nano]
    assert "Verdict" not in build_report(wb, ids).html
    votes = wb.votes
    for i, (a, b) in enumerate(zip(flux, nano, strict=True)):
        votes.add(NewVote(
            left_model="flux-2-pro", right_model="nano-banana-2", left_provider="bfl",
            right_provider="gemini", left_generation_id=a, right_generation_id=b,
            winner="left" if i % 3 else "right", criterion="overall", prompt=f"p{i}",
        ))
    html = build_report(wb, ids).html
    tags = _parse(html)
    assert "Verdict from your votes and ratings" in "".join(tags.text)
    cells = [a for t, a in tags.tags if t == "td"]
    assert cells  # one row per criterion and measure, one cell per model
    assert "(12 votes)" in html  # the evidence count behind the label
    text = "".join(tags.text)
    assert "Trade-offs, as in the article" in text and "Quality ceiling" in text
    assert "Iterative workflow: share of batches" in text  # each row's definition


def test_failed_generations_are_listed_without_an_image(wb: Workbench) -> None:
    ok = add_generation(wb, "flux-2-pro", "a kettle", provider="bfl")
    failed = add_generation(wb, "flux-2-pro", "a kettle", provider="bfl", status="failed")
    report = build_report(wb, [ok, failed])
    assert (report.images, report.generations) == (1, 2)
    assert "failed" in "".join(_parse(report.html).text)


def test_nothing_to_report_is_a_clear_error(wb: Workbench) -> None:
    with pytest.raises(ReportError, match="Nothing to report"):
        build_report(wb, ["gen_missing"])


def test_previews_keep_the_long_side_at_1600_and_a_byte_budget() -> None:
    noise = np.random.default_rng(3).integers(0, 255, (1800, 2400, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG")
    data, width, height = jpeg_preview(out.getvalue())
    assert max(width, height) <= 1600 and width / height == pytest.approx(4 / 3, rel=0.01)
    # Pure noise is the worst case for JPEG; 24 of these, base64-encoded, fit in 15 MB.
    assert len(base64.b64encode(data)) * 24 < 15 * 1024 * 1024
    photo = Image.radial_gradient("L").resize((2400, 1800)).convert("RGB")
    out = io.BytesIO()
    photo.save(out, format="PNG")
    assert jpeg_preview(out.getvalue())[1:] == (1600, 1200)  # smooth images keep full size


def test_cli_report_for_a_run_and_ids(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red kite\n")
    assert cli.main(["run", str(prompts), "--models", "nano-banana-2,flux-2-pro"]) == 0
    run_id = capsys.readouterr().err.split("run id: ")[1].split()[0]
    out = tmp_path / "report.html"
    assert cli.main(["report", "--run", run_id, "--out", str(out)]) == 0
    assert "2 images of 2 generations" in capsys.readouterr().err
    html = out.read_text()
    assert html.count("<img ") == 2 and "Compare run" not in html  # a suite run, named as such
    assert cli.main(["report", "--run", "run_nope", "--out", str(out)]) == 1
    assert "No run run_nope" in capsys.readouterr().err


def test_a_small_jpeg_is_embedded_as_it_is_and_a_large_one_is_scaled() -> None:
    out = io.BytesIO()
    Image.radial_gradient("L").resize((1200, 800)).convert("RGB").save(out, format="JPEG")
    small = out.getvalue()
    assert jpeg_preview(small) == (small, 1200, 800)
    out = io.BytesIO()
    Image.radial_gradient("L").resize((3200, 800)).convert("RGB").save(out, format="JPEG")
    data, width, height = jpeg_preview(out.getvalue())
    assert (width, height) == (1600, 400) and data != out.getvalue()

"""Provenance copies of logged images and restoring the builder from them:
byte-identical originals, the round trip into the builder, A1111 files, and bad input."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.library_data import offline_run
from workbench import cli
from workbench.imaging.provenance import embed, parse_parameters, read_metadata
from workbench.services.delivery.provenance import (
    ExportError,
    export_images,
    generation_ids,
    image_with_provenance,
)
from workbench.services.delivery.recipes import NO_RECIPE, RecipeError, recipe_from_image
from workbench.services.history import remix
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench

SLOTS = {
    "subject": "A woman",
    "action": "reading",
    "environment": "on a sun-filled apartment balcony",
    "time_of_day": "late afternoon",
    "mood": "warm and unhurried",
}


def _generation(wb: Workbench) -> str:
    outcome = generate_sync(
        wb,
        GenerateRequest(
            model="nano-banana-2", template_id="nano-banana-scene", slots=SLOTS, seed=42,
            prompt="A woman reading on a sun-filled apartment balcony, late afternoon, warm and "
            "unhurried",
            aspect_ratio="3:2",
        ),
    )
    assert outcome.status == "succeeded"
    return outcome.id


def _png(info: dict[str, str] | None = None) -> bytes:
    meta = PngInfo()
    for key, value in (info or {}).items():
        meta.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (120, 30, 30)).save(out, format="PNG", pnginfo=meta)
    return out.getvalue()


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_export_round_trip_restores_the_builder_and_leaves_originals_alone(
    wb: Workbench, tmp_path: Path
) -> None:
    generation_id = _generation(wb)
    images = wb.settings.data_dir / "images"
    before = _hashes(images)
    exported = image_with_provenance(wb, generation_id)
    assert _hashes(images) == before  # stored originals are byte-identical
    found = read_metadata(exported.data)
    assert found.workbench["generation_id"] == generation_id
    assert found.workbench["slots"] == SLOTS and found.workbench["parent"] is None
    params = parse_parameters(found.parameters)
    assert params.prompt.startswith("A woman reading")
    assert params.fields["Model"] == "nano-banana-2" and params.seed == 42
    assert "Steps" not in params.fields  # only fields we have

    recipe = recipe_from_image(wb, exported.data, current_model="flux-2-pro")
    assert recipe.source == "workbench" and recipe.notes == ()
    expected = remix(wb.log.get(generation_id))
    assert recipe.load == expected


def test_a1111_parameters_from_another_tool_restore_prompt_seed_and_ratio(wb: Workbench) -> None:
    text = (
        "a lighthouse at dusk, volumetric fog\nNegative prompt: blurry\n"
        "Steps: 28, Sampler: Euler a, CFG scale: 5, Seed: 1234, Size: 1536x1024, "
        "Model: sd_xl_base_1.0"
    )
    recipe = recipe_from_image(wb, _png({"parameters": text}), current_model="flux-2-pro")
    assert recipe.source == "a1111"
    load = recipe.load
    assert (load["model"], load["template_id"], load["prompt"], load["seed"]) == (
        "flux-2-pro", "free-text", "a lighthouse at dusk, volumetric fog", 1234)
    assert load["aspect_ratio"] == "3:2"
    assert any("sd_xl_base_1.0" in n for n in recipe.notes)
    assert any("negative prompt" in n for n in recipe.notes)


def test_a1111_model_by_catalog_name_is_chosen(wb: Workbench) -> None:
    text = "a kite\nSeed: 9, Size: 1024x1024, Model: FLUX.2 Pro"
    recipe = recipe_from_image(wb, _png({"parameters": text}), current_model="nano-banana-2")
    assert recipe.load["model"] == "flux-2-pro" and recipe.notes == ()


def test_an_image_without_metadata_says_no_recipe_found(wb: Workbench) -> None:
    with pytest.raises(RecipeError) as caught:
        recipe_from_image(wb, _png(), current_model="flux-2-pro")
    assert str(caught.value) == NO_RECIPE


def test_a_megabyte_prompt_is_refused_with_its_length(wb: Workbench) -> None:
    huge = "x" * 1_048_576
    data = _png({"parameters": f"{huge}\nSeed: 1, Size: 96x64, Model: flux-2-pro"})
    with pytest.raises(RecipeError, match=r"'parameters' text .* 1,048,616 characters"):
        recipe_from_image(wb, data, current_model="flux-2-pro")
    record = {"model": "flux-2-pro", "prompt": huge}
    with pytest.raises(RecipeError, match="1,048,576 characters"):
        recipe_from_image(wb, embed(_png(), "p", record).data, current_model="flux-2-pro")


def test_control_characters_are_removed_and_said(wb: Workbench) -> None:
    text = "a red\x07 kite\x1b[31m\nSeed: 1, Size: 96x64, Model: flux-2-pro"
    recipe = recipe_from_image(wb, _png({"parameters": text}), current_model="flux-2-pro")
    assert recipe.load["prompt"] == "a red kite[31m"
    assert any("Removed 2 control" in n for n in recipe.notes)


def test_a_damaged_workbench_record_is_refused_not_half_loaded(wb: Workbench) -> None:
    data = embed(_png(), "p", {"model": "flux-2-pro", "prompt": 12, "seed": "abc"}).data
    with pytest.raises(RecipeError, match="damaged"):
        recipe_from_image(wb, data, current_model="flux-2-pro")


def test_corrupt_and_oversized_files_get_a_message(wb: Workbench) -> None:
    with pytest.raises(RecipeError, match="not a readable image"):
        recipe_from_image(wb, b"GIF89a garbage", current_model="flux-2-pro")


def test_export_of_a_run_writes_one_copy_per_image(wb: Workbench, tmp_path: Path) -> None:
    run_id = offline_run(wb, n=2, prompts=("a red kite",))
    ids = generation_ids(wb, run_id=run_id)
    assert len(ids) == 4
    paths = export_images(wb, ids, tmp_path / "out")
    assert sorted(p.stem for p in paths) == sorted(ids)
    assert {read_metadata(p.read_bytes()).workbench["generation_id"] for p in paths} == set(ids)


def test_a_failed_generation_has_nothing_to_export(wb: Workbench) -> None:
    with pytest.raises(ExportError, match="No generation"):
        image_with_provenance(wb, "gen_missing")


# -- the command line ------------------------------------------------------------------------------
def test_cli_images_for_a_run_and_an_id(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["generate", "--model", "flux-2-pro", "--prompt", "a chair", "--json"]) == 0
    import json

    single = json.loads(capsys.readouterr().out)["id"]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red kite\n")
    assert cli.main(["run", str(prompts), "--models", "nano-banana-2", "--variations", "2"]) == 0
    err = capsys.readouterr().err
    run_id = err.split("run id: ")[1].split()[0]
    out = tmp_path / "exported"
    code = cli.main(["images", "--run", run_id, "--id", single, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    files = sorted(out.iterdir())
    assert len(files) == 3 and "wrote 3 images" in captured.err
    assert all(read_metadata(f.read_bytes()).workbench for f in files)


def test_cli_images_needs_a_run_or_an_id(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["images", "--out", str(tmp_path)]) == 2
    assert "--run" in capsys.readouterr().err
    assert cli.main(["images", "--id", "gen_nope", "--out", str(tmp_path)]) == 1
    assert "No generation gen_nope" in capsys.readouterr().err


def test_a_parameters_text_over_the_readers_cap_is_refused_with_its_length(
    wb: Workbench,
) -> None:
    text = "a red fox " * 3_500 + "\nSeed: 1, Size: 96x64, Model: flux-2-pro"  # 35,040 chars
    with pytest.raises(RecipeError, match=r"35,040 characters long; at most 32,768 are read"):
        recipe_from_image(wb, _png({"parameters": text}), current_model="flux-2-pro")

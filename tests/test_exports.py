"""Exports and imports: the arena battle CSV, leaderboard tables as CSV and Parquet, and a
battles file read back in (all or nothing, with every problem listed)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.arena_data import add_generation, delete_generation
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.delivery import exports
from workbench.services.evidence import leaderboard
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.votes import NewVote, VoteLog

HEADER = "model_a,model_b,winner,criterion,category,prompt,tstamp\n"


@pytest.fixture(autouse=True)
def _one_connection(wb: Workbench) -> Iterator[None]:
    """Keep the database open for the whole test (reopening it per statement is slow)."""
    with wb.db.cursor():
        yield


def add_votes(wb: Workbench) -> None:
    log = wb.votes
    when = datetime(2025, 6, 1, 12, 30, 15, 123456)
    for winner in ("left", "right", "tie", "both_bad"):
        log.add(NewVote(left_model="nano-banana-2", right_model="flux-2-pro", winner=winner,
                        criterion="skin_warmth", left_provider="gemini", right_provider="bfl",
                        category="portrait", prompt='A sailor, "weathered", at dusk\nsecond line',
                        created_at=when))
    log.add(NewVote(left_model="nano-banana", right_model="flux-2-pro", winner="left",
                    criterion="overall", left_provider="offline", right_provider="offline"))


def test_battles_csv_uses_the_arena_layout(wb: Workbench) -> None:
    add_votes(wb)
    frame = pd.read_csv(io.BytesIO(exports.battles_csv(wb)))
    assert list(frame.columns)[:3] == ["model_a", "model_b", "winner"]
    assert {"criterion", "category", "prompt", "tstamp", "time"} <= set(frame.columns)
    assert list(frame["winner"]) == ["model_a", "model_b", "tie", "tie (bothbad)"]
    first = frame.iloc[0]
    assert (first["model_a"], first["model_b"]) == ("nano-banana-2", "flux-2-pro")
    assert first["prompt"] == 'A sailor, "weathered", at dusk\nsecond line'
    assert first["time"] == "2025-06-01T12:30:15.123456Z"
    expected = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC).timestamp()
    assert first["tstamp"] == pytest.approx(expected)
    assert len(frame) == 4  # the offline sketch vote is left out by default
    everything = exports.battles_frame(wb, HistoryFilter(include_offline=True))
    assert len(everything) == 5
    assert len(exports.battles_frame(wb, criterion="overall")) == 0


def test_an_empty_export_still_has_the_header(wb: Workbench) -> None:
    assert exports.battles_csv(wb).decode().splitlines() == [",".join(exports.BATTLE_COLUMNS)]


def test_votes_for_deleted_generations_export(wb: Workbench) -> None:
    a = add_generation(wb, "nano-banana-2", "p")
    b = add_generation(wb, "flux-2-pro", "p", provider="bfl")
    wb.votes.add(NewVote(left_model="nano-banana-2", right_model="flux-2-pro",
                               winner="left", criterion="overall", left_generation_id=a,
                               right_generation_id=b, left_provider="gemini",
                               right_provider="bfl", prompt="p"))
    delete_generation(wb, a)
    assert len(exports.battles_frame(wb)) == 1


def test_export_then_import_round_trips_and_a_second_import_adds_nothing(
    wb: Workbench, tmp_path: Path
) -> None:
    add_votes(wb)
    data = exports.battles_csv(wb, HistoryFilter(include_offline=True))
    # into the same database: every vote is recognised as already there
    again = exports.import_battles_csv(wb, data)
    assert (again.rows, again.imported, again.already_present) == (5, 0, 5)
    assert "already in the database" in again.text()
    # into a fresh database: the same votes
    other = open_workbench(
        load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "other")},
                      secrets_file=tmp_path / "none.toml"),
        idle_close_s=0,
    )
    try:
        with other.db.cursor():
            report = exports.import_battles_csv(other, data)
            assert (report.imported, report.already_present) == (5, 0)
            original = wb.votes.frame(HistoryFilter())
            copied = VoteLog(other.db).frame(HistoryFilter())
            columns = ["left_model", "right_model", "winner", "criterion", "category", "prompt",
                       "left_provider", "right_provider", "rater", "created_at"]
            pd.testing.assert_frame_equal(original[columns], copied[columns])
            assert set(copied["source"]) == {"import"}
            assert exports.import_battles_csv(other, data).imported == 0
    finally:
        other.close()


def test_a_file_from_another_tool_imports_with_defaults(wb: Workbench) -> None:
    data = (
        b"model_a,model_b,winner,judge,turn,anony,tstamp\n"
        b"model-x,model-y,model_a,arena_user_1,1,True,1714557600.5\n"
        b"model-y,model-x,tie (bothbad),arena_user_2,1,True,1714557700\n"
    )
    assert exports.import_battles_csv(wb, data).imported == 2
    votes = wb.votes.frame(HistoryFilter())
    assert list(votes["criterion"]) == ["overall", "overall"]
    assert list(votes["winner"]) == ["left", "both_bad"]
    assert list(votes["rater"]) == ["arena_user_1", "arena_user_2"]
    assert votes["created_at"].iloc[0] == pd.Timestamp("2024-05-01 10:00:00.5")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"a,b,c\n1,2,3\n", "missing columns: model_a, model_b, winner"),
        (b"model_a,model_b,winner\n", "no votes"),
        (b"model_a,model_a,model_b,winner\nx,x,y,model_a\n", "repeated column"),
        ((HEADER + "x,y,draw,overall,,,1714557600\n").encode(), "row 2: unknown winner 'draw'"),
        ((HEADER + "x,y,model_a,vibes,,,1714557600\n").encode(), "unknown criterion 'vibes'"),
        ((HEADER + ",y,model_a,overall,,,1714557600\n").encode(), "model_a is empty"),
        ((HEADER + "x,x,model_a,overall,,,1714557600\n").encode(), "the same model"),
        ((HEADER + "x,y,model_a,overall,,,yesterday\n").encode(), "not a number of seconds"),
        ((HEADER + "x,y,model_a,overall,,,1e300\n").encode(), "out of range"),
        ((HEADER + "x,y,model_a,overall\n").encode(), "fewer fields"),
        ((HEADER + "x,y,model_a,overall,,,1714557600,extra\n").encode(), "more fields"),
        (b"model_a,model_b,winner,provider_a\nx,y,tie,openai\n", "unknown provider_a"),
        (b"model_a,model_b,winner,time\nx,y,tie,2024-13-45\n", "not an ISO 8601"),
    ],
)
def test_a_tampered_file_is_refused_with_what_is_wrong(
    wb: Workbench, content: bytes, expected: str
) -> None:
    with pytest.raises(exports.ImportRejected) as caught:
        exports.import_battles_csv(wb, content)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("Nothing was imported.")
    assert wb.votes.count(HistoryFilter()) == 0


def test_one_bad_row_among_good_ones_imports_nothing_and_lists_every_problem(
    wb: Workbench,
) -> None:
    good = "x,y,model_a,overall,,,1714557600\n"
    rows = good * 5 + "x,y,winner?,overall,,,1714557600\n" + good + "x,y,model_b,nope,,,1\n"
    with pytest.raises(exports.ImportRejected) as caught:
        exports.import_battles_csv(wb, (HEADER + rows).encode())
    problems = caught.value.problems
    assert problems[0].startswith("row 7: unknown winner")
    assert any(p.startswith("row 9: unknown criterion") for p in problems)
    assert any(p.startswith("row 9: time") for p in problems)
    assert wb.votes.count(HistoryFilter()) == 0


def test_a_long_list_of_problems_is_summarised(wb: Workbench) -> None:
    rows = "x,y,bad,overall,,,1714557600\n" * 30
    with pytest.raises(exports.ImportRejected) as caught:
        exports.import_battles_csv(wb, (HEADER + rows).encode())
    assert caught.value.total == 30 and len(caught.value.problems) == exports.MAX_PROBLEMS_LISTED
    assert str(caught.value).endswith("and 10 more problems")


def test_leaderboard_tables_as_csv_and_parquet(wb: Workbench) -> None:
    add_votes(wb)
    log = wb.votes
    log.add_many(NewVote(left_model="nano-banana-2", right_model="flux-2-pro", winner="left",
                         criterion="overall", left_provider="gemini", right_provider="bfl")
                 for _ in range(12))
    board = leaderboard.build_leaderboard(wb)
    for frame in (board.overview_numeric(), board.bt_frame("overall"), board.overview_frame(),
                  board.verdict(list(board.models)).frame()):
        from_csv = pd.read_csv(io.BytesIO(exports.table_csv(frame)))
        assert list(from_csv.columns) == list(frame.columns) and len(from_csv) == len(frame)
        from_parquet = pd.read_parquet(io.BytesIO(exports.table_parquet(frame)))
        pd.testing.assert_frame_equal(from_parquet, frame, check_dtype=False)
    assert exports.table_parquet(board.bt_frame("overall"))[:4] == b"PAR1"


def test_board_tables_name_every_table_for_download(wb: Workbench) -> None:
    wb.votes.add_many(
        NewVote(left_model="nano-banana-2", right_model="flux-2-pro", winner=w,
                criterion=c, left_provider="gemini", right_provider="bfl")
        for w in ("left", "right", "left") for c in ("overall", "skin_warmth")
    )
    board = leaderboard.build_leaderboard(wb, min_votes=1)
    tables = exports.board_tables(board, ["nano-banana-2", "flux-2-pro"])
    assert list(tables) == ["leaderboard", "bradley_terry_overall", "bradley_terry_skin_warmth",
                            "stars", "measured", "verdict"]
    assert tables["verdict"].columns[1:].tolist() == ["Nano Banana 2", "FLUX.2 Pro"]
    for frame in tables.values():
        assert exports.table_parquet(frame)[:4] == b"PAR1"
        assert exports.table_csv(frame).startswith(b",".join(
            c.encode() for c in frame.columns[:1]))


HOSTILE = ['=HYPERLINK("http://127.0.0.1:9/x","hi")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(text: str) -> None:
    frame = pd.DataFrame({"prompt": [text, "a calm lake"], "score": [-1.5, 2.0]})
    cells = pd.read_csv(io.BytesIO(exports.table_csv(frame)), keep_default_na=False)
    assert cells["prompt"].tolist() == ["'" + text, "a calm lake"]
    assert cells["score"].tolist() == [-1.5, 2.0]  # numbers stay numbers
    # Parquet keeps the raw text
    raw = pd.read_parquet(io.BytesIO(exports.table_parquet(frame)))
    assert raw["prompt"].tolist() == [text, "a calm lake"]


def test_a_formula_like_prompt_survives_export_and_import(wb: Workbench, tmp_path: Path) -> None:
    prompts = ['=cmd|"/c calc"!A1', "'=already quoted", "-dash start"]
    for prompt in prompts:
        wb.votes.add(
            NewVote(
                left_model="nano-banana-2",
                right_model="flux-2-pro",
                winner="left",
                criterion="overall",
                left_provider="gemini",
                right_provider="bfl",
                category="=1+1",
                prompt=prompt,
            )
        )
    data = exports.battles_csv(wb, HistoryFilter(include_offline=True))
    text = data.decode()
    assert "=cmd" not in text.replace("'=cmd", "")  # never a bare formula at a cell start
    other = open_workbench(
        load_settings(
            env={"WORKBENCH_DATA_DIR": str(tmp_path / "other")}, secrets_file=tmp_path / "none.toml"
        ),
        idle_close_s=0,
    )
    try:
        with other.db.cursor():
            exports.import_battles_csv(other, data)
            copied = VoteLog(other.db).frame(HistoryFilter())
            assert sorted(copied["prompt"]) == sorted(prompts)
            assert set(copied["category"]) == {"=1+1"}
    finally:
        other.close()


# -- images out ---------------------------------------------------------------------------------
def _pixels(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def test_an_image_downloads_with_its_recipe_and_the_pixels_as_received(wb: Workbench) -> None:
    from workbench.services.delivery.recipes import recipe_from_image
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    gid = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", prompt="A kettle, steam rising", seed=11)
    ).id
    record = wb.log.get(gid)
    image = exports.image_file(wb, record)
    assert image is not None and image.name == f"{gid}.png" and image.mime == "image/png"
    data = image.read()
    original = wb.images.absolute(record.image_path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data != original
    assert _pixels(data) == _pixels(original)
    assert wb.images.absolute(record.image_path).read_bytes() == original  # never rewritten
    recipe = recipe_from_image(wb, data, "nano-banana-2")
    assert recipe.source == "workbench"
    assert recipe.load["model"] == "flux-2-pro"
    assert recipe.load["prompt"] == "A kettle, steam rising"
    assert recipe.load["seed"] == 11


def test_a_jpeg_downloads_as_a_jpeg_with_its_recipe(wb: Workbench) -> None:
    from PIL import Image

    from workbench.imaging.provenance import read_metadata
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    gid = generate_sync(wb, GenerateRequest(model="flux-2-pro", prompt="A pear", seed=3)).id
    record = wb.log.get(gid)
    buffer = io.BytesIO()
    Image.open(wb.images.absolute(record.image_path)).convert("RGB").save(buffer, format="JPEG")
    jpeg = wb.images.put(buffer.getvalue())  # as a provider that answers with JPEG has it stored
    with wb.db.cursor() as cur:
        cur.execute(
            "INSERT INTO images (sha256, path, thumb_path, mime, bytes, width, height)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [jpeg.sha256, jpeg.path, jpeg.thumb_path, jpeg.mime, jpeg.bytes, jpeg.width,
             jpeg.height],
        )
        cur.execute("UPDATE generations SET image_sha256 = ? WHERE id = ?", [jpeg.sha256, gid])
    record = wb.log.get(gid)
    image = exports.image_file(wb, record)
    assert image is not None and image.name == f"{gid}.jpg" and image.mime == "image/jpeg"
    found = read_metadata(image.read())
    assert found.workbench is not None and found.workbench["generation_id"] == gid
    assert found.parameters is not None and found.parameters.startswith("A pear")


def test_a_run_downloads_as_a_zip_with_a_manifest_and_a_contact_sheet(wb: Workbench) -> None:
    import json
    import zipfile

    from PIL import Image

    from workbench.services.runs import grids
    from workbench.services.runs.runner import start_run

    cells = grids.compare_cells(
        wb,
        {"nano-banana-2": "offline", "flux-2-pro": "offline"},
        grids.Variant(label="prompt", text="=HYPERLINK(\"http://127.0.0.1:9\")"),
        2,
        5,
    )
    handle = start_run(wb, "compare", "zip me", cells)
    handle.run_sync()
    ids = exports.run_ids(wb, handle.run_id)
    assert len(ids) == 4
    archive = zipfile.ZipFile(io.BytesIO(exports.images_zip(wb, ids)))
    names = set(archive.namelist())
    assert {"manifest.csv", "manifest.json"} <= names
    assert {f"images/{gid}.png" for gid in ids} <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert [m["id"] for m in manifest] == ids
    assert manifest[0]["prompt"].startswith("=HYPERLINK")  # JSON keeps the raw text
    table = pd.read_csv(io.BytesIO(archive.read("manifest.csv")))
    assert table["prompt"].str.startswith("'=HYPERLINK").all()  # CSV is spreadsheet-safe
    first = wb.log.get(ids[0])
    inside = archive.read(f"images/{ids[0]}.png")
    assert _pixels(inside) == _pixels(wb.images.absolute(first.image_path).read_bytes())
    from workbench.imaging.provenance import read_metadata

    carried = read_metadata(inside)  # the recipe travels in the ZIP too
    assert carried.workbench is not None and carried.workbench["generation_id"] == ids[0]
    assert carried.parameters is not None and "Seed: 5" in carried.parameters

    sheet = Image.open(io.BytesIO(exports.run_contact_sheet(wb, handle.run_id)))
    assert sheet.format == "PNG"
    # two model columns and two variation rows of 256 px tiles, with labels around them
    assert sheet.width >= 2 * 256 and sheet.height >= 2 * 256


def test_a_zip_manifest_has_the_cli_exports_columns_and_values_ratings_included(
    wb: Workbench,
) -> None:
    import json
    import zipfile

    from workbench.domain.export_fields import GENERATION_FIELDS
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    ids = [
        generate_sync(wb, GenerateRequest(model="nano-banana-2", prompt=f"kite {i}", seed=i)).id
        for i in range(2)
    ]
    for criterion, stars in (("overall", 4), ("hair_detail", 3), ("prompt_adherence", 4)):
        wb.ratings.add(ids[0], criterion, stars)
    wb.annotations.set_tags(ids[0], ["Client A", "sunset"], "me")
    wb.annotations.set_note(ids[0], "the one we send", "me")
    archive = zipfile.ZipFile(io.BytesIO(exports.images_zip(wb, ids)))
    manifest = {m["id"]: m for m in json.loads(archive.read("manifest.json"))}
    page = {r.id: r for r in wb.log.page(HistoryFilter(), every_column=True)}  # the CLI's rows
    for gid in ids:
        assert list(manifest[gid])[1:] == list(GENERATION_FIELDS)
        expected = {k: getattr(page[gid], k) for k in GENERATION_FIELDS
                    if k not in ("tags", "note")}
        expected |= {"tags": "client a, sunset" if gid == ids[0] else "",
                     "note": "the one we send" if gid == ids[0] else ""}
        assert manifest[gid] == {"file": f"images/{gid}.png",
                                 **json.loads(json.dumps(expected, default=str))}
    assert manifest[ids[0]]["rating"] == pytest.approx(11 / 3)
    assert manifest[ids[1]]["rating"] is None
    table = pd.read_csv(io.BytesIO(archive.read("manifest.csv")))
    assert table["rating"].iloc[0] == pytest.approx(11 / 3)


def test_the_apps_history_export_is_every_filtered_row_as_the_cli_writes_it(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    monkeypatch.setattr(exports, "HISTORY_CHUNK", 3)  # several chunks, one partial
    made = [
        generate_sync(wb, GenerateRequest(model="nano-banana-2", prompt=f"=kite {i}", seed=i)).id
        for i in range(7)
    ]
    generate_sync(wb, GenerateRequest(model="flux-2-pro", prompt="a boat", seed=1))
    wb.ratings.add(made[0], "overall", 4)
    wb.annotations.set_tags(made[1], ["keep"], "me")
    f = HistoryFilter(models=("nano-banana-2",))
    table = pd.read_csv(io.BytesIO(exports.history_csv(wb, f)))
    assert sorted(table["id"]) == sorted(made)
    assert table["prompt"].str.startswith("'=kite").all()  # spreadsheet-safe
    parquet = pd.read_parquet(io.BytesIO(exports.history_parquet(wb, f)))
    assert list(parquet.columns) == list(table.columns)
    assert sorted(parquet["id"]) == sorted(made) and parquet["prompt"].str.startswith("=").all()
    by_id = parquet.set_index("id")
    assert by_id.loc[made[0], "rating"] == 4 and by_id.loc[made[1], "tags"] == "keep"
    cli_rows = list(exports.history_rows(wb, f))
    assert [r["id"] for r in cli_rows] == parquet["id"].tolist()
    empty = pd.read_parquet(io.BytesIO(exports.history_parquet(wb, HistoryFilter(text="zzz"))))
    assert empty.empty and list(empty.columns) == list(table.columns)

"""Limits that protect a user's money, data and secrets, each at the edge where it could slip:

- a failed attempt gives its reservation against the daily caps back (store API of the attempt
  log and the spend ledger, on both backends);
- `workbench db copy` exits 1 when the copy does not match its source (the command line);
- two library saves of one name at once get distinct versions (both backends);
- a lineage with a hand-written cycle lists each generation once, both ways;
- a run in team mode declines a `history` asker of the local file;
- a password given among a team URL's query options is never shown;
- the OCR "read" stretch is the first of two that match equally well;
- the arena vote filter takes `_`, `%` and `\\` in the text literally (one escaping function
  for every LIKE filter);
- a reference downscale lands just under the megapixel limit, and the byte limit is checked on
  the converted output.

Provider-side limits (the retry wait against the time left, Replicate's explicit sizes at
every ratio and size, the seed the provider returned in an exported image) are in
tests/providers/test_limits.py.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from tests.arena_data import add_generation
from workbench import cli
from workbench.commands._queries import answering, ask
from workbench.config import load_settings, parse_database_url
from workbench.domain.catalog import MEGAPIXEL, ReferenceInput
from workbench.domain.filters import HistoryFilter
from workbench.imaging.reference import prepare_reference
from workbench.imaging.text import score_text
from workbench.redact import MASK, redact
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.attempts import NewGeneration, Outcome
from workbench.store.prompt_library import NewVersion
from workbench.store.spending import Caps
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


# -- money: a failed attempt's reservation -------------------------------------------------------
def _reserve_and_insert(wb: Workbench, gid: str, caps: Caps) -> str | None:
    refusal = wb.spending.reserve(gid, "ann", 0.039, caps)
    if refusal is None:
        wb.attempts.insert_pending(NewGeneration(id=gid, model=NB, provider="gemini",
                                                 prompt="a kite", prompt_written="a kite"))
    return refusal


def test_a_failed_attempt_gives_its_reservation_back(backend_wb: Workbench) -> None:
    """Written against the store API (reserve, insert_pending, complete) as the generation
    service calls it."""
    wb = backend_wb
    caps = Caps(everyone_usd=0.05)
    assert _reserve_and_insert(wb, "g1", caps) is None
    # While the first is in flight its estimate counts: a second would pass the cap.
    assert _reserve_and_insert(wb, "g2", caps) is not None
    wb.attempts.complete("g1", Outcome(status="failed", error_kind="server",
                                       error_message="HTTP 500"))
    assert wb.spending.spent_today("ann") == (0.0, 0.0)
    assert _reserve_and_insert(wb, "g3", caps) is None  # the failure's money is free again
    # A failure the provider billed keeps what it billed.
    wb.attempts.complete("g3", Outcome(status="failed", cost_usd=0.01, cost_kind="known",
                                       error_kind="server", error_message="HTTP 500"))
    assert wb.spending.spent_today("ann") == pytest.approx((0.01, 0.01))


# -- db copy through the command line --------------------------------------------------------------
def test_db_copy_exits_1_on_a_mismatch(data_dir: Path, tmp_path: Path, capsys) -> None:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)},
                             secrets_file=tmp_path / "none.toml")
    wb = open_workbench(settings, idle_close_s=0)
    gid = add_generation(wb, NB, "a kettle")
    wb.close()
    there = tmp_path / "there"
    assert cli.main(["db", "copy", "--to", str(there)]) == 0
    copied = open_workbench(load_settings(env={"WORKBENCH_DATA_DIR": str(there)},
                                          secrets_file=tmp_path / "none.toml"), idle_close_s=0)
    with copied.db.cursor() as cur:  # the copy's row now differs from its source
        cur.execute("UPDATE generations SET prompt = 'changed' WHERE id = ?", [gid])
    copied.close()
    capsys.readouterr()
    assert cli.main(["db", "copy", "--to", str(there)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "All rows and checksums match." not in out


# -- the library: saves at once --------------------------------------------------------------------
def test_concurrent_saves_of_one_name_get_distinct_versions(backend_wb: Workbench) -> None:
    wb = backend_wb
    threads, per_thread = 2, 4
    start = threading.Barrier(threads)
    errors: list[BaseException] = []
    saved: list[int] = []

    def save(k: int) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                version = wb.library.save(NewVersion(name="kite", model=NB,
                                                     prompt=f"a kite {k}.{i}"))
                saved.append(version.version)
        except BaseException as exc:  # reported below, with the versions that did land
            errors.append(exc)

    workers = [threading.Thread(target=save, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    total = threads * per_thread
    assert sorted(saved) == list(range(1, total + 1))
    stored = wb.library.versions("kite")
    assert sorted(v.version for v in stored) == list(range(1, total + 1))
    assert len({v.prompt for v in stored}) == total  # every save kept, none overwritten


# -- lineage with a cycle --------------------------------------------------------------------------
def test_a_lineage_cycle_lists_each_generation_once(wb: Workbench) -> None:
    a = add_generation(wb, NB, "a")
    b = add_generation(wb, FP, "b", provider="bfl", parent_id=a)
    c = add_generation(wb, FP, "c", provider="bfl", parent_id=b)
    with wb.db.cursor() as cur:  # written by hand: a -> c -> b -> a
        cur.execute("UPDATE generations SET parent_id = ? WHERE id = ?", [c, a])
    up = [n.id for n in wb.lineage.ancestors(c)]
    down = [n.id for n in wb.lineage.descendants(a)]
    assert sorted(up) == sorted({a, b, c}) and len(up) == 3
    assert sorted(down) == sorted({a, b, c}) and len(down) == 3
    assert wb.log.count(HistoryFilter(lineage=b)) == 3


# -- a team run and a local asker ------------------------------------------------------------------
def test_a_team_mode_run_declines_a_local_asker(pg_migrated_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(data), "WORKBENCH_DATABASE_URL": pg_migrated_url},
        secrets_file=tmp_path / "none.toml",
    )
    team = open_workbench(settings, idle_close_s=0)
    try:
        add_generation(team, NB, "a team kite")
        with answering(team) as listener:
            # Same data directory, no team URL: this asker's log is the local file.
            assert ask(["history"], {"WORKBENCH_DATA_DIR": str(data)}) is None
            assert listener.answered == 0
            asked = ask(["history"], {"WORKBENCH_DATA_DIR": str(data),
                                      "WORKBENCH_DATABASE_URL": pg_migrated_url})
            assert asked is not None and "1 match" in asked[1]  # the same team is answered
            assert listener.answered == 1
    finally:
        team.close()


# -- secrets in a team URL -------------------------------------------------------------------------
def test_a_password_among_the_url_options_is_never_shown(tmp_path: Path) -> None:
    secret = "opt-Pw-77kq-never-shown"
    text = f"postgresql://ann@db.example:6543/team?sslmode=require&password={secret}"
    url = parse_database_url(text)
    assert url.connect_kwargs()["password"] == secret  # it still reaches the driver
    assert secret not in url.redacted and secret not in repr(url)
    assert "sslmode=require" in url.redacted
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"),
                                  "WORKBENCH_DATABASE_URL": text},
                             secrets_file=tmp_path / "none.toml")
    said = redact(f"connection to server failed: password={secret} rejected", settings)
    assert secret not in said and MASK in said


# -- OCR: two stretches that match equally ---------------------------------------------------------
@pytest.mark.parametrize(
    ("ocr", "first"),
    [("OPEM and later OPFN", "OPEM"), ("OPFN then OPEM", "OPFN"), ("OPEN OPEN", "OPEN")],
)
def test_the_first_of_two_equally_good_stretches_is_read(ocr: str, first: str) -> None:
    score = score_text("OPEN", ocr)
    assert score.read == first
    assert score.sentence() == f"asked OPEN, read {first}"


# -- LIKE filters take the user's text literally ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "matches"),
    [("OFF_", {"50% OFF_"}), ("50%", {"50% OFF_"}), ("a\\b", {"path a\\b"}), ("OFF", None)],
)
def test_the_arena_vote_filter_takes_wildcards_literally(
    wb: Workbench, text: str, matches: set[str] | None
) -> None:
    prompts = ["50% OFF_", "50x OFFa", "path a\\b", "path ab"]
    wb.votes.add_many(
        NewVote(left_model=NB, right_model=FP, winner="left", criterion="overall", prompt=p,
                left_provider="gemini", right_provider="bfl")
        for p in prompts
    )
    found = set(wb.votes.frame(HistoryFilter(text=text))["prompt"])
    assert found == (matches if matches is not None else {"50% OFF_", "50x OFFa"})
    assert wb.votes.count(HistoryFilter(text=text)) == len(found)


# -- reference images at their limits --------------------------------------------------------------
def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("shape", [(2048, 1024), (3000, 2000), (1500, 1499), (4096, 300)])
def test_a_downscaled_reference_lands_just_under_the_megapixel_limit(
    shape: tuple[int, int],
) -> None:
    spec = ReferenceInput(max_images=1, max_mp=1.0, source="test")
    ref = prepare_reference(_encoded(Image.new("RGB", shape, (90, 40, 10)), "PNG"), spec, "X")
    limit = 1.0 * MEGAPIXEL
    assert ref.width * ref.height <= limit
    # Within one pixel row or column of the limit: not shrunk further than it has to be.
    assert ref.width * ref.height > limit - ref.width - ref.height - 1
    assert ref.width / ref.height == pytest.approx(shape[0] / shape[1], rel=0.01)


def test_the_byte_limit_is_checked_on_the_converted_image() -> None:
    # Noise as a GIF (a palette, LZW) is small; converted to PNG (the offer lists no GIF) it is
    # larger than the limit, which the stored file was under.
    noise = Image.effect_noise((320, 320), 120).convert("RGB").quantize(colors=16)
    gif = _encoded(noise, "GIF")
    png = _encoded(noise.convert("RGB"), "PNG")
    limit = (len(gif) + len(png)) // 2
    assert len(gif) <= limit < len(png)
    spec = ReferenceInput(max_images=1, max_bytes=limit,
                          formats=("image/png", "image/jpeg"), source="test")
    ref = prepare_reference(gif, spec, "X")
    assert len(ref.data) <= limit
    assert ref.mime == "image/jpeg" and "re-encoded" in ref.converted

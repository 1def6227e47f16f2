"""Downloads and imports: votes as a battles CSV in the common arena layout, leaderboard
tables as CSV and Parquet bytes, a battles CSV read back in, and images out: one image as
received, a selection or a run as a ZIP with a manifest, and a run's contact sheet. CSV text
cells are made safe for spreadsheets (no formula runs); Parquet and JSON keep the raw text.

The battle layout is the one arena tools re-score: `model_a` (shown left), `model_b`,
`winner` in model_a / model_b / tie / tie (bothbad), plus criterion, category, prompt and the
time (`tstamp`, Unix seconds, and `time`, ISO 8601 UTC). An import is all or nothing: every
row is checked first, and a file with any problem (missing columns, unknown winners or
criteria, junk rows) is refused with a list of what is wrong, importing nothing. Votes already
in the database (same fingerprint) are skipped, so importing an export again adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from workbench.domain.catalog import PROVIDER_LABELS, CatalogError
from workbench.domain.criteria import load_criteria
from workbench.domain.export_fields import GENERATION_FIELDS, LOGGED_FIELDS
from workbench.domain.filters import HistoryFilter
from workbench.domain.plural import count
from workbench.domain.spreadsheet import neutralise, restore
from workbench.errors import InvalidInput
from workbench.imaging.contact_sheet import Tile, contact_sheet
from workbench.imaging.provenance import Exported, embed
from workbench.services.delivery.provenance import parameters_text, provenance_record
from workbench.services.evidence.leaderboard import Leaderboard
from workbench.services.runs import grids
from workbench.services.workbench import Workbench
from workbench.store.annotations import Annotation
from workbench.store.images import (
    BadImageRef,
    ImageStore,
    ImageStoreError,
    ImageUnavailable,
    parse_ref,
)
from workbench.store.records import Generation
from workbench.store.votes import NewVote, fingerprint, time_text

BATTLE_WINNERS: dict[str, str] = {  # our winner -> arena layout
    "left": "model_a",
    "right": "model_b",
    "tie": "tie",
    "both_bad": "tie (bothbad)",
}
FROM_BATTLE = {v: k for k, v in BATTLE_WINNERS.items()}
BATTLE_COLUMNS = (
    "model_a", "model_b", "winner", "criterion", "category", "prompt", "tstamp", "time",
    "judge", "provider_a", "provider_b", "template_id", "is_repeat", "vote_id",
)
REQUIRED_COLUMNS = ("model_a", "model_b", "winner")
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS_LISTED = 20
MAX_NAME = 200
MAX_PROMPT = 200_000
IMPORT_RATER = "imported"


class ImportRejected(InvalidInput):
    """The file was not imported; `problems` say what is wrong, row by row."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        total = len(problems) if total is None else total
        shown = problems[:MAX_PROBLEMS_LISTED]
        more = total - len(shown)
        text = "Nothing was imported. " + "; ".join(shown)
        if more > 0:
            text += f"; and {more} more problem{'s' if more > 1 else ''}"
        super().__init__(text)
        self.problems = shown
        self.total = total


@dataclass(frozen=True)
class ImportReport:
    rows: int
    imported: int
    already_present: int

    def text(self) -> str:
        line = f"Imported {self.imported:,} of {count(self.rows, 'vote')}."
        if self.already_present:
            line += (f" {count(self.already_present, 'vote was', 'votes were')} already in the"
                     " database and skipped.")
        return line


# -- export ---------------------------------------------------------------------------------------
def battles_frame(
    wb: Workbench, f: HistoryFilter | None = None, criterion: str | None = None
) -> pd.DataFrame:
    """Votes in the arena battle layout, oldest first."""
    f = f if f is not None else HistoryFilter(include_offline=False)
    votes = wb.votes.frame(f, criterion)
    if votes.empty:
        return pd.DataFrame(columns=list(BATTLE_COLUMNS))
    created = pd.to_datetime(votes["created_at"])
    return pd.DataFrame(
        {
            "model_a": votes["left_model"],
            "model_b": votes["right_model"],
            "winner": votes["winner"].map(BATTLE_WINNERS),
            "criterion": votes["criterion"],
            "category": votes["category"],
            "prompt": votes["prompt"],
            "tstamp": [round(t.replace(tzinfo=UTC).timestamp(), 6) for t in created],
            "time": [time_text(t.to_pydatetime()) + "Z" for t in created],
            "judge": votes["rater"],
            "provider_a": votes["left_provider"],
            "provider_b": votes["right_provider"],
            "template_id": votes["template_id"],
            "is_repeat": votes["is_repeat"].astype(bool),
            "vote_id": votes["id"],
        },
        columns=list(BATTLE_COLUMNS),
    )


def battles_csv(
    wb: Workbench, f: HistoryFilter | None = None, criterion: str | None = None
) -> bytes:
    return table_csv(battles_frame(wb, f, criterion))


def table_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV bytes of a table, for a download button. Text cells that a spreadsheet would
    run as a formula are prefixed (see `workbench.domain.spreadsheet`)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    # RFC 4180 line ends: the writer then quotes any cell holding a CR, which "\n" does not
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def table_parquet(frame: pd.DataFrame) -> bytes:
    """Parquet bytes of a table, for a download button."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def board_tables(board: Leaderboard, verdict_models: list[str] | None = None
                 ) -> dict[str, pd.DataFrame]:
    """The Leaderboard's tables by file name stem, each ready for `table_csv` or
    `table_parquet`: the overview as numbers, one Bradley–Terry table per voted criterion,
    the star ratings, the measured columns and (for chosen models) the verdict table."""
    tables = {"leaderboard": board.overview_numeric()}
    for criterion in sorted(board.voted):
        tables[f"bradley_terry_{criterion}"] = board.bt_frame(criterion)
    tables["stars"] = board.stars_frame()
    tables["measured"] = board.measured_frame()
    if verdict_models:
        tables["verdict"] = board.verdict(verdict_models).frame()
    return tables


# -- import ---------------------------------------------------------------------------------------
def _clean(value: str | None) -> str:
    # an export prefixed formula-like cells; reading it back removes exactly that prefix
    return "" if value is None else restore(value.strip())


def _bad_text(value: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def _parse_time(row: Mapping[str, str | None]) -> tuple[datetime | None, str, str | None]:
    """(naive UTC time or None, canonical text for the fingerprint, problem or None)."""
    text, stamp = _clean(row.get("time")), _clean(row.get("tstamp"))
    if text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None, "", f"time '{text[:40]}' is not an ISO 8601 date and time"
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    elif stamp:
        try:
            seconds = float(stamp)
        except ValueError:
            return None, "", f"tstamp '{stamp[:40]}' is not a number of seconds"
        if not math.isfinite(seconds):
            return None, "", f"tstamp '{stamp[:40]}' is not a number of seconds"
        try:
            moment = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None, "", f"tstamp '{stamp[:40]}' is out of range"
    else:
        return None, "", None
    if not datetime(2000, 1, 1) <= moment <= datetime(2100, 1, 1):
        return None, "", f"time {moment:%Y-%m-%d} is outside 2000–2100"
    return moment, time_text(moment), None


def parse_battles_csv(data: bytes, *, rater: str = IMPORT_RATER) -> list[NewVote]:
    """Every row as a vote, or `ImportRejected` listing every problem found."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected([f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected(["the file is not UTF-8 text (is it a CSV file?)"]) from None
    if "\x00" in text:
        raise ImportRejected(["the file contains binary data, not CSV text"])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportRejected(["the file is empty (no header row)"])
    reader.fieldnames = header
    duplicated = sorted({h for h in header if header.count(h) > 1 and h})
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    problems: list[str] = []
    if missing:
        problems.append(
            f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
            f"(a battles file needs {', '.join(REQUIRED_COLUMNS)})"
        )
    if duplicated:
        problems.append(f"repeated column names: {', '.join(duplicated)}")
    if problems:
        raise ImportRejected(problems)
    criteria = {c.id for c in load_criteria()}
    votes: list[NewVote] = []
    count = 0
    try:
        for number, row in enumerate(reader, start=2):  # line 1 is the header
            count += 1
            row_problems = _check_row(row, criteria)
            if row_problems:
                problems.extend(f"row {number}: {p}" for p in row_problems)
                continue
            votes.append(_vote(row, rater))
    except csv.Error as exc:
        problems.append(f"the CSV cannot be read near line {reader.line_num}: {exc}")
    if not count and not problems:
        problems.append("the file has a header but no votes")
    if problems:
        raise ImportRejected(problems)
    return votes


def _check_row(row: dict[str, str | None], criteria: set[str]) -> list[str]:
    problems: list[str] = []
    if None in row:
        problems.append("more fields than columns")
    if any(v is None for k, v in row.items() if k is not None):
        problems.append("fewer fields than columns")
        return problems
    a, b = _clean(row.get("model_a")), _clean(row.get("model_b"))
    for side, name in (("model_a", a), ("model_b", b)):
        if not name:
            problems.append(f"{side} is empty")
        elif len(name) > MAX_NAME or _bad_text(name):
            problems.append(f"{side} is not a model name")
    if a and a == b:
        problems.append(f"model_a and model_b are the same model ({a[:60]})")
    winner = _clean(row.get("winner"))
    if winner not in FROM_BATTLE:
        problems.append(
            f"unknown winner '{winner[:40]}' (use {', '.join(FROM_BATTLE)})"
        )
    if "criterion" in row:
        criterion = _clean(row["criterion"])
        if criterion not in criteria:
            problems.append(f"unknown criterion '{criterion[:40]}'")
    for side in ("provider_a", "provider_b"):
        provider = _clean(row.get(side))
        if provider and provider not in PROVIDER_LABELS:
            problems.append(f"unknown {side} '{provider[:40]}'")
    if len(_clean(row.get("prompt"))) > MAX_PROMPT:
        problems.append("the prompt is too long")
    for column in ("category", "template_id", "judge"):
        value = _clean(row.get(column))
        if len(value) > MAX_NAME or _bad_text(value):
            problems.append(f"{column} is not a short line of text")
    repeat = _clean(row.get("is_repeat")).lower()
    if repeat not in ("", "true", "false", "0", "1"):
        problems.append(f"is_repeat '{repeat[:10]}' is not true or false")
    _, _, time_problem = _parse_time(row)
    if time_problem:
        problems.append(time_problem)
    return problems


def _vote(row: dict[str, str], rater: str) -> NewVote:
    moment, when, _ = _parse_time(row)
    left, right = _clean(row["model_a"]), _clean(row["model_b"])
    winner = FROM_BATTLE[_clean(row["winner"])]
    criterion = _clean(row.get("criterion")) or "overall"
    judge = _clean(row.get("judge")) or rater
    prompt = _clean(row.get("prompt")) or None
    return NewVote(
        left_model=left, right_model=right, winner=winner, criterion=criterion,
        left_provider=_clean(row.get("provider_a")) or None,
        right_provider=_clean(row.get("provider_b")) or None,
        category=_clean(row.get("category")) or None,
        template_id=_clean(row.get("template_id")) or None,
        prompt=prompt, rater=judge,
        is_repeat=_clean(row.get("is_repeat")).lower() in ("true", "1"),
        source="import", created_at=moment,
        # the file's own time when it has one, so importing it twice is recognised
        fingerprint=fingerprint(left, right, winner, criterion, judge, when, prompt),
    )


def import_battles_csv(wb: Workbench, data: bytes, *, rater: str = IMPORT_RATER) -> ImportReport:
    """Check the whole file, then add its new votes in one transaction."""
    votes = parse_battles_csv(data, rater=rater)
    log = wb.votes
    with wb.db.cursor():
        present = log.existing_fingerprints(v.fingerprint for v in votes if v.fingerprint)
        fresh = [v for v in votes if v.fingerprint not in present]
        log.add_many(fresh)
    return ImportReport(len(votes), len(fresh), len(votes) - len(fresh))


# -- the log out ---------------------------------------------------------------------------------
HISTORY_CHUNK = 5000


def export_row(record: Generation, annotation: Annotation | None = None) -> dict[str, Any]:
    """What an export says about one generation: `GENERATION_FIELDS` in order, the mean stars
    as a float on both backends (PostgreSQL's avg() is a Decimal), then its tags and note."""
    row: dict[str, Any] = {k: getattr(record, k) for k in LOGGED_FIELDS}
    if row["rating"] is not None:
        row["rating"] = float(row["rating"])
    row["tags"] = ", ".join(annotation.tags) if annotation else ""
    row["note"] = annotation.note if annotation else ""
    return row


def history_rows(wb: Workbench, f: HistoryFilter) -> Iterator[dict[str, Any]]:
    """Every generation the filter matches, in its order, read HISTORY_CHUNK rows at a time so
    the whole log never sits in memory (the command line's `export` and the app's)."""
    offset = 0
    while True:
        chunk = wb.log.page(f, limit=HISTORY_CHUNK, offset=offset, every_column=True)
        if not chunk:
            return
        notes = wb.annotations.for_ids([r.id for r in chunk])
        for record in chunk:
            yield export_row(record, notes.get(record.id))
        if len(chunk) < HISTORY_CHUNK:
            return
        offset += HISTORY_CHUNK


def write_history_csv(wb: Workbench, f: HistoryFilter, handle: TextIO) -> int:
    """The filtered log as CSV (spreadsheet-safe text cells); returns the rows written."""
    writer = csv.DictWriter(handle, fieldnames=GENERATION_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in history_rows(wb, f):
        writer.writerow({k: neutralise(v) for k, v in row.items()})
        count += 1
    return count


def write_history_jsonl(wb: Workbench, f: HistoryFilter, handle: TextIO) -> int:
    count = 0
    for row in history_rows(wb, f):
        handle.write(json.dumps(row, default=str) + "\n")
        count += 1
    return count


def _history_schema() -> Any:
    import pyarrow as pa

    types = {
        "created_at": pa.timestamp("us"), "finished_at": pa.timestamp("us"),
        "seed": pa.int64(), "seed_returned": pa.int64(), "width": pa.int64(),
        "height": pa.int64(), "latency_ms": pa.float64(), "cost_usd": pa.float64(),
        "rating": pa.float64(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in GENERATION_FIELDS])


def write_history_parquet(wb: Workbench, f: HistoryFilter, target: Any) -> int:
    """The filtered log as Parquet (raw text), one row group per HISTORY_CHUNK rows: `target`
    is a path or a binary file object. Returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _history_schema()
    count = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(target, schema) as writer:
        for row in history_rows(wb, f):
            batch.append(row)
            if len(batch) == HISTORY_CHUNK:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def history_csv(wb: Workbench, f: HistoryFilter) -> bytes:
    """The filtered History, every row, as CSV bytes for the app's download button."""
    text = io.StringIO(newline="")
    write_history_csv(wb, f, text)
    return text.getvalue().encode("utf-8")


def history_parquet(wb: Workbench, f: HistoryFilter) -> bytes:
    buffer = io.BytesIO()
    write_history_parquet(wb, f, buffer)
    return buffer.getvalue()


# -- images out -----------------------------------------------------------------------------------
MANIFEST_FIELDS = ("file", *GENERATION_FIELDS)


def with_recipe(record: Generation, original: bytes) -> Exported:
    """A copy of a stored image carrying its recipe, exactly as `workbench images` writes it
    (`provenance.parameters_text` and `provenance.provenance_record`, embedded by
    `imaging.provenance.embed`): PNG and JPEG keep their pixels and gain text chunks or XMP and
    EXIF segments; WebP and GIF become PNG. The stored original is never changed."""
    return embed(original, parameters_text(record), provenance_record(record))


@dataclass(frozen=True)
class ImageFile:
    """One stored image as a download: a copy with its recipe inside, so "Open from image"
    restores it. `read` builds the copy only when the file is wanted, from the original read
    through the image store; a JPEG is built at once, because whether its recipe fits in a JPEG
    segment decides the file's type and name."""

    name: str
    reference: str  # checked: a reference the image store itself writes
    mime: str
    store: ImageStore = field(repr=False, compare=False)
    record: Generation = field(repr=False, compare=False)
    ready: bytes | None = field(default=None, repr=False, compare=False)

    def read(self) -> bytes:
        if self.ready is not None:
            return self.ready
        return with_recipe(self.record, self.store.read(self.reference)).data


def image_file(wb: Workbench, record: Generation) -> ImageFile | None:
    """The image of a logged generation as a download carrying its recipe; None without one,
    or when its reference is not one the workbench writes (refused)."""
    relative = record.image_path
    if not relative:
        return None
    try:
        ref = parse_ref(relative)  # BadImageRef for anything the workbench does not write
        if not wb.images.has(ref.key):
            return None
    except (BadImageRef, ImageStoreError):
        return None
    if ref.key.endswith(".jpg"):  # the store keeps a JPEG as .jpg; its recipe decides the name
        try:
            exported = with_recipe(record, wb.images.read(ref.key))
        except ImageUnavailable:
            return None
        return ImageFile(f"{record.id}.{exported.extension}", ref.key, exported.mime,
                         wb.images, record, exported.data)
    # PNG stays PNG (chunks inserted); any other format is saved as PNG by `embed`
    return ImageFile(f"{record.id}.png", ref.key, "image/png", wb.images, record)


def images_zip(wb: Workbench, generation_ids: list[str]) -> bytes:
    """A ZIP of these generations' images, each a copy carrying its recipe (`with_recipe`),
    with `manifest.csv` (spreadsheet-safe) and `manifest.json` (raw): one entry per generation,
    the command line export's columns and values (mean stars included) after `file`; failed
    ones, and those whose image cannot be read or whose reference is refused, are listed
    without a file."""
    rows: list[dict[str, object]] = []
    wanted = list(dict.fromkeys(generation_ids))
    ratings = wb.ratings.means(wanted)
    notes = wb.annotations.for_ids(wanted)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for generation_id in wanted:
            record = wb.log.get(generation_id)
            if record is None:
                continue
            record = replace(record, rating=ratings.get(generation_id))
            image = image_file(wb, record)
            name = ""
            if image is not None:
                try:
                    archive.writestr(f"images/{image.name}", image.read())
                    name = f"images/{image.name}"
                except ImageUnavailable:
                    name = ""
            rows.append({"file": name, **export_row(record, notes.get(generation_id))})
        frame = pd.DataFrame(rows, columns=list(MANIFEST_FIELDS))
        archive.writestr("manifest.csv", table_csv(frame))
        archive.writestr("manifest.json", json.dumps(rows, indent=2, default=str))
    return buffer.getvalue()


def run_ids(wb: Workbench, run_id: str) -> list[str]:
    """The newest attempt of every cell of a run, in the run's cell order."""
    return [c["generation_id"] for c in grids.run_grid(wb, run_id) if c.get("generation_id")]


# How a run label reads on a contact sheet: the value people know ("seed 7", "1:1"), not the
# parameter's name (`aspect_ratio: 1:1` was cut before it said anything).
_SHEET_WORDS: dict[str, Callable[[str], str]] = {
    "seed": lambda v: "random seed" if v == "random" else f"seed {v}",
    "aspect_ratio": lambda v: "default ratio" if v in ("default", "") else v,
    "variation": lambda v: f"take {v}",
}
PROMPT_LEGEND = "Prompt"  # the legend's key when a run has one prompt and no prompt label


def sheet_label(
    labels: Mapping[str, Any], skip: str, model_name: Callable[[str], str] = str
) -> str:
    """A cell's labels but `skip` (the column's), as a person reads them: "P1 · seed 7 · 1:1",
    "Nano Banana 2 · take 2"; "–" when nothing is left."""
    words = []
    for key, value in labels.items():
        if key == skip:
            continue
        text = str(value)
        words.append(model_name(text) if key == "model" else _SHEET_WORDS.get(key, str)(text))
    return " · ".join(words) or "–"


def sheet_legend(grid: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What each prompt label of a run stands for: ("P1", its text as sent, the first wording
    when each model family got its own), in first-seen order; a run without prompt labels
    (Compare) has one prompt, under `PROMPT_LEGEND`."""
    texts: dict[str, str] = {}
    for cell in grid:
        short = str(cell.get("labels", {}).get("prompt") or PROMPT_LEGEND)
        texts.setdefault(short, " ".join(str(cell.get("prompt") or "").split()))
    return list(texts.items())


def run_contact_sheet(wb: Workbench, run_id: str, columns: str = "model") -> bytes:
    """One PNG of the run's grid: a column per `columns` value, a row per combination of the
    other labels, each tile captioned with its status and cost, and a legend of its prompts."""
    run = wb.runs.get(run_id)

    def model_name(model: str) -> str:
        try:
            return wb.catalog.model(model).name
        except CatalogError:
            return model

    grid = grids.run_grid(wb, run_id)
    tiles = []
    for cell in grid:
        labels = cell.get("labels", {})
        ok = cell["status"] == "succeeded"
        cost = cell.get("cost_usd")
        caption = cell["status"] + (f" · ${cost:.3f}" if ok and cost is not None else "")
        column = str(labels.get(columns, ""))
        tiles.append(
            Tile(
                row=sheet_label(labels, columns, model_name),
                column=model_name(column) if columns == "model" else column,
                image=Path(cell["thumb_file"]) if ok and cell.get("thumb_file") else None,
                caption=caption,
            )
        )
    title = f"{run.name if run else run_id} · {run_id}"
    return contact_sheet(tiles, title, sheet_legend(grid))

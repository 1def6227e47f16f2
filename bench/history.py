"""How fast the History and Leaderboard pages' queries are on a big log.

Fills temporary databases with 100,000 and 1,000,000 synthetic generations (made in SQL, with
real thumbnails for a handful of images) and times, with the same code the pages call:
- the filtered page: one model, a 30-day range and a prompt-text filter that matches fewer than
  0.1% of rows (the hardest case for text search);
- its count; the filter choices (`filter_choices_ms` a rerun with nothing written since,
  `filter_choices_cold_ms` the first after a write); the leaderboard aggregates (measured
  and star ratings):
  `leaderboard_ms` for a rerun with nothing written since (the store's memo answers), and
  `leaderboard_cold_ms` aggregating again, as the first rerun after a write does;
- with every succeeded image measured (7 numbers and a hash each, text accuracy on the text
  category): a page and count filtered by a measurement (text accuracy below 1.0), a page
  sorted by one (warmth, highest first), and one generation's plain-language readings;
- a whole History page rerun in Streamlit's AppTest at 100,000 rows (its table shows the
  page's measurements, its detail view the first row's readings).
Each figure is the median of several runs after one warm-up. Last line: one JSON object.

`--backend postgres` times the same store calls in team mode (`pg_history_page_ms`,
`pg_history_count_ms`, `pg_filter_choices_ms`, `pg_leaderboard_ms` and its `_cold` twin,
`pg_insert_ms`) on a PostgreSQL database bulk-loaded with COPY: a new database on the server of
`WORKBENCH_DATABASE_URL` when it is set (dropped afterwards; the role needs CREATEDB), otherwise
on a throwaway server started here (`harness.pg_cluster`, as the tests do).

Usage: .venv/bin/python bench/history.py [--rows 100000,1000000] [--repeat 7] [--keep DIR]
       .venv/bin/python bench/history.py --backend postgres [--rows 1000000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from workbench.config import load_settings  # noqa: E402
from workbench.domain.catalog import load_catalog  # noqa: E402
from workbench.domain.filters import HistoryFilter  # noqa: E402
from workbench.imaging.measure import FAST_METRICS, PHASH, TEXT_ACCURACY, VERSIONS  # noqa: E402
from workbench.services import history as history_service  # noqa: E402
from workbench.services.workbench import Workbench, open_workbench  # noqa: E402
from workbench.store import metric_columns  # noqa: E402

if TYPE_CHECKING:
    import duckdb

MODELS = list(load_catalog().ids)
RARE = "quokka"  # appears in 1 of every 2,000 prompts (0.05%)
START = date(2026, 1, 1)
# The hardest page: one model, a 30-day range and a text matching fewer than 0.1% of rows.
HARD = HistoryFilter(
    models=("flux-2-pro",),
    date_from=START + timedelta(days=100),
    date_to=START + timedelta(days=130),
    text=RARE,
)


def store_images(wb: Workbench) -> list[str]:
    """Forty real images (files and rows) for the synthetic log to point at; their hashes."""
    images = []
    for i in range(40):
        buffer = io.BytesIO()
        Image.new("RGB", (1024, 768), (i * 6, 120, 255 - i * 6)).save(buffer, format="PNG")
        images.append(wb.images.put(buffer.getvalue()))
    with wb.db.cursor() as cur:
        for img in images:
            cur.execute(
                "INSERT INTO images (sha256, path, thumb_path, mime, bytes, width, height)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [img.sha256, img.path, img.thumb_path, img.mime, img.bytes, img.width, img.height],
            )
    return [img.sha256 for img in images]


def fill(wb: Workbench, rows: int) -> None:
    store_images(wb)
    with wb.db.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE shas AS SELECT row_number() OVER () - 1 AS k, sha256 FROM images"
        )
        words = [
            "portrait",
            "landscape",
            "kettle",
            "harbour",
            "neon",
            "marble",
            "forest",
            "wool",
            "balcony",
            "desert",
            "city",
            "fox",
            "studio",
            "linen",
            "steel",
            "dusk",
        ]
        cur.execute(
            """
            INSERT INTO generations (id, created_at, finished_at, status, model, provider,
                provider_model_id, template_id, prompt_written, prompt, params, aspect_ratio,
                size, seed, seed_returned, width, height, latency_ms, cost_usd, cost_kind,
                error_kind, error_message, image_sha256, category)
            SELECT 'gen_' || lpad(i::VARCHAR, 9, '0'),
                   ?::TIMESTAMP + to_seconds(i * (365 * 86400 // ?)),
                   ?::TIMESTAMP + to_seconds(i * (365 * 86400 // ?) + 12),
                   CASE WHEN i % 20 = 0 THEN 'failed' WHEN i % 97 = 0 THEN 'moderated'
                        ELSE 'succeeded' END,
                   (?::VARCHAR[])[1 + i % 8],
                   CASE WHEN i % 8 < 3 THEN 'gemini' ELSE 'bfl' END,
                   'model-id', CASE WHEN i % 3 = 0 THEN 'free-text' ELSE 'flux-photographic' END,
                   p, p, '{"aspect_ratio": "16:9"}', '16:9', '1K', i, i, 1024, 768,
                   1000 + (i * 7919) % 20000, 0.03 + (i % 5) * 0.01, 'estimated',
                   CASE WHEN i % 20 = 0 THEN 'server' END,
                   CASE WHEN i % 20 = 0 THEN 'The provider failed (500).' END,
                   (SELECT sha256 FROM shas WHERE k = i % 40),
                   (?::VARCHAR[])[1 + i % 9]
            FROM (
                SELECT range AS i,
                       'A ' || (?::VARCHAR[])[1 + range % 16] || ' beside a '
                       || (?::VARCHAR[])[1 + (range // 16) % 16] || ' at '
                       || (?::VARCHAR[])[1 + (range // 256) % 16]
                       || CASE WHEN range % 2000 = 7 THEN ' with a ' || ? ELSE '' END
                       || ', shot ' || (range % 977)::VARCHAR || ' of a series, photorealistic'
                       AS p
                FROM range(?)
            )
            """,
            [
                START,
                rows,
                START,
                rows,
                MODELS,
                [
                    "portrait",
                    "landscape",
                    "texture",
                    "complex",
                    "minimal",
                    "text",
                    "product",
                    "fashion",
                    "architecture",
                ],
                words,
                words,
                words,
                RARE,
                rows,
            ],
        )
        cur.execute(
            "INSERT INTO ratings (id, generation_id, criterion, stars, rater, created_at, model,"
            " provider) SELECT nextval('ratings_id_seq'), id, 'overall',"
            " 1 + (hash(id) % 5)::INTEGER, 'me', created_at, model, provider FROM generations"
            " WHERE status = 'succeeded' AND hash(id) % 50 = 0"
        )
        fill_metrics(cur)
        # Readings inserted in bulk here; MetricLog.record sets the log's copies one by one.
        metric_columns.refresh(cur)
        cur.execute("CHECKPOINT")


def fill_metrics(cur: duckdb.DuckDBPyConnection) -> None:
    """Synthetic measurements, as after `metrics --recompute`: one row per succeeded image and
    measure, a hash, and text accuracy for the text category."""
    insert = (
        "INSERT INTO metrics (id, generation_id, metric, version, status, value, detail,"
        " computed_at) SELECT nextval('metrics_id_seq'), g.id, ?, ?, 'ok', {value}, {detail},"
        " g.finished_at FROM generations g WHERE g.status = 'succeeded'{where}"
    )
    for name in FAST_METRICS:
        if name == PHASH:
            sql = insert.format(
                value="NULL",
                where="",
                detail=(
                    "json_object('hash', lpad(printf('%x', hash(g.id) % 1000000000000), 16, '0'))"
                ),
            )
        else:
            sql = insert.format(
                value="(hash(g.id || ?) % 10000) / 100.0 - 20", detail="NULL", where=""
            )
        cur.execute(sql, [name, VERSIONS[name]] + ([] if name == PHASH else [name]))
    cur.execute(
        insert.format(
            value="(hash(g.id) % 101) / 100.0", detail="NULL", where=" AND g.category = 'text'"
        ),
        [TEXT_ACCURACY, VERSIONS[TEXT_ACCURACY]],
    )


def leaderboard(wb: Workbench, cold: bool = False) -> object:
    """The Leaderboard's aggregates: measured speed and cost, and the star table. A rerun with
    nothing written since is answered from the store's memo; `cold` aggregates again, as the
    first rerun after a write does."""
    if cold:
        wb.performance.memo.forget()
        wb.ratings.memo.forget()
    real = HistoryFilter(include_offline=False)
    return wb.performance.by_model(real), wb.ratings.by_model(real)


def choices_cold(wb: Workbench) -> object:
    """The filter choices as the first History rerun after a write reads them."""
    wb.log.memo.forget()
    return wb.log.choices()


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


@contextmanager
def data_dir(keep: str | None, rows: int) -> Iterator[tuple[str, bool]]:
    """The data directory to measure in, and whether it still needs filling: a temporary one,
    or with `--keep DIR` the folder `DIR/<rows>` (filled on the first run, reused after)."""
    if keep is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield tmp, True
        return
    folder = Path(keep) / str(rows)
    filled = (folder / "filled").exists()
    folder.mkdir(parents=True, exist_ok=True)
    yield str(folder), not filled
    (folder / "filled").touch()


def measure(rows: int, repeat: int, keep: str | None = None) -> dict[str, float]:
    with data_dir(keep, rows) as (tmp, empty):
        settings = load_settings(
            env={"WORKBENCH_DATA_DIR": tmp}, secrets_file=Path(tmp) / "none.toml"
        )
        wb = open_workbench(settings, idle_close_s=5)
        started = time.perf_counter()
        if empty:
            fill(wb, rows)
        fill_s = time.perf_counter() - started
        hard = HARD
        matches = wb.log.count(HistoryFilter(text=RARE))
        typos = HistoryFilter(metric=TEXT_ACCURACY, metric_op="<", metric_value=1.0)
        first = history_service.detail(
            wb, wb.log.page(HistoryFilter(statuses=("succeeded",)), limit=1)[0].id
        )
        assert first is not None and first.record.status == "succeeded"
        assert 0 < matches < rows * 0.001, matches
        figures = {
            "rows": rows,
            "fill_s": round(fill_s, 1),
            "rare_text_matches": matches,
            "history_page_ms": timed(lambda: wb.log.page(hard, limit=50), repeat),
            "history_count_ms": timed(lambda: wb.log.count(hard), repeat),
            "history_page_unfiltered_ms": timed(
                lambda: wb.log.page(HistoryFilter(), limit=50), repeat
            ),
            "filter_choices_ms": timed(lambda: wb.log.choices(), repeat),
            "filter_choices_cold_ms": timed(lambda: choices_cold(wb), repeat),
            "leaderboard_ms": timed(lambda: leaderboard(wb), repeat),
            "leaderboard_cold_ms": timed(lambda: leaderboard(wb, cold=True), repeat),
            "history_service_page_ms": timed(
                lambda: history_service.load_page(wb, HistoryFilter()), repeat
            ),
            "metric_filter_page_ms": timed(lambda: wb.log.page(typos, limit=50), repeat),
            "metric_filter_count_ms": timed(lambda: wb.log.count(typos), repeat),
            "metric_sort_page_ms": timed(
                lambda: wb.log.page(HistoryFilter(sort="warmth_high"), limit=50), repeat
            ),
            "detail_readings_ms": timed(
                lambda: history_service.measurements(wb, first.record), repeat
            ),
        }
        if rows <= 100_000:
            wb.close()
            figures["history_rerun_ms"] = rerun_ms(tmp, repeat)
        wb.close()
        return figures


def rerun_ms(data_dir: str, repeat: int) -> float:
    """A whole History page rerun in AppTest (the script, every query, thumbnails)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["WORKBENCH_DATA_DIR"] = data_dir
    st.cache_resource.clear()

    def history_page() -> None:
        from workbench.ui import history

        history.render()

    app = AppTest.from_function(history_page, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        app.run()
        samples.append((time.perf_counter() - started) * 1000)
    st.cache_resource.clear()
    return round(statistics.median(samples), 1)


CATEGORIES = [
    "portrait", "landscape", "texture", "complex", "minimal", "text", "product", "fashion",
    "architecture",
]
WORDS = [
    "portrait", "landscape", "kettle", "harbour", "neon", "marble", "forest", "wool", "balcony",
    "desert", "city", "fox", "studio", "linen", "steel", "dusk",
]
PG_COLUMNS = (
    "id", "created_at", "finished_at", "status", "model", "provider", "provider_model_id",
    "template_id", "prompt_written", "prompt", "params", "aspect_ratio", "size", "seed",
    "seed_returned", "width", "height", "latency_ms", "cost_usd", "cost_kind", "error_kind",
    "error_message", "image_sha256", "category",
)


def pg_rows(rows: int, shas: list[str]) -> Iterator[tuple[object, ...]]:
    """The same synthetic log as `fill` makes in DuckDB SQL, row by row for COPY."""
    step = 365 * 86400 // rows
    start = datetime(START.year, START.month, START.day)
    for i in range(rows):
        prompt = (f"A {WORDS[i % 16]} beside a {WORDS[(i // 16) % 16]} at"
                  f" {WORDS[(i // 256) % 16]}" + (f" with a {RARE}" if i % 2000 == 7 else "")
                  + f", shot {i % 977} of a series, photorealistic")
        status = "failed" if i % 20 == 0 else "moderated" if i % 97 == 0 else "succeeded"
        created = start + timedelta(seconds=i * step)
        yield (
            f"gen_{i:09d}", created, created + timedelta(seconds=12), status, MODELS[i % 8],
            "gemini" if i % 8 < 3 else "bfl", "model-id",
            "free-text" if i % 3 == 0 else "flux-photographic", prompt, prompt,
            '{"aspect_ratio": "16:9"}', "16:9", "1K", i, i, 1024, 768,
            1000 + (i * 7919) % 20000, 0.03 + (i % 5) * 0.01, "estimated",
            "server" if status == "failed" and i % 20 == 0 else None,
            "The provider failed (500)." if i % 20 == 0 else None, shas[i % 40],
            CATEGORIES[i % 9],
        )


def pg_fill(wb: Workbench, rows: int) -> None:
    """Bulk-load `rows` generations (COPY), their images and 1 in 50 rated, then ANALYZE."""
    import zlib

    import psycopg

    shas = store_images(wb)
    url = wb.settings.database  # team mode: the server's URL
    assert url is not None
    with psycopg.connect(**url.connect_kwargs(), autocommit=True) as con, con.cursor() as cur:
        rated: list[tuple[object, ...]] = []
        # A row trigger keeps the Leaderboard's summary (migration 0015): off for the bulk
        # load, then the summary is rebuilt from the log in one statement.
        cur.execute("ALTER TABLE generations DISABLE TRIGGER USER")
        with cur.copy(f"COPY generations ({', '.join(PG_COLUMNS)}) FROM STDIN") as copy:
            for row in pg_rows(rows, shas):
                copy.write_row(row)
                gid = str(row[0])
                if row[3] == "succeeded" and zlib.crc32(gid.encode()) % 50 == 0:
                    rated.append((len(rated) + 1, gid, "overall",
                                  1 + zlib.crc32(gid.encode()) // 50 % 5, "me", row[1],
                                  row[4], row[5]))
        with cur.copy("COPY ratings (id, generation_id, criterion, stars, rater, created_at,"
                      " model, provider) FROM STDIN") as copy:
            for rating in rated:
                copy.write_row(rating)
        cur.execute("ALTER TABLE generations ENABLE TRIGGER USER")
        cur.execute("SELECT generation_summary_rebuild()")
        cur.execute("SELECT setval('ratings_id_seq', %s)", [len(rated) + 1])
        cur.execute("VACUUM ANALYZE")


def measure_pg(rows: int, repeat: int) -> dict[str, float]:
    from workbench.domain.ids import new_id
    from workbench.store.attempts import NewGeneration

    with tempfile.TemporaryDirectory() as tmp, pg_database() as url:
        settings = load_settings(
            env={"WORKBENCH_DATA_DIR": tmp, "WORKBENCH_DATABASE_URL": url},
            secrets_file=Path(tmp) / "none.toml",
        )
        wb = open_workbench(settings)
        started = time.perf_counter()
        pg_fill(wb, rows)
        fill_s = time.perf_counter() - started
        hard = HARD

        def insert() -> None:
            wb.attempts.insert_pending(NewGeneration(
                id=new_id("gen"), model="flux-2-pro", provider="bfl", prompt="a bench kite",
                prompt_written="a bench kite", params={"seed": 1}, seed=1))

        figures = {
            "rows": rows,
            "fill_s": round(fill_s, 1),
            "pg_history_page_ms": timed(lambda: wb.log.page(hard, limit=50), repeat),
            "pg_history_count_ms": timed(lambda: wb.log.count(hard), repeat),
            "pg_history_page_unfiltered_ms": timed(
                lambda: wb.log.page(HistoryFilter(), limit=50), repeat),
            "pg_history_count_unfiltered_ms": timed(
                lambda: wb.log.count(HistoryFilter()), repeat),
            "pg_filter_choices_ms": timed(lambda: wb.log.choices(), repeat),
            "pg_leaderboard_ms": timed(lambda: leaderboard(wb), repeat),
            "pg_leaderboard_cold_ms": timed(lambda: leaderboard(wb, cold=True), repeat),
            "pg_insert_ms": timed(insert, max(repeat, 25)),
        }
        wb.close()
        return figures


@contextmanager
def pg_database() -> Iterator[str]:
    """A new, empty database: on WORKBENCH_DATABASE_URL's server, or on a throwaway one."""
    import psycopg

    from harness.pg_cluster import PgCluster
    from workbench.config import parse_database_url

    name = f"wb_bench_{os.getpid()}"
    given = os.environ.get("WORKBENCH_DATABASE_URL")
    if not given:
        cluster = PgCluster().start()
        try:
            yield cluster.create_database(name)
        finally:
            cluster.stop()
        return
    url = parse_database_url(given)
    with psycopg.connect(**url.connect_kwargs(), autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    target = url.redacted.split("?")[0].rsplit("/", 1)[0].replace(":***@", "@") + f"/{name}"
    if url.password:  # the redacted form has no password; put it back for this process only
        target = target.replace(f"{url.user}@", f"{url.user}:{url.password}@", 1)
    try:
        yield target
    finally:
        with psycopg.connect(**url.connect_kwargs(), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main_pg(rows: list[int], repeat: int) -> None:
    results = {}
    for n in rows:
        figures = measure_pg(n, repeat)
        results[n] = figures
        print(f"{n:>9,} rows: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    biggest = results[max(results)]
    print(json.dumps({"rows": max(results), **{k: v for k, v in biggest.items()
                                               if k.startswith("pg_")}}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=None)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backend", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument(
        "--keep", metavar="DIR", default=None,
        help="fill DIR/<rows> once and reuse it on later runs (DuckDB only)",
    )
    args = parser.parse_args()
    if args.backend == "postgres":
        main_pg([int(r) for r in (args.rows or "1000000").split(",")], args.repeat)
        return
    args.rows = args.rows or "100000,1000000"
    results = {}
    for rows in (int(r) for r in args.rows.split(",")):
        figures = measure(rows, args.repeat, args.keep)
        results[rows] = figures
        print(f"{rows:>9,} rows: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    biggest = results[max(results)]
    smallest = results[min(results)]
    summary = {
        "rows": max(results),
        "history_page_ms": biggest["history_page_ms"],
        "history_count_ms": biggest["history_count_ms"],
        "filter_choices_ms": biggest["filter_choices_ms"],
        "filter_choices_cold_ms": biggest["filter_choices_cold_ms"],
        "leaderboard_ms": biggest["leaderboard_ms"],
        "leaderboard_cold_ms": biggest["leaderboard_cold_ms"],
        "history_page_unfiltered_ms": biggest["history_page_unfiltered_ms"],
        "history_rerun_100k_ms": smallest.get("history_rerun_ms"),
        "metric_filter_page_ms": biggest["metric_filter_page_ms"],
        "metric_filter_count_ms": biggest["metric_filter_count_ms"],
        "metric_sort_page_ms": biggest["metric_sort_page_ms"],
        "detail_readings_ms": biggest["detail_readings_ms"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

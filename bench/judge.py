"""Measures the adherence judge against its loopback fake (harness/fake_judge.py):

- `judge_overhead_ms`: the workbench's own time per judged image, excluding the provider's
  latency: (wall time of a batch − time spent waiting on `generateContent`) / images, with one
  call at a time. It covers planning, the cache checks, reading and hashing the image, the
  request body, reservations, the ledger rows and the stored answers.
- `calibration_ms`: the calibration table (five rows × three agreements and the question
  categories, 1,000 bootstrap rounds each) on 10,000 simulated votes.
- `cost_per_image_usd`: billed cost of one answers call at the fake's token counts, and with
  the prompt's question call shared over the batch (`cost_per_image_with_questions_usd`).
- `leaderboard_judge_cold_ms`: the Leaderboard's machine-judged aggregates (mean adherence per
  model and prompt category; per question category the questions missed and each image's
  sub-score: one SQL statement, the memo forgotten) on a log of `--rows` generations of which
  `--judged` are judged (six questions each, a tenth of them on two question-set versions),
  DuckDB; and `leaderboard_judge_empty_ms`, the same reads before anything is judged.

    .venv/bin/python bench/judge.py [--images 40] [--votes 10000] [--rows 100000] [--judged 5000]
                                    [--only-leaderboard] [--pg]

`--pg` times the Leaderboard's aggregates on a throwaway PostgreSQL server instead
(`pg_leaderboard_judge_cold_ms`, `pg_leaderboard_judge_empty_ms`).

Targets: judge_overhead_ms <= 20, calibration_ms <= 200. The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness.fake_judge import FakeGeminiJudge  # noqa: E402
from harness.judge_data import KEY, add_scene  # noqa: E402
from harness.judge_scenes import Disc, Scene  # noqa: E402
from workbench.config import load_settings  # noqa: E402
from workbench.domain.filters import HistoryFilter  # noqa: E402
from workbench.services.evidence.judge import calibration, judging  # noqa: E402
from workbench.services.workbench import open_workbench  # noqa: E402


def overhead(images: int) -> tuple[float, float, float, float]:
    """(overhead ms per image, provider ms per image, cost per image, with questions)."""
    os.environ.pop("WORKBENCH_JUDGE_MODEL", None)
    with tempfile.TemporaryDirectory() as tmp, FakeGeminiJudge(key=KEY) as fake:
        env = {"WORKBENCH_DATA_DIR": str(Path(tmp) / "data"), "GEMINI_API_KEY": KEY,
               "GEMINI_BASE_URL": fake.url}
        wb = open_workbench(load_settings(env=env, secrets_file=Path(tmp) / "none.toml"),
                            idle_close_s=0)
        try:
            ids = [
                add_scene(wb, Scene((Disc("red", 40 + i % 60, 60), Disc("red", 60, 140),
                                     Disc("blue", 200, 90 + i % 40)), "OPEN"), run_id="run_b")
                for i in range(images)
            ]
            started = time.perf_counter()
            planned = judging.plan(wb, run_id="run_b")
            report = judging.execute(wb, planned, concurrency=1)
            wall = time.perf_counter() - started
            assert len(report.scored) == len(ids), report.lines()
            with wb.db.cursor() as cur:
                rows = cur.execute(
                    "SELECT kind, sum(cost_usd), count(*) FROM judge_calls GROUP BY kind"
                ).fetchall()
        finally:
            wb.close()
    costs = {kind: (float(total), int(n)) for kind, total, n in rows}
    per_image = costs["answers"][0] / costs["answers"][1]
    with_questions = (costs["answers"][0] + costs["questions"][0]) / images
    return ((wall - report.provider_s) * 1000 / images, report.provider_s * 1000 / images,
            per_image, with_questions)


def calibration_time(votes: int, repeats: int = 5) -> float:
    rng = np.random.default_rng(1)
    prompts = max(votes // 5, 1)
    human = rng.choice(3, size=votes, p=[0.45, 0.4, 0.15])
    flip = rng.random(votes) < 0.2
    judge = np.where(flip, (human + 1) % 3, human)
    stars = np.where(rng.random(votes) < 0.3, (human + 2) % 3, human)
    rows = [("complex", "adherence", "all"), ("minimal", "adherence", "all"), ("text", "all")]
    cats = ("entity", "count", "spatial", "text")
    items = [
        calibration.VoteItem(
            f"prompt {i % prompts}", rows[i % 3], int(human[i]), int(judge[i]), int(stars[i]),
            {c: int((judge[i] + (j == 2 and flip[i])) % 3) for j, c in enumerate(cats)},
        )
        for i in range(votes)
    ]
    people = [calibration.PeoplePair(f"prompt {i}", rows[i % 3], int(human[i]),
                                     int(stars[i])) for i in range(votes // 10)]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        calibration.calibrate(items, people, "bench")
        best = min(best, time.perf_counter() - started)
    return best * 1000


QUESTIONS = json.dumps([
    {"id": 1, "question": "Is there a red circle?", "category": "entity", "parents": []},
    {"id": 2, "question": "Are there exactly 2 red circles?", "category": "count",
     "parents": [1]},
    {"id": 3, "question": "Is the red circle on the left side?", "category": "spatial",
     "parents": [1]},
    {"id": 4, "question": "Is there a blue circle?", "category": "entity", "parents": []},
    {"id": 5, "question": "Is the blue circle on the right side?", "category": "spatial",
     "parents": [4]},
    {"id": 6, "question": 'Does the image show the text "OPEN"?', "category": "text",
     "parents": []},
])


def _fill_judged(cur: object, rows: int, judged: int, log: bool = True) -> None:
    """`rows` generations (each its own image, 500 prompts, nine categories, four models),
    then `judged` of them scored, a tenth on a second question-set version too."""
    execute = cur.execute  # type: ignore[attr-defined]
    if log:
        execute(
            "INSERT INTO generations (id, created_at, status, model, provider, prompt_written,"
            " prompt, params, latency_ms, cost_usd, cost_kind, image_sha256, category)"
            " SELECT 'gen_' || lpad(i::VARCHAR, 9, '0'), TIMESTAMP '2026-01-01' + to_seconds(i),"
            " CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END,"
            " (['nano-banana-2', 'flux-2-pro', 'flux-2-max', 'nano-banana-pro'])[1 + i % 4],"
            " 'gemini', 'prompt ' || (i % 500)::VARCHAR, 'prompt ' || (i % 500)::VARCHAR, '{}',"
            " 1000, 0.04, 'known', 'sha_' || i::VARCHAR,"
            " (['portrait', 'landscape', 'texture', 'complex', 'minimal', 'text', 'product',"
            "   'fashion', 'architecture'])[1 + i % 9]"
            " FROM range(?) t(i)", [rows])
        for version in (1, 2):
            execute(
                "INSERT INTO judge_question_sets (id, prompt_hash, prompt, judge_model, version,"
                " source, questions, created_at) SELECT 'qs_' || ?::VARCHAR || '_' || p::VARCHAR,"
                " 'h' || p::VARCHAR, 'prompt ' || p::VARCHAR, 'gemini-3.8-flash', ?,"
                " 'generated', ?, now() FROM range(500) t(p)", [version, version, QUESTIONS])
    if not judged:
        return
    step = max(rows // max(judged, 1), 1)
    execute(
        "INSERT INTO judge_scores (image_sha256, question_set_id, judge_model, score, answers,"
        " call_id, created_at)"
        " SELECT 'sha_' || i::VARCHAR, 'qs_' || v::VARCHAR || '_' || (i % 500)::VARCHAR,"
        " 'gemini-3.8-flash', ((i % 7) + v) / 8.0,"
        " '[' || string_agg('{\"id\": ' || q::VARCHAR || ', \"answer\": \"yes\",'"
        "  || ' \"counted\": ' || CASE WHEN (i + q) % 3 = 0 THEN 'false' ELSE 'true' END"
        "  || ', \"reason\": \"seen\"}', ', ') || ']', 'call', now()"
        " FROM (SELECT k, 1 + k * ? + k % 3 AS i FROM range(?) t(k)) j, range(1, 7) u(q),"
        " range(1, 3) w(v) WHERE v = 1 OR k % 10 = 0 GROUP BY i, v",
        [step, judged])


def _fill_judged_pg(cur: object, rows: int, judged: int, log: bool = True) -> None:
    """`_fill_judged` on PostgreSQL (generate_series, arrays from 1)."""
    execute = cur.execute  # type: ignore[attr-defined]
    if log:
        execute(
            "INSERT INTO generations (id, created_at, status, model, provider, prompt_written,"
            " prompt, params, latency_ms, cost_usd, cost_kind, image_sha256, category)"
            " SELECT 'gen_' || lpad(i::text, 9, '0'),"
            " TIMESTAMP '2026-01-01' + i * INTERVAL '1 second',"
            " CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END,"
            " (ARRAY['nano-banana-2', 'flux-2-pro', 'flux-2-max', 'nano-banana-pro'])[1 + i % 4],"
            " 'gemini', 'prompt ' || (i % 500), 'prompt ' || (i % 500), '{}',"
            " 1000, 0.04, 'known', 'sha_' || i,"
            " (ARRAY['portrait', 'landscape', 'texture', 'complex', 'minimal', 'text', 'product',"
            "   'fashion', 'architecture'])[1 + i % 9]"
            " FROM generate_series(0, ? - 1) AS t(i)", [rows])
        for version in (1, 2):
            execute(
                "INSERT INTO judge_question_sets (id, prompt_hash, prompt, judge_model, version,"
                " source, questions, created_at) SELECT 'qs_' || ?::text || '_' || p,"
                " 'h' || p, 'prompt ' || p, 'gemini-3.8-flash', ?, 'generated', ?,"
                " now() FROM generate_series(0, 499) AS t(p)", [version, version, QUESTIONS])
    if not judged:
        return
    step = max(rows // max(judged, 1), 1)
    execute(
        "INSERT INTO judge_scores (image_sha256, question_set_id, judge_model, score, answers,"
        " call_id, created_at)"
        " SELECT 'sha_' || i, 'qs_' || v || '_' || (i % 500),"
        " 'gemini-3.8-flash', ((i % 7) + v) / 8.0,"
        " '[' || string_agg('{\"id\": ' || q || ', \"answer\": \"yes\",'"
        "  || ' \"counted\": ' || CASE WHEN (i + q) % 3 = 0 THEN 'false' ELSE 'true' END"
        "  || ', \"reason\": \"seen\"}', ', ') || ']', 'call', now()"
        " FROM (SELECT k, 1 + k * ? + k % 3 AS i FROM generate_series(0, ? - 1) AS t(k)) j,"
        " generate_series(1, 6) AS u(q), generate_series(1, 2) AS w(v)"
        " WHERE v = 1 OR k % 10 = 0 GROUP BY i, v",
        [step, judged])
    execute("ANALYZE")


@contextmanager
def _database(pg: bool) -> Iterator[str | None]:
    """A throwaway PostgreSQL database (harness/pg_cluster.py) when `pg`, else None."""
    if not pg:
        yield None
        return
    from harness.pg_cluster import PgCluster

    cluster = PgCluster().start()
    try:
        yield cluster.create_database(f"wb_judge_bench_{os.getpid()}")
    finally:
        cluster.stop()


def judge_evidence_time(
    rows: int, judged: int, repeats: int = 5, pg: bool = False
) -> tuple[float, float]:
    """(cold ms of the Leaderboard's judge aggregates with nothing judged, with `judged`)."""
    with tempfile.TemporaryDirectory() as tmp, _database(pg) as url:
        env = {"WORKBENCH_DATA_DIR": str(Path(tmp) / "data")}
        if url:
            env["WORKBENCH_DATABASE_URL"] = url
        wb = open_workbench(load_settings(env=env, secrets_file=Path(tmp) / "none.toml"),
                            idle_close_s=0)
        fill = _fill_judged_pg if pg else _fill_judged
        f = HistoryFilter(include_offline=False)
        reads = wb.judge_evidence

        def cold(expect: bool) -> float:
            best = float("inf")
            for _ in range(repeats):
                reads.memo.forget()
                started = time.perf_counter()
                found = reads.sums(f, "gemini-3.8-flash")
                best = min(best, time.perf_counter() - started)
            assert bool(found.scores) == expect, "aggregated the wrong rows"
            return best * 1000

        try:
            with wb.db.cursor() as cur:
                fill(cur, rows, 0, log=True)
            empty = cold(False)
            with wb.db.cursor() as cur:
                fill(cur, rows, judged, log=False)
                cur.execute("ANALYZE" if pg else "CHECKPOINT")
            return empty, cold(judged > 0)
        finally:
            wb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--votes", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--judged", type=int, default=5_000)
    parser.add_argument("--only-leaderboard", action="store_true",
                        help="measure the Leaderboard's judge aggregates only")
    parser.add_argument("--pg", action="store_true",
                        help="the Leaderboard's judge aggregates on a throwaway PostgreSQL")
    args = parser.parse_args()
    empty_ms, judged_ms = judge_evidence_time(args.rows, args.judged, pg=args.pg)
    print(f"Leaderboard judge aggregates on {args.rows:,} generations: {empty_ms:.1f} ms with "
          f"none judged, {judged_ms:.1f} ms with {args.judged:,} judged (cold, best of 5)")
    prefix = "pg_" if args.pg else ""
    figures: dict[str, object] = {
        f"{prefix}leaderboard_judge_cold_ms": round(judged_ms, 1),
        f"{prefix}leaderboard_judge_empty_ms": round(empty_ms, 1),
        "rows": args.rows, "judged": args.judged,
    }
    if args.only_leaderboard:
        print(json.dumps(figures))
        return
    own_ms, provider_ms, per_image, with_questions = overhead(args.images)
    print(f"judged {args.images} images one call at a time: workbench {own_ms:.1f} ms per "
          f"image, fake provider {provider_ms:.1f} ms per image")
    cal_ms = calibration_time(args.votes)
    print(f"calibration table on {args.votes:,} votes: {cal_ms:.1f} ms (best of 5)")
    print(f"cost per judged image at the fake's token counts: ${per_image:.6f} "
          f"(${with_questions:.6f} with the question call shared)")
    print(json.dumps({
        "judge_overhead_ms": round(own_ms, 2),
        "provider_ms_per_image": round(provider_ms, 2),
        "calibration_ms": round(cal_ms, 1),
        "votes": args.votes,
        "cost_per_image_usd": round(per_image, 8),
        "cost_per_image_with_questions_usd": round(with_questions, 8),
        "images": args.images,
        **figures,
    }))


if __name__ == "__main__":
    main()

"""Measures the adherence judge against its loopback fake (harness/fake_judge.py):

- `judge_overhead_ms`: the workbench's own time per judged image, excluding the provider's
  latency: (wall time of a batch − time spent waiting on `generateContent`) / images, with one
  call at a time. It covers planning, the cache checks, reading and hashing the image, the
  request body, reservations, the ledger rows and the stored answers.
- `calibration_ms`: the calibration table (five rows × three agreements and the question
  categories, 1,000 bootstrap rounds each) on 10,000 simulated votes.
- `cost_per_image_usd`: billed cost of one answers call at the fake's token counts, and with
  the prompt's question call shared over the batch (`cost_per_image_with_questions_usd`).

    .venv/bin/python bench/judge.py [--images 40] [--votes 10000]

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness.fake_judge import FakeGeminiJudge  # noqa: E402
from harness.judge_data import KEY, add_scene  # noqa: E402
from harness.judge_scenes import Disc, Scene  # noqa: E402
from workbench.config import load_settings  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--votes", type=int, default=10_000)
    args = parser.parse_args()
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
    }))


if __name__ == "__main__":
    main()

"""How fast the Leaderboard's rater figures are on a big log: the rater filter's choices,
per-rater consistency and inter-rater agreement (Krippendorff's α per criterion and the
shared-pair vote agreement), with the same service calls the page makes.

The log is bench/history.py's synthetic one (1,000,000 generations by default, 2% of the
succeeded ones rated by "me"); on top of it three more raters rate 20,000 of those images on
two criteria (half of them by two or more raters), and 50,000 arena votes by five raters fall
on 10,000 image pairs (each pair judged once by each rater). Each figure is the median of several
runs after one warm-up. Last line: one JSON object.

Usage: .venv/bin/python bench/raters.py [--rows 1000000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.history import fill, timed  # noqa: E402
from workbench.config import load_settings  # noqa: E402
from workbench.services.evidence import leaderboard as lb_service  # noqa: E402
from workbench.services.workbench import Workbench, open_workbench  # noqa: E402

RATERS = ["ann", "bob", "cy", "dee", "eve"]


def add_raters(wb: Workbench) -> None:
    with wb.db.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE rated AS SELECT id, model, provider, row_number() OVER () AS k"
            " FROM generations WHERE status = 'succeeded' AND provider <> 'offline' LIMIT 20000"
        )
        for n, rater in enumerate(RATERS[:3]):
            for criterion in ("overall", "realism"):
                # ann rates every image, bob and cy each a quarter: half have two or more raters
                cur.execute(
                    "INSERT INTO ratings (id, generation_id, criterion, stars, rater, created_at,"
                    " model, provider) SELECT nextval('ratings_id_seq'), id, ?,"
                    " 1 + ((k + ?) % 5)::INTEGER, ?, now(), model, provider FROM rated"
                    " WHERE ? = 0 OR k % 4 = ?",
                    [criterion, n, rater, n, n - 1],
                )
        cur.execute(
            "INSERT INTO votes (id, created_at, left_generation_id, right_generation_id,"
            " left_model, right_model, left_provider, right_provider, criterion, winner,"
            " rater, is_repeat, fingerprint)"
            " SELECT nextval('votes_id_seq'), now(), a.id, b.id, a.model, b.model, a.provider,"
            " b.provider, 'overall', (['left', 'right', 'tie'])[1 + (v % 3)],"
            " (?::VARCHAR[])[1 + (v // 10000) % 5], false, 'bench-' || v::VARCHAR"
            " FROM range(50000) t(v) JOIN rated a ON a.k = 1 + (v % 10000) * 2"
            " JOIN rated b ON b.k = 2 + (v % 10000) * 2",
            [RATERS],
        )
        cur.execute("CHECKPOINT")


def measure(rows: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            env={"WORKBENCH_DATA_DIR": tmp}, secrets_file=Path(tmp) / "none.toml"
        )
        wb = open_workbench(settings, idle_close_s=5)
        started = time.perf_counter()
        fill(wb, rows)
        add_raters(wb)
        fill_s = time.perf_counter() - started
        everyone = lb_service.leaderboard_filter()
        two = lb_service.leaderboard_filter(raters=["ann", "bob"])
        found = lb_service.agreement(wb, everyone)
        assert found.stars["overall"].units >= 10_000, found.stars["overall"]  # + "me" overlap
        assert found.votes.pairs == 10_000, found.votes
        figures = {
            "rows": rows,
            "fill_s": round(fill_s, 1),
            "rater_choices_ms": timed(lambda: lb_service.rater_names(wb), repeat),
            "agreement_ms": timed(lambda: lb_service.agreement(wb, everyone), repeat),
            "agreement_two_raters_ms": timed(lambda: lb_service.agreement(wb, two), repeat),
            "consistency_by_rater_ms": timed(
                lambda: lb_service.consistency_by_rater(wb, everyone), repeat
            ),
        }
        wb.close()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    figures = measure(args.rows, args.repeat)
    print(", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

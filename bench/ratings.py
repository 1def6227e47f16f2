"""How fast the ratings are: Bradley–Terry fit plus a 100-round bootstrap for 10 models and
50,000 votes, and the Leaderboard's data with those votes in a database, cold and warm.

1. `fit_bootstrap_s`: from 50,000 raw votes (simulated from known strengths, with ties) to the
   finished table: aggregate, fit, 100 bootstrap refits, Rank(UB). Median of --repeat runs.
2. The same votes written to a temporary database (with 20,000 generations for the measured
   columns and 2,000 star ratings), then `services.leaderboard.build_leaderboard` and every
   frame the page draws from it: cold (empty fit cache) and warm (unchanged votes: cached).
3. When `workbench/ui/leaderboard.py` calls the leaderboard service, the whole page rerun in
   Streamlit's AppTest (`leaderboard_rerun_s`). When it does not (yet), the warm service call
   stands in for it and is named `leaderboard_service_warm_s`; the line before the JSON says so.
Last line: one JSON object.

Usage: .venv/bin/python bench/ratings.py [--votes 50000] [--models 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from workbench.config import load_settings  # noqa: E402
from workbench.domain.catalog import load_catalog  # noqa: E402
from workbench.services.evidence import leaderboard  # noqa: E402
from workbench.services.workbench import Workbench, open_workbench  # noqa: E402
from workbench.stats.bradley_terry import SCALE, PairCounts, rate  # noqa: E402
from workbench.store.votes import NewVote  # noqa: E402

PAGE = ROOT / "workbench" / "ui" / "leaderboard.py"
CATEGORIES = ["portrait", "landscape", "texture", "product", "text"]


def model_names(k: int) -> list[str]:
    names = list(load_catalog().ids)
    return (names + [f"extra-model-{i}" for i in range(k)])[:k]


def simulate(k: int, n: int, seed: int = 1) -> tuple[list[str], list[str], list[str]]:
    """n votes among k models, strongest first, 80 points apart; 10% ties, 3% both bad."""
    rng = np.random.default_rng(seed)
    names = model_names(k)
    strength = np.linspace(1000 + 40 * (k - 1), 1000 - 40 * (k - 1), k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p_left = 1 / (1 + 10 ** ((strength[b] - strength[a]) / SCALE))
    u = rng.random(n)
    winner = np.where(u < 0.10, "tie", np.where(u < 0.13, "both_bad",
                      np.where(rng.random(n) < p_left, "left", "right")))
    return [names[i] for i in a], [names[i] for i in b], list(winner)


def median_s(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(first run, median of the following runs), in seconds."""
    started = time.perf_counter()
    fn()
    first = time.perf_counter() - started
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return round(first, 4), round(statistics.median(samples), 4)


def fill(wb: Workbench, left: list[str], right: list[str], winner: list[str]) -> float:
    names = sorted(set(left) | set(right))
    start = datetime(2026, 1, 1)
    started = time.perf_counter()
    votes = [
        NewVote(left_model=a, right_model=b, winner=w, criterion="overall",
                left_provider="bfl", right_provider="gemini",
                category=CATEGORIES[i % len(CATEGORIES)], prompt=f"prompt {i % 500}",
                created_at=start + timedelta(seconds=i))
        for i, (a, b, w) in enumerate(zip(left, right, winner, strict=True))
    ]
    wb.votes.add_many(votes)
    with wb.db.cursor() as cur:
        cur.execute(
            """
            INSERT INTO generations (id, created_at, finished_at, status, model, provider,
                prompt_written, prompt, latency_ms, cost_usd, cost_kind, category)
            SELECT 'gen_' || lpad(i::VARCHAR, 8, '0'), ?::TIMESTAMP, ?::TIMESTAMP,
                   CASE WHEN i % 25 = 0 THEN 'failed' ELSE 'succeeded' END,
                   (?::VARCHAR[])[1 + i % ?], 'bfl', 'prompt', 'prompt',
                   2000 + (i * 7919) % 15000, 0.02 + (i % ?) * 0.01, 'known',
                   (?::VARCHAR[])[1 + i % 5]
            FROM range(20000) t(i)
            """,
            [start, start, names, len(names), len(names), CATEGORIES],
        )
        cur.execute(
            "INSERT INTO ratings (id, generation_id, criterion, stars, rater, created_at)"
            " SELECT nextval('ratings_id_seq'), id, 'skin_warmth', 1 + (hash(id) % 5)::INTEGER,"
            " 'me', created_at FROM generations WHERE status = 'succeeded' AND hash(id) % 9 = 0"
            " LIMIT 2000"
        )
        cur.execute("CHECKPOINT")
    return round(time.perf_counter() - started, 2)


def page_data(wb: Workbench) -> None:
    """What the Leaderboard page needs from the service for one rerun."""
    board = leaderboard.build_leaderboard(wb)
    board.bt_frame("overall")
    board.overview_frame()
    board.verdict(list(board.models)[:2]).frame()
    board.score_vs("overall", "cost")
    board.score_vs("overall", "latency")
    board.win_rate_frame("overall")
    board.vote_count_frame("overall")
    leaderboard.category_boards(wb, "overall")
    leaderboard.consistency(wb)


def page_uses_service() -> bool:
    """Whether the page exists and draws on `services.leaderboard` (else its rerun would not
    include the Bradley–Terry tables and is not the figure the issue asks for)."""
    if not PAGE.is_file():
        return False
    source = PAGE.read_text()
    return "services.leaderboard" in source or "services import leaderboard" in source


def page_rerun_s(data_dir: str, repeat: int) -> tuple[float, float]:
    """(first run, median rerun) of the Leaderboard page in AppTest, in seconds."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["WORKBENCH_DATA_DIR"] = data_dir
    st.cache_resource.clear()
    leaderboard.FITS.clear()

    def leaderboard_page() -> None:
        from workbench.ui import leaderboard as page

        page.render()

    app = AppTest.from_function(leaderboard_page, default_timeout=120)
    started = time.perf_counter()
    app.run()
    first = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(f"the Leaderboard page failed: {app.exception}")
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        app.run()
        samples.append(time.perf_counter() - started)
    st.cache_resource.clear()
    return round(first, 3), round(statistics.median(samples), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=50_000)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    left, right, winner = simulate(args.models, args.votes)
    result = None

    def fit_from_raw_votes() -> None:
        nonlocal result
        result = rate(PairCounts.from_votes(left, right, winner))

    first, fit_s = median_s(fit_from_raw_votes, args.repeat)
    counts = PairCounts.from_votes(left, right, winner)
    _, fit_only_s = median_s(lambda: rate(counts), args.repeat)
    assert result is not None  # set by the timed runs of fit_from_raw_votes
    order = [r.model for r in result.ranked]
    truth = model_names(args.models)  # listed strongest first
    print(f"fit + 100-round bootstrap, {args.models} models, {args.votes:,} votes: "
          f"{fit_s:.3f} s median (first run {first:.3f} s; {fit_only_s:.3f} s of it after "
          f"aggregation); order recovered: {order == truth}", flush=True)

    figures: dict[str, object] = {
        "models": args.models, "votes": args.votes, "fit_bootstrap_s": fit_s,
        "fit_bootstrap_after_aggregation_s": fit_only_s,
    }
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={"WORKBENCH_DATA_DIR": tmp},
                                 secrets_file=Path(tmp) / "none.toml")
        wb = open_workbench(settings, idle_close_s=5)
        figures["fill_s"] = fill(wb, left, right, winner)
        leaderboard.FITS.clear()
        started = time.perf_counter()
        page_data(wb)
        cold = round(time.perf_counter() - started, 3)
        _, warm = median_s(lambda: page_data(wb), args.repeat)
        figures["leaderboard_service_cold_s"] = cold
        figures["leaderboard_service_warm_s"] = warm
        print(f"leaderboard service with {args.votes:,} votes in DuckDB: cold {cold:.3f} s, "
              f"warm {warm:.3f} s (fit cache hits {leaderboard.FITS.hits}, misses "
              f"{leaderboard.FITS.misses})", flush=True)
        wb.close()
        if page_uses_service():
            page_first, page_warm = page_rerun_s(tmp, args.repeat)
            figures["leaderboard_page_first_run_s"] = page_first
            figures["leaderboard_rerun_s"] = page_warm
            print(f"Leaderboard page in AppTest: first run {page_first:.3f} s, rerun "
                  f"{page_warm:.3f} s", flush=True)
        else:
            figures["leaderboard_rerun_source"] = "leaderboard_service_warm_s"
            print("workbench/ui/leaderboard.py does not call services.leaderboard yet, so the "
                  "page rerun is not measured; leaderboard_service_warm_s (the same data, warm "
                  "cache) stands in for leaderboard_rerun_s.", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

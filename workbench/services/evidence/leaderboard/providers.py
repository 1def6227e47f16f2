"""The provider board: for each model that several providers offer (Nano Banana 2 on the
Gemini API, Replicate and fal; FLUX.2 Pro on BFL, Replicate and fal), how each provider did on
your own prompts: median and 95th-percentile latency, success, moderation and failure rates and
the mean cost of an image, each with its n. Like lumenfall's provider board, on your runs.

Offline sketches are not a provider of a model and never appear. Rates are over finished
attempts (succeeded, failed or moderated); latencies over successes. A model appears once any
of its providers has a finished attempt in the selection; its other offers are then listed with
n = 0, so what has not been tried shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.domain.catalog import OFFLINE, PROVIDER_LABELS
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench

COLUMNS = (
    "model", "provider", "attempts", "success_rate", "moderation_rate", "failure_rate",
    "latency_p50_s", "latency_p95_s", "timed", "cost_per_image_usd", "cost_has_estimates",
)


@dataclass(frozen=True)
class ProviderBoard:
    rows: list[dict[str, Any]]  # COLUMNS, one per offer, models in catalog order
    names: dict[str, str]  # model id -> name

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(COLUMNS))

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def attempts(self) -> int:
        return sum(int(r["attempts"]) for r in self.rows)

    def display(self) -> pd.DataFrame:
        """The board as people read it: names, percentages and seconds with their n."""
        if not self.rows:
            return pd.DataFrame()

        def rate(value: float | None, n: int) -> str:
            return "–" if value is None else f"{value:.0%} (n={n:,})"

        def seconds(value: float | None, n: int) -> str:
            return "–" if value is None else f"{value:,.1f} s (n={n:,})"

        def cost(value: float | None, estimated: bool) -> str:
            return "–" if value is None else f"{'≈' if estimated else ''}${value:,.4f}"

        shown = []
        for r in self.rows:
            n, timed = int(r["attempts"]), int(r["timed"])
            shown.append({
                "Model": self.names.get(r["model"], r["model"]),
                "Provider": PROVIDER_LABELS.get(r["provider"], r["provider"]),
                "Attempts": n,
                "Success": rate(r["success_rate"], n),
                "Moderated": rate(r["moderation_rate"], n),
                "Failed": rate(r["failure_rate"], n),
                "Latency p50": seconds(r["latency_p50_s"], timed),
                "Latency p95": seconds(r["latency_p95_s"], timed),
                "Cost per image": cost(r["cost_per_image_usd"], bool(r["cost_has_estimates"])),
            })
        return pd.DataFrame(shown)


def provider_board(wb: Workbench, f: HistoryFilter) -> ProviderBoard:
    """The board for the Leaderboard's filter (its provider choice narrows the offers)."""
    shared = [
        m for m in wb.catalog.models
        if len([o for o in m.offers if o.provider != OFFLINE]) >= 2
    ]
    real = f.model_copy(update={"include_offline": False})
    measured = {(r.model, r.provider): r for r in wb.performance.by_offer(real)}
    rows = []
    for model in shared:
        for offer in model.offers:
            if offer.provider == OFFLINE or (f.providers and offer.provider not in f.providers):
                continue
            if f.models and model.id not in f.models:
                continue
            r = measured.get((model.id, offer.provider))
            attempts = r.attempts if r else 0

            def share(count: int, attempts: int = attempts) -> float | None:
                return count / attempts if attempts else None

            p50, p95 = (r.latency_p50_ms, r.latency_p95_ms) if r else (None, None)
            cost = r.cost_per_image_usd if r else None
            rows.append({
                "model": model.id, "provider": offer.provider, "attempts": attempts,
                "success_rate": share(r.succeeded if r else 0),
                "moderation_rate": share(r.moderated if r else 0),
                "failure_rate": share(r.failed if r else 0),
                "latency_p50_s": None if p50 is None else float(p50) / 1000,
                "latency_p95_s": None if p95 is None else float(p95) / 1000,
                "timed": r.timed if r else 0,
                "cost_per_image_usd": None if cost is None else float(cost),
                "cost_has_estimates": bool(r and r.cost_has_estimates),
            })
    tried = {r["model"] for r in rows if r["attempts"]}  # models with no attempt: left out
    return ProviderBoard(
        [r for r in rows if r["model"] in tried], {m.id: m.name for m in wb.catalog.models}
    )

"""Generations for arena, vote and leaderboard tests, written straight into the log (no
provider call): each succeeded one gets its own small PNG, so images never collide."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from workbench.domain.ids import new_id
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome


def png(seed: str) -> bytes:
    digest = hashlib.sha256(seed.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), tuple(digest[:3])).save(buffer, format="PNG")
    return buffer.getvalue()


def add_generation(
    wb: Workbench, model: str, prompt: str, *, provider: str = "gemini",
    category: str | None = None, template_id: str | None = None, status: str = "succeeded",
    latency_ms: float | None = 1000.0, cost_usd: float | None = 0.04,
    parent_id: str | None = None, error_kind: str | None = None,
) -> str:
    generation_id = new_id("gen")
    wb.attempts.insert_pending(
        NewGeneration(
            id=generation_id, model=model, provider=provider, prompt=prompt,
            prompt_written=prompt, category=category, template_id=template_id,
            parent_id=parent_id,
        )
    )
    image = wb.images.put(png(generation_id)) if status == "succeeded" else None
    wb.attempts.complete(
        generation_id,
        Outcome(
            status=status, latency_ms=latency_ms, cost_usd=cost_usd,
            cost_kind="known" if cost_usd is not None else "unknown", image=image,
            error_kind=error_kind or ("moderated" if status == "moderated" else (
                "server" if status == "failed" else None)),
        ),
    )
    return generation_id


def delete_generation(wb: Workbench, generation_id: str) -> None:
    with wb.db.cursor() as cur:
        cur.execute("DELETE FROM generations WHERE id = ?", [generation_id])

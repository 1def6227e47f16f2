"""Runs of offline sketches for the provenance, report and trade-off tests (and the bench)."""

from __future__ import annotations

from workbench.services.runs.generation import GenerateRequest
from workbench.services.runs.runner import Cell, start_run
from workbench.services.workbench import Workbench

PROMPTS = (
    "A red kite over dunes, late afternoon",
    'A kettle on oak <img src="https://example.com/x.png"> [click](https://example.com)',
)


def offline_run(
    wb: Workbench, n: int = 4, models: tuple[str, ...] = ("nano-banana-2", "flux-2-pro"),
    prompts: tuple[str, ...] = PROMPTS, kind: str = "compare", category: str | None = None,
) -> str:
    """A finished run of `n` seeds × models × prompts on the offline renderer; its id."""
    cells = [
        Cell(
            f"{model}|{p}|{seed}",
            GenerateRequest(
                model=model, provider="offline", prompt=prompt, seed=seed + 1,
                aspect_ratio="1:1", category=category,
            ),
            {"model": model, "seed": str(seed)},
        )
        for model in models
        for p, prompt in enumerate(prompts)
        for seed in range(n)
    ]
    handle = start_run(wb, kind, "test run", cells)
    progress = handle.run_sync()
    assert progress.succeeded == len(cells)
    return handle.run_id

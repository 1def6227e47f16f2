"""Turns what the Compare and Matrix pages (and the command line) ask for into run cells, and a
run's log rows back into a labelled grid.

Compare: one intent on several models, K variations each; when the intent is slot values, each
model gets the text its own default template assembles from them. Matrix: the cartesian product
of prompt variants x models x seeds x aspect ratios, each cell labelled on every axis.

Size comes before the work: every builder takes a `limit` and counts its cells from the factors
(a product of lengths) before it builds one, so a grid too large is refused at once, not after
minutes and gigabytes of cells (`TooManyCells`). The Matrix page's limit is `MATRIX_MAX_CELLS`;
the command line asks for `--max-images` past `LARGE_RUN_IMAGES`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.domain.catalog import ModelSpec, ratios_for
from workbench.domain.suites import Suite, count_prompt_lines
from workbench.domain.templates import Slot
from workbench.errors import InvalidInput
from workbench.services.runs.generation import GenerateRequest
from workbench.services.runs.runner import Cell
from workbench.services.workbench import Workbench
from workbench.store.records import RunCell

AXES = ("prompt", "model", "seed", "aspect_ratio")
MATRIX_MAX_CELLS = 500  # one Matrix run: what its grid can show and a person can look through
LARGE_RUN_IMAGES = 5_000  # a command-line run past this needs --max-images


class TooManyCells(InvalidInput):
    """A grid larger than its limit, counted from its factors before any cell was built."""

    def __init__(self, count: int, limit: int, factors: str) -> None:
        super().__init__(f"{count:,} images ({factors}) is more than {limit:,}.")
        self.count = count
        self.limit = limit
        self.factors = factors


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _check(count: int, limit: int | None, factors: list[tuple[int, str]]) -> None:
    if limit is not None and count > limit:
        raise TooManyCells(count, limit, " × ".join(_plural(n, w) for n, w in factors))


def matrix_size(
    variants: list[Variant],
    providers: dict[str, str],
    seeds: list[int | None],
    aspect_ratios: list[str | None],
) -> int:
    """How many cells `matrix_cells` builds for these axes (an empty seed or ratio axis is one
    cell: a random seed, the model's default ratio)."""
    return len(variants) * len(providers) * max(len(seeds), 1) * max(len(aspect_ratios), 1)


def suite_size(suite: Suite, providers: dict[str, str], seeds: list[int | None]) -> int:
    """How many cells `suite_cells` builds."""
    return len(suite.prompts) * len(providers) * max(len(seeds), 1)


def check_prompt_file(source: str, models: int, variations: int, limit: int | None) -> None:
    """For a plain-text prompt file (`workbench run prompts.txt`): `TooManyCells` when its
    prompt lines x `models` x `variations` is over `limit`, counted before any line is checked
    (checking 10,000 lines takes seconds). Suite ids and `.toml` suites are counted by
    `suite_cells` once loaded; a file that cannot be read is left to the loader to explain."""
    path = Path(source)
    if limit is None or path.suffix.lower() == ".toml" or not path.is_file():
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return
    prompts = count_prompt_lines(text)
    _check(
        prompts * models * variations,
        limit,
        [(prompts, "prompt"), (models, "model"), (variations, "variation")],
    )


@dataclass(frozen=True)
class Variant:
    """One prompt on the prompt axis: a label, plain text or slot values, and its category."""

    label: str
    text: str = ""
    slots: dict[str, str] | None = None
    category: str | None = None
    expected_text: str | None = None
    key: str | None = None  # names the intent (a suite entry); by default a hash of its content

    @property
    def prompt_key(self) -> str:
        """Ties the texts different model families receive for this one intent together."""
        if self.key:
            return self.key
        content = json.dumps([self.text, self.slots], sort_keys=True)
        return "intent:" + hashlib.sha256(content.encode()).hexdigest()[:16]


def common_aspect_ratios(
    wb: Workbench, model_ids: list[str], providers: dict[str, str] | None = None
) -> list[str]:
    """The aspect ratios every one of these models takes on its chosen provider (any of its
    providers when none is chosen yet); none for no models."""
    sets = []
    for model_id in model_ids:
        model = wb.catalog.model(model_id)
        chosen = (providers or {}).get(model_id)
        names = [chosen] if chosen else list(model.providers)
        sets.append({r for p in names for r in ratios_for(model, p)})
    return sorted(set.intersection(*sets)) if sets else []


def union_slots(wb: Workbench, model_ids: list[str]) -> list[Slot]:
    """The slots of the chosen models' default templates, each once, in template order."""
    seen: dict[str, Slot] = {}
    for model_id in model_ids:
        template = wb.templates.get(wb.catalog.model(model_id).default_template)
        for slot in template.slots:
            if slot.kind == "text":
                seen.setdefault(slot.id, slot)
    return list(seen.values())


def text_for(wb: Workbench, model: ModelSpec, variant: Variant) -> tuple[str, str, dict | None]:
    """(prompt, template id, slots used) that `model` receives for `variant`."""
    if variant.slots is None:
        return variant.text, "free-text", None
    template = wb.templates.get(model.default_template)
    own = {s.id: variant.slots[s.id] for s in template.slots if variant.slots.get(s.id)}
    return template.assemble(own), template.id, own


def _request(
    wb: Workbench,
    model_id: str,
    provider: str,
    variant: Variant,
    seed: int | None,
    aspect_ratio: str | None,
    size: str | None,
) -> GenerateRequest:
    model = wb.catalog.model(model_id)
    prompt, template_id, slots = text_for(wb, model, variant)
    return GenerateRequest(
        model=model_id,
        provider=provider,
        prompt=prompt,
        template_id=template_id,
        slots=slots,
        seed=seed,
        aspect_ratio=aspect_ratio,
        size=size,
        category=variant.category,
        prompt_key=variant.prompt_key,
        expected_text=variant.expected_text,
    )


def compare_cells(
    wb: Workbench,
    providers: dict[str, str],
    variant: Variant,
    variations: int,
    base_seed: int | None,
    aspect_ratio: str | None = None,
    *,
    limit: int | None = None,
) -> list[Cell]:
    _check(
        len(providers) * variations,
        limit,
        [(len(providers), "model"), (variations, "variation")],
    )
    cells = []
    for model_id, provider in providers.items():
        for k in range(variations):
            seed = None if base_seed is None else base_seed + k
            cells.append(
                Cell(
                    key=f"model={model_id}|v={k + 1}",
                    request=_request(wb, model_id, provider, variant, seed, aspect_ratio, None),
                    labels={
                        "model": model_id,
                        "variation": str(k + 1),
                        "seed": "random" if seed is None else str(seed),
                    },
                )
            )
    return cells


def matrix_cells(
    wb: Workbench,
    variants: list[Variant],
    providers: dict[str, str],
    seeds: list[int | None],
    aspect_ratios: list[str | None],
    *,
    limit: int | None = None,
) -> list[Cell]:
    """Every cell of the matrix; over `limit` cells, `TooManyCells` before any is built."""
    _check(
        matrix_size(variants, providers, seeds, aspect_ratios),
        limit,
        [
            (len(variants), "prompt"),
            (len(providers), "model"),
            (max(len(seeds), 1), "seed"),
            (max(len(aspect_ratios), 1), "aspect ratio"),
        ],
    )
    cells = []
    for (i, variant), model_id, seed, ratio in itertools.product(
        enumerate(variants), providers, seeds or [None], aspect_ratios or [None]
    ):
        labels = {
            "prompt": variant.label,
            "model": model_id,
            "seed": "random" if seed is None else str(seed),
            "aspect_ratio": ratio or "default",
        }
        key = f"prompt={i + 1}|model={model_id}|seed={labels['seed']}|ar={labels['aspect_ratio']}"
        cells.append(
            Cell(
                key, _request(wb, model_id, providers[model_id], variant, seed, ratio, None), labels
            )
        )
    return cells


def suite_cells(
    wb: Workbench,
    suite: Suite,
    providers: dict[str, str],
    seeds: list[int | None],
    aspect_ratio: str | None = None,
    *,
    limit: int | None = None,
) -> list[Cell]:
    """Every prompt of a suite on each model, once per seed: each model receives the entry in
    its own family's structure, and every cell carries the entry's category, expected text and
    a shared prompt key (so the Leaderboard's "By category", text accuracy and the Arena see
    one intent). The entry's own aspect ratio wins over `aspect_ratio`. The command line's
    `run` and the Compare and Matrix pages build suite runs here. Over `limit` cells,
    `TooManyCells` before any is built."""
    _check(
        suite_size(suite, providers, seeds),
        limit,
        [
            (len(suite.prompts), "prompt"),
            (len(providers), "model"),
            (max(len(seeds), 1), "variation"),
        ],
    )
    cells = []
    for entry in suite.prompts:
        for model_id, provider in providers.items():
            sent = entry.for_family(wb.catalog.model(model_id).family)
            for k, seed in enumerate(seeds or [None]):
                cells.append(
                    Cell(
                        key=f"prompt={entry.id}|model={model_id}|v={k + 1}",
                        request=GenerateRequest(
                            model=model_id,
                            provider=provider,
                            prompt=sent.text,
                            template_id=sent.template_id,
                            slots=sent.slots,
                            seed=seed,
                            aspect_ratio=entry.aspect_ratio or aspect_ratio,
                            category=entry.category,
                            prompt_key=f"suite:{suite.id}/{entry.id}",
                            expected_text=entry.expected_text,
                        ),
                        labels={
                            "prompt": entry.id,
                            "model": model_id,
                            "variation": str(k + 1),
                            "seed": "random" if seed is None else str(seed),
                        },
                    )
                )
    return cells


def run_grid(wb: Workbench, run_id: str) -> list[dict[str, Any]]:
    """One row per cell of the run: its labels and its newest attempt (status, image, cost)."""
    record = wb.runs.get(run_id)
    if record is None:
        return []
    latest: dict[str | None, RunCell] = {}
    for row in wb.log.run_cells(run_id):
        latest[row.cell] = row  # oldest first, so the newest attempt wins
    wb.images.prefetch([row.thumb_path for row in latest.values()])  # a bucket: side by side
    grid = []
    for cell in (record.spec or {})["cells"]:
        found = latest.get(cell["key"])
        image = found.image_path if found else None
        thumb = found.thumb_path if found else None
        grid.append(
            {
                "key": cell["key"],
                **cell.get("labels", {}),
                "generation_id": found.id if found else None,
                "status": found.status if found else "missing",
                "latency_ms": found.latency_ms if found else None,
                "cost_usd": found.cost_usd if found else None,
                "cost_kind": found.cost_kind if found else None,
                "error": found.error_message if found else None,
                "image_file": str(wb.images.absolute(image, fetch=False)) if image else None,
                "thumb_file": str(wb.images.absolute(thumb)) if thumb else None,
                "prompt": cell["request"]["prompt"],
                "labels": dict(cell.get("labels", {})),
            }
        )
    return grid


def neighbours(grid: list[dict[str, Any]]) -> dict[str, str]:
    """For each succeeded cell, a succeeded cell of another model on the same prompt, seed and
    aspect ratio (every label but the model equal): the pair to vote on from the grid."""
    by_rest: dict[tuple, list[dict[str, Any]]] = {}
    for cell in grid:
        if cell["status"] != "succeeded" or not cell.get("generation_id"):
            continue
        labels = cell.get("labels", {})
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "model"))
        by_rest.setdefault(rest, []).append(cell)
    found: dict[str, str] = {}
    for cells in by_rest.values():
        for cell in cells:
            other = next(
                (c for c in cells if c["labels"].get("model") != cell["labels"].get("model")),
                None,
            )
            if other is not None:
                found[cell["generation_id"]] = other["generation_id"]
    return found

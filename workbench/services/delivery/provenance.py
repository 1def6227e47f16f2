"""Exported copies of logged images that carry their recipe (see `workbench.imaging.provenance`).

The stored original is only read, never written: the copy gets the metadata. The detail view's
download calls `image_with_provenance`; `workbench images` calls `export_images`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.errors import InvalidInput
from workbench.imaging.provenance import embed, format_parameters
from workbench.services.workbench import Workbench
from workbench.store.images import BadImageRef, ImageUnavailable
from workbench.store.records import Generation

RECORD_VERSION = 1
RUN_PAGE = 1000


class ExportError(InvalidInput):
    """A generation that has no image to export (unknown id, failed, or its file is missing)."""


@dataclass(frozen=True)
class ExportedImage:
    generation_id: str
    data: bytes
    mime: str
    filename: str


def provenance_record(record: Generation) -> dict[str, Any]:
    """The `workbench` object written into an exported image, from a logged generation."""
    seed = record.seed_returned
    return {
        "version": RECORD_VERSION,
        "generation_id": record.id,
        "model": record.model,
        "provider": record.provider,
        "provider_model_id": record.provider_model_id,
        "prompt": record.prompt,
        "prompt_written": record.prompt_written,
        "template_id": record.template_id,
        "slots": record.slots or None,
        "seed": seed if seed is not None else record.seed,
        "width": record.width,
        "height": record.height,
        "aspect_ratio": record.aspect_ratio,
        "size": record.size,
        "cost_usd": record.cost_usd,
        "cost_kind": record.cost_kind,
        # The generation this one was refined from (lineage); null for a first draft.
        "parent": record.parent_id,
        "created_at": str(record.created_at) if record.created_at else None,
    }


def parameters_text(record: Generation) -> str:
    """The A1111-style `parameters` text: the prompt as sent, then only the fields we know."""
    seed = record.seed_returned
    width, height = record.width, record.height
    return format_parameters(
        record.prompt,
        {
            "Seed": seed if seed is not None else record.seed,
            "Size": f"{width}x{height}" if width and height else None,
            "Aspect ratio": record.aspect_ratio,
            "Model": record.model,
            "Provider": record.provider,
            "Provider model": record.provider_model_id,
        },
    )


def stored_image(wb: Workbench, generation_id: str) -> tuple[Generation, bytes]:
    """A generation's log row and its image exactly as stored; `ExportError` when it has none."""
    record = wb.log.get(generation_id)
    if record is None:
        raise ExportError(f"No generation {generation_id}.")
    if record.status != "succeeded" or not record.image_path:
        raise ExportError(f"Generation {generation_id} has no image ({record.status}).")
    try:
        original = wb.images.read(record.image_path)
    except BadImageRef as exc:
        raise ExportError(f"The image of {generation_id} is refused: {exc}") from None
    except ImageUnavailable as exc:
        raise ExportError(f"The image of {generation_id} cannot be read: {exc}.") from None
    return record, original


def image_with_provenance(wb: Workbench, generation_id: str) -> ExportedImage:
    """The image of one generation as a download: a copy with its recipe inside."""
    record, original = stored_image(wb, generation_id)
    exported = embed(original, parameters_text(record), provenance_record(record))
    return ExportedImage(
        generation_id, exported.data, exported.mime, f"{generation_id}.{exported.extension}"
    )


def generation_ids(
    wb: Workbench, *, run_id: str | None = None, ids: Sequence[str] = ()
) -> list[str]:
    """The succeeded generations of a run (oldest first), then the ids given, without repeats."""
    found: list[str] = []
    if run_id:
        f = HistoryFilter(run_id=run_id, statuses=("succeeded",), sort="oldest")
        offset = 0
        while True:
            rows = wb.log.page(f, limit=RUN_PAGE, offset=offset)
            found.extend(r.id for r in rows)
            if len(rows) < RUN_PAGE:
                break
            offset += RUN_PAGE
    found.extend(ids)
    return list(dict.fromkeys(found))


def export_images(wb: Workbench, ids: Sequence[str], out_dir: Path) -> list[Path]:
    """Write a provenance copy of each generation's image into `out_dir`; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for generation_id in ids:
        exported = image_with_provenance(wb, generation_id)
        target = out_dir / exported.filename
        target.write_bytes(exported.data)
        written.append(target)
    return written

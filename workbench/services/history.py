"""The History page's data: one page of the log (paged in SQL) with thumbnails, the count, the
filter choices, and everything logged about one generation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workbench.filters import HistoryFilter
from workbench.services.workbench import Workbench

PAGE_SIZE = 50


@dataclass(frozen=True)
class HistoryPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def load_page(
    wb: Workbench,
    f: HistoryFilter,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    *,
    thumbnails: bool = True,
) -> HistoryPage:
    total = wb.log.count(f)
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    rows = wb.log.page(f, limit=page_size, offset=(page - 1) * page_size)
    if thumbnails:
        for row in rows:
            row["thumbnail"] = wb.images.thumb_data_uri(row.get("thumb_path"))
    return HistoryPage(rows=rows, total=total, page=page, page_size=page_size)


def choices(wb: Workbench) -> dict[str, list[str]]:
    return wb.log.choices()


def detail(wb: Workbench, generation_id: str) -> dict[str, Any] | None:
    record = wb.log.get(generation_id)
    if record is None:
        return None
    if record.get("image_path"):
        record["image_file"] = str(wb.images.absolute(record["image_path"]))
    record["ratings"] = wb.ratings.latest_for(generation_id)
    return record


def remix(record: dict[str, Any]) -> dict[str, Any]:
    """What the builder needs to reopen a logged prompt: model, template, slots or text, params."""
    slots = record.get("slots") or None
    return {
        "model": record["model"],
        "provider": record["provider"],
        "template_id": record.get("template_id") or "free-text",
        "slots": slots,
        "prompt": record.get("prompt_written") or record["prompt"],
        "aspect_ratio": record.get("aspect_ratio"),
        "size": record.get("size"),
        "seed": record.get("seed"),
    }

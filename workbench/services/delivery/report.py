"""A report to send: one self-contained HTML file for a list of generations.

Sources are lists of generation ids: a Compare or Matrix run (`generation_ids(run_id=...)`), a
History selection, and later a lineage. The file holds every image as an embedded JPEG (long
side ≤ 1600 px), the prompt as sent, model, provider, cost, latency, seed, size and the star
ratings; when the models shown have arena votes, the verdict rows and the article's trade-off
rows with their evidence counts.

It opens offline in any browser: no script, no external stylesheet, font or image, and a
Content-Security-Policy that forbids loading anything but the embedded images. Every piece of
user text goes through `html.escape` (prompts may hold `<img src=…>` or Markdown links).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from workbench.domain.catalog import OFFLINE, CatalogError
from workbench.domain.criteria import load_criteria
from workbench.domain.plural import count
from workbench.errors import InvalidInput
from workbench.imaging.preview import jpeg_preview
from workbench.services.delivery.exports import with_recipe
from workbench.services.evidence.leaderboard import (
    VerdictTable,
    build_leaderboard,
    leaderboard_filter,
)
from workbench.services.evidence.leaderboard.tradeoffs import tradeoff_table
from workbench.services.workbench import Workbench
from workbench.store.records import Generation
from workbench.store.votes import contestant

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin-bottom:.25rem}
.meta{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0 2rem}
th,td{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:1.5rem}
figure{margin:0;border:1px solid #ddd;border-radius:6px;overflow:hidden}
figure img{display:block;width:100%;height:auto;background:#eee}
figcaption{padding:.75rem}
figcaption h2{font-size:1.05rem;margin:0 0 .4rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem;margin:.4rem 0;font-size:.9rem}
dt{color:#555}dd{margin:0}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f9;padding:.5rem;font-size:.85rem}
.failed{padding:1rem;color:#8a1c1c;background:#fdf1f1}
.note{color:#555;font-size:.85rem}
"""


HEADINGS = ("Verdict from your votes and ratings", "Trade-offs, as in the article")


class ReportError(InvalidInput):
    """Nothing to report (no generations chosen, or none of them is in the log)."""


@dataclass(frozen=True)
class Report:
    html: str
    images: int
    generations: int

    @property
    def data(self) -> bytes:
        return self.html.encode("utf-8")


def _money(usd: float | None, kind: str | None) -> str:
    if usd is None:
        return "unknown"
    text = f"${usd:,.4f}".rstrip("0").rstrip(".") if usd else "$0"
    return f"≈{text} (estimate)" if kind == "estimated" else text


def _seconds(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:,.1f} s"


def _stars(value: int) -> str:
    return "★" * value + "☆" * (5 - value)


def _model_name(wb: Workbench, model: str) -> str:
    try:
        return wb.catalog.model(model).name
    except CatalogError:
        return model


def _preview(wb: Workbench, record: Generation) -> tuple[str, int, int] | None:
    if record.status != "succeeded" or not record.image_path:
        return None
    try:
        original = wb.images.read(record.image_path)  # a refused reference: ValueError
        data, width, height = jpeg_preview(original)
    except (OSError, ValueError):
        return None  # a missing or unreadable file: the card says so instead
    # the preview carries the recipe too: saved from the report, it opens in the builder
    copy = with_recipe(record, data)
    return f"data:{copy.mime};base64," + base64.b64encode(copy.data).decode("ascii"), width, height


def _card(wb: Workbench, record: Generation, preview: tuple[str, int, int] | None,
          ratings: dict[str, int], labels: dict[str, str]) -> str:
    name = _model_name(wb, record.model)
    if record.provider == OFFLINE:
        name += " (offline sketch, no model)"
    seed = record.seed_returned if record.seed_returned is not None else record.seed
    facts = [
        ("Provider", record.provider),
        ("Cost", _money(record.cost_usd, record.cost_kind)),
        ("Time", _seconds(record.latency_ms)),
        ("Seed", "–" if seed is None else str(seed)),
        ("Size", f"{record.width}×{record.height}" if record.width else "–"),
        ("Aspect ratio", record.aspect_ratio or "–"),
        *((labels.get(c, c), f"{_stars(v)} {v}") for c, v in sorted(ratings.items())),
        ("Id", record.id),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts)
    if preview is not None:
        uri, width, height = preview
        alt = f"{name}: {record.prompt[:120]}"
        media = f'<img src="{uri}" width="{width}" height="{height}" alt="{escape(alt)}">'
    else:
        reason = record.error_message or "no image"
        media = f'<div class="failed">{escape(record.status)}: {escape(str(reason))}</div>'
    return (
        f"<figure>{media}<figcaption><h2>{escape(name)}</h2><dl>{rows}</dl>"
        f"<pre>{escape(record.prompt)}</pre></figcaption></figure>"
    )


def _verdict(wb: Workbench, records: list[Generation]) -> list[VerdictTable]:
    """The verdict and trade-off tables for the models shown, when any of them has votes."""
    contestants = list(dict.fromkeys(
        contestant(r.model, r.provider if r.provider == OFFLINE else None)
        for r in records if r.status == "succeeded"
    ))
    if len(contestants) < 2:
        return []
    f = leaderboard_filter(
        models=sorted({r.model for r in records}),
        include_offline=any(r.provider == OFFLINE for r in records),
    )
    board = build_leaderboard(wb, f)
    if not any(board.counts.values()):
        return []
    return [board.verdict(contestants), tradeoff_table(wb, board, contestants)]


def _table_html(table: VerdictTable, heading: str) -> str:
    head = "".join(f"<th>{escape(n)}</th>" for n in (table.first_column, *table.names))
    body = "".join(
        f"<tr><th>{escape(label)}</th>"
        + "".join(f"<td>{escape(cell.text)}</td>" for cell in cells) + "</tr>"
        for label, cells in table.rows
    )
    notes = "".join(
        f"<li>{escape(label)}: {escape(text)}</li>" for label, text in table.definitions.items()
    )
    explanation = (
        f'<ul class="note">{notes}</ul>' if notes
        else f'<p class="note">{escape(table.explanation)}</p>'
    )
    return (
        f"<h2>{escape(heading)}</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{explanation}"
    )


def build_report(wb: Workbench, ids: Sequence[str], title: str = "Image report") -> Report:
    """The HTML report of these generations, in the order given."""
    with wb.db.cursor():  # one connection for every read below
        records = [r for r in (wb.log.get(i) for i in dict.fromkeys(ids)) if r is not None]
        if not records:
            raise ReportError("Nothing to report: none of the chosen generations is in the log.")
        # Decoding and re-encoding release the GIL: the images are prepared on helper threads
        # while this one reads the ratings and the votes.
        with ThreadPoolExecutor(max_workers=4) as pool:
            pending = pool.map(lambda r: _preview(wb, r), records)
            ratings = [wb.ratings.latest_for(r.id, wb.settings.user) for r in records]
            tables = _verdict(wb, records)
            previews = list(pending)
    labels = {c.id: c.label for c in load_criteria()}
    cards = "".join(
        _card(wb, r, p, s, labels) for r, p, s in zip(records, previews, ratings, strict=True)
    )
    images = sum(p is not None for p in previews)
    known = [r.cost_usd for r in records if r.cost_usd is not None]
    summary = (
        f"{count(len(records), 'generation')}, {count(images, 'image')} · total cost "
        f"{_money(sum(known), None) if known else 'unknown'} · made "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC with Prompt Workbench"
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="meta">{escape(summary)}</p></header>'
        f"{''.join(_table_html(t, h) for t, h in zip(tables, HEADINGS, strict=False))}"
        f'<section class="grid">{cards}</section></body></html>'
    )
    return Report(html, images, len(records))


def run_title(wb: Workbench, run_id: str) -> str:
    run = wb.runs.get(run_id)
    if run is None:
        raise ReportError(f"No run {run_id}.")
    return f"{str(run.kind).capitalize()} run: {run.name or run_id}"

"""Which generations the Measurements page counts, in one definition every number on it shares:
a *measurable image* is a succeeded generation with a stored image that is not archived and
matches the page's filters. `tally` also counts what the filters let through but is left out
(archived images, generations without an image), so the page can say why; `ids` lists the
measurable images themselves, for a recompute.

The measurement statuses are the current-version rows of `latest_metrics`, by the rule a
recompute uses to pick what is missing: the fast measures are 'ok' when every one of them has a
row, 'error' when the file could not be read (each then has an error row), and missing
otherwise (a method whose version changed is missing again); text accuracy speaks for OCR.
"""

from __future__ import annotations

from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.imaging.specs import FAST_METRICS, TEXT_ACCURACY, VERSIONS
from workbench.store.db import Backend
from workbench.store.queries import ARCHIVED_IDS, filter_sql
from workbench.store.records import MeasuredTally

MEASURABLE = "measurable"  # succeeded, with a stored image, not archived
ARCHIVED = "archived"  # succeeded with an image, but archived (hidden from the page)
NO_IMAGE = "no_image"  # failed, moderated, cancelled, still running, or without a stored image

_KIND_SQL = (
    f"CASE WHEN g.status <> 'succeeded' OR i.sha256 IS NULL THEN '{NO_IMAGE}'"
    f" WHEN g.id IN ({ARCHIVED_IDS}) THEN '{ARCHIVED}' ELSE '{MEASURABLE}' END"
)


def _scope(f: HistoryFilter | None) -> tuple[str, list[Any]]:
    """The page's filters with the archive choice left to the classification above."""
    wanted = (f or HistoryFilter()).model_copy(update={"archived": "include"})
    return filter_sql(wanted)


class MeasuredImages:
    """Counts and ids of the images the Measurements page speaks about."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def tally(self, f: HistoryFilter | None = None) -> list[MeasuredTally]:
        """Rows of (kind, offline, fast, text, n): how many generations matching `f` are of
        each kind (`MEASURABLE`, `ARCHIVED`, `NO_IMAGE`), whether they are offline sketches,
        and the status of their current fast measures and text accuracy (None: no row)."""
        where, params = _scope(f)
        current = " OR ".join("(metric = ? AND version = ?)" for _ in FAST_METRICS)
        sql = (
            "WITH fast AS (SELECT generation_id,"
            "  CASE WHEN sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END) > 0 THEN 'error'"
            "   WHEN count(DISTINCT metric) = ? THEN 'ok' END AS status"
            f"  FROM latest_metrics WHERE status <> 'skipped' AND ({current})"
            "  GROUP BY generation_id),"
            " txt AS (SELECT generation_id, status FROM latest_metrics"
            "  WHERE metric = ? AND version = ?)"
            f" SELECT {_KIND_SQL} AS kind, g.provider = 'offline' AS offline,"
            "  fast.status AS fast, txt.status AS text, count(*) AS n"
            " FROM generations g LEFT JOIN images i ON i.sha256 = g.image_sha256"
            " LEFT JOIN fast ON fast.generation_id = g.id"
            f" LEFT JOIN txt ON txt.generation_id = g.id{where}"
            " GROUP BY 1, 2, 3, 4"
        )
        head = [len(FAST_METRICS), *(x for m in FAST_METRICS for x in (m, VERSIONS[m])),
                TEXT_ACCURACY, VERSIONS[TEXT_ACCURACY]]
        with self.db.cursor() as cur:
            rows = cur.execute(sql, [*head, *params]).fetchall()
        return [
            MeasuredTally(kind=kind, offline=bool(offline), fast=fast, text=text, n=int(n))
            for kind, offline, fast, text, n in rows
        ]

    def ids(self, f: HistoryFilter | None = None) -> set[str]:
        """The measurable images matching `f` (ids)."""
        where, params = _scope(f)
        clause = f"{_KIND_SQL} = '{MEASURABLE}'"
        where = f"{where} AND {clause}" if where else f" WHERE {clause}"
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT g.id FROM generations g LEFT JOIN images i ON i.sha256 = g.image_sha256"
                + where, params).fetchall()
        return {gid for (gid,) in rows}

"""What the Arena can show: succeeded generations with images, grouped by prompt (a prompt key:
`queries.PROMPT_KEY_SQL`) and contestant, the contestant pairs that share prompts, and one
pair's candidate images."""

from __future__ import annotations

from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.queries import PROMPT_KEY_SQL, filter_sql
from workbench.store.records import ArenaCandidate, records
from workbench.store.votes import _GEN_CONTESTANT, _and


class ArenaCandidates:
    def __init__(self, db: Backend) -> None:
        self.db = db

    @staticmethod
    def _candidates_where(f: HistoryFilter) -> tuple[str, list[Any]]:
        where, params = filter_sql(f.model_copy(update={"statuses": ("succeeded",)}))
        return _and(where, "g.image_sha256 IS NOT NULL"), params

    def candidate_pairs(self, f: HistoryFilter) -> list[tuple[str, str, int]]:
        """(contestant a, contestant b, prompts both have images for), a < b."""
        where, params = self._candidates_where(f)
        sql = (
            f"WITH c AS (SELECT {PROMPT_KEY_SQL} AS prompt, {_GEN_CONTESTANT} AS who"
            f" FROM generations g{where} GROUP BY 1, 2)"
            " SELECT a.who, b.who, count(*) FROM c a JOIN c b"
            " ON a.prompt = b.prompt AND a.who < b.who GROUP BY 1, 2 ORDER BY 1, 2"
        )
        with self.db.cursor() as cur:
            return [(a, b, int(n)) for a, b, n in cur.execute(sql, params).fetchall()]

    def candidate_contestants(self, f: HistoryFilter) -> list[str]:
        where, params = self._candidates_where(f)
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT DISTINCT {_GEN_CONTESTANT} FROM generations g{where} ORDER BY 1", params
            ).fetchall()
        return [r[0] for r in rows]

    def shared_prompts(self, f: HistoryFilter, a: str, b: str) -> list[str]:
        where, params = self._candidates_where(f)
        sql = (
            f"WITH c AS (SELECT {PROMPT_KEY_SQL} AS prompt, {_GEN_CONTESTANT} AS who"
            f" FROM generations g{where} GROUP BY 1, 2)"
            " SELECT x.prompt FROM c x JOIN c y ON x.prompt = y.prompt"
            " WHERE x.who = ? AND y.who = ? ORDER BY x.prompt"
        )
        with self.db.cursor() as cur:
            return [r[0] for r in cur.execute(sql, [*params, a, b]).fetchall()]

    def candidate_generations(
        self, f: HistoryFilter, prompt: str, who: str
    ) -> list[ArenaCandidate]:
        """Succeeded generations of `prompt` (a prompt key: see PROMPT_KEY_SQL) by contestant
        `who`, with their image files."""
        where, params = self._candidates_where(f)
        where = _and(where, f"{PROMPT_KEY_SQL} = ? AND {_GEN_CONTESTANT} = ?")
        sql = (
            "SELECT g.id, g.model, g.provider, g.prompt, g.category, g.template_id, g.width,"
            " g.height, i.path AS image_path, i.thumb_path FROM generations g"
            f" JOIN images i ON i.sha256 = g.image_sha256{where} ORDER BY g.id"
        )
        with self.db.cursor() as cur:
            return records(ArenaCandidate, cur.execute(sql, [*params, prompt, who]))

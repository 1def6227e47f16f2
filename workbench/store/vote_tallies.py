"""What the ratings are built from: votes aggregated in SQL per criterion, contestant pair and
winner (and by category, or lineage finals), votes per pair, winners by side (position bias)
and each repeat vote beside its first. Undone votes never count (`votes.LIVE_VOTE`)."""

from __future__ import annotations

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.queries import finals_sql
from workbench.store.votes import _and, _contestant_sql, vote_filter_sql


class VoteTallies:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def pair_counts(
        self, f: HistoryFilter, criterion: str | None = None
    ) -> list[tuple[str, str, str, str, int]]:
        """(criterion, left contestant, right contestant, winner, votes), aggregated in SQL."""
        where, params = vote_filter_sql(f, criterion)
        sql = (
            f"SELECT v.criterion, {_contestant_sql('left')} AS a, {_contestant_sql('right')} AS b,"
            f" v.winner, count(*) FROM votes v{where} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
        with self.db.cursor() as cur:
            rows = cur.execute(sql, params).fetchall()
        return [(c, a, b, w, int(n)) for c, a, b, w, n in rows]

    def pair_counts_by_category(
        self, f: HistoryFilter, criterion: str
    ) -> list[tuple[str | None, str, str, str, int]]:
        """(category, left contestant, right contestant, winner, votes) for one criterion."""
        return [row[:5] for row in self.pair_counts_by_group(f, criterion)]

    def pair_counts_by_group(
        self, f: HistoryFilter, criterion: str
    ) -> list[tuple[str | None, str, str, str, int, bool]]:
        """(category, left contestant, right contestant, winner, votes, finals) for one
        criterion; `finals` when both images are lineage finals (refined from a draft of
        another model family)."""
        where, params = vote_filter_sql(f, criterion)
        finals, finals_params = finals_sql()
        is_final = f"SELECT g.id FROM generations g WHERE {finals}"
        sql = (
            f"SELECT v.category, {_contestant_sql('left')} AS a, {_contestant_sql('right')} AS b,"
            f" v.winner, count(*),"
            f" coalesce(v.left_generation_id IN ({is_final})"
            f"  AND v.right_generation_id IN ({is_final}), false) AS finals"
            f" FROM votes v{where} GROUP BY 1, 2, 3, 4, 6 ORDER BY 1 NULLS LAST, 2, 3, 4, 6"
        )
        with self.db.cursor() as cur:
            rows = cur.execute(sql, [*finals_params, *finals_params, *params]).fetchall()
        return [(c, a, b, w, int(n), bool(fin)) for c, a, b, w, n, fin in rows]

    def votes_per_pair(self, f: HistoryFilter, criterion: str) -> dict[tuple[str, str], int]:
        """Votes per unordered contestant pair (names sorted) for one criterion."""
        totals: dict[tuple[str, str], int] = {}
        for _, a, b, _, n in self.pair_counts(f, criterion):
            key = (min(a, b), max(a, b))
            totals[key] = totals.get(key, 0) + n
        return totals

    def winners(self, f: HistoryFilter, criterion: str | None = None) -> dict[str, int]:
        """Votes cast in the arena by winner side (for position bias)."""
        where, params = vote_filter_sql(f, criterion)
        where = _and(where, "v.source = 'arena'")
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT v.winner, count(*) FROM votes v{where} GROUP BY v.winner", params
            ).fetchall()
        return {w: int(n) for w, n in rows}

    def repeats(
        self, f: HistoryFilter, criterion: str | None = None
    ) -> list[tuple[str, str, str, str, str, str]]:
        """Each repeat vote with its first vote: (first winner, first left generation, first
        right generation, repeat winner, repeat left generation, repeat right generation)."""
        where, params = vote_filter_sql(f, criterion)
        sql = (
            "SELECT o.winner, o.left_generation_id, o.right_generation_id,"
            " v.winner, v.left_generation_id, v.right_generation_id"
            f" FROM votes v JOIN votes o ON o.id = v.repeat_of{where} ORDER BY v.id"
        )
        with self.db.cursor() as cur:
            return [tuple(r) for r in cur.execute(sql, params).fetchall()]

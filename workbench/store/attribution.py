"""Who made the evidence: renaming a rater across every rating and vote.

Before names were recorded, every rating and vote said `me`. Once people work under their own
names, `me` would count as a second person beside the one it was: two raters where there is
one, in the averages, the per-rater views and inter-rater agreement. Renaming corrects that
attribution; it changes no stars and no winners. The rows keep their times, so where both names
rated one image on one criterion, the newer rating is the one that counts, as for any rater.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.store.db import Backend


@dataclass(frozen=True)
class Renamed:
    ratings: int
    votes: int


class Attribution:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def rename_rater(self, old: str, new: str) -> Renamed:
        """Every rating and vote by `old` becomes `new`'s, in one transaction."""
        with self.db.transaction() as cur:
            ratings = cur.execute(
                "UPDATE ratings SET rater = ? WHERE rater = ? RETURNING id", [new, old]
            ).fetchall()
            votes = cur.execute(
                "UPDATE votes SET rater = ? WHERE rater = ? RETURNING id", [new, old]
            ).fetchall()
        return Renamed(ratings=len(ratings), votes=len(votes))

"""The outcomes a blind pairwise vote can have, shared by the votes table, the Arena and the
Bradley–Terry fit (kept apart from the fit so that reading votes does not load numpy)."""

from __future__ import annotations

WINNERS: tuple[str, ...] = ("left", "right", "tie", "both_bad")

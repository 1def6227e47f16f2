"""Counts as people read them: "1 image", "3 images", "1,204 generations" (thousands separated).
Every count a page, a command or a service sentence shows goes through `count`, so "(1 votes)"
cannot happen."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """"1 generation", "3 generations"; `plural` for nouns that do not take an s."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"

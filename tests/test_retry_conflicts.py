"""`store.db.retry_conflicts`: a transaction that raced another write is done again, a few
times; what is not a race, or a race that never ends, surfaces."""

from __future__ import annotations

import pytest

from workbench.store.db import retry_conflicts


class Raced(Exception):
    pass


def test_a_raced_transaction_is_done_again_until_it_goes_through() -> None:
    attempts = []

    def work() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise Raced
        return "stored"

    assert retry_conflicts((Raced,), work, delays=(0.0, 0.0, 0.0)) == "stored"
    assert len(attempts) == 3


def test_a_race_that_never_ends_and_other_errors_surface() -> None:
    attempts = []

    def always() -> None:
        attempts.append(1)
        raise Raced

    with pytest.raises(Raced):
        retry_conflicts((Raced,), always, delays=(0.0, 0.0))
    assert len(attempts) == 3  # the first try and one per pause

    def broken() -> None:
        attempts.append(1)
        raise ValueError("not a race")

    with pytest.raises(ValueError):
        retry_conflicts((Raced,), broken, delays=(0.0, 0.0))
    assert len(attempts) == 4

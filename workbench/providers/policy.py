"""Timeouts, retry bounds, poll pace and size limits of the provider clients (`HttpPolicy`),
with the environment variables that change them."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts, retry bounds and poll pace for one provider client."""

    connect_s: float = 10.0
    read_s: float = 120.0  # one HTTP answer
    sync_read_s: float = 300.0  # an answer that holds the whole generation (Gemini, Prefer: wait)
    write_s: float = 30.0
    deadline_s: float = 600.0  # the whole generation: submit, polling, download
    # After the deadline, for a job the provider can stop: the cancel and the polls that follow
    # it to its final state (finished after all, stopped before it started, or stopped running).
    settle_s: float = 30.0
    attempts: int = 3  # tries of one call when a retry is allowed
    poll_attempts: int = 5  # tries of one poll / result fetch (they are free and idempotent)
    backoff_s: float = 1.0  # first backoff; doubles per attempt
    backoff_max_s: float = 20.0
    retry_after_max_s: float = 60.0  # a longer Retry-After is reported instead of waited out
    poll_interval_s: float = 1.0
    max_image_bytes: int = 80 * 1024 * 1024
    max_image_pixels: int = 64_000_000  # a recovered job's image (no offer at hand to ask)
    replicate_wait_s: int = 60  # `Prefer: wait=N` on Replicate (their maximum is 60); 0 = off

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpPolicy:
        """Defaults, with WORKBENCH_POLL_INTERVAL_S / WORKBENCH_DEADLINE_S /
        WORKBENCH_CONNECT_TIMEOUT_S / WORKBENCH_READ_TIMEOUT_S when set."""
        source = os.environ if env is None else env

        def seconds(var: str, default: float) -> float:
            # A value that is unset, unparsable, infinite or negative keeps the default.
            raw = source.get(var)
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                return default
            return value if math.isfinite(value) and value >= 0 else default

        # Named keywords, not `cls(**dict)`: the checker then sees each field get a float.
        defaults = cls()
        return cls(
            poll_interval_s=seconds("WORKBENCH_POLL_INTERVAL_S", defaults.poll_interval_s),
            deadline_s=seconds("WORKBENCH_DEADLINE_S", defaults.deadline_s),
            connect_s=seconds("WORKBENCH_CONNECT_TIMEOUT_S", defaults.connect_s),
            read_s=seconds("WORKBENCH_READ_TIMEOUT_S", defaults.read_s),
        )

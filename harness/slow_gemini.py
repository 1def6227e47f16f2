"""A loopback fake of the Gemini API that answers after a delay, and the environment a
workbench subprocess needs to use it: runs that last long enough to overlap with other
processes."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.fakes import FakeGemini, Fault


@contextmanager
def slow_gemini(
    data_dir: Path, delay_s: float, release: threading.Event | None = None, **extra_env: str
) -> Iterator[tuple[FakeGemini, dict[str, str]]]:
    """Each submit answers after `delay_s`, or at once after `release` is set (a test that has
    seen what it waited for lets the rest of the run finish without waiting)."""
    with FakeGemini() as fake:
        fake.fault("submit", Fault(delay_s=delay_s, passthrough=True, repeat=True,
                                   release=release))
        env = {
            **os.environ,
            "WORKBENCH_DATA_DIR": str(data_dir),
            "GEMINI_API_KEY": fake.key,
            "GEMINI_BASE_URL": fake.url,
            **extra_env,
        }
        yield fake, env

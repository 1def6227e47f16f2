"""A loopback fake of the Gemini API that answers after a delay, and the environment a
workbench subprocess needs to use it: runs that last long enough to overlap with other
processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.providers.fakes import FakeGemini, Fault


@contextmanager
def slow_gemini(data_dir: Path, delay_s: float, **extra_env: str) -> Iterator[
    tuple[FakeGemini, dict[str, str]]
]:
    with FakeGemini() as fake:
        fake.fault("submit", Fault(delay_s=delay_s, passthrough=True, repeat=True))
        env = {
            **os.environ,
            "WORKBENCH_DATA_DIR": str(data_dir),
            "GEMINI_API_KEY": fake.key,
            "GEMINI_BASE_URL": fake.url,
            **extra_env,
        }
        yield fake, env

"""Fixtures for the provider contract tests: a started fake per provider, and a Workbench whose
settings point that provider's base URL (through its real env variable) at the fake."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from harness.fakes import FAKES, FakeServer
from workbench.config import BASE_URL_VARIABLES, KEY_VARIABLES, load_settings
from workbench.providers.http import HttpPolicy
from workbench.providers.registry import build_provider
from workbench.services.runs import generation
from workbench.services.runs.generation import GenerationOutcome
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.records import Generation

# Recognisable, so the leak test can search for it anywhere.
KEY = "sk-CANARY-7Q9xZ2-do-not-log"
HOSTED = ("gemini", "bfl", "replicate", "fal")
DEFAULT_MODEL = {
    "gemini": "nano-banana-2", "bfl": "flux-2-pro", "replicate": "flux-2-pro", "fal": "flux-2-pro",
}
FAST = HttpPolicy(
    connect_s=2.0, read_s=2.0, sync_read_s=2.0, write_s=2.0, deadline_s=10.0, attempts=3,
    poll_attempts=3, backoff_s=0.0, retry_after_max_s=30.0, poll_interval_s=0.0, settle_s=3.0,
)


class Sleeps:
    """Records every wait the client asks for and yields without waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)

    @property
    def waits(self) -> list[float]:
        return [s for s in self.calls if s > 0]


@dataclass
class Harness:
    provider: str
    fake: FakeServer
    wb: Workbench
    sleeps: Sleeps

    def generate(
        self, model: str | None = None, **fields: Any
    ) -> tuple[GenerationOutcome, Generation]:
        request = generation.parse_request({
            "model": model or DEFAULT_MODEL[self.provider], "provider": self.provider,
            "prompt": fields.pop("prompt", "A lighthouse on a cliff at dusk, 35mm, soft light"),
            **fields,
        })
        outcome = generation.generate_sync(self.wb, request)
        row = self.wb.log.get(outcome.id)
        assert row is not None, "every attempt must leave a row"
        return outcome, row


@pytest.fixture
def make_harness(tmp_path: Path, migrated_db: Path) -> Iterator[Callable[..., Harness]]:
    opened: list[Harness] = []

    def make(
        provider: str, *, policy: HttpPolicy = FAST, key: str = KEY, fake_key: str = KEY,
        base_url: str | None = None, real_sleep: bool = False, **policy_changes: Any,
    ) -> Harness:
        fake = FAKES[provider](fake_key).start()
        data_dir = tmp_path / f"data-{len(opened)}"
        data_dir.mkdir()
        shutil.copyfile(migrated_db, data_dir / migrated_db.name)
        env = {
            "WORKBENCH_DATA_DIR": str(data_dir), "WORKBENCH_LOCK_TIMEOUT_S": "2",
            KEY_VARIABLES[provider][0]: key,
            BASE_URL_VARIABLES[provider]: base_url or fake.url,
        }
        settings = load_settings(env=env, secrets_file=tmp_path / "no-secrets.toml")
        sleeps = Sleeps()
        chosen = replace(policy, **policy_changes) if policy_changes else policy

        def factory(name: str, s: Any) -> Any:
            return build_provider(name, s, policy=chosen, sleep=None if real_sleep else sleeps)

        wb = open_workbench(settings, provider_factory=factory, idle_close_s=30)
        harness = Harness(provider, fake, wb, sleeps)
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        harness.wb.close()
        harness.fake.stop()

"""Shared set-up for the judge tests: a workbench whose Gemini key and base URL point at the
loopback fake judge, and generations whose images are synthetic scenes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.fake_judge import FakeGeminiJudge
from harness.judge_scenes import Scene
from workbench.config import load_settings
from workbench.domain.ids import new_id
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.attempts import NewGeneration, Outcome

KEY = "judge-key-5f2a9c"
PROMPT = 'two red circles on the left, one blue circle on the right, and the text "OPEN"'


@contextmanager
def judged_workbench(tmp_path: Path, **env: str) -> Iterator[tuple[Workbench, FakeGeminiJudge]]:
    with FakeGeminiJudge(key=KEY) as fake:
        values = {
            "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
            "WORKBENCH_LOCK_TIMEOUT_S": "2",
            "GEMINI_API_KEY": KEY,
            "GEMINI_BASE_URL": fake.url,
            **env,
        }
        wb = open_workbench(
            load_settings(env=values, secrets_file=tmp_path / "no-secrets.toml"), idle_close_s=0
        )
        try:
            yield wb, fake
        finally:
            wb.close()


def add_scene(
    wb: Workbench, scene: Scene | bytes, *, model: str = "nano-banana-2", prompt: str = PROMPT,
    provider: str = "gemini", run_id: str | None = None, category: str | None = "complex",
) -> str:
    generation_id = new_id("gen")
    wb.attempts.insert_pending(
        NewGeneration(
            id=generation_id, model=model, provider=provider, prompt=prompt,
            prompt_written=prompt, run_id=run_id, category=category,
        )
    )
    data = scene if isinstance(scene, bytes) else scene.png()
    image = wb.images.put(data)
    wb.attempts.complete(
        generation_id,
        Outcome(status="succeeded", latency_ms=1000.0, cost_usd=0.04, cost_kind="known",
                image=image),
    )
    return generation_id

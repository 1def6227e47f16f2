"""The registry, the shared HTTP helpers and per-model options: small pieces with sharp edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from tests.providers.conftest import KEY
from workbench.config import load_settings
from workbench.domain.model_options import InvalidOptions, validate_options
from workbench.providers.answers import provider_detail, retry_after_s
from workbench.providers.base import ProviderError
from workbench.providers.http import HttpPolicy
from workbench.providers.registry import build_provider
from workbench.services.runs import generation
from workbench.services.runs.generation import InvalidRequest


def _settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "d"), **env},
                         secrets_file=tmp_path / "none.toml")


@pytest.mark.parametrize(
    ("provider", "variable"),
    [("gemini", "GEMINI_API_KEY"), ("bfl", "BFL_API_KEY"),
     ("replicate", "REPLICATE_API_TOKEN"), ("fal", "FAL_KEY")],
)
def test_a_provider_without_key_says_which_setting_to_add(tmp_path, provider, variable) -> None:
    with pytest.raises(ProviderError) as caught:
        build_provider(provider, _settings(tmp_path))
    assert caught.value.kind == "config"
    assert variable in caught.value.message and "secrets.toml" in caught.value.message


def test_a_keyless_attempt_is_logged_as_not_sent(wb) -> None:
    request = generation.parse_request(
        {"model": "flux-2-pro", "provider": "bfl", "prompt": "a red chair, studio light"})
    outcome = generation.generate_sync(wb, request)
    row = wb.log.get(outcome.id)
    assert (row.status, row.error_kind) == ("not_sent", "config")
    assert "BFL_API_KEY" in row.error_message


def test_unknown_provider_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ProviderError, match="Unknown provider 'acme'"):
        build_provider("acme", _settings(tmp_path))


def test_keys_from_secrets_toml_build_a_client_without_network(tmp_path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'FAL_KEY = "{KEY}"\nFAL_QUEUE_BASE_URL = "http://127.0.0.1:9"\n')
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "d")},
                             secrets_file=secrets)
    provider = build_provider("fal", settings)
    assert provider.name == "fal"
    assert settings.base_url("fal") == "http://127.0.0.1:9"


def test_policy_from_env_reads_the_knobs_and_ignores_garbage() -> None:
    policy = HttpPolicy.from_env({"WORKBENCH_POLL_INTERVAL_S": "0", "WORKBENCH_DEADLINE_S": "9",
                                  "WORKBENCH_READ_TIMEOUT_S": "nope"})
    assert (policy.poll_interval_s, policy.deadline_s) == (0.0, 9.0)
    assert policy.read_s == HttpPolicy().read_s


def _response(status: int = 429, headers: dict | None = None, **kw) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, request=httpx.Request("GET", "http://x/"),
                          **kw)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s(_response(headers={"Retry-After": "12"})) == 12.0
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_s(_response(headers={"Retry-After": date}), now=now) == 30.0
    assert retry_after_s(_response(headers={"Retry-After": "soon"})) is None
    assert retry_after_s(_response()) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"detail": "plain"}, "plain"),
     ({"error": {"code": 400, "message": "Bad ratio", "status": "INVALID_ARGUMENT"}},
      "Bad ratio (INVALID_ARGUMENT)"),
     ({"title": "Invalid", "detail": "input.width must be <= 2048"},
      "input.width must be <= 2048"),
     ({"error": "rate_limit_exceeded", "message": "Too many concurrent requests"},
      "Too many concurrent requests"),
     ({"detail": [{"loc": ["body", "steps"], "msg": "too big", "type": "x"}]}, "steps: too big")],
)
def test_provider_detail_understands_each_dialect(body, expected) -> None:
    assert provider_detail(_response(400, json=body)) == expected


def test_provider_detail_falls_back_to_short_text() -> None:
    detail = provider_detail(_response(500, text="<html>" + "x" * 1000 + "</html>"))
    assert detail.startswith("<html>x") and len(detail) <= 300


# -- per-model options ---------------------------------------------------------------------
def test_flex_options_are_validated_and_unset_ones_dropped() -> None:
    assert validate_options("flex", "FLUX.2 Flex", {"steps": 20}) == {"steps": 20}
    with pytest.raises(InvalidOptions) as caught:
        validate_options("flex", "FLUX.2 Flex", {"steps": 80, "cfg": 2})
    text = " ".join(caught.value.problems)
    assert "steps" in text and "'cfg'" in text and "guidance" in text


def test_models_without_options_refuse_any() -> None:
    with pytest.raises(InvalidOptions, match="does not take the option 'raw'"):
        validate_options("", "Nano Banana 2", {"raw": True})


def test_plan_turns_bad_options_into_problems(wb) -> None:
    request = generation.parse_request({
        "model": "flux-1.1-pro-ultra", "provider": "offline", "prompt": "a lighthouse",
        "options": {"raw": "sometimes", "steps": 3}})
    with pytest.raises(InvalidRequest) as caught:
        generation.plan(wb, request)
    assert len(caught.value.problems) == 2
    assert any("raw" in p for p in caught.value.problems)
    assert any("'steps'" in p for p in caught.value.problems)


def test_plan_passes_valid_options_on(wb) -> None:
    request = generation.parse_request({
        "model": "flux-2-flex", "provider": "offline", "prompt": "a lighthouse",
        "options": {"guidance": 4, "prompt_upsampling": None}})
    planned = generation.plan(wb, request)
    assert planned.image_request.options == {"guidance": 4.0}


def test_a_fake_takes_64_connections_before_it_accepts_any() -> None:
    """bench/runner.py at concurrency 64 lost jobs to resets with the default backlog of 5:
    64 connections must all be taken while the server has not accepted one yet."""
    import socket

    from harness.fakes import _Handler, _Server

    server = _Server(("127.0.0.1", 0), _Handler)  # listening, not serving
    opened: list[socket.socket] = []
    try:
        for _ in range(64):
            opened.append(socket.create_connection(server.server_address[:2], timeout=2))
    finally:
        for sock in opened:
            sock.close()
        server.server_close()
    assert len(opened) == 64


def test_no_provider_class_is_over_250_lines_or_15_public_methods() -> None:
    import ast
    from pathlib import Path

    import workbench.providers as package

    for path in sorted(Path(package.__path__[0]).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                public = [
                    f for f in node.body
                    if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                    and not f.name.startswith("_")
                ]
                where = f"{path.name}:{node.name}"
                assert node.end_lineno - node.lineno < 250, where
                assert len(public) <= 15, where

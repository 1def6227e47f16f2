"""The redaction every stored or shown error passes through (keys never leak)."""

from __future__ import annotations

from pathlib import Path

from workbench.config import load_settings
from workbench.redact import MASK, redact


def test_every_configured_key_is_masked_wherever_it_appears(tmp_path: Path) -> None:
    settings = load_settings(
        env={"BFL_API_KEY": "bfl-key-123456", "FAL_KEY": "fal:abcdef"},
        secrets_file=tmp_path / "none.toml",
    )
    text = "sent bfl-key-123456 twice: bfl-key-123456; fal said fal:abcdef"
    assert redact(text, settings) == f"sent {MASK} twice: {MASK}; fal said {MASK}"


def test_text_without_a_key_is_unchanged(tmp_path: Path) -> None:
    settings = load_settings(env={"BFL_API_KEY": "bfl-key-123456"}, secrets_file=tmp_path / "n")
    assert redact("HTTP 400: bad seed", settings) == "HTTP 400: bad seed"

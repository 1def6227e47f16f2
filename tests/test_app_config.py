"""How the app is served: on this machine only unless the user says otherwise ."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_app_listens_on_loopback_by_default() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert ipaddress.ip_address(config["server"]["address"]).is_loopback


def test_the_readme_shows_how_to_expose_it_on_purpose() -> None:
    assert "--server.address 0.0.0.0" in (ROOT / "README.md").read_text()

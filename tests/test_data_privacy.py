"""Private by default (workbench/paths.py): a new data directory is 0700 and its database, lock
and image files 0600; `WORKBENCH_DATA_UMASK` widens on purpose and the process umask still
applies; an existing directory this user owns is narrowed when opened, a team's image share is
not."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from workbench.config import load_settings
from workbench.errors import ConfigError
from workbench.services.workbench import open_workbench
from workbench.store import backend


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """A usual login umask (022), whatever the test runner's is."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _open(data: Path, **env: str):  # type: ignore[no-untyped-def]
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(data), **env}, secrets_file=data.parent / "none.toml"
    )
    return open_workbench(settings, idle_close_s=0)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def test_a_new_data_directory_is_private(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "deep" / "data"
    wb = _open(data)
    try:
        stored = wb.images.put(_png())
    finally:
        wb.close()
    assert _mode(data) == 0o700
    assert _mode(data / "workbench.duckdb") == 0o600
    assert _mode(data / "workbench.duckdb.lock") == 0o600
    assert _mode(data / "workbench.duckdb.wait") == 0o600
    assert _mode(data / stored.path) == 0o600 and _mode(data / stored.thumb_path) == 0o600
    assert _mode(tmp_path / "deep") == 0o755  # a parent is the umask's, not ours to narrow


def test_the_setting_widens_on_purpose_and_the_umask_still_applies(
    tmp_path: Path, umask_022: None
) -> None:
    shared = tmp_path / "shared"
    wb = _open(shared, WORKBENCH_DATA_UMASK="027")
    try:
        stored = wb.images.put(_png())
    finally:
        wb.close()
    assert _mode(shared) == 0o750 and _mode(shared / "workbench.duckdb") == 0o640
    assert _mode(shared / stored.path) == 0o640 and _mode(shared / stored.thumb_path) == 0o640
    os.umask(0o077)  # a user whose umask is narrower than the setting keeps it
    narrow = tmp_path / "narrow"
    _open(narrow, WORKBENCH_DATA_UMASK="022").close()
    assert _mode(narrow) == 0o700 and _mode(narrow / "workbench.duckdb") == 0o600


def test_an_existing_open_install_is_narrowed_when_opened(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "data"
    _open(data).close()
    os.chmod(data, 0o755)
    os.chmod(data / "workbench.duckdb", 0o644)
    os.chmod(data / "workbench.duckdb.lock", 0o666)
    _open(data).close()
    assert _mode(data) == 0o700
    assert _mode(data / "workbench.duckdb") == 0o600
    assert _mode(data / "workbench.duckdb.lock") == 0o600
    os.chmod(data, 0o711)  # narrower than 0755 but still wider than the mask: only the extra go
    _open(data, WORKBENCH_DATA_UMASK="066").close()
    assert _mode(data) == 0o711


def test_a_team_image_share_is_created_private_but_never_narrowed(
    tmp_path: Path, umask_022: None
) -> None:
    team = {"WORKBENCH_DATABASE_URL": "postgresql://team@127.0.0.1:5/team"}
    new = tmp_path / "new-share"
    backend._check_writable(load_settings(env={"WORKBENCH_DATA_DIR": str(new), **team}))
    assert _mode(new) == 0o700
    existing = tmp_path / "existing-share"
    existing.mkdir(mode=0o775)
    os.chmod(existing, 0o775)
    backend._check_writable(load_settings(env={"WORKBENCH_DATA_DIR": str(existing), **team}))
    assert _mode(existing) == 0o775


@pytest.mark.parametrize("raw", ["rw", "999", "1777", "-1"])
def test_a_malformed_mask_is_a_setting_error(raw: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WORKBENCH_DATA_UMASK must be an octal mask"):
        load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path), "WORKBENCH_DATA_UMASK": raw})

"""Where the workbench keeps things when no setting says otherwise: the project root and the data
directory. Imports nothing from the project and nothing heavy, so the command line can find a
data directory before it loads the settings (`cli.entry`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def _project_root() -> Path:
    """The source checkout when run from one; for an installed copy (in site-packages, where
    nothing may be written) the working directory, as Streamlit does for its own secrets."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


PROJECT_ROOT = _project_root()
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


def data_dir(env: Mapping[str, str]) -> Path:
    """`WORKBENCH_DATA_DIR` when set, else `data/` in the project root."""
    return Path(env.get("WORKBENCH_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()

"""Where the workbench keeps things when no setting says otherwise: the project root and the data
directory; and who may read it. Imports nothing from the project and nothing heavy, so the
command line can find a data directory before it loads the settings (`cli.entry`).

Private by default: the data directory holds every prompt, image and cost, so it is created
0700 and the database files 0600 (image files are written through `tempfile.mkstemp`, 0600).
The modes come from a mask: the process umask OR `WORKBENCH_DATA_UMASK` (octal, default 077),
so nothing is ever wider than the umask allows, and widening is a decision the user writes down
(`WORKBENCH_DATA_UMASK=027`: the group may read, e.g. a team's image share). A data directory
that exists already and is wider than the mask is narrowed when it is opened, if this user owns
it and it is a local directory (`fix_existing`); team mode's shared image directory is never
narrowed, only created with the mask.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

DATA_UMASK_VARIABLE = "WORKBENCH_DATA_UMASK"
DEFAULT_DATA_UMASK = 0o077


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


def data_umask(env: Mapping[str, str]) -> int:
    """`WORKBENCH_DATA_UMASK` as a mask (octal digits such as 077 or 027), else 077. A value
    that is not one raises ValueError with a sentence."""
    raw = (env.get(DATA_UMASK_VARIABLE) or "").strip()
    if not raw:
        return DEFAULT_DATA_UMASK
    try:
        mask = int(raw, 8)
    except ValueError:
        mask = -1
    if not 0 <= mask <= 0o777:
        raise ValueError(
            f"{DATA_UMASK_VARIABLE} must be an octal mask such as 077 (only you) or 027 (your "
            f"group may read), got {raw!r}"
        )
    return mask


def process_umask() -> int:
    """This process's umask, read without changing it where Linux shows it (`/proc/self/status`,
    since 4.7); elsewhere set and restored at once (os.umask has no reading form)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o077)
    os.umask(current)
    return current


def modes(mask: int) -> tuple[int, int]:
    """(directory mode, file mode) under `mask` and this process's umask."""
    effective = process_umask() | mask
    return 0o777 & ~effective, 0o666 & ~effective


def _narrow(path: Path, allowed: int, *, say: bool) -> None:
    """Take away the permission bits of `path` outside `allowed`, when this user owns it (with
    `say`, a warning names what changed)."""
    try:
        info = path.stat()
    except OSError:
        return
    current = stat.S_IMODE(info.st_mode)
    wider = current & ~allowed & 0o777
    if not wider or info.st_uid != os.getuid():
        return
    try:
        os.chmod(path, current & ~wider)
    except OSError as exc:
        logging.getLogger(__name__).warning("could not make %s private: %s", path, exc)
        return
    if say:
        logging.getLogger(__name__).warning(
            "%s was open to others (mode %o); now %o (%s widens it on purpose)",
            path, current, current & ~wider, DATA_UMASK_VARIABLE,
        )


def make_private_dir(path: Path, mask: int, *, fix_existing: bool) -> None:
    """Create the data directory `path` with the directory mode of `mask` (its parents as the
    umask makes them); with `fix_existing`, an existing one this user owns is narrowed to it.
    Raises OSError when it cannot be created."""
    dir_mode, _ = modes(mask)
    if path.is_dir():
        if fix_existing and not path.is_symlink():
            _narrow(path, dir_mode, say=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=dir_mode)  # the umask applies too: never wider than either
    except FileExistsError:  # another process made it in between
        return


def make_private_files(paths: list[Path], mask: int) -> None:
    """Narrow each existing file of `paths` this user owns to the file mode of `mask` (the
    database and its lock files, which their libraries create 0666 less the umask), quietly:
    they sit in the private directory."""
    _, file_mode = modes(mask)
    for path in paths:
        if path.is_file() and not path.is_symlink():
            _narrow(path, file_mode, say=False)

"""The upload spool: images a remote store could not take when they arrived, kept on this
machine's disk (flushed to disk before the write counts) until the next start or
`workbench recover` uploads them.

A generation is marked succeeded only once its image is in the store or in this spool. The spool
is durable on this machine but not shared: another machine shows such an image as unavailable
until the machine that made it uploads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from workbench.store.images.local import atomic_write
from workbench.store.images.refs import BadImageRef, parse_ref


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def add(self, key: str, data: bytes) -> None:
        atomic_write(self.root / key, data, durable=True)

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except OSError:
            return None

    def remove(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        """Spooled keys, originals before thumbnails; files the spool would not write are
        left alone."""
        if not self.root.is_dir():
            return []
        found: list[str] = []
        for folder in ("images", "thumbs"):
            for path in sorted((self.root / folder).rglob("*")):
                if not path.is_file() or path.name.startswith("."):
                    continue
                key = path.relative_to(self.root).as_posix()
                try:
                    parse_ref(key)
                except BadImageRef:
                    continue
                found.append(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    @staticmethod
    def intact(key: str, data: bytes) -> bool:
        """An original's bytes hash to its name; a thumbnail cannot be checked that way."""
        ref = parse_ref(key)
        return ref.thumb or hashlib.sha256(data).hexdigest() == ref.sha256

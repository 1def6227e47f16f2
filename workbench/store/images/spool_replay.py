"""Uploading what an `ImageStore`'s spool holds (images a bucket could not take when they were
stored), at each start and by `workbench recover`: each key leaves the spool once the store has
it, and bytes that no longer match their name are left and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.store.images.backend import ImageStoreError
from workbench.store.images.spool import Spool
from workbench.store.images.store import ImageStore


@dataclass
class SpoolReplay:
    uploaded: int = 0
    left: int = 0  # still spooled: the store could not take them now
    damaged: list[str] = field(default_factory=list)  # bytes no longer match their name
    error: str | None = None  # why the upload stopped


def replay_spool(store: ImageStore) -> SpoolReplay:
    """Upload what the spool holds; each key leaves the spool once the store has it."""
    done = SpoolReplay()
    if not store.remote:
        return done
    keys = store.spool.keys()
    for i, key in enumerate(keys):
        data = store.spool.get(key)
        if data is None:
            continue
        if not Spool.intact(key, data):
            done.damaged.append(key)
            continue
        try:
            store.backend.write(key, data)
        except ImageStoreError as exc:
            done.left = len(keys) - i
            done.error = str(exc)
            break
        store.spool.remove(key)
        done.uploaded += 1
    return done

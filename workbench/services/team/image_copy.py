"""Copying the stored images between this workbench's image store and another place
(`workbench images copy --to PLACE | --from PLACE`): an S3-compatible bucket or a data directory.
What is copied is what the source store holds (listed from the store, not from the database),
through `store.images.copying` (idempotent, sha256-checked)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.errors import InvalidInput
from workbench.services.workbench import Workbench
from workbench.store.images import store_at
from workbench.store.images.copying import ImageCopy, copy_images, listed


@dataclass(frozen=True)
class StoreCopy:
    source: str  # where from, without secrets
    target: str
    counts: ImageCopy


def copy_store(wb: Workbench, *, to: str | None = None, source: str | None = None) -> StoreCopy:
    """Copy every image `to` a place from this store, or from `source` into this store."""
    spec = to or source
    if not spec or not spec.strip():
        raise InvalidInput("Give --to PLACE or --from PLACE (s3://bucket/prefix or a directory).")
    other = store_at(spec, wb.settings.data_dir)
    here = wb.images
    if other.location == here.location:
        raise InvalidInput(f"The images already live at {here.location}.")
    src, dst = (here, other) if to else (other, here)
    counts = copy_images(src, dst, ((None, image, thumb) for image, thumb in listed(src)))
    return StoreCopy(src.location, dst.location, counts)

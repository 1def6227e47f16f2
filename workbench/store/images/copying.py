"""Moving images from one store to another (`workbench images copy`, `workbench db copy`).

Idempotent: an image the target already holds is left alone and counted as there. An image is
read from the source, its bytes checked against the sha256 in its name, and only then written
(a write is whole or not at all on both backends); its thumbnail follows. A reference the
workbench would not have written is refused, never opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from workbench.store.images.backend import ImageMissing, ImageStoreError, ImageUnavailable
from workbench.store.images.refs import BadImageRef, parse_ref, thumb_ref
from workbench.store.images.store import ImageStore


@dataclass
class ImageCopy:
    copied: int = 0
    present: int = 0
    thumbs_copied: int = 0
    missing: list[str] = field(default_factory=list)  # at the source: cannot be copied
    corrupt: list[str] = field(default_factory=list)  # bytes do not match their sha256
    refused: list[str] = field(default_factory=list)  # not a reference the workbench writes
    failed: list[str] = field(default_factory=list)  # the target could not take them

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.refused or self.failed)

    def line(self) -> str:
        parts = [f"images: {self.copied:,} copied, {self.present:,} already there"]
        for name, items in (("missing at the source", self.missing), ("corrupt", self.corrupt),
                            ("refused (not a workbench image path)", self.refused),
                            ("not written", self.failed)):
            if items:
                parts.append(f"{len(items):,} {name}")
        return ", ".join(parts)

    def problems(self, limit: int = 10) -> list[str]:
        shown = [*(f"  missing {x}" for x in self.missing),
                 *(f"  corrupt {x}" for x in self.corrupt),
                 *(f"  refused {x!r}"[:100] for x in self.refused),
                 *(f"  not written {x}" for x in self.failed)]
        return shown[:limit]


def listed(store: ImageStore) -> list[tuple[str, str]]:
    """(image reference, thumbnail reference) of every image the store itself holds."""
    pairs = []
    for key, _ in store.backend.entries("images"):
        try:
            ref = parse_ref(key)
        except BadImageRef:
            continue  # a temporary file or a stranger: not an image of this store
        pairs.append((ref.key, thumb_ref(ref.sha256).key))
    return pairs


def copy_images(
    source: ImageStore, target: ImageStore, rows: Iterable[tuple[str | None, object, object]],
) -> ImageCopy:
    """Copy each (sha256 or None, image reference, thumbnail reference) the target lacks.
    ImageStoreError from the target (unreachable, refused) stops the copy: it is raised."""
    done = ImageCopy()
    for sha, path, thumb in rows:
        try:
            ref = parse_ref(path)
            small = parse_ref(thumb) if thumb is not None else thumb_ref(ref.sha256)
            if ref.thumb or not small.thumb or small.sha256 != ref.sha256 or (
                sha is not None and sha != ref.sha256
            ):
                raise BadImageRef("mismatched")
        except BadImageRef:
            done.refused.append(str(path))
            continue
        if target.backend.has(ref.key):
            done.present += 1
        else:
            try:
                data = source.read(ref.key)
            except ImageMissing:
                done.missing.append(ref.sha256)
                continue
            except ImageUnavailable as exc:
                raise ImageStoreError(f"Cannot read {ref.key} from {source.location}: {exc}.") \
                    from None
            if hashlib.sha256(data).hexdigest() != ref.sha256:
                done.corrupt.append(ref.sha256)
                continue
            target.backend.write(ref.key, data)
            done.copied += 1
        if not target.backend.has(small.key):
            try:
                target.backend.write(small.key, source.read(small.key))
                done.thumbs_copied += 1
            except ImageUnavailable:
                pass  # a thumbnail is a convenience: the image itself is what counts
    return done

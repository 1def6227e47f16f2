"""The prompt library as pages and the command line use it: save what is in the builder under a
name (each save a new version), find and mark names, reopen a version in the builder, link the
generations made from it, diff two versions and compare their figures side by side."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workbench.domain.catalog import UnknownModel
from workbench.domain.prompt_diff import DiffPart, word_diff
from workbench.errors import InvalidInput
from workbench.services.workbench import Workbench
from workbench.store.prompt_library import LibraryMarks, NewVersion, VersionFigures
from workbench.store.records import LibraryHead, LibraryVersion

NAME_MAX = 120
TAG_MAX = 40
NOTE_MAX = 5_000
# Names show up in file names of exports and in shells: no separators, wildcards or controls.
_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')


class LibraryError(InvalidInput):
    """A name, tag or version the library cannot use; the message says what to change."""


def check_name(name: str) -> str:
    """The name as stored (surrounding spaces removed), or LibraryError saying why not."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise LibraryError("Give the prompt a name (it is empty).")
    if len(cleaned) > NAME_MAX:
        raise LibraryError(
            f"A library name is at most {NAME_MAX} characters; this one has {len(cleaned):,}."
        )
    bad = sorted(set(_FORBIDDEN.findall(cleaned)))
    if bad or cleaned in {".", ".."}:
        shown = " ".join(repr(c)[1:-1] for c in bad) or cleaned
        raise LibraryError(
            f"A library name cannot hold path or control characters ({shown}); "
            "use letters, digits, spaces, dashes or dots."
        )
    return cleaned


class SaveRequest(BaseModel):
    """What the builder holds, to be saved as the next version of `name`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    model: str = Field(min_length=1)
    provider: str | None = None
    template_id: str | None = None
    slots: dict[str, str] | None = None
    prompt: str = Field(default="", max_length=200_000)
    aspect_ratio: str | None = None
    size: str | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        str(e["ctx"]["error"]) if "ctx" in e and "error" in e["ctx"]
        else f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
        for e in exc.errors()
    )


def save(wb: Workbench, data: dict[str, Any]) -> LibraryVersion:
    """Append the builder's state as the next version of its name; returns the version."""
    try:
        req = SaveRequest.model_validate(data)
    except ValidationError as exc:
        raise LibraryError(_problems(exc)) from None
    try:
        wb.catalog.model(req.model)
    except UnknownModel as exc:
        raise LibraryError(str(exc)) from None
    if not req.prompt.strip() and not any(v.strip() for v in (req.slots or {}).values()):
        raise LibraryError("There is nothing to save: the prompt and every slot are empty.")
    params = {k: getattr(req, k) for k in ("aspect_ratio", "size", "seed")}
    return wb.library.save(NewVersion(
        name=req.name, model=req.model, provider=req.provider, template_id=req.template_id,
        slots=req.slots, prompt=req.prompt,
        params={k: v for k, v in params.items() if v is not None},
    ))


def mark(wb: Workbench, name: str, tags: list[str], note: str, favourite: bool) -> None:
    name = check_name(name)
    if wb.library.find(name) is None:
        raise LibraryError(f"No prompt named {name!r} in the library.")
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    for tag in cleaned:
        if len(tag) > TAG_MAX or _FORBIDDEN.search(tag) or "," in tag:
            raise LibraryError(
                f"A tag is at most {TAG_MAX} characters, without commas, path or control "
                f"characters: {tag[:60]!r}"
            )
    if len(note) > NOTE_MAX:
        raise LibraryError(
            f"A note is at most {NOTE_MAX:,} characters; this one has {len(note):,}."
        )
    wb.library.mark(name, cleaned, note, favourite)


@dataclass(frozen=True)
class LibraryPage:
    rows: list[LibraryHead]
    total: int
    page: int
    pages: int


def browse(
    wb: Workbench,
    text: str = "",
    tag: str | None = None,
    favourites_only: bool = False,
    page: int = 1,
    page_size: int = 25,
) -> LibraryPage:
    """One page of names matching the search (name, tag, text of any version)."""
    page = max(1, page)
    rows = wb.library.search(text, tag, favourites_only, page_size, (page - 1) * page_size)
    total = rows[0].total if rows else wb.library.count(text, tag, favourites_only)
    pages = max(1, -(-total // page_size))
    if page > pages:  # past the end (the list shrank): show the last page instead
        return browse(wb, text, tag, favourites_only, pages, page_size)
    return LibraryPage(rows=rows, total=total, page=page, pages=pages)


def tags(wb: Workbench) -> list[str]:
    """Every tag in use in the library, for the filter."""
    return wb.library.tags()


def marks(wb: Workbench, name: str) -> LibraryMarks:
    """A name's tags, note and favourite star."""
    return wb.library.marks(name)


def versions(wb: Workbench, name: str) -> list[LibraryVersion]:
    """Every saved version of a name, oldest first."""
    return wb.library.versions(name)


def resolve(wb: Workbench, ref: str) -> LibraryVersion:
    """A version from `NAME` (the newest) or `NAME@N`; LibraryError when there is none."""
    name, _, number = ref.rpartition("@")
    version = int(number) if name and number.isdigit() else None
    name = name if version is not None else ref
    found = wb.library.find(check_name(name), version)
    if found is None:
        which = f"version {version} of {name!r}" if version is not None else repr(name)
        raise LibraryError(f"No {which} in the library.")
    return found


def version(wb: Workbench, version_id: str) -> LibraryVersion:
    found = wb.library.get(version_id)
    if found is None:
        raise LibraryError(f"No library version {version_id!r}.")
    return found


def to_builder(saved: LibraryVersion) -> dict[str, Any]:
    """What the Build page needs to reopen a version (the same shape History's "Open in
    builder" hands over), plus the version id so what it generates is linked to it."""
    params = saved.params or {}
    return {
        "model": saved.model,
        "provider": saved.provider,
        "template_id": saved.template_id or "free-text",
        "slots": saved.slots,
        "prompt": saved.prompt,
        "aspect_ratio": params.get("aspect_ratio"),
        "size": params.get("size"),
        "seed": params.get("seed"),
        "library_version_id": saved.id,
    }


def still_matches(wb: Workbench, version_id: str | None, request: dict[str, Any]) -> str | None:
    """The version id if the builder still holds that version's model, template and text (so a
    generation made now is that version's), else None: an edited prompt is no longer it."""
    if not version_id:
        return None
    saved = wb.library.get(version_id)
    if saved is None or saved.model != request.get("model"):
        return None
    if (saved.template_id or "free-text") != (request.get("template_id") or "free-text"):
        return None
    return version_id if saved.prompt == (request.get("prompt") or "") else None


def diff(wb: Workbench, old_id: str, new_id: str) -> list[DiffPart]:
    return word_diff(version(wb, old_id).prompt, version(wb, new_id).prompt)


def stats(wb: Workbench, version_id: str) -> VersionFigures:
    return wb.library.stats(version(wb, version_id).id)


def _fmt(value: float | None, n: int, pattern: str) -> str:
    return "–" if value is None else f"{pattern.format(value)} (n={n})"


def figures(figs: VersionFigures) -> dict[str, str]:
    """One version's figures (from `stats`) as text, each with its n, in display order."""
    shown = {
        "generations": f"{figs.generations} ({figs.succeeded} ok)",
        "mean cost": _fmt(figs.mean_cost_usd, figs.cost_n, "${:.4f}"),
        "mean latency": _fmt(figs.mean_latency_ms, figs.latency_n, "{:.0f} ms"),
        "Arena win rate (overall)": _fmt(figs.arena_win_rate, figs.arena_votes, "{:.0%}"),
    }
    for criterion, star in sorted(figs.stars.items()):
        shown[f"mean stars: {criterion}"] = _fmt(star.mean, star.n, "{:.2f}★")
    return shown


def side_by_side(wb: Workbench, left_id: str, right_id: str) -> list[dict[str, Any]]:
    """Rows of (figure, left, right) with n, for two versions compared like promptfoo does."""
    left, right = figures(stats(wb, left_id)), figures(stats(wb, right_id))
    names = [*left, *(k for k in right if k not in left)]
    return [{"figure": k, "left": left.get(k, "–"), "right": right.get(k, "–")} for k in names]


def produced(wb: Workbench, version_id: str, limit: int = 48) -> list[dict[str, Any]]:
    """The newest generations made from a version, each with its thumbnail as a data URI."""
    rows = wb.library.generations(version(wb, version_id).id, limit)
    return [
        {
            **{k: v for k, v in asdict(row).items() if k != "thumb_path"},
            "thumbnail": wb.images.thumbs.data_uri(row.thumb_path),
        }
        for row in rows
    ]

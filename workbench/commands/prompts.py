"""`workbench prompts list|show|save|diff`: the prompt library from the command line. A version
is named `NAME` (its newest) or `NAME@N`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

from workbench.commands import EXIT_OK, EXIT_USAGE, CommandError, opened_workbench
from workbench.domain.plural import count


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prompts",
        help="the versioned prompt library",
        description="Save prompts under a name (each save is a new version), list and show "
        "them with their figures, and diff two versions word by word.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="names in the library, favourites first")
    listing.add_argument("--search", default="", help="words in a name or in any version's text")
    listing.add_argument("--tag", help="only names with this tag")
    listing.add_argument("--favourites", action="store_true", help="only starred names")
    listing.add_argument("--limit", type=int, default=25, help="rows per page (1-1000)")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=run_list)

    show = actions.add_parser("show", help="one version, its marks and its figures")
    show.add_argument("ref", metavar="NAME[@N]")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)

    save = actions.add_parser("save", help="save a prompt as the next version of NAME")
    save.add_argument("name", metavar="NAME")
    save.add_argument("--model", required=True)
    save.add_argument("--provider")
    save.add_argument("--template", help="template id; fill it with --slot")
    save.add_argument("--slot", action="append", default=[], metavar="ID=VALUE")
    save.add_argument("--prompt", default="", help="free text (without --template)")
    save.add_argument("--aspect-ratio")
    save.add_argument("--size")
    save.add_argument("--seed", type=int)
    save.set_defaults(run=run_save)

    diff = actions.add_parser("diff", help="word-level diff between two versions")
    diff.add_argument("old", metavar="NAME[@N]")
    diff.add_argument("new", metavar="NAME[@N]")
    diff.set_defaults(run=run_diff)


def _clean(value: Any) -> Any:
    return value.isoformat(sep=" ", timespec="seconds") if hasattr(value, "isoformat") else value


def run_list(args: Any) -> int:
    from workbench.services.delivery import library

    with opened_workbench() as wb:
        page = library.browse(
            wb, args.search, args.tag, args.favourites, args.page, max(1, min(1000, args.limit))
        )
    for row in page.rows:
        if args.json:
            print(json.dumps({k: _clean(v) for k, v in asdict(row).items()}))
            continue
        star = "★" if row.favourite else " "
        tags = f" [{', '.join(row.tags)}]" if row.tags else ""
        text = " ".join(row.prompt.split())
        print(f"{star} {row.name}@{row.version}  {row.model}{tags}  {text[:70]}")
    if not args.json:
        print(f"page {page.page} of {page.pages} · {count(page.total, 'name')}",
              file=sys.stderr)
    return EXIT_OK


def run_show(args: Any) -> int:
    from workbench.services.delivery import library

    with opened_workbench() as wb:
        saved = library.resolve(wb, args.ref)
        marks = library.marks(wb, saved.name)
        numbers = [v.version for v in library.versions(wb, saved.name)]
        measured = library.stats(wb, saved.id)
    if args.json:
        out = {**{k: _clean(v) for k, v in asdict(saved).items()}, **asdict(marks),
               "versions": numbers, "stats": asdict(measured)}
        print(json.dumps(out))
        return EXIT_OK
    print(f"{saved.name}@{saved.version} (of {len(numbers)}) · {saved.id}")
    print(f"model {saved.model} · provider {saved.provider or '-'} · template "
          f"{saved.template_id or 'free-text'} · params {json.dumps(saved.params)}")
    if saved.slots and (saved.template_id or "free-text") != "free-text":
        for slot, value in saved.slots.items():
            print(f"  {slot}: {value}")
    print(f"prompt: {saved.prompt}")
    if marks.tags or marks.note or marks.favourite:
        print(f"tags: {', '.join(marks.tags) or '-'} · favourite: "
              f"{'yes' if marks.favourite else 'no'} · note: {marks.note or '-'}")
    for figure, text in library.figures(measured).items():
        print(f"{figure}: {text}")
    return EXIT_OK


def _slots(pairs: list[str]) -> dict[str, str]:
    slots: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--slot takes ID=VALUE, not {pair!r}", EXIT_USAGE)
        slots[key.strip()] = value
    return slots


def run_save(args: Any) -> int:
    from workbench.services.delivery import library

    slots = _slots(args.slot)
    with opened_workbench() as wb:
        prompt = args.prompt
        if args.template and args.template != "free-text":
            try:
                template = wb.templates.get(args.template)
            except KeyError:
                raise CommandError(f"Unknown template {args.template!r}", EXIT_USAGE) from None
            prompt = template.assemble(slots)
        elif prompt:
            slots = {"prompt": prompt}
        saved = library.save(wb, {
            "name": args.name, "model": args.model, "provider": args.provider,
            "template_id": args.template or "free-text", "slots": slots or None,
            "prompt": prompt, "aspect_ratio": args.aspect_ratio, "size": args.size,
            "seed": args.seed,
        })
    print(f"saved {saved.name}@{saved.version} ({saved.id})")
    return EXIT_OK


def run_diff(args: Any) -> int:
    from workbench.domain.prompt_diff import as_text
    from workbench.services.delivery import library

    with opened_workbench() as wb:
        old, new = library.resolve(wb, args.old), library.resolve(wb, args.new)
        parts = library.diff(wb, old.id, new.id)
    print(f"--- {old.name}@{old.version}\n+++ {new.name}@{new.version}")
    print(as_text(parts))
    return EXIT_OK

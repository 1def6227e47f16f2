"""`workbench images`: copies of logged images with their recipe inside (A1111
`parameters` and the `workbench` record), for a run and/or single generations. The stored
originals are only read."""

from __future__ import annotations

import sys
from typing import Any

from workbench.commands import EXIT_OK, CommandError, opened_workbench
from workbench.commands._selection import add_selection_arguments, require_selection


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "images",
        help="export images with their recipe inside",
        description="Write copies of logged images that carry their prompt and settings "
        "(PNG text chunks; JPEG XMP and EXIF UserComment).",
    )
    add_selection_arguments(parser, "folder to write into")
    parser.set_defaults(run=run)


def run(args: Any) -> int:
    from workbench.services.delivery import provenance

    require_selection(args)
    with opened_workbench() as wb:
        ids = provenance.generation_ids(wb, run_id=args.run_id, ids=args.ids)
        if not ids:
            raise CommandError(f"run {args.run_id} has no succeeded images")
        try:
            written = provenance.export_images(wb, ids, args.out)
        except provenance.ExportError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write to {args.out}: {exc.strerror}") from None
    for path in written:
        print(path)
    print(f"wrote {len(written)} image(s) to {args.out}", file=sys.stderr)
    return EXIT_OK

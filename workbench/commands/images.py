"""`python -m workbench images`: copies of logged images with their recipe inside (A1111
`parameters` and the `workbench` record), for a run and/or single generations. The stored
originals are only read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from workbench.commands import EXIT_OK, EXIT_USAGE, CommandError, opened_workbench


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "images",
        help="export images with their recipe inside",
        description="Write copies of logged images that carry their prompt and settings "
        "(PNG text chunks; JPEG XMP and EXIF UserComment).",
    )
    parser.add_argument("--run", dest="run_id", help="every succeeded image of this run")
    parser.add_argument(
        "--id", dest="ids", action="append", default=[], metavar="GEN_ID",
        help="one generation (repeat for more)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.set_defaults(run=run)


def run(args: Any) -> int:
    from workbench.services import provenance

    if not args.run_id and not args.ids:
        raise CommandError("give --run RUN_ID or --id GEN_ID", EXIT_USAGE)
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

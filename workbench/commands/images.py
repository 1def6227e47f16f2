"""`workbench images`: copies of logged images with their recipe inside (A1111 `parameters` and
the `workbench` record), for a run and/or single generations; the stored originals are only
read.

`workbench images copy --to PLACE | --from PLACE`: move the stored images themselves between this
workbench's image store (the data directory, or `WORKBENCH_IMAGES_URL`) and another one, an
`s3://bucket/prefix` or a data directory. Idempotent (an image already there is counted, not
written again), each image checked against its sha256 before it is written; prints the counts
and exits 1 when an image is corrupt or missing."""

from __future__ import annotations

import sys
from typing import Any

from workbench.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError, opened_workbench
from workbench.commands._selection import add_selection_arguments, require_selection
from workbench.domain.plural import count


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "images",
        help="export images with their recipe inside; copy the image store",
        description="Write copies of logged images that carry their prompt and settings "
        "(PNG text chunks; JPEG XMP and EXIF UserComment). `images copy` moves the stored "
        "images to or from another store.",
    )
    add_selection_arguments(parser, "folder to write into", out_required=False)
    parser.set_defaults(run=run)
    actions = parser.add_subparsers(dest="images_action", metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        help="copy the stored images to or from an S3 bucket or a data directory",
        description="Copy every stored image (and its thumbnail) that the other side lacks: "
        "--to PLACE from this workbench's image store, --from PLACE into it. PLACE is "
        "s3://bucket/prefix (endpoint, region and credentials from AWS_ENDPOINT_URL, "
        "AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE) or a data "
        "directory. Running it twice copies nothing twice; each image is checked against its "
        "sha256; exits 1 when one is corrupt or missing.",
    )
    side = copy.add_mutually_exclusive_group(required=True)
    side.add_argument("--to", metavar="PLACE", help="s3://bucket/prefix or a data directory")
    side.add_argument("--from", dest="source", metavar="PLACE",
                      help="s3://bucket/prefix or a data directory")
    copy.set_defaults(run=run_copy)


def run(args: Any) -> int:
    from workbench.services.delivery import provenance

    if args.out is None:
        raise CommandError("give --out FOLDER (or `images copy --to PLACE`)", EXIT_USAGE)
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
    print(f"wrote {count(len(written), 'image')} to {args.out}", file=sys.stderr)
    return EXIT_OK


def run_copy(args: Any) -> int:
    from workbench.services.team import image_copy

    with opened_workbench() as wb:
        done = image_copy.copy_store(wb, to=args.to, source=args.source)
    print(f"{done.source} -> {done.target}")
    print(done.counts.line())
    for line in done.counts.problems():
        print(line)
    return EXIT_OK if done.counts.ok else EXIT_FAILED

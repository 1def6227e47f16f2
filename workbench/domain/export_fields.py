"""What an export says about each generation, in this column order: the command line's
`export` (CSV, JSON lines, Parquet) and the manifests of image ZIPs use the same list."""

from __future__ import annotations

GENERATION_FIELDS = (
    "id",
    "run_id",
    "cell",
    "created_at",
    "finished_at",
    "status",
    "model",
    "provider",
    "provider_model_id",
    "provider_request_id",
    "template_id",
    "category",
    "prompt",
    "aspect_ratio",
    "size",
    "seed",
    "seed_returned",
    "width",
    "height",
    "latency_ms",
    "cost_usd",
    "cost_kind",
    "error_kind",
    "error_message",
    "image_sha256",
    "image_path",
    "rating",
    "tags",  # added after the fact (comma-separated), with the note
    "note",
)
# The fields an export reads from the generation itself (the rest: `tags` and `note`).
LOGGED_FIELDS = GENERATION_FIELDS[: GENERATION_FIELDS.index("tags")]

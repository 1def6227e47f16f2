"""How fast the report to send is built: 24 images in one self-contained HTML file.

A temporary data directory gets 24 succeeded generations with photo-like images at the sizes
the providers return (12 PNG at 1024x1024 as Nano Banana 2, 12 JPEG at 1440x1440 as FLUX.2 Pro
at 2 MP), a star rating on each and 40 arena votes, so the verdict rows are in the report too.
Then `services.report.build_report` for all 24, --repeat times:

- `report_24_images_s`: median seconds from ids to the finished HTML (issue target: <= 3 s);
- `report_24_images_cpu_s`: the CPU seconds of that (all threads), which load does not inflate;
- `report_24_images_mb`: the file's size (issue limit: < 15 MB);
- `export_with_provenance_ms`: median milliseconds for one PNG copy with its recipe inside.

The prompt library, on a second temporary database: the 1,000,000-row synthetic log of
bench/history.py, 10,000 saved versions (2,500 names x 4, every name tagged and noted), and one
version that produced 1,000 of the log's generations (with a star rating on each and 400 arena
votes). Median of --repeat runs after one warm-up:

- `library_page_ms`: the Library page's data for one rerun (the tag list, the first page of
  names, the chosen name's versions and marks), with 10,000 versions (issue target: <= 50 ms);
- `version_stats_ms`: one version's figures (counts, cost, latency, mean stars per criterion,
  Arena win rate) for the version with 1,000 generations on the 1M-row log (target: <= 100 ms).

Last line: one JSON object.

Usage: .venv/bin/python bench/library.py [--repeat 3] [--rows 1000000] [--versions 10000]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench.history import fill, timed  # noqa: E402
from workbench.config import load_settings  # noqa: E402
from workbench.domain.ids import new_id  # noqa: E402
from workbench.services.delivery import library  # noqa: E402
from workbench.services.delivery.provenance import image_with_provenance  # noqa: E402
from workbench.services.delivery.report import build_report  # noqa: E402
from workbench.services.workbench import Workbench, open_workbench  # noqa: E402
from workbench.store.attempts import NewGeneration, Outcome  # noqa: E402
from workbench.store.votes import NewVote  # noqa: E402

PROMPT = (
    "A copper kettle on a weathered oak table, soft window light from the left, 85mm f/1.4, "
    "brushed metal and grain texture, warm morning tones"
)


def photo_like(side: int, seed: int, fmt: str) -> bytes:
    """Smooth light, a few soft shapes and fine grain: closer to a photo than noise or a flat
    fill, so the JPEG sizes are realistic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    base = np.stack([0.6 + 0.3 * x, 0.45 + 0.3 * y, 0.35 + 0.2 * (1 - x)], axis=-1)
    for _ in range(6):
        cx, cy, r = rng.random(3) * [1, 1, 0.25] + [0, 0, 0.05]
        blob = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (r * r)))[..., None]
        base = base * (1 - 0.6 * blob) + 0.6 * blob * rng.random(3)
    pixels = np.clip(base * 255 + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def seed_log(wb: Workbench) -> list[str]:
    ids = []
    for i in range(24):
        flux = i % 2 == 1
        model, provider = ("flux-2-pro", "bfl") if flux else ("nano-banana-2", "gemini")
        side, fmt = (1440, "JPEG") if flux else (1024, "PNG")
        generation_id = new_id("gen")
        wb.attempts.insert_pending(NewGeneration(
            id=generation_id, model=model, provider=provider, prompt=PROMPT,
            prompt_written=PROMPT, category="product", seed=i,
        ))
        wb.attempts.complete(generation_id, Outcome(
            status="succeeded", latency_ms=9000.0 if flux else 6000.0,
            cost_usd=0.045 if flux else 0.039, cost_kind="known",
            image=wb.images.put(photo_like(side, i, fmt)),
        ))
        wb.ratings.add(generation_id, "overall", 3 + i % 3)
        ids.append(generation_id)
    votes = wb.votes
    for i in range(40):
        votes.add(NewVote(
            left_model="flux-2-pro", right_model="nano-banana-2", left_provider="bfl",
            right_provider="gemini", left_generation_id=ids[1 + 2 * (i % 12)],
            right_generation_id=ids[2 * (i % 12)], winner="left" if i % 3 else "right",
            criterion="overall", prompt=PROMPT,
        ))
    return ids


def seed_library(wb: Workbench, versions: int, linked: int) -> str:
    """`versions` saved versions in bulk (4 per name), tags and a note on every name, and
    `linked` succeeded generations of the log made from the newest version of `kite-0`, each
    rated, with 400 overall votes against other images; the linked version's id."""
    with wb.db.cursor() as cur:
        cur.execute(
            "INSERT INTO library_versions (id, name, version, created_at, model, provider,"
            " template_id, slots, params, prompt)"
            " SELECT 'pv_' || lpad(i::VARCHAR, 8, '0'), 'kite-' || (i // 4)::VARCHAR,"
            " 1 + i % 4, TIMESTAMP '2026-01-01' + to_seconds(i * 60), 'nano-banana-2',"
            " 'offline', 'free-text', json_object('prompt', p), '{\"aspect_ratio\": \"1:1\"}', p"
            " FROM (SELECT range AS i, 'A red kite over dunes, take ' || range::VARCHAR"
            "  || ', late afternoon, soft light, wide shot' AS p FROM range(?))",
            [versions],
        )
        cur.execute(
            "INSERT INTO library_marks (id, name, created_at, tags, note, favourite)"
            " SELECT 'pm_' || name, name, TIMESTAMP '2026-06-01', '[\"beach\", \"draft\"]',"
            " 'a note', hash(name) % 10 = 0 FROM (SELECT DISTINCT name FROM library_versions)"
        )
        cur.execute(  # what save() and mark() keep in step, for the bulk-made rows
            "INSERT INTO library_heads (name, version_id, version, versions, saved_at, model,"
            " prompt, tags, note, favourite) SELECT v.name, v.id, v.version, 4, v.created_at,"
            " v.model, v.prompt, m.tags, m.note, m.favourite FROM library_versions v"
            " JOIN library_marks m ON m.name = v.name WHERE v.version = 4"
        )
        newest = cur.execute(
            "SELECT id FROM library_versions WHERE name = 'kite-0' ORDER BY version DESC LIMIT 1"
        ).fetchone()
        assert newest is not None  # the INSERT above made four versions of kite-0
        version_id = newest[0]
        cur.execute(
            "UPDATE generations SET library_version_id = ? WHERE id IN (SELECT id FROM"
            " generations WHERE status = 'succeeded' ORDER BY id DESC LIMIT ?)",
            [version_id, linked],
        )
        cur.execute(
            "INSERT INTO ratings (id, generation_id, criterion, stars, rater, created_at, model,"
            " provider) SELECT nextval('ratings_id_seq'), id, c, 1 + (hash(id || c) % 5)::INTEGER,"
            " 'me', created_at, model, provider FROM generations,"
            " (VALUES ('overall'), ('prompt_adherence')) t(c) WHERE library_version_id = ?",
            [version_id],
        )
        mine = [r[0] for r in cur.execute(
            "SELECT id FROM generations WHERE library_version_id = ? LIMIT 400", [version_id]
        ).fetchall()]
        others = [r[0] for r in cur.execute(
            "SELECT id FROM generations WHERE library_version_id IS NULL AND status ="
            " 'succeeded' LIMIT 400"
        ).fetchall()]
        cur.execute("CHECKPOINT")
    wb.votes.add_many(
        NewVote(left_model="nano-banana-2", right_model="flux-2-pro", left_provider="gemini",
                right_provider="bfl", left_generation_id=a, right_generation_id=b,
                winner="left" if i % 3 else "right", criterion="overall", prompt=PROMPT)
        for i, (a, b) in enumerate(zip(mine, others, strict=True))
    )
    return version_id


def library_figures(rows: int, versions: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={"WORKBENCH_DATA_DIR": tmp}, secrets_file=Path(tmp) / "x")
        wb = open_workbench(settings, idle_close_s=5)
        try:
            fill(wb, rows)
            version_id = seed_library(wb, versions, 1000)
            assert library.stats(wb, version_id).generations == 1000

            def page_data() -> None:
                wb.library.tags()
                found = library.browse(wb)
                name = found.rows[0].name
                wb.library.versions(name)
                wb.library.marks(name)

            return {
                "library_page_ms": timed(page_data, repeat),
                "version_stats_ms": timed(lambda: library.stats(wb, version_id), repeat),
            }
        finally:
            wb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000, help="generations in the log")
    parser.add_argument("--versions", type=int, default=10_000, help="saved library versions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={"WORKBENCH_DATA_DIR": tmp}, secrets_file=Path(tmp) / "x")
        wb = open_workbench(settings, idle_close_s=0)
        try:
            ids = seed_log(wb)
            times, cpu, size = [], [], 0
            for _ in range(args.repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                report = build_report(wb, ids, "Bench report")
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                size = len(report.data)
                assert report.images == 24
            exports = []
            for generation_id in ids[:8]:
                started = time.perf_counter()
                image_with_provenance(wb, generation_id)
                exports.append((time.perf_counter() - started) * 1000)
        finally:
            wb.close()
    figures = {
        "report_24_images_s": round(statistics.median(times), 3),
        "report_24_images_cpu_s": round(statistics.median(cpu), 3),
        "report_24_images_mb": round(size / 1024 / 1024, 2),
        "export_with_provenance_ms": round(statistics.median(exports), 1),
        **library_figures(args.rows, args.versions, max(args.repeat, 5)),
    }
    print(f"report of 24 images: {figures['report_24_images_s']} s (median of {args.repeat}), "
          f"{figures['report_24_images_cpu_s']} s of CPU over all threads (the wall time on a "
          f"busy machine is mostly waiting for a core), {figures['report_24_images_mb']} MB")
    print(f"one exported copy with provenance: {figures['export_with_provenance_ms']} ms")
    print(f"library page data with {args.versions:,} versions: {figures['library_page_ms']} ms")
    print(f"one version's figures (1,000 generations, {args.rows:,}-row log): "
          f"{figures['version_stats_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""`workbench run | history | export` with the offline renderer: exit codes, the
summary table, budgets, resume, filters and export formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from workbench import cli
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.runs import grids
from workbench.services.workbench import open_workbench


def _open(data: Path):  # type: ignore[no-untyped-def]
    return open_workbench(
        load_settings(env={"WORKBENCH_DATA_DIR": str(data)}, secrets_file=data / "none.toml"),
        idle_close_s=0,
    )


def test_run_a_prompt_file_and_print_a_summary(data_dir: Path, tmp_path: Path, capsys) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# two prompts\na red kite over dunes\n\na lighthouse at dusk --ar 3:2\n")
    code = cli.main(
        [
            "run",
            str(prompts),
            "--models",
            "nano-banana-2,flux-2-pro",
            "--variations",
            "2",
            "--seed",
            "5",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "run id: run_" in err and "8 images" in err
    assert out.count("[") >= 8  # a progress line per generation
    table = out.splitlines()[-3:]
    assert table[0].split()[:3] == ["model", "done", "failed"]
    assert table[1].split()[:3] == ["flux-2-pro", "4", "0"]
    wb = _open(data_dir)
    rows = wb.log.page(HistoryFilter(), limit=100)
    wb.close()
    assert len(rows) == 8 and {r.status for r in rows} == {"succeeded"}
    assert {r.aspect_ratio for r in rows if "lighthouse" in r.prompt} == {"3:2"}
    assert sorted({r.seed for r in rows}) == [5, 6]


def test_run_a_shipped_suite_keeps_each_prompts_category(data_dir: Path, capsys) -> None:
    code = cli.main(["run", "quick", "--models", "flux-2-pro", "--quiet"])
    assert code == 0, capsys.readouterr().err
    wb = _open(data_dir)
    categories = set(wb.log.choices()["categories"])
    wb.close()
    assert {"portrait", "text", "complex", "minimal"} <= categories


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "quick"], "--models"),
        (["run", "quick", "--models", "dall-e"], "Unknown model"),
        (["run", "no-such-suite", "--models", "flux-2-pro"], "Cannot use"),
        (["run", "quick", "--models", "flux-2-pro", "--variations", "0"], "--variations"),
        (
            ["run", "quick", "--models", "flux-2-pro", "--provider-for", "flux-2-pro"],
            "MODEL=PROVIDER",
        ),
        (
            [
                "run",
                "quick",
                "--models",
                "flux-2-pro",
                "--provider-for",
                "flux-2-pro=bfl",
                "--budget",
                "0.01",
            ],
            "over its budget",
        ),
        (["run"], "--resume"),
        (["run", "--resume", "run_nope"], "No run"),
    ],
)
def test_run_refuses_bad_input_with_one_line(
    data_dir: Path, capsys, argv: list[str], needle: str
) -> None:
    code = cli.main(argv)
    _, err = capsys.readouterr()
    assert code == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) <= 3


def test_resume_runs_only_the_missing_cells(data_dir: Path, tmp_path: Path, capsys) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red kite\na blue kite\n")
    assert cli.main(["run", str(prompts), "--models", "flux-2-pro", "--quiet"]) == 0
    run_id = capsys.readouterr().err.split("run id: ")[1].split()[0]
    wb = _open(data_dir)
    first = wb.log.run_cells(run_id)[0]
    with wb.db.cursor() as cur:  # as if that attempt had failed
        cur.execute("UPDATE generations SET status = 'failed' WHERE id = ?", [first.id])
        cur.execute("UPDATE runs SET status = 'stopped' WHERE id = ?", [run_id])
    wb.close()
    assert cli.main(["run", "--resume", run_id, "--quiet"]) == 0
    wb = _open(data_dir)
    cells = wb.log.run_cells(run_id)
    grid = {c["key"]: c for c in grids.run_grid(wb, run_id)}
    wb.close()
    assert len(cells) == 3  # two from the first run, one resent
    resent = [c for c in cells if c.cell == first.cell]
    assert [c.status for c in resent] == ["failed", "succeeded"]
    # the run's grid shows each cell's newest attempt
    assert len(grid) == 2 and grid[first.cell]["generation_id"] == resent[1].id
    assert {c["status"] for c in grid.values()} == {"succeeded"}


def _seed(data_dir: Path) -> None:
    for prompt, model in [("a red kite", "flux-2-pro"), ("a 50% _off_ sign", "nano-banana-2")]:
        assert cli.main(["generate", "--model", model, "--prompt", prompt, "--seed", "1"]) == 0


def test_history_filters_like_the_page(data_dir: Path, capsys) -> None:
    _seed(data_dir)
    capsys.readouterr()
    assert cli.main(["history", "--model", "flux-2-pro", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["model"] for x in lines] == ["flux-2-pro"]
    assert cli.main(["history", "--text", "50% _"]) == 0
    out = capsys.readouterr().out
    assert "1 match" in out and "sign" in out
    assert cli.main(["history", "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err
    assert cli.main(["history", "--status", "exploded"]) == 2


def test_export_csv_jsonl_and_parquet(data_dir: Path, tmp_path: Path, capsys) -> None:
    _seed(data_dir)
    capsys.readouterr()
    assert cli.main(["export"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2 and {"prompt", "cost_usd", "provider_model_id", "cell"} <= set(rows[0])
    assert cli.main(["export", "--format", "jsonl", "--model", "nano-banana-2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["prompt"] == "a 50% _off_ sign"
    out = tmp_path / "log.parquet"
    assert cli.main(["export", "--format", "parquet", "--out", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 2
    assert cli.main(["export", "--format", "parquet"]) == 2

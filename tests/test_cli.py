"""`workbench generate`: exit codes, one-line errors, the --json shape, and the same
code path as the app (rows in the log), offline and against a loopback provider fake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fakes import FakeBfl, FakeReplicate, png_bytes
from workbench import cli, config
from workbench.config import load_settings
from workbench.services.workbench import open_workbench
from workbench.store.attempts import NewGeneration
from workbench.store.records import Generation

ROOT = Path(__file__).resolve().parent.parent
JSON_FIELDS = {"id", "status", "model", "provider", "image_path", "cost_usd", "latency_ms",
               "error"}
FAKE_KEY = "cli-test-key-5566"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(data))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "2")
    monkeypatch.setenv("WORKBENCH_POLL_INTERVAL_S", "0")
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")
    return data


@pytest.fixture
def bfl(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBfl]:
    with FakeBfl(FAKE_KEY) as fake:
        monkeypatch.setenv("BFL_API_KEY", FAKE_KEY)
        monkeypatch.setenv("BFL_BASE_URL", fake.url)
        yield fake


def _row(data: Path, generation_id: str) -> Generation:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data)},
                             secrets_file=data / "none.toml")
    wb = open_workbench(settings, idle_close_s=0)
    try:
        row = wb.log.get(generation_id)
    finally:
        wb.close()
    assert row is not None
    return row


def test_offline_generation_prints_one_json_object(data_dir, capsys) -> None:
    code = cli.main(["generate", "--model", "nano-banana-2", "--prompt", "a red kite over dunes",
                     "--aspect-ratio", "1:1", "--seed", "12", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report.keys() >= JSON_FIELDS
    assert (report["status"], report["model"], report["provider"]) == (
        "succeeded", "nano-banana-2", "offline")
    assert Path(report["image_path"]).is_file() and report["error"] is None
    assert report["cost_usd"] == 0.0 and report["latency_ms"] > 0
    assert _row(data_dir, report["id"]).seed == 12


def test_success_without_json_is_one_line(data_dir, capsys) -> None:
    code = cli.main(["generate", "--model", "flux-2-pro", "--prompt", "a chair, 50mm, soft "
                     "window light, oak grain"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.count("\n") == 1 and out.startswith("succeeded gen_")


def test_a_provider_behind_a_fake_runs_through_the_real_client(data_dir, bfl, capsys) -> None:
    bfl.image = png_bytes(96, 64)
    code = cli.main(["generate", "--model", "flux-2-pro", "--provider", "bfl", "--prompt",
                     "a lighthouse at dusk", "--size", "1MP", "--seed", "3", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert (report["status"], report["cost_usd"], report["cost_kind"]) == (
        "succeeded", 0.03, "known")
    assert Path(report["image_path"]).read_bytes() == bfl.image
    assert bfl.paid_submits == 1
    row = _row(data_dir, report["id"])
    assert row.provider_request_id == "job-0001-7f3a" and row.seed_returned == bfl.seed


def test_a_provider_failure_exits_1_with_one_line(data_dir, bfl, capsys) -> None:
    bfl.final_status = "Content Moderated"
    code = cli.main(["generate", "--model", "flux-2-pro", "--provider", "bfl", "--prompt",
                     "a lighthouse"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: generation gen_") and "moderated" in err


def test_a_missing_key_exits_1_and_says_what_to_set(data_dir, capsys) -> None:
    code = cli.main(["generate", "--model", "nano-banana-pro", "--provider", "gemini",
                     "--prompt", "a lighthouse", "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    report = json.loads(out)
    assert (report["status"], report["error_kind"]) == ("not_sent", "config")
    assert "GEMINI_API_KEY" in report["error"] and "GEMINI_API_KEY" in err
    assert report["cost_usd"] == 0.0  # nothing left, nothing paid
    assert _row(data_dir, report["id"]).status == "not_sent"  # the attempt is logged


@pytest.mark.parametrize(
    ("argv", "needle"),
    [(["--model", "nope", "--prompt", "x"], "Unknown model 'nope'"),
     (["--model", "nano-banana", "--prompt", "x", "--aspect-ratio", "7:3"], "aspect ratio 7:3"),
     (["--model", "nano-banana", "--prompt", "x", "--size", "4K"], "size 4K"),
     (["--model", "nano-banana", "--prompt", "x", "--seed", "-4"], "seed"),
     (["--model", "nano-banana", "--prompt", "   "], "empty"),
     (["--model", "flux-2-flex", "--prompt", "x", "--option", "steps=500"], "steps"),
     (["--model", "flux-2-flex", "--prompt", "x", "--option", "steps"], "NAME=VALUE"),
     (["--model", "nano-banana", "--prompt", "x", "--provider", "acme"], "acme"),
     (["--prompt", "x"], "--model"),
     (["--model", "nano-banana", "--prompt", "x", "--seed", "abc"], "--seed")],
)
def test_bad_input_exits_2_with_one_line_and_logs_nothing(data_dir, capsys, argv, needle):
    code = cli.main(["generate", *argv])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert needle.lower() in err.lower()
    assert "Traceback" not in err
    if (data_dir / "workbench.duckdb").exists():
        settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)},
                                 secrets_file=data_dir / "none.toml")
        wb = open_workbench(settings, idle_close_s=0)
        try:
            assert wb.log.status_counts() == {}
        finally:
            wb.close()


def test_bad_input_with_json_still_prints_one_object(data_dir, capsys) -> None:
    code = cli.main(["generate", "--model", "nope", "--prompt", "x", "--json"])
    out, _ = capsys.readouterr()
    assert code == 2
    report = json.loads(out)
    assert report.keys() >= JSON_FIELDS
    assert (report["id"], report["status"]) == (None, "invalid")


def test_an_unwritable_data_directory_exits_3(tmp_path, monkeypatch, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(blocker / "data"))
    code = cli.main(["generate", "--model", "nano-banana", "--prompt", "a lighthouse"])
    _, err = capsys.readouterr()
    assert code == 3
    assert err.count("\n") == 1 and "WORKBENCH_DATA_DIR" in err


def test_a_database_locked_by_another_process_exits_3(data_dir, monkeypatch, capsys) -> None:
    data_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         "con = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
         str(data_dir / "workbench.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "0.3")
        code = cli.main(["generate", "--model", "nano-banana", "--prompt", "a lighthouse"])
    finally:
        holder.kill()
        holder.wait()
    _, err = capsys.readouterr()
    assert code == 3
    assert err.count("\n") == 1 and "in use by another process" in err
    assert f"PID {holder.pid}" in err


def test_commands_register_through_their_modules() -> None:
    assert "workbench.commands.generate" in cli.COMMANDS
    parser = cli.build_parser()
    args = parser.parse_args(["generate", "--model", "m", "--prompt", "p"])
    assert callable(args.run) and args.provider == "offline"


def _run_module(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], cwd=ROOT, capture_output=True, text=True,
        env=env, timeout=120,
    )


def test_python_dash_m_workbench_against_a_fake_over_env_urls(tmp_path) -> None:
    """A real process: keys and base URL come from the environment it is given."""
    with FakeReplicate(FAKE_KEY) as fake:
        fake.finish_in_submit = False
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_KEY", "_TOKEN"))}
        env.update(WORKBENCH_DATA_DIR=str(tmp_path / "d"), WORKBENCH_POLL_INTERVAL_S="0",
                   REPLICATE_API_TOKEN=FAKE_KEY, REPLICATE_BASE_URL=fake.url)
        done = _run_module(["generate", "--model", "flux-2-dev", "--provider", "replicate",
                            "--prompt", "a glass of water on oak", "--json"], env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["status"] == "succeeded" and report["cost_kind"] == "unknown"
        assert fake.paid_submits == 1 and fake.on("poll")
        assert FAKE_KEY not in done.stdout + done.stderr

        done = _run_module(["generate", "--model", "flux-2-dev", "--provider", "replicate",
                            "--prompt", "x", "--aspect-ratio", "5:1"], env)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_the_quick_exit_delivers_all_output_and_the_exit_code(data_dir: Path) -> None:
    """`workbench` ends with `os._exit` after its exit handlers (cli.entry): more output than a
    pipe holds must still arrive whole, and an error must keep its exit code."""
    wb = open_workbench(load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)},
                                      secrets_file=data_dir / "none.toml"), idle_close_s=0)
    try:
        with wb.db.cursor():  # one connection for the 400 rows (else the file reopens per row)
            for i in range(400):
                wb.attempts.insert_pending(NewGeneration(
                    id=f"g{i:04d}", model="nano-banana-2", provider="offline",
                    prompt=f"prompt {i} " + "long words " * 20, prompt_written=f"prompt {i}"))
    finally:
        wb.close()
    # Buffered as a user's pipe is (this machine's environment sets PYTHONUNBUFFERED).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["WORKBENCH_DATA_DIR"] = str(data_dir)
    done = _run_module(["history", "--json", "--limit", "400"], env)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.encode()) > 65_536  # more than a Linux pipe buffers
    ids = [json.loads(line)["id"] for line in done.stdout.splitlines()]
    assert sorted(ids) == [f"g{i:04d}" for i in range(400)]
    assert _run_module(["history", "--limit", "nope"], env).returncode == 2


def test_cli_csv_export_neutralises_formulas_and_parquet_keeps_them(
    data_dir, capsys, tmp_path
) -> None:
    import pandas as pd

    hostile = '=HYPERLINK("http://127.0.0.1:9","x") a kite'
    assert cli.main(["generate", "--model", "nano-banana-2", "--prompt", hostile]) == 0
    capsys.readouterr()
    assert cli.main(["export", "--format", "csv", "--out", str(tmp_path / "g.csv")]) == 0
    assert pd.read_csv(tmp_path / "g.csv")["prompt"].tolist() == ["'" + hostile]
    assert cli.main(["export", "--format", "parquet", "--out", str(tmp_path / "g.parquet")]) == 0
    assert pd.read_parquet(tmp_path / "g.parquet")["prompt"].tolist() == [hostile]


def test_cli_export_writes_each_field_of_a_generation_and_its_mean_stars(data_dir, capsys) -> None:
    from workbench.domain.export_fields import GENERATION_FIELDS

    for prompt in ("a red kite over dunes", "a blue kite"):
        assert cli.main(["generate", "--model", "nano-banana-2", "--prompt", prompt,
                         "--seed", "5", "--json"]) == 0
    rated, unrated = (json.loads(line)["id"] for line in capsys.readouterr().out.splitlines())
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)},
                             secrets_file=data_dir / "none.toml")
    wb = open_workbench(settings, idle_close_s=0)
    try:
        wb.ratings.add(rated, "overall", 4)
        wb.ratings.add(rated, "detail", 5)
    finally:
        wb.close()
    assert cli.main(["export", "--format", "jsonl"]) == 0
    rows = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    for gid, stars in ((rated, 4.5), (unrated, None)):
        record = _row(data_dir, gid)
        assert list(rows[gid]) == list(GENERATION_FIELDS)  # every field, in this order
        expected = {k: getattr(record, k) for k in GENERATION_FIELDS
                    if k not in ("rating", "tags", "note")}
        assert rows[gid] == json.loads(json.dumps(
            {**expected, "rating": stars, "tags": "", "note": ""}, default=str))
        assert rows[gid]["image_path"] and rows[gid]["seed"] == 5


# -- filters that can match nothing, limits and the output file ---------------------------------
@pytest.mark.parametrize(
    ("argv", "needle", "choice"),
    [
        (["history", "--model", "nope"], "unknown model 'nope' for --model", "nano-banana-2"),
        (["export", "--provider", "acme"], "unknown provider 'acme' for --provider", "bfl"),
        (["history", "--template", "nada"], "unknown template 'nada' for --template",
         "free-text"),
        (["export", "--category", "cats"], "unknown category 'cats' for --category", "portrait"),
        (["history", "--run", "run_nope"], "unknown run 'run_nope' for --run", "recent runs"),
    ],
)
def test_an_unknown_filter_value_exits_2_naming_the_choices(
    data_dir, capsys, argv, needle, choice
) -> None:
    assert cli.main(["generate", "--model", "nano-banana-2", "--prompt", "a kite"]) == 0
    capsys.readouterr()
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err and choice in err


def test_a_known_filter_value_still_lists(data_dir, capsys) -> None:
    assert cli.main(["generate", "--model", "nano-banana-2", "--prompt", "a kite"]) == 0
    capsys.readouterr()
    assert cli.main(["history", "--model", "nano-banana-2", "--provider", "offline"]) == 0
    assert "1 match" in capsys.readouterr().out


@pytest.mark.parametrize("limit", ["0", "-3", "1001", "many"])
def test_history_limit_must_be_1_to_1000(data_dir, capsys, limit) -> None:
    assert cli.main(["history", "--limit", limit]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--limit" in err


def test_an_unwritable_out_gets_one_line_naming_the_path(data_dir, capsys, tmp_path) -> None:
    missing = tmp_path / "missing" / "x.csv"
    for fmt in ("csv", "parquet"):
        assert cli.main(["export", "--format", fmt, "--out", str(missing)]) == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [
            f"error: cannot write {missing}: the folder {missing.parent} does not exist"
        ]
    assert cli.main(["export", "--out", str(tmp_path)]) == 2
    assert f"cannot write {tmp_path}: it is a folder" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_the_command_line_entry_imports_no_heavy_package() -> None:
    # `workbench history` asks a running run before anything else: its process must stay small.
    heavy = ("duckdb", "pydantic", "httpx", "PIL", "pandas", "workbench.providers.registry")
    probe = (
        "import sys, workbench.cli, workbench.commands; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"

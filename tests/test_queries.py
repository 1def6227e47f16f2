"""`workbench history` answered by a running command (`workbench/commands/_queries.py`): the
answer is what the command prints in a process of its own, exit code and errors included; a
separate `workbench history` process really is answered; a socket left by a killed run is
removed; another database is declined; asking can be turned off. The two-runs-and-a-history-loop
test (tests/test_multiprocess.py, both backends) runs the same path while runs write."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench import cli
from workbench.commands import _queries
from workbench.commands._queries import QUERIES_DIR, answer, answering, ask
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome

ROOT = Path(__file__).resolve().parent.parent


def _fill(wb: Workbench, n: int) -> list[str]:
    ids = []
    for i in range(n):
        gid = f"q{i:03d}"
        wb.attempts.insert_pending(NewGeneration(
            id=gid, model="nano-banana-2" if i % 2 else "flux-2-pro", provider="offline",
            prompt=f"a kite number {i}", prompt_written=f"a kite number {i}"))
        if i % 3:
            wb.attempts.complete(gid, Outcome(status="succeeded", latency_ms=100 + i, cost_usd=0.0))
        ids.append(gid)
    return ids


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    return {**env, "WORKBENCH_DATA_DIR": str(data_dir), **extra}


@pytest.mark.parametrize("argv", [
    ["history", "--limit", "7"],
    ["history", "--json", "--limit", "5", "--page", "2"],
    ["history", "--model", "nano-banana-2", "--status", "succeeded"],
    ["history", "--limit", "nope"],
    ["history", "--since", "yesterday"],
    ["history", "--limit", "3", "--bogus"],
    ["history", "--hel"],  # an abbreviation of --help: unknown, not help (nor an exit)
    ["history", "--lim", "3"],
])
def test_a_runs_answer_is_what_the_command_prints_itself(
    wb: Workbench, data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert wb.settings.data_dir == data_dir
    _fill(wb, 30)
    code, out, err = answer(wb, argv)
    assert (code, out, err) != (0, "", "")
    assert cli.main(argv) == code
    printed = capsys.readouterr()
    assert (out, err) == (printed.out, printed.err)


def test_a_history_process_is_answered_by_the_listening_command(
    wb: Workbench, data_dir: Path
) -> None:
    ids = _fill(wb, 12)
    with answering(wb) as listener:
        assert (data_dir / QUERIES_DIR / f"{os.getpid()}.sock").exists()
        done = subprocess.run(
            [sys.executable, "-m", "workbench", "history", "--json", "--limit", "50"],
            env=_env(data_dir), capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
        assert listener.answered == 1
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(line)["id"] for line in done.stdout.splitlines()) == ids
    assert list((data_dir / QUERIES_DIR).iterdir()) == []  # the socket goes with the listener


def test_a_socket_left_by_a_killed_run_is_removed_and_the_command_answers_itself(
    wb: Workbench, data_dir: Path
) -> None:
    ids = _fill(wb, 4)
    folder = data_dir / QUERIES_DIR
    folder.mkdir(mode=0o700)
    left = folder / "999999.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(left))  # bound, never listening: what a SIGKILLed run leaves
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "history", "--json"],
        env=_env(data_dir), capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(line)["id"] for line in done.stdout.splitlines()) == ids
    assert not left.exists()


def test_another_database_is_declined_and_asking_can_be_turned_off(
    wb: Workbench, data_dir: Path
) -> None:
    _fill(wb, 3)
    with answering(wb) as listener:
        team = {"WORKBENCH_DATA_DIR": str(data_dir),
                "WORKBENCH_DATABASE_URL": "postgresql://someone@127.0.0.1:5/team"}
        assert ask(["history"], team) is None  # its log is elsewhere: not this run's to answer
        assert ask(["history"], {"WORKBENCH_DATA_DIR": str(data_dir),
                                 "WORKBENCH_ASK_RUNS": "0"}) is None
        assert ask(["history", "--help"], {"WORKBENCH_DATA_DIR": str(data_dir)}) is None
        assert ask(["export", "--format", "csv"], {"WORKBENCH_DATA_DIR": str(data_dir)}) is None
        assert listener.answered == 0
        asked = ask(["history"], {"WORKBENCH_DATA_DIR": str(data_dir)})
        assert asked is not None and asked[0] == 0 and "3 match" in asked[1]
        assert listener.answered == 1


def test_a_run_refuses_to_do_another_commands_work(wb: Workbench, tmp_path: Path) -> None:
    out_file = tmp_path / "x.csv"
    code, out, err = answer(wb, ["export", "--format", "csv", "--out", str(out_file)])
    assert code == 2 and out == "" and "invalid choice: 'export'" in err
    assert not out_file.exists()


def _raw(listener: _queries.Listener, argv: list[str]) -> dict:
    """Ask as a client the asking side would never be (it does not forward --help)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(str(listener.path))
        conn.sendall(json.dumps({"argv": argv, "database": ""}).encode() + b"\n")
        return json.loads(_queries._read_line(conn, None))


def test_help_abbreviations_exits_and_failures_end_one_answer_not_the_answering(
    wb: Workbench, data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workbench.commands import history

    _fill(wb, 5)
    env = {"WORKBENCH_DATA_DIR": str(data_dir)}
    # An asker gives a run 1 s: a dead answering thread leaves it waiting, then answering itself.
    monkeypatch.setattr(_queries, "ANSWER_TIMEOUT_S", 1.0)
    with answering(wb) as listener:
        asked = ask(["history", "--hel"], env)
        assert asked is not None and asked[0] == 2 and "unrecognized arguments: --hel" in asked[2]
        helped = _raw(listener, ["history", "--help"])  # argparse exits (SystemExit) after help
        assert helped["code"] == 0 and helped["out"].startswith("usage: workbench history")
        assert capsys.readouterr().out == ""  # the help went into the answer, not the terminal

        calls = {"n": 0}
        real_page = history.page

        def page_failing_once(args: object, wb_: Workbench) -> object:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("a bug in one answer")
            return real_page(args, wb_)

        monkeypatch.setattr(history, "page", page_failing_once)
        failed = ask(["history"], env)
        assert failed is not None and failed[0] == 1 and "could not answer" in failed[2]
        for _ in range(3):  # the later answers still come, within the asker's 1 s
            later = ask(["history", "--limit", "2"], env)
            assert later is not None and later[0] == 0 and "5 match" in later[1]
        assert listener.answered == 6


def test_a_slow_client_is_dropped_after_the_deadline_and_holds_no_other_asker(
    wb: Workbench, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(wb, 3)
    env = {"WORKBENCH_DATA_DIR": str(data_dir)}
    monkeypatch.setattr(_queries, "ANSWER_TIMEOUT_S", 1.0)
    dropped_after: list[float] = []
    ready = threading.Event()

    def slow_loris(path: Path) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(path))
            started = time.monotonic()
            ready.set()
            conn.settimeout(0.3)
            for byte in b'{"argv": ["history"], "database": ""' * 2:  # never a full line
                try:
                    conn.sendall(bytes([byte]))
                    if conn.recv(1) == b"":
                        break  # the run closed it
                except TimeoutError:
                    continue  # still open: trickle on (one byte per 0.3 s renews no deadline)
                except OSError:
                    break
            dropped_after.append(time.monotonic() - started)

    with answering(wb) as listener:
        loris = threading.Thread(target=slow_loris, args=(listener.path,), daemon=True)
        loris.start()
        ready.wait(5)
        for _ in range(3):  # answered while the slow client trickles
            asked = ask(["history"], env)
            assert asked is not None and "3 match" in asked[1]
        loris.join(timeout=30)
    # Dropped near the 2 s request deadline, long before its 72 bytes at 0.3 s each (~22 s).
    assert dropped_after and dropped_after[0] < 10
    assert listener.answered == 3


def test_a_real_run_keeps_answering_after_history_hel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`workbench history --hel` against a running `workbench run` process: refused as an
    unknown option, and the run's next answers still come within 1 s each."""
    from harness.slow_gemini import slow_gemini

    data = tmp_path / "data"
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a kite number {i}\n" for i in range(8)))
    monkeypatch.setattr(_queries, "ANSWER_TIMEOUT_S", 1.0)
    with slow_gemini(data, delay_s=1.0) as (_, env):
        run = subprocess.Popen(
            [sys.executable, "-m", "workbench", "run", str(prompts), "--models", "nano-banana-2",
             "--concurrency", "1", "--quiet"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        try:
            ask_env = {"WORKBENCH_DATA_DIR": str(data)}
            deadline = time.monotonic() + 60
            while not list((data / QUERIES_DIR).glob("*.sock")):  # the run is listening
                assert run.poll() is None and time.monotonic() < deadline, run.communicate()
                time.sleep(0.05)
            hel = subprocess.run(
                [sys.executable, "-m", "workbench", "history", "--hel"],
                env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
            )
            answers = [ask(["history", "--limit", "3"], ask_env) for _ in range(3)]
            assert run.poll() is None  # still running: the answers came from it
            assert all(a is not None and a[0] == 0 for a in answers), "no answer within 1 s"
            assert hel.returncode == 2 and "unrecognized arguments: --hel" in hel.stderr
        finally:
            run.kill()
            run.communicate()


def test_a_crowd_of_silent_clients_is_admitted_only_up_to_max_clients(
    wb: Workbench, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(wb, 2)
    monkeypatch.setattr(_queries, "ANSWER_TIMEOUT_S", 1.0)
    # A long deadline here, so that only the admission limit can drop anyone in this test.
    monkeypatch.setattr(_queries, "READ_TIMEOUT_S", 60.0)
    base_threads = threading.active_count()
    with answering(wb) as listener:
        crowd = []
        for _ in range(_queries.MAX_CLIENTS + 6):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(str(listener.path))
            crowd.append(conn)
        deadline = time.monotonic() + 10
        while listener.dropped < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.dropped == 6  # the ones past MAX_CLIENTS were closed at once
        assert threading.active_count() <= base_threads + 1 + _queries.MAX_CLIENTS
        for conn in crowd:  # they go; their threads end, and answering goes on
            conn.close()
        asked = None
        while asked is None and time.monotonic() < deadline:
            asked = ask(["history"], {"WORKBENCH_DATA_DIR": str(data_dir)})
        assert asked is not None and "2 match" in asked[1]

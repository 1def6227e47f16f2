"""A running `workbench run` answers `workbench history` for other processes.

While a run works (minutes to hours), another process that asks for the log pays about 0.8 s to
start Python and import the store before its first query, and 1.5-2 s while two runs share the
cores (docs/storage.md). A run has all of that loaded and the database in hand. So while it works
it listens on a Unix socket in the data directory (`queries/<pid>.sock`) and answers `history`
with the same code as the command (`commands.history.page` and `show`); `workbench history`
(`cli.entry`) asks a listening run first and does the work itself when none answers.

- Only `history` is served: it only reads, and its output depends on the log and its arguments.
  A run answers only a process that names the same database (`WORKBENCH_DATABASE_URL`, compared
  as a hash), and the answer reads the log at that moment, like any other process's query.
- The folder is the user's alone (0700) and each socket 0600; whoever may connect could read the
  data directory anyway. A run killed with SIGKILL leaves its socket file behind: the next asker
  finds nobody listening there and removes it.
- The request is one JSON line `{"argv": [...], "database": "<sha256 or empty>"}`, the answer one
  JSON line `{"code": N, "out": "...", "err": "..."}`. `WORKBENCH_ASK_RUNS=0` turns asking off.
- Nothing an asker sends can stop the run or its later answers: each connection is read on a
  thread of its own against one deadline for the whole request (`READ_TIMEOUT_S` from accept,
  so a client trickling a byte at a time is dropped as surely as a silent one, and never holds
  another asker); at most `MAX_CLIENTS` are read at once (more are closed at once and their
  askers do the work themselves). The command line is parsed with abbreviations off (so `--hel`
  is an unknown option, as in a process of its own), help goes into the answer, and SystemExit
  or any other exception ends that one answer, never the listener.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from workbench.commands import CommandParser, failure
from workbench.errors import WorkbenchError
from workbench.paths import data_dir

if TYPE_CHECKING:
    import logging

    from _typeshed import SupportsWrite

    from workbench.services.workbench import Workbench

QUERIES_DIR = "queries"
SERVED = frozenset({"history"})
# Linux keeps a Unix socket's path in 108 bytes: a deeper data directory is simply not served.
SOCKET_PATH_MAX = 107
REQUEST_MAX_BYTES = 65_536
# A client whose whole request has not arrived this long after it connected is dropped: a
# deadline for the request, not for each read (one byte every 1.5 s would renew a per-read one).
READ_TIMEOUT_S = 2.0
SEND_TIMEOUT_S = 2.0  # an asker that stops reading its answer is dropped after this long
MAX_CLIENTS = 8  # requests being read at once; a connection past that is closed at once
CONNECT_TIMEOUT_S = 0.5
# Past this an asker stops waiting for a run's answer and queries the log itself (a stopped run,
# Ctrl-Z, still accepts connections but never answers). The run's own wait for the database is
# bounded by WORKBENCH_LOCK_TIMEOUT_S, 10 s by default.
ANSWER_TIMEOUT_S = 15.0


# The asking side is a process of ~0.1 s whose imports are most of it: `hashlib` and `logging`
# (about 15 ms together) load only where they are used.
def _database_id(url: str | None) -> str:
    if not url:
        return ""
    import hashlib

    return hashlib.sha256(url.encode()).hexdigest()


def _log() -> logging.Logger:
    import logging

    return logging.getLogger(__name__)


def _read_line(conn: socket.socket, limit: int | None, deadline: float | None = None) -> bytes:
    """One line from `conn`. With a `deadline` (time.monotonic()), a line that has not arrived
    by then raises TimeoutError however its bytes trickle in."""
    data = b""
    while not data.endswith(b"\n"):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive in time")
            conn.settimeout(left)
        chunk = conn.recv(65_536)
        if not chunk:
            break
        data += chunk
        if limit is not None and len(data) > limit:
            raise ValueError("request too long")
    return data


# -- the asking side: `workbench history` ---------------------------------------------------------
def ask(argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, str, str] | None:
    """A listening run's answer to `argv` (exit code, stdout, stderr), or None when the command
    is not served or no run answers (then the caller runs the command itself)."""
    if not argv or argv[0] not in SERVED or "-h" in argv or "--help" in argv:
        return None
    if (env.get("WORKBENCH_ASK_RUNS") or "1").strip() == "0":
        return None
    folder = data_dir(env) / QUERIES_DIR
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".sock"))
    except OSError:
        return None
    request = json.dumps(
        {"argv": list(argv), "database": _database_id(env.get("WORKBENCH_DATABASE_URL"))}
    ).encode() + b"\n"
    for name in names:
        path = folder / name
        if len(os.fsencode(path)) > SOCKET_PATH_MAX:
            return None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(CONNECT_TIMEOUT_S)
                conn.connect(str(path))
                conn.settimeout(ANSWER_TIMEOUT_S)
                conn.sendall(request)
                reply = _read_line(conn, None)
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # its run is gone without tidying up (SIGKILL)
            continue
        except OSError:  # a timeout, a reset: ask the next run, or do it ourselves
            continue
        try:
            answer = json.loads(reply)
            code, out, err = int(answer["code"]), str(answer["out"]), str(answer["err"])
        except (ValueError, KeyError, TypeError):
            continue  # it declined (another database) or broke off
        return code, out, err
    return None


# -- the answering side: a run --------------------------------------------------------------------
@contextmanager
def answering(wb: Workbench) -> Iterator[Listener]:
    """While the block runs, answer other processes' `history` from `wb`. A run works without
    it: a socket that cannot be made is logged, not raised."""
    listener = Listener(wb)
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()


def answer(wb: Workbench, argv: Sequence[str]) -> tuple[int, str, str]:
    """What `workbench <argv>` would print and return in a process of its own, from `wb`.

    Never raises, never prints: help and usage go into the answer, SystemExit becomes its exit
    code, and an unexpected exception is one line with exit code 1 (and the traceback in the
    run's log), so one bad question costs only its own answer."""
    from workbench.commands import history

    out, err = io.StringIO(), io.StringIO()

    class Parser(CommandParser):
        """`CommandParser` writing what it prints (help, usage) into this answer, not onto the
        run's terminal; its subcommand parsers are of this class too (argparse's default)."""

        def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
            if message:
                (err if file is sys.stderr else out).write(message)

    # Only `history` is registered: any other command is refused as argparse refuses an
    # unknown one, so a run never does another command's work for a caller.
    parser = Parser(prog="workbench")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    history.register(commands)
    try:
        args, unknown = parser.parse_known_args(list(argv))
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        code = history.show(args, history.page(args, wb), out)
    except WorkbenchError as exc:
        code, line = failure(exc)
        print(line, file=err)
    except SystemExit as exc:  # argparse's exit after --help (or any other exit request)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # a bug: this answer fails, the run and its later answers do not
        _log().exception("answering %s failed", list(argv)[:1])
        code = 1
        print(f"error: the running workbench could not answer ({type(exc).__name__})", file=err)
    return code, out.getvalue(), err.getvalue()


class Listener:
    def __init__(self, wb: Workbench) -> None:
        self.wb = wb
        self.answered = 0  # queries answered (declined ones not counted)
        self.dropped = 0  # connections closed without an answer (slow, malformed, too many)
        self.path = wb.settings.data_dir / QUERIES_DIR / f"{os.getpid()}.sock"
        self.database = _database_id(
            wb.settings.database_url.get_secret_value() if wb.settings.database_url else None
        )
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = threading.Lock()  # guards answered, dropped and _clients
        self._clients = 0
        # One answer at a time reads the log, as one command would; reading requests does not
        # wait for it.
        self._answering = threading.Lock()

    def start(self) -> None:
        if len(os.fsencode(self.path)) > SOCKET_PATH_MAX:
            _log().info("not answering history queries: %s is too long for a socket", self.path)
            return
        try:
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
            self.path.unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
            sock.listen(16)
            sock.settimeout(0.2)  # so stop() is noticed
        except OSError as exc:
            _log().info("not answering history queries at %s: %s", self.path, exc)
            return
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="history-answers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=ANSWER_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()
            self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._count:
                admitted = self._clients < MAX_CLIENTS
                if admitted:
                    self._clients += 1
                else:
                    self.dropped += 1
            if not admitted:
                conn.close()  # its asker does the work itself
                continue
            deadline = time.monotonic() + READ_TIMEOUT_S
            try:
                threading.Thread(
                    target=self._client, args=(conn, deadline), name="history-asker", daemon=True
                ).start()
            except RuntimeError:  # no thread to be had: this asker does the work itself
                self._left(conn, answered=False)

    def _left(self, conn: socket.socket, *, answered: bool) -> None:
        conn.close()
        with self._count:
            self._clients -= 1
            if not answered:
                self.dropped += 1

    def _client(self, conn: socket.socket, deadline: float) -> None:
        answered = False
        try:
            answered = self._handle(conn, deadline)
        except (Exception, SystemExit):  # one bad request must not end the answering
            _log().info("a history query was dropped", exc_info=True)
        finally:
            self._left(conn, answered=answered)

    def _handle(self, conn: socket.socket, deadline: float) -> bool:
        request = json.loads(_read_line(conn, REQUEST_MAX_BYTES, deadline))
        argv = request.get("argv")
        if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
            return False
        conn.settimeout(SEND_TIMEOUT_S)
        if request.get("database", "") != self.database:
            conn.sendall(b'{"declined": "another database"}\n')
            return False
        with self._answering:
            code, out, err = answer(self.wb, argv)
        with self._count:
            self.answered += 1  # before sending: the asker may look as soon as it has the answer
        conn.sendall((json.dumps({"code": code, "out": out, "err": err}) + "\n").encode())
        return True

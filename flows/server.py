"""The Prefect API of a command: the configured server, or a temporary one started first.

Without ``PREFECT_API_URL``, a command starts one temporary Prefect server for
all its years and hands its address to every Dask worker. The server is the
same uvicorn process Prefect's own ``SubprocessASGIServer`` runs, but launched
without importing Prefect's server code into the command (seconds of imports
the command never uses) and as the command's first act, so the server's own
start overlaps the command's imports and input checks instead of following them.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flows import server_db

__all__ = [
    "TemporaryServer",
    "launch_server",
    "prefect_api",
    "stop_orphaned_server",
    "process_gone",
    "DEFAULT_STARTUP_TIMEOUT_S",
]

log = logging.getLogger(__name__)

DEFAULT_STARTUP_TIMEOUT_S = "600"
"""A loaded 2-core machine can need well over Prefect's default 20 s to start a server
(measured: more than 180 s at a load of 20-25 on 2 cores, with no compiled bytecode)."""

PORT_IN_USE_EXIT = 3
"""uvicorn's exit status when its port was taken between choosing and binding it."""

SERVER_ENV = {
    # What Prefect's SubprocessASGIServer sets: no UI, the services of an ephemeral server.
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}

MIGRATE_SETTINGS = (
    "PREFECT_API_DATABASE_MIGRATE_ON_START",
    "PREFECT_SERVER_DATABASE_MIGRATE_ON_START",
)
"""Prefect's switch of the migration check at start; a user's own setting is kept."""


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _startup_timeout_s() -> float:
    return float(
        os.environ.get(
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", DEFAULT_STARTUP_TIMEOUT_S
        )
    )


class TemporaryServer:
    """A Prefect API server in a child process, serving one command.

    ``launch`` returns at once; ``wait_ready`` blocks until the server answers its
    health check. Settings come from the environment (``PREFECT_HOME`` and the rest,
    see ``flows.runtime.configure_environment``), as for Prefect's own temporary server.
    """

    def __init__(self) -> None:
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.home = _prefect_home()
        """The Prefect home (database, record of the server) it was launched for."""
        self.keeps_template: bool | None = None
        """True if the server creates its database (none there, no template to copy):
        once it answers, a copy becomes the template of ``flows.server_db``."""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> TemporaryServer:
        """Start the server process (no waiting) and record it for the next command."""
        spec = importlib.util.find_spec("prefect")  # where Prefect is, without importing it
        if spec is None or spec.origin is None:
            raise RuntimeError("Prefect is not installed: pip install prefect")
        app_dir = str(Path(spec.origin).parent.parent)
        if self.keeps_template is None:
            existed = server_db.database_path(self.home).exists()
            self.keeps_template = not existed and not server_db.seed_database(self.home)
        env = {**os.environ, **SERVER_ENV}
        if not any(name in os.environ for name in MIGRATE_SETTINGS) and server_db.migrated(
            self.home
        ):
            env[MIGRATE_SETTINGS[0]] = "false"  # already at this version's last migration
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=env,
        )  # fmt: skip
        _write_server_record(_server_record(self.home), self.process.pid)
        atexit.register(self.stop)
        return self

    def wait_ready(self, timeout_s: float | None = None) -> str:
        """Block until the server answers ``/health``; its API URL.

        Raises
        ------
        RuntimeError
            The server exited, or did not answer within ``timeout_s`` (default
            ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``).
        """
        if self.process is None:
            self.launch()
        assert self.process is not None
        timeout_s = _startup_timeout_s() if timeout_s is None else timeout_s
        # no proxy: the server is on this machine, whatever http_proxy says
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self.process.poll()
            if status == PORT_IN_USE_EXIT:
                self.launch()
                continue
            if status is not None:
                raise RuntimeError(f"the temporary Prefect server exited with status {status}")
            try:
                with opener.open(f"{self.api_url}/health", timeout=5) as response:
                    if response.status == 200:
                        if self.keeps_template:  # nothing of a run in it yet
                            server_db.save_template(self.home)
                            self.keeps_template = False
                        return self.api_url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"the temporary Prefect server did not answer within {timeout_s:.0f} s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 15 s) and remove its record."""
        process, self.process = self.process, None
        _LAUNCHED.pop(self.home, None)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _server_record(self.home).unlink(missing_ok=True)


_LAUNCHED: dict[str, TemporaryServer] = {}
"""The temporary server launched by this command, by Prefect home."""


def launch_server() -> TemporaryServer | None:
    """Start this command's temporary Prefect server now, unless ``PREFECT_API_URL`` names one.

    Call it as early as the environment allows (after ``configure_environment``): the
    server then starts while the command imports and checks its inputs. Calling it
    again returns the same server; ``prefect_api`` waits for it.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    home = _prefect_home()
    if home not in _LAUNCHED:
        stop_orphaned_server(_server_record(home))
        _LAUNCHED[home] = TemporaryServer().launch()
    return _LAUNCHED[home]


@contextlib.contextmanager
def prefect_api(while_starting: Callable[[], None] | None = None) -> Iterator[str]:
    """Yield the Prefect API URL, starting a temporary local server if none is configured.

    ``while_starting`` (e.g. checking the inputs) runs while the server starts; if it
    raises, the server is stopped and its error propagates.
    """
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if while_starting is not None:
            while_starting()
        yield configured
        return
    server = launch_server()
    assert server is not None
    try:
        if while_starting is not None:
            while_starting()
        api_url = server.wait_ready()
        from prefect.settings import PREFECT_API_URL, temporary_settings

        os.environ["PREFECT_API_URL"] = api_url  # inherited by Dask worker processes
        with temporary_settings({PREFECT_API_URL: api_url}):
            try:
                yield api_url
            finally:
                _flush_run_logs()
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def _prefect_home() -> str:
    return os.environ.get("PREFECT_HOME") or str(Path.home() / ".prefect")


def _server_record(home: str) -> Path:
    """Where a command notes its temporary server: in Prefect's home, one per workspace."""
    return Path(home) / "temporary-server.json"


def _write_server_record(record: Path, server_pid: int) -> None:
    import psutil

    from core.io import atomic_write_json

    me = psutil.Process()
    server = psutil.Process(server_pid)
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        record,
        {
            "owner_pid": me.pid,
            "owner_started": me.create_time(),
            "server_pid": server.pid,
            "server_started": server.create_time(),
        },
    )


def stop_orphaned_server(record: Path) -> bool:
    """Stop the temporary Prefect server of a command that was killed outright.

    SIGKILL or the out-of-memory killer ends an ``admon`` command without its cleanup,
    and its temporary server would run on (holding memory and a port) with nobody to
    stop it. The next command of the workspace stops it, but only when the recorded
    owner is gone and the process is still the very one recorded (same start time).

    Returns
    -------
    bool
        True if an orphaned server was stopped.
    """
    import psutil

    try:
        noted = json.loads(record.read_text())
    except (OSError, ValueError):
        return False

    def alive(pid: int, started: float) -> psutil.Process | None:
        try:
            process = psutil.Process(pid)
            return process if abs(process.create_time() - started) < 0.01 else None
        except (psutil.Error, TypeError):
            return None

    try:
        owner = alive(noted["owner_pid"], noted["owner_started"])
        server = alive(noted["server_pid"], noted["server_started"])
    except KeyError:
        owner = server = None
    if owner is not None:
        return False  # its command is still running
    record.unlink(missing_ok=True)
    if server is None:
        return False
    log.warning(
        "stopping the temporary Prefect server (pid %d) left by a command that was killed",
        server.pid,
    )
    server.terminate()
    deadline = time.monotonic() + 15
    while not process_gone(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not process_gone(server):
        server.kill()
    return True


def process_gone(process: Any) -> bool:
    """True once ``process`` (a psutil.Process) has ended (a zombie nobody reaps counts)."""
    import psutil

    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _flush_run_logs() -> None:
    """Send the command's queued run logs and events while its server still answers.

    Prefect's background workers send them in batches and would otherwise drain at
    interpreter exit, after the temporary server has stopped: the run's logs never
    reached the server, and every command waited on refused connections at exit (1.5 s;
    once 77 s).
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=5)
        except Exception as exc:  # noqa: BLE001 - the run's own outcome matters more
            log.warning("run logs or events not all sent to the Prefect server: %s", exc)

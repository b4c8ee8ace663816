"""PostGIS for the tests: a private PostgreSQL cluster, or ``ADMON_TEST_POSTGIS_URL``.

Without ``ADMON_TEST_POSTGIS_URL`` one throw-away cluster per test session is
created with the Debian binaries (``/usr/lib/postgresql/*/bin``, installed by
``scripts/system-deps.sh``) in a temporary folder on a free port, run as the
``postgres`` user when the tests run as root (initdb refuses root), and stopped
when the test process exits. Each test gets its own database cloned from a
template that already has the PostGIS extension.

When the binaries are missing the PostGIS tests fail in CI (``CI`` set) and are
skipped elsewhere with the reason.

Not a conftest: ``tests/models/conftest.py`` and ``tests/web/conftest.py`` load
it by path under one module name (so they share one cluster) and expose
``postgis_server`` / ``postgis_url`` fixtures built on :func:`server_url` and
:func:`fresh_database`.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_SERVER: dict[str, str] = {}
_TEMPLATE_DB = "admon_postgis_template"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostGIS tests cannot run in CI: {reason}; run scripts/system-deps.sh")
    pytest.skip(f"PostGIS not available: {reason} (run scripts/system-deps.sh)")


@contextlib.contextmanager
def _private_cluster() -> Iterator[str]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        _missing("no /usr/lib/postgresql/*/bin/initdb")
    if not glob.glob("/usr/share/postgresql/*/extension/postgis.control"):
        _missing("the PostGIS extension (postgresql-15-postgis-3) is not installed")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="admon-pg-"))
    if as_root:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True}
    try:
        subprocess.run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(data / "db"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            **run,
        )
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *prefix,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data / "db"),
                "-o",
                options,
                "-l",
                str(data / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            **run,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"could not start a private PostgreSQL cluster: {exc.stderr or exc.stdout}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def server_url() -> str:
    """URL of a PostgreSQL server where the tests may create databases (started once)."""
    import psycopg

    if "url" in _SERVER:
        return _SERVER["url"]
    url = os.environ.get("ADMON_TEST_POSTGIS_URL")
    if not url:
        cluster = _private_cluster()
        url = cluster.__enter__()
        atexit.register(cluster.__exit__, None, None, None)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {_TEMPLATE_DB}")
        admin.execute(f"CREATE DATABASE {_TEMPLATE_DB}")
    with psycopg.connect(_with_database(url, _TEMPLATE_DB), autocommit=True) as template:
        template.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    _SERVER["url"] = url
    return url


@contextlib.contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """Yield the URL of a new database with PostGIS on ``server``; drop it afterwards."""
    import psycopg

    name = f"admon_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE_DB}")
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

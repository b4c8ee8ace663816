"""PostGIS for the store tests: a private PostgreSQL cluster, or ``ADMON_TEST_POSTGIS_URL``.

Without ``ADMON_TEST_POSTGIS_URL`` a throw-away cluster is created with the
Debian binaries (``/usr/lib/postgresql/*/bin``, installed by
``scripts/system-deps.sh``) in a temporary folder on a free port, run as the
``postgres`` user when the tests run as root (initdb refuses root), and stopped
at the end of the session. Each test gets its own database cloned from a
template that already has the PostGIS extension.

When the binaries are missing the PostGIS tests fail in CI (``CI`` set) and are
skipped elsewhere with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest

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


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[str]:
    """URL of a PostgreSQL server where the tests may create databases."""
    import psycopg

    configured = os.environ.get("ADMON_TEST_POSTGIS_URL")
    with contextlib.ExitStack() as stack:
        url = configured or stack.enter_context(_private_cluster())
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {_TEMPLATE_DB}")
            admin.execute(f"CREATE DATABASE {_TEMPLATE_DB}")
        with psycopg.connect(_with_database(url, _TEMPLATE_DB), autocommit=True) as template:
            template.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        yield url


@pytest.fixture
def postgis_url(postgis_server: str) -> Iterator[str]:
    """URL of a fresh database with PostGIS, dropped after the test."""
    import psycopg

    name = f"admon_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgis_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE_DB}")
    yield _with_database(postgis_server, name)
    with psycopg.connect(postgis_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- a stand-in for models.survey.load_plots ----------------------------------------
# The store tests exercise the store, not the survey reader: this reads GeoJSON
# with pyogrio and refuses rows whose land_cover is not in the legend, giving the
# same (GeoDataFrame, report) shape the contract fixes for load_plots.


@dataclasses.dataclass(frozen=True)
class StandInRowError:
    row: int
    field: str
    message: str


@dataclasses.dataclass
class StandInReport:
    accepted: int
    rejected: int
    errors: list[StandInRowError]

    def to_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": [dataclasses.asdict(e) for e in self.errors],
        }


def standin_load_plots(path, *, strict=False, source_upload=None, team=None, **_):
    from geo.landcover import LEGEND
    from models.errors import InvalidInputError

    try:
        plots = pyogrio.read_dataframe(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable file
        raise InvalidInputError(f"{Path(path).name}: cannot read ({exc})") from exc
    names = {c.name for c in LEGEND}
    bad = ~plots["land_cover"].isin(names)
    errors = [
        StandInRowError(int(i) + 1, "land_cover", f"{value!r} is not a legend class")
        for i, value in plots.loc[bad, "land_cover"].items()
    ]
    good = plots.loc[[] if (strict and errors) else ~bad].reset_index(drop=True)
    report = StandInReport(len(good), len(plots) - len(good), errors)
    return good, report


def plot_features(n: int, *, prefix: str = "P", bad_rows: tuple[int, ...] = (), lon0=98.0):
    """A FeatureCollection in the demo's survey_plots.geojson layout (polygons, EPSG:4326)."""
    features = []
    for i in range(n):
        x, y = lon0 + 0.01 * i, 20.0 + 0.005 * i
        ring = [[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "plot_id": f"{prefix}{i:03d}",
                    "crop": "opium_poppy",
                    "status": "surveyed",
                    "survey_date": f"2025-01-{1 + i % 28:02d}",
                    "team": "field-team-a",
                    "gps_accuracy_m": 4.5,
                    "measured_area_ha": 0.11 + i / 100,
                    "district_id": "D01",
                    "land_cover": "volcano" if i + 1 in bad_rows else "opium_poppy",
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@pytest.fixture
def plot_loader():
    """The stand-in for ``models.survey.load_plots``."""
    return standin_load_plots


@pytest.fixture
def make_plots():
    """``make_plots(n, prefix=, bad_rows=)`` -> GeoJSON bytes in the survey_plots layout."""
    return plot_features

"""The ``admon`` command line.

admon demo [--workspace DIR]               the synthetic demo, end to end
admon run CONFIG.toml [--year Y] [--dask-address ADDR]
admon upload FILE --team TEAM              ingest a field data file into the store
admon estimate --map CLASSMAP.tif --reference PLOTS --zones DISTRICTS
admon serve                                web service + scheduled deployments
admon token create --team TEAM --role uploader|reviewer|admin [--expires-days N]
admon token list | revoke ID | rotate ID
"""

from __future__ import annotations

# The commands register on ``app`` when their modules are imported, in this order (--help's).
# isort: off
from flows.cli.common import app
from flows.cli import demo, survey, upload, serve, tokens  # noqa: F401, E402
# isort: on

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()

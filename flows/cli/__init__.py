"""The ``admon`` command line.

admon demo [--workspace DIR]               the synthetic demo, end to end
admon init DIR                             a survey folder to fill in (survey.toml)
admon check CONFIG.toml                    every input checked, all problems at once
admon run CONFIG.toml [--year Y] [--dask-address ADDR]
admon estimate --map CLASSMAP.tif --reference PLOTS --zones DISTRICTS | --config CONFIG.toml
admon upload FILE --team TEAM [--config CONFIG.toml]
admon interpret status|export|import-ceo --config CONFIG.toml
admon serve [--config CONFIG.toml]         web service (/upload, /interpret) + schedules
admon token create --team TEAM --role uploader|reviewer|admin|interpreter [--expires-days N]
admon token list | revoke ID | rotate ID
admon plan RUN_DIR [--district-half-width 0.25] [--region-half-width 0.1] | --users-accuracy ...
"""

from __future__ import annotations

import atexit
import gc

# The commands register on ``app`` when their modules are imported, in this order (--help's).
# isort: off
from flows.cli.common import app
from flows.cli import demo, folder, survey, upload, interpret, serve, tokens  # noqa: F401, E402
from flows.cli import sample_plan  # noqa: F401, E402
# isort: on

__all__ = ["app"]

# The interpreter's last collections at exit walk every object a command imported or
# made: 1.3 s of a cached `admon run`'s 7.7 s. Freezing them skips only those walks; the
# exit handlers registered later (the server's stop, Prefect's workers) run before it.
atexit.register(gc.freeze)

if __name__ == "__main__":  # pragma: no cover
    app()

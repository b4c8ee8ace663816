"""``python -m flows.cli``: the ``admon`` command without its console script."""

from flows.cli import app

app()

"""``python -m flows.cli``: the ``admon`` command line (what the tests and benchmarks start)."""

from flows.cli import app

app()

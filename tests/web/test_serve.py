"""``serve()`` hands uvicorn the app built for the workspace, on the address asked for."""

from __future__ import annotations

import importlib

from fastapi.testclient import TestClient

# web/__init__ re-exports serve(), which shadows the submodule as an attribute of web
serve_module = importlib.import_module("web.serve")


def test_serve_runs_the_app_of_the_workspace(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        serve_module.uvicorn, "run", lambda app, **options: calls.append((app, options))
    )

    serve_module.serve(host="0.0.0.0", port=8123, workspace=tmp_path / "ws")

    ((app, options),) = calls
    assert options == {"host": "0.0.0.0", "port": 8123, "log_level": "info"}
    assert (tmp_path / "ws" / "store.gpkg").is_file()
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "store": "geopackage"}
    app.state.store.close()

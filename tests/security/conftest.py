"""Fixtures of the security tests: a service on a fresh workspace, tokens per role, field files.

Field files come from the writers of ``tests/web/conftest.py`` (real KoboToolbox,
GeoJSON and KML layouts, each documented there).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web.app import create_app


@pytest.fixture
def workspace(tmp_path):
    return tmp_path / "workspace"


@pytest.fixture
def app(workspace):
    application = create_app(workspace, max_upload_bytes=2 * 1024 * 1024)
    yield application
    application.state.store.close()


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def tokens(app):
    """Raw tokens per role (team-a uploads, team-b uploads, ministry reviews, ops admin)."""
    store = app.state.store
    return {
        "uploader": store.create_token("team-a", "uploader"),
        "other_uploader": store.create_token("team-b", "uploader"),
        "reviewer": store.create_token("ministry", "reviewer"),
        "admin": store.create_token("ops", "admin"),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def send(client, tokens):
    """send(name, content, role="uploader", **params) -> response of POST /api/v1/uploads."""

    def _send(name, content, role="uploader", **params):
        return client.post(
            "/api/v1/uploads",
            files={"file": (name, content, "application/octet-stream")},
            headers=bearer(tokens[role]),
            params=params,
        )

    return _send

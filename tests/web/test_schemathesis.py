"""Property-based checks of the HTTP API against its own OpenAPI document (schemathesis).

A CI-sized run: a few dozen generated requests per operation, with the bearer
scheme the document declares (a real uploader token), asserting no server error
and no answer that contradicts the documented schema. Before: an out-of-range
``year`` answered 500 without a token, and no error answer was documented.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from web.app import create_app

_WORKSPACE = Path(tempfile.mkdtemp(prefix="admon-schemathesis-"))
atexit.register(shutil.rmtree, _WORKSPACE, ignore_errors=True)
APP = create_app(_WORKSPACE, max_upload_bytes=256 * 1024)
TOKEN = APP.state.store.create_token("team-a", "uploader")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


def test_the_document_declares_the_bearer_scheme():
    document = APP.openapi()
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    upload = document["paths"]["/api/v1/uploads"]["post"]
    assert upload["security"] and {"401", "413", "503"} <= set(upload["responses"])


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[not_a_server_error, response_schema_conformance],
    )

"""schemathesis against the local server: generated requests for every documented operation,
with a real token, the real database and the simulators. No response may be a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.media.fixtures import s3_server, storage  # noqa: F401 - fixtures

SCHEMA = schemathesis.openapi.from_path(str(Path(__file__).resolve().parents[2] / "openapi.json"))


@pytest.fixture
def target(api, sims, alice, storage):  # noqa: F811 - storage: the S3 server the media routes use
    return api.base_url, alice


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case, target):
    base_url, user = target
    if case.operation.path == "/api/health/evolution":
        headers = {}
    else:
        headers = dict(user.headers)
    response = case.call(base_url=str(base_url).rstrip("/"), headers=headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

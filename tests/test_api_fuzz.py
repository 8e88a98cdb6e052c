"""Issue 18 §7: schemathesis over the whole API, as staff and as anonymous, with a bounded
number of examples per operation: no server error, no response that breaks the schema,
no status code the schema does not document.

The operations come from the schema drf-spectacular builds (so a new endpoint is fuzzed
without being named here); the requests go through the WSGI application in this process,
on the test database.
"""

import functools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 8  # per operation and identity: bounded, deterministic (derandomize)


@functools.cache
def _openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def _schema():
    schema = schemathesis.openapi.from_dict(_openapi())
    schema.app = get_wsgi_application()
    return schema


OPERATIONS = [(method.upper(), path) for path, item in _openapi()["paths"].items() for method in item
              if method in {"get", "post", "put", "patch", "delete"}]


@pytest.fixture(autouse=True)
def _connections_stay_open():
    """The WSGI handler closes "old" database connections around each request; in a test's
    transaction that would close the test's own connection (on PostgreSQL). Django's test
    client does the same as this while it calls the application."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def headers(request, city, settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis' WSGI client says localhost
    grid_category()
    receive(city, category=None)
    if request.param == "anonymous":
        return {}
    token = Token.objects.create(user=city.users.community_worker)
    return {"Authorization": f"Token {token.key}"}


@pytest.mark.parametrize("headers", ["anonymous", "staff"], indirect=True)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_keeps_to_its_schema(method, path, headers):
    operation = _schema()[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()

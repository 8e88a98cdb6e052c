"""The OpenAPI schema is valid without warnings, and the docs page loads nothing from outside."""

import re

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    # The same command CI and a developer run; --fail-on-warn turns any drf-spectacular
    # warning (colliding component names, unresolvable fields…) into a failure.
    out = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text(encoding="utf-8"))


TERRITORY = ["districts", "streets", "communities", "grids", "buildings"]


def test_schema_lists_the_territory_api_and_token_login(schema):
    paths = schema["paths"]
    for resource in TERRITORY:
        assert f"/api/v1/{resource}/" in paths
        detail = paths[f"/api/v1/{resource}/{{code}}/"]["get"]
        assert "404" in detail["responses"]
    assert "/api/v1/households/" in paths
    assert "/api/v1/households/{id}/" in paths
    token = paths["/api/v1/auth/token/"]["post"]
    assert "security" not in token or token["security"] in ([], [{}])
    assert set(token["responses"]) == {"200", "400", "429"}


def test_every_territory_operation_requires_a_login(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["type"] == "apiKey"
    for path, operations in schema["paths"].items():
        if not any(f"/api/v1/{r}/" in path for r in [*TERRITORY, "households"]):
            continue
        for operation in operations.values():
            names = {name for requirement in operation["security"] for name in requirement}
            assert {"cookieAuth", "tokenAuth"} <= names, path


def test_household_filters_are_documented(schema):
    params = {p["name"] for p in schema["paths"]["/api/v1/households/"]["get"]["parameters"]}
    assert {"district", "street", "community", "grid", "building", "search", "status", "care_tag",
            "page", "page_size"} <= params


def test_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/households/" in response.content


def test_docs_load_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert assets, "the docs page references no scripts or styles"
    for asset in assets:
        if asset.startswith("/api/docs/?"):  # the split view's start-up script, from this page's view
            assert client.get(asset.replace("&amp;", "&")).status_code == 200
            continue
        assert asset.startswith(settings.STATIC_URL), f"{asset} is not served by this site"
        # …and the file is really there to be served.
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset
    assert not re.search(r"""https?://(?!www\.w3\.org/)""", html), "the docs page names an outside address"
    assert "swagger-ui-bundle.js" in html


VOLUNTEER_LISTS = [
    "/api/v1/volunteers/me/points/", "/api/v1/volunteers/me/signups/", "/api/v1/volunteers/activities/",
    "/api/v1/volunteers/activities/{id}/signups/", "/api/v1/volunteers/rewards/", "/api/v1/volunteers/hall/",
    "/api/v1/volunteers/my-appeals/", "/api/v1/volunteers/overview/volunteers/",
    "/api/v1/volunteers/overview/party-members/", "/api/v1/volunteers/overview/organizations/",
]


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@pytest.mark.parametrize("path", VOLUNTEER_LISTS)
def test_volunteer_lists_are_documented_as_the_pages_they_return(schema, path):
    """They answer {count, next, previous, results} (StandardPagination); the schema said
    an array, so generated clients (and schemathesis) broke on every answer."""
    operation = schema["paths"][path]["get"]
    body = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert body["type"] == "object"
    assert set(body["properties"]) == {"count", "next", "previous", "results"}
    assert body["properties"]["results"]["type"] == "array"
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    assert operation["operationId"].endswith("_list")  # the names clients were generated with


def _framework_docstrings() -> set[str]:
    """The first lines of the docstrings of Django's and DRF's view methods."""
    import inspect

    from django.views import View
    from rest_framework import generics, mixins, viewsets
    from rest_framework.views import APIView

    lines = set()
    for cls in (View, APIView, generics.GenericAPIView, viewsets.GenericViewSet, *(
            getattr(mixins, name) for name in dir(mixins) if name.endswith("Mixin"))):
        for _name, member in inspect.getmembers(cls, callable):
            doc = inspect.getdoc(member)
            if doc and (getattr(member, "__module__", None) or "").startswith(("django.", "rest_framework.")):
                lines.add(doc.splitlines()[0])
    return lines


def test_no_operation_is_described_by_a_framework_docstring(schema):
    # drf-spectacular reads a view's ``action`` attribute as a viewset action's name and takes
    # the docstring of the method so named: 派单 (action "dispatch") was described by DRF's
    # APIView.dispatch until appeals.apis._documented named the class's own docstring.
    framework = _framework_docstrings()
    assert "Dispatch the incoming request to the appropriate handler method." in framework
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            first = (operation.get("description") or "").splitlines()[:1]
            assert not (first and first[0] in framework), (path, method, first)
    dispatch = schema["paths"]["/api/v1/appeals/{tracking_code}/dispatch/"]["post"]
    assert dispatch["description"] == schema["paths"]["/api/v1/appeals/{tracking_code}/decline/"]["post"][
        "description"]

"""GET services and GET services/{code}: the responsibility list as GeoReport services."""

import pytest

from appeals.open311.enums import AttributeType
from appeals.open311.models import ServiceAttribute
from tests.open311.conftest import BASE, errors_of, json_body, xml

pytestmark = pytest.mark.django_db

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


def test_services_json(client, o311):
    body = json_body(client.get(f"{BASE}/services.json"))
    by_code = {s["service_code"]: s for s in body}
    assert set(by_code) == {o311.garbage.code, o311.noise.code}
    garbage = by_code[o311.garbage.code]
    assert list(garbage) == SERVICE_FIELDS
    assert garbage["service_name"] == "暴露垃圾"
    assert garbage["group"] == o311.garbage.class_name
    assert garbage["metadata"] is False and garbage["type"] == "realtime"


def test_services_xml(client, o311):
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == sorted([o311.garbage.code, o311.noise.code])
    assert [child.tag for child in services[0]] == SERVICE_FIELDS
    assert services[0].findtext("metadata") == "false"
    assert services[0].findtext("type") == "realtime"


def test_inactive_category_is_not_a_service(client, o311):
    o311.noise.active = False
    o311.noise.save()
    codes = [s["service_code"] for s in client.get(f"{BASE}/services.json").json()]
    assert codes == [o311.garbage.code]
    assert client.get(f"{BASE}/services/{o311.noise.code}.json").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_definition_of_a_service_without_attributes_is_empty(client, o311, fmt):
    response = client.get(f"{BASE}/services/{o311.garbage.code}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert json_body(response) == {"service_code": o311.garbage.code, "attributes": []}
    else:
        root = xml(response)
        assert root.tag == "service_definition"
        assert root.findtext("service_code") == o311.garbage.code
        assert root.find("attributes") is not None and list(root.find("attributes")) == []


@pytest.fixture
def when_attribute(o311):
    return ServiceAttribute.objects.create(
        category=o311.garbage, code="WHEN", order=1, description="什么时候开始堆放的？",
        datatype=AttributeType.SINGLE, required=True,
        values=[{"key": "day", "name": "今天"}, {"key": "week", "name": "一周以上"}],
    )


def test_a_service_with_attributes_has_metadata_and_a_definition(client, o311, when_attribute):
    by_code = {s["service_code"]: s for s in client.get(f"{BASE}/services.json").json()}
    assert by_code[o311.garbage.code]["metadata"] is True
    assert by_code[o311.noise.code]["metadata"] is False

    body = client.get(f"{BASE}/services/{o311.garbage.code}.json").json()
    assert body["attributes"] == [{
        "variable": True, "code": "WHEN", "datatype": "singlevaluelist", "required": True,
        "datatype_description": None, "order": 1, "description": "什么时候开始堆放的？",
        "values": [{"key": "day", "name": "今天"}, {"key": "week", "name": "一周以上"}],
    }]

    root = xml(client.get(f"{BASE}/services/{o311.garbage.code}.xml"))
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("code") == "WHEN"
    assert attribute.findtext("required") == "true"
    assert attribute.findtext("datatype") == "singlevaluelist"
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")] == [
        ("day", "今天"), ("week", "一周以上"),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["99999", "abc"])
def test_unknown_service_code_is_404(client, o311, fmt, code):
    response = client.get(f"{BASE}/services/{code}.{fmt}")
    assert response.status_code == 404
    [(status, description)] = errors_of(response, fmt)
    assert status == 404 and code in description


@pytest.mark.parametrize("path", ["services.csv", "services", "services/01001.html", "nothing.json"])
def test_unknown_format_or_resource_is_404(client, o311, path):
    response = client.get(f"{BASE}/{path}")
    assert response.status_code == 404
    fmt = "json" if path.endswith(".json") else "xml"
    assert errors_of(response, fmt)[0][0] == 404


def test_wrong_method_answers_in_the_spec_format(client, o311):
    response = client.post(f"{BASE}/services.json", {})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert errors_of(response, "json")[0][0] == 405

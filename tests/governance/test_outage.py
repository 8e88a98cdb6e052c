"""A database outage is answered honestly (issue 16): 503 with Retry-After and "系统暂时不可用，
请稍后再试" — a page rendered without the database, JSON for the API, the Open311 error list —
never a 500; and the next request after the database is back succeeds without a restart.

The outage is real: the connection's port is pointed at one where nothing listens (a
refused connection, as while PostgreSQL restarts), and the old connection is closed."""

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MESSAGE = "系统暂时不可用，请稍后再试"


@pytest.fixture
def database_down():
    saved = connection.settings_dict["PORT"]

    def down():
        connection.close()
        connection.settings_dict["PORT"] = 1

    def up():
        connection.close()
        connection.settings_dict["PORT"] = saved

    yield down, up
    up()


def test_pages_api_and_open311_answer_503_then_recover(city, database_down):
    down, up = database_down
    # Clients that get the response as a browser would (the test client's default re-raises
    # what handler500 answered).
    staff = Client(raise_request_exception=False)
    staff.force_login(city.users.grid_worker)  # a session in the database
    down()
    page = Client(raise_request_exception=False).get("/submit/")
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert MESSAGE in page.content.decode() and "工作台" not in page.content.decode()
    # The staff page fails already in the middleware (the session, the user): handler500 says 503 too.
    staff_page = staff.get("/appeals/")
    assert staff_page.status_code == 503 and MESSAGE in staff_page.content.decode()
    from tests.appeals.factories import grid_category

    up()
    category = grid_category()
    down()
    body = {"category": category.code, "building": city.building_a1.code, "description": "楼道灯坏了",
            "phone": "13812345678"}
    api = APIClient(raise_request_exception=False).post("/api/v1/appeals/", body, format="json")
    assert api.status_code == 503 and api["Retry-After"] == "30"
    assert api.json() == {"code": "unavailable", "detail": MESSAGE}
    token = APIClient(raise_request_exception=False).post("/api/v1/auth/token/", {"username": "grid_worker", "password": "x"}, format="json")
    assert token.status_code == 503 and token.json()["code"] == "unavailable"
    open311 = Client(raise_request_exception=False).get("/open311/v2/services.json")
    assert open311.status_code == 503 and open311.json() == [{"code": 503, "description": MESSAGE}]

    up()
    assert Client(raise_request_exception=False).get("/submit/").status_code == 200
    assert staff.get("/appeals/").status_code == 200

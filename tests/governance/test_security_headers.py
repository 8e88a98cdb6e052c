"""Issue 18 §4: the browser's security headers (CSP, Permissions-Policy, HTTPS), and pages
that run under a CSP without 'unsafe-inline': no inline script, style or event handler."""

import re
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.browser import browser_page, login_as  # noqa: F401

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_every_page_carries_a_strict_content_security_policy(client):
    response = client.get("/submit/")
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert _directives(client.get("/api/v1/categories/")["Content-Security-Policy"])["script-src"] == ["'self'"]


def test_permissions_policy_allows_geolocation_here_and_nothing_else(client):
    header = client.get("/submit/")["Permissions-Policy"]
    features = dict(part.strip().split("=", 1) for part in header.split(","))
    assert features["geolocation"] == "(self)"
    assert features["camera"] == features["microphone"] == features["payment"] == features["usb"] == "()"
    assert [name for name, allowed in features.items() if allowed != "()"] == ["geolocation"]


def test_templates_hold_no_inline_script_style_or_handler():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(TEMPLATES).as_posix()
        for pattern in (r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", r"\sstyle=\"",
                        r"<style\b", r"\son[a-z]+=\"", r"javascript:", r"\shx-on[:-]"):
            found += [f"{relative}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []


def test_htmx_runs_without_eval_or_injected_styles(city, client):
    import json

    client.force_login(city.users.grid_worker)
    for path in ("/submit/", "/appeals/", "/volunteers/manage/"):
        page = client.get(path).content.decode()
        metas = re.findall(r"""<meta name="htmx-config" content='([^']*)'>""", page)
        assert len(metas) == 1, path  # htmx reads one
        config = json.loads(metas[0])
        assert (config["allowEval"], config["includeIndicatorStyles"], config["allowScriptTags"]) == (False,) * 3


def test_the_api_docs_use_the_split_view_with_no_inline_script(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and "<style" not in html
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31_536_000)
def test_with_https_on_http_is_redirected_and_https_answers_with_hsts():
    client = Client()
    plain = client.get("/submit/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/submit/"
    secure = client.get("/submit/", secure=True)
    assert secure.status_code == 200 and secure["Strict-Transport-Security"] == "max-age=31536000"
    # Load balancers probe health over plain http.
    assert client.get("/healthz").status_code in (200, 503)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_raise_no_csp_violation_in_a_browser(browser_page, live_server, django_user_model):  # noqa: F811
    from tests.factories import make_city

    make_city()
    page = browser_page
    page.add_init_script("""
        window.__csp = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
    """)
    violations = []
    for path in ("/submit/", "/track/", "/api/docs/", "/accounts/login/", "/admin/login/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        violations += [f"{path}: {v}" for v in page.evaluate("window.__csp")]
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("#swagger-ui .information-container", timeout=15000)  # Swagger UI started
    login_as(page, live_server, "community_worker")
    for path in ("/", "/appeals/", "/territory/", "/volunteers/", "/notifications/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        violations += [f"{path}: {v}" for v in page.evaluate("window.__csp")]
    assert violations == []
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []

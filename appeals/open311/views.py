"""Open311 GeoReport v2 endpoints (DESIGN.md §8): thin views over selectors/services.

Plain Django views: the api_key is the credential, so the POST is CSRF-exempt and no
session or DRF authentication is involved. Every answer, errors included, comes in the
format the URL asks for (.json or .xml).
"""

import re
from functools import wraps

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from appeals import public_policy
from appeals.open311 import selectors, services
from appeals.open311.render import error_response, respond
from appeals.ratelimit import Rate, RateLimited
from governance.kernel.errors import ApplicationError
from governance.kernel.network import client_ip

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def _status_for(exc: ApplicationError) -> int:
    # The spec's codes: 404 missing resource, 403 api_key, 400 anything else; and 429
    # for a key over its rate (the spec names no code for it; 429 is HTTP's own).
    return exc.status_code if exc.status_code in (403, 404, 429) else 400


def _without_body(response: HttpResponse) -> HttpResponse:
    """A HEAD answer: the GET's status and headers (its length too), no body."""
    length = len(response.content)
    response.content = b""
    response["Content-Length"] = str(length)
    return response


def _read_refused(request, fmt: str) -> HttpResponse | None:
    """A public read over the client address's rate (appeals.public_policy): 429."""
    if public_policy.allow_read(ip=client_ip(request)):
        return None
    response = error_response(fmt, 429, [_("查询过于频繁，请稍后再试。")])
    response["Retry-After"] = str(public_policy.read_retry_after())
    return response


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def open311_endpoint(*methods: str):
    """Each resource answers its ``methods`` — and HEAD wherever it answers GET, with the
    GET's headers and no body; other methods: 405 in the spec's error format. Reads
    (GET, HEAD) are public reads: limited per client address (appeals.public_policy)."""
    allowed = (*methods, "HEAD") if "GET" in methods else methods

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, fmt: str, **kwargs):
            if request.method not in allowed:
                response = error_response(fmt, 405, [_("不支持 %(m)s 请求。") % {"m": request.method}])
                response["Allow"] = ", ".join(allowed)
                return response
            if request.method in ("GET", "HEAD") and (refused := _read_refused(request, fmt)) is not None:
                return _without_body(refused) if request.method == "HEAD" else refused
            if request.method == "HEAD":
                request.method = "GET"  # the view answers as for GET; the body is dropped
                return _without_body(answer(request, fmt, **kwargs))
            return answer(request, fmt, **kwargs)

        def answer(request, fmt: str, **kwargs):
            try:
                return view(request, fmt, **kwargs)
            except services.LocationNotFound as exc:
                return error_response(fmt, 400, exc.messages)
            except selectors.QueryError as exc:
                return error_response(fmt, 400, [str(exc)])
            except ApplicationError as exc:
                response = error_response(fmt, _status_for(exc), [exc.message])
                if isinstance(exc, RateLimited):
                    response["Retry-After"] = str(Rate.parse(settings.OPEN311_RATE_PER_KEY).seconds)
                return response

        return wrapper

    return decorate


@open311_endpoint("GET")
def discovery_view(request, fmt: str):
    """The service discovery document (discovery.json / discovery.xml)."""
    base = reverse("open311-discovery", kwargs={"fmt": fmt}).rsplit("/", 1)[0]
    endpoint_url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{base}"
    return respond(fmt, "discovery", selectors.discovery(endpoint_url=endpoint_url,
                                                          changeset=services.services_changeset()))


@open311_endpoint("GET")
def services_view(request, fmt: str):
    return respond(fmt, "services", selectors.service_list())


@open311_endpoint("GET")
def service_definition_view(request, fmt: str, service_code: str):
    category = selectors.category_for_code(service_code)
    if category is None:
        return error_response(fmt, 404, [_("service_code“%(c)s”不存在。") % {"c": service_code[:20]}])
    return respond(fmt, "service_definition", selectors.service_definition(category))


def _attributes(post) -> dict:
    found = {}
    for key, values in post.lists():
        match = _ATTRIBUTE.match(key)
        if match:
            values = [v for v in values if v != ""]
            found[match.group(1)] = values if match.group(2) else (values[-1] if values else "")
    return found


@open311_endpoint("GET", "POST")
def requests_view(request, fmt: str):
    if request.method == "GET":
        query = selectors.parse_request_query(request.GET)
        return respond(fmt, "service_requests", selectors.request_list(query, base_url=_base_url(request)))
    post = request.POST
    api_key = services.api_key_authenticate(post.get("api_key") or request.GET.get("api_key"))
    fields = (
        "service_code", "lat", "long", "address_string", "address_id", "description",
        "first_name", "last_name", "phone", "email", "media_url",
    )
    data = services.RequestInput(**{f: post.get(f, "") for f in fields}, attributes=_attributes(post))
    appeal = services.request_create(api_key=api_key, data=data)
    # Realtime: the id at once, so no token (the spec: never both).
    row = {
        "service_request_id": str(appeal.pk),
        "service_notice": selectors.service_notice(appeal),
        "account_id": None,
    }
    # 200, not 201: the spec shows none, and clients written against it expect 200.
    return respond(fmt, "service_requests", [row])


@open311_endpoint("GET")
def request_detail_view(request, fmt: str, request_id: str):
    appeal = selectors.appeal_for_request_id(request_id)
    if appeal is None:
        return error_response(fmt, 404, [_("service_request_id“%(i)s”不存在。") % {"i": request_id[:20]}])
    return respond(fmt, "service_requests", [selectors.request_row(appeal, base_url=_base_url(request))])


@open311_endpoint("GET")
def token_view(request, fmt: str, token: str):
    request_id = selectors.request_id_for_token(token)
    if request_id is None:
        return error_response(fmt, 404, [_("token“%(t)s”不存在。") % {"t": token[:40]}])
    return respond(fmt, "service_requests", [{"service_request_id": request_id, "token": token.strip()}])


@csrf_exempt
def media_view(request, pk: int):
    """A photo staff marked public, of an appeal the public may see (the media_url of a
    request); anything else does not exist. A public read like the others."""
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    refused = _read_refused(request, "json")
    if refused is not None:
        return refused
    photo = public_policy.public_photo(pk)
    if photo is None:
        return error_response("json", 404, [_("没有这张公开照片。")])
    response = FileResponse(photo.image.open("rb"))
    response["Cache-Control"] = "public, max-age=3600"
    return response


@csrf_exempt
def not_found_view(request, path: str = ""):
    """An unknown resource or format under /open311/v2/: 404 in XML, the spec's one
    required format (or JSON when the path asks for it); to HEAD, without the body."""
    fmt = "json" if path.endswith(".json") else "xml"
    response = error_response(fmt, 404, [_("没有这个 Open311 资源：%(p)s（格式须为 .json 或 .xml）。") % {"p": path[:80]}])
    return _without_body(response) if request.method == "HEAD" else response

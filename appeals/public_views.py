"""The residents' pages (no account): submit an appeal, track it, evaluate or withdraw it.

Thin: forms check what the resident can fix, appeals.services does the work, and
appeals.ratelimit throttles intake and tracking guesses. A verified tracking code is
kept in the session for a short while (bound to that code), so that the resident is
not asked for the last 4 digits on every reload; nothing here shows staff names or
anyone else's personal data.
"""

import time
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appeals import my_views, public_policy, tracking
from appeals import public_selectors as places
from appeals.archive import AppealArchived
from appeals.enums import AppealState, Source
from appeals.images import PHOTO_CACHE_CONTROL, resized
from appeals.models import DESCRIPTION_MAX, normalize_tracking_code
from appeals.my_forms import SupplementForm
from appeals.public_forms import (
    NOT_SURE,
    AppealSubmitForm,
    EvaluationForm,
    LastFourForm,
    PlaceQuery,
    TrackForm,
    TrackQuery,
    WithdrawForm,
)
from appeals.ratelimit import RateLimited, charge_intake, ensure_intake_allowed
from appeals.selectors import appeal_track, category_list, resident_photo
from appeals.services import appeal_evaluate, appeal_receive, appeal_supplement, appeal_withdraw_by_resident
from appeals.suggest.models import SuggestionPlace
from appeals.suggest.records import shown_value, suggestion_record
from appeals.suggest.services import suggest
from governance.kernel.errors import ApplicationError, Conflict, NotFound
from governance.kernel.network import client_ip
from governance.kernel.privacy import mask_phone
from grids.maps import map_config

TRACK_SESSION_KEY = "public_track"
SUBMITTED_SESSION_KEY = "public_submitted"
# How long a verified tracking code (or a just-submitted one) stays in the session.
REMEMBER_SECONDS = 20 * 60
REMEMBER_MAX_CODES = 5


# --- session: the codes this browser has proven it may see ---------------------------------


def _remember(request, code: str, last4: str) -> None:
    now = time.time()
    entries = {c: e for c, e in request.session.get(TRACK_SESSION_KEY, {}).items() if e.get("until", 0) > now}
    entries[code] = {"last4": last4, "until": now + REMEMBER_SECONDS}
    newest = sorted(entries.items(), key=lambda item: item[1]["until"])[-REMEMBER_MAX_CODES:]
    if not request.session.get(TRACK_SESSION_KEY):
        # A new proof of identity gets a new session id (no fixation of a planted cookie).
        request.session.cycle_key()
    request.session[TRACK_SESSION_KEY] = dict(newest)


def _remembered(request, code: str) -> str | None:
    """The digits this browser proved for ``code``: by the tracking code and the digits
    (or the SMS link), or by the phone's one-time code (我的诉求, appeals.my_views)."""
    entry = request.session.get(TRACK_SESSION_KEY, {}).get(code)
    if not entry or entry.get("until", 0) <= time.time():
        return my_views.proven_last4(request, code)
    return entry.get("last4")


def _forget(request, code: str) -> None:
    entries = dict(request.session.get(TRACK_SESSION_KEY, {}))
    if entries.pop(code, None) is not None:
        request.session[TRACK_SESSION_KEY] = entries


def _rate_limited(request, exc: RateLimited):
    response = render(request, "appeals/public/rate_limited.html", {"message": exc.message}, status=429)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def public_read(view):
    """A public read (the place lists, the duplicate hint): limited per client address,
    in this process (appeals.public_policy)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not public_policy.allow_read(ip=client_ip(request)):
            response = _rate_limited(request, RateLimited(_("查询过于频繁，请稍后再试。")))
            response["Retry-After"] = str(public_policy.read_retry_after())
            return response
        return view(request, *args, **kwargs)

    return wrapper


# --- landing -------------------------------------------------------------------------------


@require_GET
def index(request):
    """Only routed when the staff site is off: the site root is the submit page."""
    return redirect("public:submit")


# --- submit --------------------------------------------------------------------------------


def _place_context(values) -> dict:
    """The street, community and building lists for the values the form holds now."""
    params = PlaceQuery.parse(values)
    street, community = params["street"], params["community"]
    return {
        "streets": places.street_search(query=params["street_q"], selected=street),
        "communities": places.community_search(street=street, query=params["community_q"], selected=community),
        "buildings": places.building_search(
            street=street, community=community, query=params["building_q"], selected=params["building"],
        ),
        "hint": places.duplicate_hint(building_code=params["building"], category_id=params["category"]),
    }


def _category_context(values) -> dict:
    """The category list with the model's three suggestions for the description typed so
    far first (智能分拨; none without a description or a model): the resident still chooses."""
    categories = list(category_list())
    suggestion = suggest(values.get("description", "")) if values.get("description") else None
    suggested = [c for c, _p in suggestion.top] if suggestion else []
    shown = {c.pk for c in suggested}
    return {
        "categories": [c for c in categories if c.pk not in shown],
        "suggested": suggested,
        "suggested_value": shown_value(suggestion),
        "NOT_SURE": NOT_SURE,
        "selected_category": str(values.get("category", "")),
    }


def _submit_page(request, form: AppealSubmitForm, *, values, status: int = 200, lookup: bool = False):
    return render(request, "appeals/public/submit.html", {
        "form": form,
        "map_config": map_config(public=True),
        "values": values,
        **_category_context(values),
        "lookup": lookup,
        "resubmitted": request.method == "POST" and not lookup,
        # Photos never come back with a re-shown form: the page says how many to choose again.
        "photos_dropped": len([f for f in request.FILES.getlist("photos") if f]) if request.method == "POST" else 0,
        **_place_context(values),
    }, status=status)


@require_http_methods(["GET", "POST"])
def submit(request):
    """The appeal form. POST: validate → rate limit (checked; charged once the appeal is
    saved with its photos) → appeals.services.appeal_receive → the tracking code on the
    next page (kept in this session only), with the photos that could not be stored."""
    if request.method == "GET":
        return _submit_page(request, AppealSubmitForm(), values={})
    values = request.POST.dict()
    if "lookup" in request.POST:
        # Without JavaScript, "查找" re-renders the lists for what was typed.
        return _submit_page(request, AppealSubmitForm(initial=values), values=values, lookup=True)
    form = AppealSubmitForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        ip = client_ip(request)
        try:
            ensure_intake_allowed(ip=ip, phone=data["phone"])
            appeal = appeal_receive(
                source=Source.WEB, description=data["description"], phone=data["phone"],
                category=data["category"], building=data["building_obj"],
                community=None if data["building_obj"] else data["community_obj"],
                street=None if data["building_obj"] else data["street_obj"],
                address_text=form.address_for_service(), name=data["name"], anonymous=data["anonymous"],
                photos=data["photos"], latitude=data["latitude"], longitude=data["longitude"],
            )
        except RateLimited as exc:
            return _rate_limited(request, exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            _record_form_suggestion(appeal, data["suggested"], data["category"])
            if not appeal.photos_not_stored:
                charge_intake(ip=ip, phone=data["phone"])
            _remember(request, appeal.tracking_code, appeal.phone[-4:])
            request.session[SUBMITTED_SESSION_KEY] = {
                "code": appeal.tracking_code, "phone": mask_phone(appeal.phone),
                "dispatched": appeal.state == AppealState.DISPATCHED, "until": time.time() + REMEMBER_SECONDS,
                "photos_not_stored": list(appeal.photos_not_stored),
            }
            return redirect("public:submit-done")
    return _submit_page(request, form, values=values)


def _record_form_suggestion(appeal, suggested: tuple[int, list[str]] | None, category) -> None:
    """The three the form showed (sent back with it) and the category the resident chose."""
    if suggested is None:
        return
    version, shown = suggested
    suggestion_record(appeal=appeal, place=SuggestionPlace.FORM, shown=shown,
                      chosen=category.code if category is not None else "", version=version)


@require_POST
def submit_suggest(request):
    """htmx, as the resident types the description: the category list again, with the
    model's three suggestions first, and the hidden field that carries them back with the
    form. Limited per client address (appeals.public_policy.allow_suggest)."""
    if not public_policy.allow_suggest(ip=client_ip(request)):
        response = _rate_limited(request, RateLimited(_("操作过于频繁，请稍后再试。")))
        response["Retry-After"] = str(public_policy.suggest_retry_after())
        return response
    values = {"description": request.POST.get("description", "")[:DESCRIPTION_MAX],
              "category": request.POST.get("category", "")}
    return render(request, "appeals/public/_category_options.html", {**_category_context(values), "oob": True})


@require_GET
@never_cache
def submit_done(request):
    """The tracking code of the appeal this browser just submitted — from the session,
    never from the URL, so that the page cannot be used to probe codes."""
    submitted = request.session.get(SUBMITTED_SESSION_KEY)
    if not submitted or submitted.get("until", 0) <= time.time():
        return redirect("public:submit")
    return render(request, "appeals/public/submit_done.html", {"submitted": submitted})


@require_GET
@public_read
def submit_similar(request):
    """htmx: the duplicate hint once a building and a category are chosen."""
    params = PlaceQuery.parse(request.GET)
    hint = places.duplicate_hint(building_code=params["building"], category_id=params["category"])
    return render(request, "appeals/public/_duplicate_hint.html", {"hint": hint})


# --- places (the form's pickers) ------------------------------------------------------------------


def _places_response(request, params: dict, page: places.PlacePage, *, kind: str, empty_label: str):
    if params["format"] == "json":
        return JsonResponse({"results": page.items, "more": page.more})
    return render(request, "appeals/public/_place_options.html", {
        "page": page, "kind": kind, "selected": params[kind], "empty_label": empty_label,
    })


@require_GET
@public_read
def places_streets(request):
    params = PlaceQuery.parse(request.GET)
    page = places.street_search(query=params["street_q"] or params["q"], selected=params["street"])
    return _places_response(request, params, page, kind="street", empty_label=_("请选择街道"))


@require_GET
@public_read
def places_communities(request):
    params = PlaceQuery.parse(request.GET)
    page = places.community_search(
        street=params["street"], query=params["community_q"] or params["q"], selected=params["community"],
    )
    label = _("不确定 / 不选择社区") if params["street"] else _("请先选择街道")
    return _places_response(request, params, page, kind="community", empty_label=label)


@require_GET
@public_read
def places_buildings(request):
    params = PlaceQuery.parse(request.GET)
    page = places.building_search(
        street=params["street"], community=params["community"], query=params["building_q"] or params["q"],
        selected=params["building"],
    )
    label = _("找不到楼栋，用文字描述位置") if params["street"] else _("请先选择街道和社区")
    return _places_response(request, params, page, kind="building", empty_label=label)


# --- track ------------------------------------------------------------------------------------


def _verify(request, code: str, last4: str):
    """Check a guess of (code, last 4 digits) within the tries a code and an address have
    (appeals.tracking). Returns the TrackView, or raises RateLimited / NotFound (the
    failure is counted, the message says how many tries are left)."""
    view, _left = tracking.guarded(
        tracking_code=code, ip=client_ip(request),
        read=lambda: appeal_track(tracking_code=code, phone_last4=last4),
    )
    _remember(request, view.tracking_code, last4)
    return view


@require_http_methods(["GET", "POST"])
@never_cache
def track(request):
    """The tracking code + the phone's last 4 digits."""
    form = TrackForm(request.POST or None, initial={"tracking_code": TrackQuery.parse(request.GET)["code"]})
    if request.method == "POST" and form.is_valid():
        try:
            view = _verify(request, form.cleaned_data["tracking_code"], form.cleaned_data["phone_last4"])
        except RateLimited as exc:
            return _rate_limited(request, exc)
        except (NotFound, AppealArchived) as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("public:track-detail", tracking_code=view.tracking_code)
    return render(request, "appeals/public/track.html", {"form": form})


def _track_page(request, code: str, last4: str, *, evaluation_form=None, supplement_form=None, error: str = "",
                status: int = 200):
    try:
        view = appeal_track(tracking_code=code, phone_last4=last4)
    except NotFound:
        _forget(request, code)
        return redirect("public:track-detail", tracking_code=code)
    if evaluation_form is None and view.can_evaluate:
        evaluation_form = EvaluationForm(initial={"version": view.version})
    if supplement_form is None and view.can_supplement:
        supplement_form = SupplementForm()
    return render(request, "appeals/public/track_detail.html", {
        "view": view, "evaluation_form": evaluation_form, "supplement_form": supplement_form, "error": error,
        "map_config": map_config(public=True) if view.point else None,
        "by_phone": my_views.proven_phone(request) is not None,
    }, status=status)


@require_http_methods(["GET", "POST"])
@never_cache
def track_detail(request, tracking_code: str):
    """The SMS link: asks for the last 4 digits (the code is in the URL), then shows the
    timeline; a verified code is remembered in the session for a short while."""
    code = normalize_tracking_code(tracking_code)
    if not code:
        return redirect("public:track")
    if code != tracking_code:
        return redirect("public:track-detail", tracking_code=code)
    if request.method == "POST":
        form = LastFourForm(request.POST)
        if form.is_valid():
            try:
                _verify(request, code, form.cleaned_data["phone_last4"])
            except RateLimited as exc:
                return _rate_limited(request, exc)
            except (NotFound, AppealArchived) as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("public:track-detail", tracking_code=code)
        return render(request, "appeals/public/track_verify.html", {"form": form, "code": code})
    last4 = _remembered(request, code)
    if last4 is None:
        return render(request, "appeals/public/track_verify.html", {
            "form": LastFourForm(), "code": code,
            "tries_left": tracking.tries_left(tracking_code=code, ip=client_ip(request)),
        })
    return _track_page(request, code, last4)


@require_GET
@never_cache
def track_link(request, tracking_code: str, token: str):
    """The link in the resident's SMS: the token stands for the digits. The browser is
    sent on to the plain address at once, so that the token leaves the address bar (and
    can be in no Referer)."""
    try:
        appeal = tracking.appeal_for_link(tracking_code=tracking_code, token=token)
    except NotFound as exc:
        tracking.count_link_failure(ip=client_ip(request))
        messages.error(request, exc.message)
        code = normalize_tracking_code(tracking_code)
        return redirect("public:track-detail", tracking_code=code) if code else redirect("public:track")
    _remember(request, appeal.tracking_code, appeal.phone[-4:])
    return redirect("public:track-detail", tracking_code=appeal.tracking_code)


def _verified_or_redirect(request, tracking_code: str):
    code = normalize_tracking_code(tracking_code)
    last4 = _remembered(request, code) if code else None
    if last4 is None:
        messages.info(request, _("请先输入手机号后四位，再进行操作。"))
        return code, None, redirect("public:track-detail", tracking_code=code) if code else redirect("public:track")
    return code, last4, None


@require_POST
@never_cache
def track_evaluate(request, tracking_code: str):
    """评价: solved or not, 满意/基本满意/不满意, a comment → appeal_evaluate."""
    code, last4, response = _verified_or_redirect(request, tracking_code)
    if response is not None:
        return response
    form = EvaluationForm(request.POST)
    if not form.is_valid():
        return _track_page(request, code, last4, evaluation_form=form)
    data = form.cleaned_data
    try:
        appeal = appeal_evaluate(
            tracking_code=code, phone_last4=last4, solved=data["solved"], rating=data["rating"],
            comment=data["comment"], expected_version=data["version"],
        )
    except Conflict as exc:
        return _track_page(request, code, last4, error=_changed(exc), status=409)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _track_page(request, code, last4, evaluation_form=form)
    if appeal.state == AppealState.IN_PROGRESS:
        messages.success(request, _("已转回重新办理：办理单位将重新处理并尽快与您联系。"))
    elif appeal.flagged_for_supervisor:
        messages.success(request, _("感谢您的评价。该诉求已多次返工，已转交督查部门跟进。"))
    else:
        messages.success(request, _("感谢您的评价！"))
    return redirect("public:track-detail", tracking_code=code)


def _changed(exc: Conflict) -> str:
    return _("%(reason)s 下方已显示最新办理情况，请刷新页面确认后再操作。") % {"reason": exc.message}


@require_http_methods(["GET", "POST"])
@never_cache
def track_withdraw(request, tracking_code: str):
    """撤回 before the appeal is signed for, after a confirmation."""
    code, last4, response = _verified_or_redirect(request, tracking_code)
    if response is not None:
        return response
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal_withdraw_by_resident(tracking_code=code, phone_last4=last4, reason=form.cleaned_data["reason"])
        except Conflict as exc:
            return _track_page(request, code, last4, error=_changed(exc), status=409)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("诉求已撤回，不再办理。如有需要可重新反映。"))
            return redirect("public:track-detail", tracking_code=code)
    try:
        view = appeal_track(tracking_code=code, phone_last4=last4)
    except NotFound:
        _forget(request, code)
        raise Http404 from None
    if not view.can_withdraw:
        return _track_page(request, code, last4, error=_("诉求当前为“%(state)s”，已不能撤回。") % {"state": view.state_label},
                           status=409)
    return render(request, "appeals/public/track_withdraw.html", {"view": view, "form": form})


@require_POST
def track_forget(request, tracking_code: str):
    """“退出查询” on a shared phone: this browser has to give the digits (or the phone's
    code) again."""
    _forget(request, normalize_tracking_code(tracking_code))
    request.session.pop(SUBMITTED_SESSION_KEY, None)
    my_views.end_proof(request)
    return redirect(reverse("public:track"))


@require_POST
@never_cache
def track_supplement(request, tracking_code: str):
    """补充: text and photos added to an open appeal → appeal_supplement (an event, and the
    handling unit's inbox)."""
    code, last4, response = _verified_or_redirect(request, tracking_code)
    if response is not None:
        return response
    form = SupplementForm(request.POST, request.FILES)
    if not form.is_valid():
        return _track_page(request, code, last4, supplement_form=form, status=400)
    try:
        appeal_supplement(tracking_code=code, phone_last4=last4, text=form.cleaned_data["text"],
                          photos=form.cleaned_data["photos"])
    except Conflict as exc:
        return _track_page(request, code, last4, error=_changed(exc), status=409)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _track_page(request, code, last4, supplement_form=form, status=exc.status_code)
    messages.success(request, _("补充已提交，办理单位会收到提醒。"))
    return redirect("public:track-detail", tracking_code=code)


@require_GET
@public_read
def track_photo(request, tracking_code: str, pk: int):
    """A photo of the resident's own appeal, after the proof (the digits or the phone's
    code), resized and saved afresh without metadata (appeals.images.resized); media is
    never public. A public read: resizing costs, so the per-address read limit applies."""
    code = normalize_tracking_code(tracking_code)
    last4 = _remembered(request, code) if code else None
    if last4 is None:
        raise Http404
    try:
        attachment = resident_photo(tracking_code=code, phone_last4=last4, pk=pk)
        body, content_type = resized(attachment.image)
    except (NotFound, OSError):
        raise Http404 from None
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = PHOTO_CACHE_CONTROL
    return response

"""我的诉求: the resident proves their phone with a one-time code by SMS
(appeals.phone_proof) and sees that phone's appeals of the last 12 months, each linking to
its tracking page.

The proof lives in the session, never in a URL: the number is kept server-side (the
session store), for MY_APPEALS_SESSION_HOURS at most (and the session's own idle
expiry), and 退出 ends it. A new proof gets a new session id. Pages never show the full
number: it is masked (governance.kernel.privacy).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from appeals import phone_proof
from appeals.my_forms import CodeForm, PhoneForm
from appeals.ratelimit import RateLimited
from governance.kernel.errors import ApplicationError
from governance.kernel.network import client_ip
from governance.kernel.privacy import mask_phone

PROVEN_KEY = "my_appeals"  # {"phone": …, "until": epoch seconds}
PENDING_KEY = "my_appeals_pending"  # the number a code was sent to, until the code expires


# --- the session --------------------------------------------------------------------------


def proven_phone(request) -> str | None:
    """The phone this browser proved, while the proof lasts."""
    entry = request.session.get(PROVEN_KEY)
    if not entry or entry.get("until", 0) <= time.time():
        return None
    return entry.get("phone") or None


def proven_last4(request, tracking_code: str) -> str | None:
    """The last 4 digits for the tracking page when the proven phone filed ``tracking_code``
    within the window (appeals.phone_proof.owns); None otherwise."""
    phone = proven_phone(request)
    if phone and tracking_code and phone_proof.owns(phone=phone, tracking_code=tracking_code):
        return phone[-4:]
    return None


def _pending_phone(request) -> str | None:
    entry = request.session.get(PENDING_KEY)
    if not entry or entry.get("until", 0) <= time.time():
        return None
    return entry.get("phone") or None


def end_proof(request) -> None:
    """Forget the proven (and the pending) phone."""
    request.session.pop(PROVEN_KEY, None)
    request.session.pop(PENDING_KEY, None)


# --- pages --------------------------------------------------------------------------------


def _page(request, *, phone_form=None, code_form=None, error: str = "", status: int = 200):
    phone = proven_phone(request)
    if phone:
        appeals = list(phone_proof.my_appeals(phone=phone))
        return render(request, "appeals/public/my_appeals.html", {
            "appeals": appeals, "masked_phone": mask_phone(phone), "months": settings.MY_APPEALS_MONTHS,
        }, status=status)
    pending = _pending_phone(request)
    return render(request, "appeals/public/my_login.html", {
        "phone_form": phone_form or PhoneForm(),
        "code_form": code_form if code_form is not None else (CodeForm() if pending else None),
        "pending": mask_phone(pending) if pending else "",
        "resend_wait": phone_proof.resend_wait(phone=pending) if pending else 0,
        "error": error, "months": settings.MY_APPEALS_MONTHS,
    }, status=status)


@require_GET
@never_cache
def my_appeals(request):
    """The list once proven; otherwise the phone, then the code."""
    return _page(request)


@require_POST
@never_cache
def my_code(request):
    """Send a code: to the number typed, or again to the pending one (``resend``)."""
    pending = _pending_phone(request)
    if "resend" in request.POST and pending:
        phone = pending
    else:
        form = PhoneForm(request.POST)
        if not form.is_valid():
            return _page(request, phone_form=form, status=400)
        phone = form.cleaned_data["phone"]
    try:
        sent = phone_proof.phone_code_send(phone=phone, ip=client_ip(request))
    except RateLimited as exc:
        if phone != pending:
            # Another number than the pending one: the code form would be for the wrong phone.
            request.session.pop(PENDING_KEY, None)
        response = _page(request, phone_form=PhoneForm(initial={"phone": phone}), error=exc.message, status=429)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    request.session[PENDING_KEY] = {"phone": phone, "until": sent.expires_at.timestamp()}
    return redirect("public:my-appeals")


@require_POST
@never_cache
def my_verify(request):
    """Check the code; on success the phone is proven for this session."""
    phone = _pending_phone(request)
    if phone is None:
        messages.error(request, _("验证码已失效，请重新获取。"))
        return redirect("public:my-appeals")
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _page(request, code_form=form, status=400)
    try:
        phone_proof.phone_code_verify(phone=phone, code=form.cleaned_data["code"])
    except ApplicationError as exc:
        form.add_error("code", exc.message)
        return _page(request, code_form=form, status=400)
    # A new proof of identity gets a new session id (no fixation of a planted cookie).
    request.session.cycle_key()
    request.session.pop(PENDING_KEY, None)
    request.session[PROVEN_KEY] = {"phone": phone, "until": time.time() + settings.MY_APPEALS_SESSION_HOURS * 3600}
    return redirect("public:my-appeals")


@require_POST
def my_logout(request):
    """退出: this browser has to prove the phone again."""
    end_proof(request)
    messages.success(request, _("已退出“我的诉求”。"))
    return redirect("public:my-appeals")

from governance.enums import AccessAction
from governance.kernel.network import client_ip
from governance.models import AccessLog


def access_log_record(*, user, action: AccessAction, subject: str, record_count: int = 1, request=None) -> AccessLog:
    """Record that ``user`` viewed, exported or imported residents' personal data."""
    return AccessLog.objects.create(
        user=user,
        action=action,
        subject=subject[:100],
        record_count=record_count,
        path=(request.get_full_path()[:300] if request is not None else ""),
        ip_address=client_ip(request),
    )

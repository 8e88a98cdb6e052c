import pytest


@pytest.fixture
def _sms_outbox_and_eager_tasks(sms_outbox):
    """The SMS outbox; tests/conftest.py already runs queued tasks in-process."""
    return sms_outbox


@pytest.fixture
def freeze(monkeypatch):
    """Freeze the clock every part of the portal reads (django.utils.timezone.now): the
    services' default ``now``, auto_now fields (event times) and the jobs. Call it with
    an aware datetime; again to move on."""
    from django.utils import timezone

    def _freeze(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return _freeze

import pytest


@pytest.fixture
def _sms_outbox_and_eager_tasks(sms_outbox):
    """The SMS outbox; tests/conftest.py already runs queued tasks in-process."""
    return sms_outbox

"""open311_key create/list/revoke, and revoking in the admin."""

import io

import pytest
from django.core.management import CommandError, call_command

from appeals.open311.models import ApiKey, hash_key, new_raw_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command("open311_key", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_on_its_last_line_and_stores_only_its_hash(o311, post_request):
    output = _run("create", "城市随手拍")
    raw = output.strip().splitlines()[-1]
    key = ApiKey.objects.get(name="城市随手拍")
    assert key.key_hash == hash_key(raw) and raw not in (key.key_hash, key.prefix)
    assert raw.startswith(key.prefix) and len(raw) >= 40
    assert post_request(api_key=raw).status_code == 200
    # The list shows prefixes, never keys.
    listing = _run("list")
    assert key.prefix in listing and raw not in listing and "城市随手拍" in listing


def test_revoked_key_is_refused(o311, post_request):
    raw = _run("create", "旧应用").strip().splitlines()[-1]
    key = ApiKey.objects.get(name="旧应用")
    output = _run("revoke", key.prefix)
    assert "已吊销" in output
    response = post_request(api_key=raw)
    assert response.status_code == 403
    assert "已吊销" in _run("list")


def test_no_key_starts_with_a_dash():
    # A prefix "-AbC…" would be read as an option by `open311_key revoke PREFIX`; with
    # token_urlsafe alone one key in 64 started so. 2,000 draws: all start plainly.
    keys = [new_raw_key() for _ in range(2000)]
    assert not [k for k in keys if not k[0].isalnum()]
    assert len(set(keys)) == 2000 and min(map(len, keys)) >= 43


def test_revoke_needs_an_existing_key(o311):
    with pytest.raises(CommandError):
        _run("revoke", "nothing")
    with pytest.raises(CommandError):
        _run("revoke", "--id", "999")


def test_admin_revokes_keys(client, o311, post_request):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/open311/apikey/", {"action": "revoke", "_selected_action": [o311.key.pk]})
    assert response.status_code == 302
    o311.key.refresh_from_db()
    assert o311.key.revoked_at is not None
    client.logout()
    assert post_request().status_code == 403
    # Keys are issued by the command only (shown once), never in the admin.
    client.force_login(admin)
    assert client.get("/admin/open311/apikey/add/").status_code == 403

"""appeals.ratelimit: fixed windows counted in the cache (governance.kernel.counters); on
Redis one round trip for all of an intake's counters (run with REDIS_URL for that path;
locmem otherwise). The database fallback: tests/appeals/test_intake_outages.py."""

import pytest
from django.core.cache import cache, caches

from appeals import ratelimit
from appeals.ratelimit import Rate, RateLimited, charge_intake, ensure_intake_allowed, hit, hit_all, over


def _count(scope: str, ident: str) -> int:
    return cache.get(ratelimit._key(scope, ident)) or 0


def test_counters_count_within_the_window_and_refuse_beyond():
    rate = Rate(2, 60)
    assert [hit("t", "a", rate) for _i in range(3)] == [True, True, False]
    assert _count("t", "a") == 3 and over("t", "a", rate)
    assert hit("t", "b", rate) and not over("t", "b", rate)


def test_hit_all_counts_in_order_and_stops_at_the_first_over():
    one, many = Rate(1, 60), Rate(100, 60)
    assert hit_all([("ip", "1.2.3.4", one), ("phone", "138", many)]) is None
    assert hit_all([("ip", "1.2.3.4", one), ("phone", "138", many)]) == 0
    # The refused address did not count against the phone.
    assert (_count("ip", "1.2.3.4"), _count("phone", "138")) == (2, 1)
    assert hit_all([("ip", "5.6.7.8", many), ("phone", "138", one)]) == 1
    assert (_count("ip", "5.6.7.8"), _count("phone", "138")) == (1, 2)


def test_intake_is_checked_before_and_charged_after_the_address_first_then_the_phone(settings):
    settings.APPEAL_INTAKE_RATE_PER_IP = "1/hour"
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    ensure_intake_allowed(ip="10.0.0.1", phone="13800000001")
    ensure_intake_allowed(ip="10.0.0.1", phone="13800000001")  # checking counts nothing
    assert _count("intake-ip", "10.0.0.1") == 0
    charge_intake(ip="10.0.0.1", phone="13800000001")  # saved: charged
    assert (_count("intake-ip", "10.0.0.1"), _count("intake-phone", "13800000001")) == (1, 1)
    with pytest.raises(RateLimited, match="频繁"):
        ensure_intake_allowed(ip="10.0.0.1", phone="13800000002")
    with pytest.raises(RateLimited, match="手机号"):
        ensure_intake_allowed(ip="10.0.0.2", phone="13800000001")
    ensure_intake_allowed(ip="10.0.0.2", phone="13800000002")
    ensure_intake_allowed(ip=None, phone=None)


@pytest.mark.redis
def test_on_redis_the_window_expires_and_the_counter_reads_back():
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    assert hit_all([("t", "x", Rate(5, 60)), ("u", "y", Rate(5, 3600))]) is None
    client = backend._cache.get_client(write=True)
    key = backend.make_and_validate_key(ratelimit._key("t", "x"))
    assert 0 < client.ttl(key) <= 60
    assert 3500 < client.ttl(backend.make_and_validate_key(ratelimit._key("u", "y"))) <= 3600
    assert _count("t", "x") == 1  # Django's cache reads what the script wrote

"""DRF throttles counted by governance.kernel.counters: in the shared cache, and in the
database while the cache is down (DRF's own read the cache directly: a Redis outage made
token login a 500)."""

from rest_framework import throttling

from governance.kernel import counters


class AnonRateThrottle(throttling.AnonRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        rate = counters.Rate(self.num_requests, self.duration)
        return counters.hit_all([(f"drf-{self.scope}", ident, rate)]) is None

    def wait(self):
        return self.duration  # a fixed window: at most its length

"""Rate limits counted in this process's memory: for reads that must cost neither a
round trip to Redis nor a database write (the public reads, appeals.public_policy).

Fixed windows per (scope, identity) in a dict under a lock. Each web process counts its
own, so with N processes a client gets at most N times the rate: a bound on harvesting,
not an exact quota (exact quotas, shared by every process, are appeals.ratelimit's).
The dict holds at most MAX_KEYS identities: past that, the windows already over are
dropped, then (under a flood of new addresses) everything — a reset, never a memory leak.
"""

import threading
import time

MAX_KEYS = 50_000

_lock = threading.Lock()
_windows: dict[tuple[str, str], tuple[float, int]] = {}  # (scope, ident) → (window's end, hits)


def hit(scope: str, ident: str, *, count: int, seconds: int, now: float | None = None) -> bool:
    """Count one hit; True while within ``count`` per ``seconds``, False once over it."""
    now = time.monotonic() if now is None else now
    window_end = (now // seconds + 1) * seconds
    key = (scope, ident)
    with _lock:
        end, hits = _windows.get(key, (window_end, 0))
        hits = hits + 1 if end == window_end else 1
        _windows[key] = (window_end, hits)
        if len(_windows) > MAX_KEYS:
            _prune(now)
    return hits <= count


def _prune(now: float) -> None:
    for key in [k for k, (end, _h) in _windows.items() if end <= now]:
        del _windows[key]
    if len(_windows) > MAX_KEYS:
        _windows.clear()


def reset() -> None:
    """Forget every count (tests; a deployment never needs it)."""
    with _lock:
        _windows.clear()

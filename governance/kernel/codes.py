"""Territory codes nest (a child's code starts with its parent's): the descendants of a
code are one range of codes, ``code <= c < next(code)``, which a B-tree index serves as
an index range — unlike ORs of ``LIKE 'p%'``, which PostgreSQL cannot merge and
evaluates one by one on every row. The one home of "descendants of a code".

The databases compare codes byte-wise (PostgreSQL's C collation, SQLite's BINARY), and
codes are digits, so the upper bound is the code with its last digit raised by one
('1101' → '1102', '1109' → '110:').
"""

from collections.abc import Iterable

from django.db.models import Q

# Above this many code ranges an OR is not planned well: group by parent key instead.
MAX_RANGES = 24


def code_upper(code: str) -> str:
    """The first code after every descendant of ``code``."""
    if not code:
        raise ValueError("an empty code has no upper bound")
    return code[:-1] + chr(ord(code[-1]) + 1)


def code_range(code: str) -> tuple[str, str]:
    """(lower, upper): the descendants of ``code`` (itself included) are lower <= c < upper."""
    return code, code_upper(code)


def collapse(prefixes: Iterable[str]) -> list[str]:
    """The prefixes without those under another one (sorted): '1101' covers '110101'."""
    kept: list[str] = []
    for prefix in sorted(set(filter(None, prefixes))):
        if not kept or not prefix.startswith(kept[-1]):
            kept.append(prefix)
    return kept


def descendants_q(path: str, code: str) -> Q:
    """The rows whose code at ``path`` is ``code`` or one of its descendants: one range."""
    lower, upper = code_range(code)
    return Q(**{f"{path}__gte": lower, f"{path}__lt": upper})


def under_any_q(path: str, prefixes: Iterable[str]) -> Q:
    """The rows whose code at ``path`` lies under one of ``prefixes``: one range per
    prefix left after ``collapse`` (a jurisdiction has a few). For many prefixes (the
    peer groups of 30,000 grids) use ``parent_in_q``. No prefix: nothing."""
    kept = collapse(prefixes)
    q = Q(pk__in=[])
    for prefix in kept:
        q |= descendants_q(path, prefix)
    return q


def parent_in_q(path: str, parents: Iterable[str]) -> Q:
    """The rows whose code at ``path`` lies under one of ``parents`` — many of them, of
    one length or a few (communities, streets): ``LEFT(code, n) IN (…)`` per length, one
    hashed lookup per row instead of thousands of LIKEs. Few parents: ranges."""
    from django.db.models.functions import Left
    from django.db.models.lookups import In

    kept = collapse(parents)
    if len(kept) <= MAX_RANGES:
        return under_any_q(path, kept)
    by_length: dict[int, list[str]] = {}
    for code in kept:
        by_length.setdefault(len(code), []).append(code)
    q = Q(pk__in=[])
    for length, codes in sorted(by_length.items()):
        q |= Q(In(Left(path, length), codes))
    return q

"""Public reads for the residents' pages (no account): the places a resident picks on
the submit form.

Only public data leaves here — street, community and building names and building
addresses — never households or residents. Every list is capped (PLACE_LIMIT) and says
whether there is more, so a page or an htmx fragment never grows with the city.
"""

from dataclasses import dataclass, field

from django.db.models import F, Q

from appeals.enums import AppealState
from appeals.selectors import appeal_possible_duplicates
from grids.models import Building, Community, Street

PLACE_LIMIT = 20
QUERY_MAX = 50


@dataclass(frozen=True)
class PlacePage:
    """Up to PLACE_LIMIT places as dicts (code + public names), the selected one first
    when it is not among the matches, and whether more matched."""

    items: list[dict] = field(default_factory=list)
    more: bool = False


def _clean_query(query: str | None) -> str:
    return (query or "").strip()[:QUERY_MAX]


def _page(qs, *, limit: int, selected: dict | None) -> PlacePage:
    items = list(qs[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    if selected is not None and all(i["code"] != selected["code"] for i in items):
        items.insert(0, selected)
    return PlacePage(items=items, more=more)


def _streets():
    return Street.objects.values("code", "name", district_name=F("district__name")).order_by("code")


def _communities():
    return Community.objects.values("code", "name", "street_id").order_by("code")


def _buildings():
    return Building.objects.values(
        "code", "address", "compound", community_code=F("grid__community_id"),
        community_name=F("grid__community__name"),
    ).order_by("code")


def street_search(*, query: str = "", selected: str = "", limit: int = PLACE_LIMIT) -> PlacePage:
    """Streets whose name (or district's name) contains ``query``."""
    query = _clean_query(query)
    qs = _streets()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(district__name__icontains=query))
    chosen = _streets().filter(code=selected).first() if selected else None
    return _page(qs, limit=limit, selected=chosen)


def community_search(*, street: str, query: str = "", selected: str = "", limit: int = PLACE_LIMIT) -> PlacePage:
    """Communities of one street (none without a street) whose name contains ``query``."""
    if not street:
        return PlacePage()
    query = _clean_query(query)
    qs = _communities().filter(street_id=street)
    if query:
        qs = qs.filter(name__icontains=query)
    chosen = _communities().filter(code=selected, street_id=street).first() if selected else None
    return _page(qs, limit=limit, selected=chosen)


def building_search(
    *, street: str = "", community: str = "", query: str = "", selected: str = "", limit: int = PLACE_LIMIT
) -> PlacePage:
    """Buildings of a community, or of a street when no (matching) community is given,
    whose address or compound (小区) contains ``query``. Nothing without a street: a
    city-wide substring search would scan millions of rows."""
    if community and street and not community.startswith(street):
        community = ""  # a stale community from a previously chosen street
    if community:
        qs = _buildings().filter(grid__community_id=community)
    elif street:
        qs = _buildings().filter(grid__community__street_id=street)
    else:
        return PlacePage()
    query = _clean_query(query)
    if query:
        qs = qs.filter(Q(address__icontains=query) | Q(compound__icontains=query))
    chosen = None
    if selected and selected.startswith(community or street):
        chosen = _buildings().filter(code=selected).first()
    return _page(qs, limit=limit, selected=chosen)


@dataclass(frozen=True)
class DuplicateHint:
    count: int
    latest_at: object
    latest_state_label: str


def duplicate_hint(*, building_code: str, category_id) -> DuplicateHint | None:
    """The intake form's hint: open appeals at the same building in the same category.
    Only a count, a date and a state — never another resident's text or tracking code —
    and only of appeals the public may see (appeals.public_policy): that someone in the
    building reported a family conflict is not for the next visitor to learn."""
    from appeals.selectors import category_list

    if not building_code or not category_id:
        return None
    try:
        category_pk = int(category_id)
    except (TypeError, ValueError):
        return None
    building = Building.objects.filter(code=building_code).first()
    category = category_list().filter(pk=category_pk).first()
    if building is None or category is None:
        return None
    appeals = appeal_possible_duplicates(building=building, category=category, public_only=True)
    if not appeals:
        return None
    latest = appeals[0]
    return DuplicateHint(
        count=len(appeals), latest_at=latest.created_at,
        latest_state_label=str(AppealState(latest.state).label),
    )

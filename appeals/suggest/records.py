"""Each suggestion shown, and what people did with it (issue 26: measured, not assumed).

- The form (``place`` form): the three the resident was shown (the page sends them back
  with the form) and the category chosen; accepted when it is one of them.
- The intake (``intake``): an appeal filed without a category and routed by the first
  suggestion is recorded accepted; a dispatcher who later corrects its category (改派, or
  派单 with another category after a return) turns it overridden (``category_corrected``,
  called by the dispatch and reroute services).
- The dispatcher's page (``dispatch``): the three shown beside the dispatch and reroute
  forms (sent back with the form) and the category the dispatcher chose.

``acceptance_by_month`` is what the reports show: per month and place, how many were
recorded, accepted (the chosen category among the three) and chosen first.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from appeals.suggest.models import CategorySuggestion, SuggestionPlace
from governance.kernel.clock import CHINA

MAX_SHOWN = 3


def parse_shown(raw: str | None) -> list[str]:
    """The codes a page sent back ("01001,01003,01005"): at most three, digits only."""
    codes = []
    for part in (raw or "").split(",")[:MAX_SHOWN]:
        part = part.strip()
        if part.isdigit() and len(part) <= 10 and part not in codes:
            codes.append(part)
    return codes


def shown_value(suggestion) -> str:
    """What a page sends back with its form: "v<model version>:<code>,<code>,<code>"."""
    return f"v{suggestion.version}:{','.join(suggestion.codes)}" if suggestion else ""


def parse_suggested(raw: str | None) -> tuple[int, list[str]] | None:
    """(model version, codes shown) from ``shown_value``'s text; None for anything else."""
    version, _sep, codes = (raw or "").partition(":")
    if not version.startswith("v") or not version[1:].isdigit() or len(version) > 10:
        return None
    shown = parse_shown(codes)
    return (int(version[1:]), shown) if shown else None


def suggestion_record(*, appeal, place: str, shown: list[str], chosen: str, version: int,
                      confidence: float = 0.0) -> CategorySuggestion | None:
    """Record one suggestion shown and the category chosen (None when nothing was shown)."""
    if not shown:
        return None
    rank = shown.index(chosen) + 1 if chosen in shown else None
    return CategorySuggestion.objects.create(
        appeal=appeal, place=place, model_version=version, shown=list(shown), confidence=round(confidence, 4),
        chosen=chosen or "", accepted=rank is not None, rank=rank,
    )


def category_corrected(*, appeal_id: int, code: str) -> int:
    """A dispatcher set the appeal's category to ``code``: the intake's automatic
    suggestion, if any, is overridden unless it suggested that code. Returns rows changed."""
    changed = 0
    for row in CategorySuggestion.objects.filter(appeal_id=appeal_id, place=SuggestionPlace.INTAKE):
        if row.chosen == code:
            continue
        rank = row.shown.index(code) + 1 if code in row.shown else None
        changed += CategorySuggestion.objects.filter(pk=row.pk).update(chosen=code, accepted=False, rank=rank)
    return changed


@dataclass(frozen=True)
class MonthRow:
    month: datetime
    place: str
    place_label: str
    shown: int
    accepted: int
    first: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None

    @property
    def first_rate(self) -> float | None:
        return self.first / self.shown if self.shown else None


def acceptance_by_month(*, start: datetime, end: datetime, scope=None) -> list[MonthRow]:
    """Per month (China time, by when the suggestion was shown) and place: shown, accepted
    (an intake suggestion counts as accepted until a dispatcher corrects the category),
    chosen first. ``scope(queryset)`` narrows to the appeals a reader sees (the rows'
    appeal is ``appeal__``). One query."""
    rows = CategorySuggestion.objects.filter(created_at__gte=start, created_at__lt=end)
    if scope is not None:
        rows = scope(rows)
    labels = dict(SuggestionPlace.choices)
    found = (rows.annotate(month=TruncMonth("created_at", tzinfo=CHINA)).values("month", "place")
             .annotate(shown=Count("id"), accepted=Count("id", filter=Q(accepted=True)),
                       first=Count("id", filter=Q(rank=1)))
             .order_by("month", "place"))
    return [MonthRow(month=r["month"], place=r["place"], place_label=str(labels.get(r["place"], r["place"])),
                     shown=r["shown"], accepted=r["accepted"], first=r["first"]) for r in found]

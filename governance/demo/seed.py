"""Orchestration of ``seed_demo``: territory, accounts, then the other apps' steps."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import import_string
from faker import Faker

from governance.demo.accounts import DemoTerritory, demo_accounts_ensure, demo_territory_get
from governance.demo.names import NamePools
from governance.demo.sizes import DemoSize
from governance.demo.territory import TERRITORY_COUNTED, boundaries_drawn, districts_ensure, territory_build
from governance.models import Post

# Run in this order after the territory and the accounts; a step whose module does
# not exist yet is skipped (see governance/demo/__init__.py).
DEMO_STEPS = [
    "appeals.demo.seed",
    "appeals.deliberation.demo.seed",  # 民主协商 (issue 22)
    "appeals.visits.demo.seed",  # 入户走访 (issue 22)
    "volunteers.demo.seed",
    "governance.reports.demo.seed",
    "appeals.suggest.demo.seed",  # 智能分拨 (issue 26): a first model, on the history above
]

FAKER_SEED = 20240601


@dataclass
class DemoContext:
    """What a demo step gets.

    ``territory``: the demo district/street/community/grids/城管 department;
    ``accounts``: the demo users by username; ``fake``: a seeded Faker('zh_CN');
    ``size``: the DemoSize asked for; ``stdout``: a writer with ``write(str)``;
    ``batch_size``: for the step's own bulk inserts.
    """

    territory: DemoTerritory
    accounts: dict
    fake: Faker
    size: DemoSize
    stdout: object
    batch_size: int = 2000
    verbosity: int = 1


@dataclass
class SeedResult:
    before: dict[str, int]
    after: dict[str, int]
    seconds: float
    communities_built: int = 0
    communities_skipped: int = 0
    steps_run: list[str] = field(default_factory=list)
    steps_missing: list[str] = field(default_factory=list)


# Counted for the summary, in the order shown.
COUNTED = [
    *TERRITORY_COUNTED,
    ("账号", lambda: get_user_model().objects.count()),
    ("岗位", lambda: Post.objects.count()),
]


def table_counts() -> dict[str, int]:
    return {label: count() for label, count in COUNTED}


def demo_faker() -> Faker:
    fake = Faker("zh_CN")
    fake.seed_instance(FAKER_SEED)
    return fake


def _step_function(path: str) -> Callable | None:
    """The step's function, or None when its module does not exist (yet).

    Only the absence of the step's own module (or a package above it) counts: an
    ImportError raised inside an existing module is a bug and propagates.
    """
    module_path = path.rsplit(".", 1)[0]
    try:
        import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and (module_path == exc.name or module_path.startswith(exc.name + ".")):
            return None
        raise
    return import_string(path)


def demo_steps_run(context: DemoContext, steps: list[str]) -> tuple[list[str], list[str]]:
    """Run each step in its own transaction; returns (run, missing)."""
    run, missing = [], []
    for path in steps:
        step = _step_function(path)
        if step is None:
            missing.append(path)
            continue
        with transaction.atomic():
            step(context)
        run.append(path)
    return run, missing


def demo_seed(
    *, size: DemoSize, batch_size: int, stdout, progress: Callable[[int], None] = lambda n: None,
    steps: list[str] | None = None, verbosity: int = 1,
) -> SeedResult:
    """Build the demo city. Safe to run again: what exists is kept, nothing doubles.

    Steps: 1. the territory (districts, departments, streets, then each missing
    community with everything below it), and boundaries generated from the buildings
    when a grid lacks one (grids.boundaries.boundaries_from_buildings); 2. the demo accounts and their posts, with
    the password reset; 3. the other apps' steps (DEMO_STEPS) with a DemoContext.
    """
    started = time.monotonic()
    before = table_counts()
    fake = demo_faker()
    pools = NamePools.from_faker(fake)
    report = territory_build(size=size, pools=pools, batch_size=batch_size, on_community=progress)
    boundaries_drawn(size)
    first_district = districts_ensure(size)[0]
    territory = demo_territory_get(district_code=first_district.code)
    accounts = demo_accounts_ensure(territory=territory)
    context = DemoContext(
        territory=territory, accounts=accounts, fake=fake, size=size, stdout=stdout,
        batch_size=batch_size, verbosity=verbosity,
    )
    run, missing = demo_steps_run(context, DEMO_STEPS if steps is None else steps)
    return SeedResult(
        before=before, after=table_counts(), seconds=time.monotonic() - started,
        communities_built=report.communities_built, communities_skipped=report.communities_skipped,
        steps_run=run, steps_missing=missing,
    )

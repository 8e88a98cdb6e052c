"""The demo city behind ``python manage.py seed_demo`` (DESIGN.md §7).

What it builds, with Faker('zh_CN') seeded so every run gives the same city:
districts (real Beijing codes and names), streets, communities, grids, buildings
(compounds, addresses, WGS-84 points around central Beijing), households (unit/room,
contact, care tags), residents (some party members), the party overlay (街道党工委 →
社区党委 → 网格党支部 → 楼栋党小组 → 党员中心户), each district's departments
(``<district code>-CG`` 城管, ``-ZJ`` 住建, ``-GA`` 公安, …; see territory.DEPARTMENTS)
and partner organisations; then the demo accounts (accounts.DEMO_ACCOUNTS, password
``gongzhi-demo``).

Running it again adds nothing that exists: a community whose code is already in the
database is skipped whole, accounts are fetched and their password reset.

Extension point for other apps
------------------------------
After the territory and the accounts, ``seed.DEMO_STEPS`` lists dotted paths of step
functions, run in order, each in its own transaction::

    DEMO_STEPS = ["appeals.demo.seed", "volunteers.demo.seed"]

A step whose module does not exist yet is skipped (only a missing module: an
ImportError raised from inside an existing module propagates). A step is a function
``seed(context: DemoContext) -> None``; ``context`` carries

- ``territory``: a DemoTerritory (``district``, ``street``, ``community``, ``grids``
  of the demo community, ``department`` = the district's 城管, ``other_community``);
- ``accounts``: the demo users by username (``grid_worker``, ``community_worker``, …);
- ``fake``: a seeded Faker('zh_CN'); ``size``: the DemoSize; ``batch_size``;
- ``stdout``: a writer (``context.stdout.write("…")``); ``verbosity``.

Steps must be idempotent too (check before creating), because ``seed_demo`` runs on
every ``make run`` with ``--if-empty`` and may be run again by hand.
"""

from governance.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoTerritory
from governance.demo.seed import DEMO_STEPS, DemoContext, SeedResult, demo_seed
from governance.demo.sizes import DEFAULT_SIZE, SIZES, DemoSize

__all__ = [
    "DEFAULT_SIZE", "DEMO_ACCOUNTS", "DEMO_PASSWORD", "DEMO_STEPS", "SIZES",
    "DemoContext", "DemoSize", "DemoTerritory", "SeedResult", "demo_seed",
]

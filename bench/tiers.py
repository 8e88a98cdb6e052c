"""The benchmark tiers. M is the city of issue 8; S is a modest territory whose
communities get about as many appeals each as M's, so that a worker's queue is the
same size at both tiers and the growth from S to M is the growth of the tables."""

from dataclasses import dataclass

from governance.kernel.sizes import TerritoryCounts


@dataclass(frozen=True)
class Tier(TerritoryCounts):
    name: str
    database: str
    districts: int
    streets: int  # in all, spread over the districts
    communities: int  # in all, spread over the streets
    grids_per_community: int
    buildings_per_grid: int
    households_per_building: int
    residents_per_household: int
    appeals: int
    # Share of appeals whose handling stalls after the sign-for (never resolved): the
    # open backlog the escalation benchmark needs (about 100,000 at M).
    stall_share: float = 0.10
    batch: int = 20_000
    # Drop the appeals' and events' secondary indexes for the load and build them after
    # (bench.seed.indexes_defer): PostgreSQL, large tiers.
    defer_indexes: bool = False
    # The tier whose territory this one repeats (its random streams), "" for its own.
    territory: str = ""


TIERS = {
    "S": Tier("S", "gz_bench_s", districts=2, streets=6, communities=30, grids_per_community=10,
              buildings_per_grid=10, households_per_building=10, residents_per_household=2, appeals=10_000),
    # 16 districts, 343 streets, 3,000 communities, 30,000 grids, 300,000 buildings,
    # 3,000,000 households; residents are left out at M (the issue counts households).
    "M": Tier("M", "gz_bench_m", districts=16, streets=343, communities=3000, grids_per_community=10,
              buildings_per_grid=10, households_per_building=10, residents_per_household=0, appeals=1_000_000,
              defer_indexes=True),
    # A Beijing year (issue 24): ten times M's appeals over M's territory, about 30 GB.
    "L": Tier("L", "gz_bench_l", districts=16, streets=343, communities=3000, grids_per_community=10,
              buildings_per_grid=10, households_per_building=10, residents_per_household=0, appeals=10_000_000,
              defer_indexes=True, territory="M"),
    # The smoke test's city (tests/bench): seconds on SQLite.
    "T": Tier("T", "gz_bench", districts=1, streets=1, communities=2, grids_per_community=2,
              buildings_per_grid=2, households_per_building=2, residents_per_household=1, appeals=100, batch=25,
              stall_share=0.3),  # a backlog in every queue, the street's too
}

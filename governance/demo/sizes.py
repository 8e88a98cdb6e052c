"""How big a demo city to build: presets and their limits."""

from dataclasses import dataclass, fields, replace

from governance.kernel.sizes import TerritoryCounts

# The widest a level can be, from the code lengths (DESIGN.md §2): 3 digits for
# streets, communities and grids, 4 for buildings; districts come from a fixed list.
LIMITS = {
    "streets_per_district": 999,
    "communities_per_street": 999,
    "grids_per_community": 999,
    "buildings_per_grid": 9999,
    "households_per_building": 2000,
}


@dataclass(frozen=True)
class DemoSize(TerritoryCounts):
    districts: int
    streets_per_district: int
    communities_per_street: int
    grids_per_community: int
    buildings_per_grid: int
    households_per_building: int

    @property
    def communities(self) -> int:
        return self.districts * self.streets_per_district * self.communities_per_street

    def with_overrides(self, **overrides: int | None) -> "DemoSize":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


SIZES = {
    # A few seconds on SQLite: 2,880 households, about 7,700 residents.
    "small": DemoSize(2, 2, 3, 4, 5, 12),
    # 80 communities, 115,200 households.
    "medium": DemoSize(4, 4, 5, 6, 10, 24),
    # All 16 districts, 1,280 communities, about 3.7 million households.
    "large": DemoSize(16, 10, 8, 8, 12, 30),
}
DEFAULT_SIZE = "small"

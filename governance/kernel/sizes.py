"""Territory sizes counted from their parts: the demo's sizes (governance.demo.sizes) and
the benchmark's tiers (bench.tiers) both say how many communities and how many of each
level below; imported before Django is set up (bench/run.py picks the tier's database
first), so nothing here touches the models."""


class TerritoryCounts:
    """The levels below the communities, counted from a size that has ``communities`` and
    so many grids per community, buildings per grid, households per building (the demo's
    sizes and the benchmark's tiers)."""

    communities: int
    grids_per_community: int
    buildings_per_grid: int
    households_per_building: int

    @property
    def grids(self) -> int:
        return self.communities * self.grids_per_community

    @property
    def buildings(self) -> int:
        return self.grids * self.buildings_per_grid

    @property
    def households(self) -> int:
        return self.buildings * self.households_per_building

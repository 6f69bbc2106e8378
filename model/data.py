"""Validated input data as plain, picklable Python objects.

This is what the model is built from.  It holds no Pyomo or solver objects,
so a worker process can receive it and rebuild the model (scenarios, Monte
Carlo).  ``row`` fields keep the Excel row each item came from, so results
and messages can point back at the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SINGLE_YEAR = 0  # the model year of a single-year case whose `year` setting is not a whole number


@dataclass(frozen=True)
class Product:
    name: str
    value: float  # USD/t, basis of ad-valorem tariffs
    surplus_price: float  # USD/t credited for unused output
    unit: str = "t"


@dataclass(frozen=True)
class Process:
    """A recipe: per unit of activity, ``inputs`` consumed and ``outputs`` made (t)."""

    name: str
    stage: str
    inputs: dict[str, float]
    outputs: dict[str, float]


@dataclass(frozen=True)
class Facility:
    name: str
    country: str
    capacity: float  # activity units/yr
    restricted: bool  # counts as exposure (country flag unless overridden)
    expansion_max: float
    expansion_cost: float  # USD per unit of annual capacity, annualised
    status: str | None
    row: int


@dataclass(frozen=True)
class FacilityProcess:
    facility: str
    process: str
    unit_cost: float  # USD per unit of activity
    row: int


@dataclass(frozen=True)
class Demand:
    country: str
    product: str
    quantity: float  # t/yr
    unmet_penalty: float  # USD/t
    row: int
    capped: bool = True  # False: a background row (e.g. China's own use) that no exposure cap applies to


@dataclass(frozen=True)
class ExposureCap:
    """Cap on one demand row at one stage (``any`` = any stage)."""

    country: str
    product: str
    stage: str
    max_share: float
    source: str  # 'exposure_caps row N', 'default_exposure_cap' or '--exposure-cap'


@dataclass(frozen=True)
class LaneRule:
    """One row of the lanes sheet; ``*`` keys match anything."""

    origin: str
    destination: str
    product: str
    transport_cost: float | None
    tariff: float | None
    allowed: bool | None
    max_flow: float | None
    row: int
    min_flow: float | None = None  # t/yr contracted on each matching trade (SPEC Part 4)

    @property
    def keys(self) -> tuple[str, str, str]:
        return (self.origin, self.destination, self.product)


@dataclass(frozen=True)
class Project:
    """A candidate investment adding ``capacity`` to ``facility`` (SPEC Part 2)."""

    name: str
    facility: str
    capacity: float  # activity units/yr when built whole
    capex: float  # USD in total
    online_years: tuple[int, ...]  # model years it may come online in
    lead_time: int  # years from decision to online
    life: int  # years of operation
    all_or_nothing: bool
    funder: str | None  # budget paying the capex; None = private
    fixed_cost: float  # USD/yr while online
    row: int


@dataclass(frozen=True)
class Stockpile:
    """A strategic stock of ``product`` held in ``country`` (SPEC Part 2)."""

    country: str
    product: str
    initial: float  # t at the start of the first year
    initial_tag: frozenset  # stages carried by the initial stock (empty = clean)
    min_days: float  # days of demand required at the end of each year from ``from_year``
    max: float | None  # t
    holding_cost: float  # USD per t held at the end of a year
    from_year: int  # first year the cover applies
    row: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.country, self.product)


@dataclass(frozen=True)
class Observation:
    """A fact the uncapped solution should reproduce (SPEC Part 4, sheet ``observations``).

    ``kind`` activity: ``facility`` (and ``product``: its output of it);
    trade: ``origin``, ``destination``, ``product``; share: ``country``,
    ``product``, ``stage``, ``source_country``.  Unused keys are None.
    ``tolerance`` is absolute for shares, relative to ``observed`` for quantities.
    """

    kind: str
    observed: float
    facility: str | None
    origin: str | None
    destination: str | None
    country: str | None
    product: str | None
    stage: str | None
    source_country: str | None
    tolerance: float
    source: str
    row: int


@dataclass(frozen=True)
class YearData:
    """The rows that apply in one model year, after the from-year rule.

    ``facilities`` and ``facility_processes`` hold only what exists in the
    year; ``demands`` maps the demand index (position in
    ``ModelData.demands``) to that year's row, its quantity grown.
    """

    year: int
    products: dict[str, Product]
    facilities: dict[str, Facility]
    facility_processes: list[FacilityProcess]
    demands: dict[int, Demand]
    exposure_caps: list[ExposureCap]
    lane_rules: list[LaneRule]


@dataclass
class ModelData:
    """Everything the LP needs, validated.

    The Part 1 fields describe the case as a whole: every product, every
    facility (with its first row), every facility-process pair, every
    demand row (country, product; its first row) by position.  In a
    single-year case they are also the year's data.  With years,
    :meth:`at` gives each year's rows (``year_data``).
    """

    case_name: str
    settings: dict[str, object]
    countries: dict[str, bool]  # country -> restricted
    products: dict[str, Product]
    stages: list[str]
    processes: dict[str, Process]
    facilities: dict[str, Facility]
    facility_processes: list[FacilityProcess]
    demands: list[Demand]
    exposure_caps: list[ExposureCap]
    lane_rules: list[LaneRule]
    default_transport_cost: float
    warnings: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=lambda: [SINGLE_YEAR])  # model years; one for a single-year case
    year_data: dict[int, YearData] = field(default_factory=dict)  # empty: every year is the Part 1 fields
    stock_release_years: frozenset[int] = frozenset()
    projects: list[Project] = field(default_factory=list)
    budgets: dict[str, dict[int, float]] = field(default_factory=dict)  # funder -> year -> USD
    stockpiles: list[Stockpile] = field(default_factory=list)
    has_years: bool = False  # a `years` sheet: results carry a year column
    observations: list[Observation] = field(default_factory=list)  # calibration facts (SPEC Part 4)
    uncertainty_factors: int = 0  # rows of the uncertainty sheet (Monte Carlo factors, checked by validate)

    def at(self, year: int) -> YearData:
        """The rows that apply in ``year``."""
        found = self.year_data.get(year)
        if found is not None:
            return found
        return YearData(
            year,
            self.products,
            self.facilities,
            self.facility_processes,
            dict(enumerate(self.demands)),
            self.exposure_caps,
            self.lane_rules,
        )

    def has_min_flow(self) -> bool:
        """A lane row with a min_flow above 0 applies in some year (contracted offtakes, SPEC Part 4)."""
        return any(rule.min_flow for year in self.years for rule in self.at(year).lane_rules)

    def discount_factor(self, year: int) -> float:
        """(1 + r)^-(year − first year), r = setting discount_rate."""
        rate = float(self.settings.get("discount_rate") or 0.0)
        return (1.0 + rate) ** -(year - self.years[0])

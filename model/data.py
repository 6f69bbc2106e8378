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

    @property
    def keys(self) -> tuple[str, str, str]:
        return (self.origin, self.destination, self.product)


@dataclass
class ModelData:
    """Everything the LP needs, validated."""

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

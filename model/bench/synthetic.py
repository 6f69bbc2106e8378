"""Synthetic, valid cases of any size, for benchmarks and property tests.

A chain of ``stages`` stages; stage 0 holds sources (mines), each later stage
turns the products of the stage before into its own products with a second
input (so recipes combine histories and need relabelling) and a joint
by-product.  Facilities are spread round-robin over countries; country 0 and
every fifth country are restricted.  Demand is for last-stage products in the
unrestricted countries, with an ``any`` cap.  Everything derives from a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from model.data import Demand, ExposureCap, Facility, FacilityProcess, LaneRule, ModelData, Process, Product
from model.workbook.schema import ANY_STAGE


@dataclass(frozen=True)
class Size:
    countries: int = 6
    stages: int = 3
    products_per_stage: int = 4
    facilities_per_stage: int = 6
    processes_per_facility: int = 2
    demand_countries: int = 2
    exposure_cap: float | None = 0.5
    seed: int = 1


def synthetic_data(size: Size) -> ModelData:
    """A valid :class:`ModelData` of the given size."""
    rng = random.Random(size.seed)
    countries = {f"C{i:03d}": (i % 5 == 0) for i in range(size.countries)}
    names = list(countries)
    stages = [f"stage{k}" for k in range(size.stages)]
    products: dict[str, Product] = {}
    processes: dict[str, Process] = {}
    n = size.products_per_stage
    for k in range(size.stages):
        for i in range(n):
            name = f"p{k}_{i}"
            products[name] = Product(name, value=round(rng.uniform(100, 1000) * (k + 1), 2), surplus_price=0.0)
    for k, stage in enumerate(stages):
        for i in range(n):
            main, joint = f"p{k}_{i}", f"p{k}_{(i + 1) % n}"
            if k == 0:
                processes[f"q{k}_{i}"] = Process(f"q{k}_{i}", stage, {}, {main: 1.0})
                continue
            inputs = {f"p{k - 1}_{i}": 1.0}
            if n > 1:
                inputs[f"p{k - 1}_{(i + 2) % n}"] = 0.2
            outputs = {main: 0.9} if n == 1 else {main: 0.9, joint: 0.1}
            processes[f"q{k}_{i}"] = Process(f"q{k}_{i}", stage, inputs, outputs)

    facilities: dict[str, Facility] = {}
    pairs: list[FacilityProcess] = []
    row = 2
    for k in range(len(stages)):
        for j in range(size.facilities_per_stage):
            country = names[(j + 3 * k) % len(names)]
            name = f"F{k}_{j:04d}"
            expandable = j % 4 == 1
            facilities[name] = Facility(
                name,
                country,
                capacity=round(rng.uniform(50, 500), 1),
                restricted=countries[country],
                expansion_max=100.0 if expandable else 0.0,
                expansion_cost=round(rng.uniform(5, 50), 2) if expandable else 0.0,
                status=None,
                row=row,
            )
            row += 1
            for m in range(min(size.processes_per_facility, n)):
                process = f"q{k}_{(j + m) % n}"
                base = 20.0 if countries[country] else 35.0
                pairs.append(FacilityProcess(name, process, round(base * rng.uniform(0.5, 1.5), 2), len(pairs) + 2))

    consumers = [c for c in names if not countries[c]][: size.demand_countries]
    last = size.stages - 1
    demands = [
        Demand(country, f"p{last}_{i}", round(rng.uniform(10, 60), 1), 1e5, index + 2)
        for index, (country, i) in enumerate((c, i) for c in consumers for i in range(n))
    ]
    caps = (
        [ExposureCap(d.country, d.product, ANY_STAGE, size.exposure_cap, "synthetic") for d in demands]
        if size.exposure_cap is not None
        else []
    )
    lanes = [
        LaneRule(names[0], "*", "*", None, 0.1, None, None, 2),
        LaneRule("*", "*", "*", 8.0, None, None, None, 3),
    ]
    if len(names) > 2:
        lanes.append(LaneRule(names[1], names[2], "*", None, None, False, None, 4))
    return ModelData(
        case_name=f"synthetic_{size.countries}x{size.stages}x{n}x{size.facilities_per_stage}",
        settings={"unmet_demand_penalty": 1e5, "default_transport_cost": 8.0, "solver_method": "auto", "threads": 1},
        countries=countries,
        products=products,
        stages=stages,
        processes=processes,
        facilities=facilities,
        facility_processes=pairs,
        demands=demands,
        exposure_caps=caps,
        lane_rules=lanes,
        default_transport_cost=8.0,
    )


def write_data_workbook(data: ModelData, path: Path) -> Path:
    """Write ``data`` as an input workbook (the inverse of reading)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)

    def sheet(name: str, header: list[str], rows) -> None:
        ws = workbook.create_sheet(name)
        ws.append(header)
        for r in rows:
            ws.append(list(r))

    yes = {True: "yes", False: "no", None: None}
    sheet(
        "settings",
        ["setting", "value"],
        [(k, v) for k, v in data.settings.items() if v is not None] + [("case_name", data.case_name)],
    )
    sheet("countries", ["country", "restricted"], [(c, yes[r]) for c, r in data.countries.items()])
    sheet(
        "products",
        ["product", "value", "surplus_price"],
        [(p.name, p.value, p.surplus_price) for p in data.products.values()],
    )
    sheet(
        "processes",
        ["process", "stage", "product", "coefficient"],
        [
            (q.name, q.stage, product, sign * coef)
            for q in data.processes.values()
            for sign, side in ((-1, q.inputs), (1, q.outputs))
            for product, coef in side.items()
        ],
    )
    sheet(
        "facilities",
        ["facility", "country", "capacity", "restricted", "expansion_max", "expansion_cost"],
        [
            (f.name, f.country, f.capacity, yes[f.restricted], f.expansion_max, f.expansion_cost or None)
            for f in data.facilities.values()
        ],
    )
    sheet(
        "facility_processes",
        ["facility", "process", "unit_cost"],
        [(fp.facility, fp.process, fp.unit_cost) for fp in data.facility_processes],
    )
    sheet(
        "lanes",
        ["from", "to", "product", "transport_cost", "tariff", "allowed", "max_flow"],
        [
            (r.origin, r.destination, r.product, r.transport_cost, r.tariff, yes[r.allowed], r.max_flow)
            for r in data.lane_rules
        ],
    )
    sheet(
        "demand",
        ["country", "product", "quantity", "unmet_penalty"],
        [(d.country, d.product, d.quantity, d.unmet_penalty) for d in data.demands],
    )
    sheet(
        "exposure_caps",
        ["country", "product", "stage", "max_share"],
        [(c.country, c.product, c.stage, c.max_share) for c in data.exposure_caps],
    )
    workbook.save(path)
    return path

"""Where delivered material came from at each stage, by proportional tracing.

Each node (country k, product p) is a pool mixing its own production and its
imports.  For each stage s and country c, ``share[k, p][s, c]`` is the
fraction of the pool whose stage-s step happened in c:

    share[k,p] = ( Σ_{f in k, q makes p} out_fqp · made_fq + Σ_o ship_okp · own[o,p] )
                 / ( Σ out_fqp + Σ_o ship_okp )

where own[o, p] is the same fraction over o's production only (exports are
own production, no re-export), and made_fq, the history of one unit made by
process q at f, is {(stage(q), k): 1} plus, for every other stage, the
input-mass-weighted average of the input pools' shares.  The system is
solved by fixed-point iteration (exact after as many sweeps as the chain has
steps when there are no cycles).  Stages a product never went through have
no rows; shares per stage sum to at most 1.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from model.data import ModelData
from model.results.extract import Solution

Mix = dict[tuple[str, str], float]  # (stage, source country) -> share

MAX_SWEEPS = 200
CONVERGED = 1e-12
SMALL = 1e-9


def _weighted(parts: list[tuple[float, Mix]]) -> Mix:
    total = sum(weight for weight, _ in parts)
    mix: Mix = defaultdict(float)
    if total <= 0:
        return mix
    for weight, part in parts:
        for key, share in part.items():
            mix[key] += weight * share / total
    return mix


def trace_sources(data: ModelData, solution: Solution) -> pd.DataFrame:
    """Rows (country, product, stage, source_country, share) per demand row."""
    activity = solution.activity.groupby(["facility", "process"], sort=False)["value"].sum()
    activity = activity[activity > SMALL]
    imports: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    shipped = solution.shipment.groupby(["origin", "destination", "product"], sort=False)["value"].sum()
    for (origin, destination, product), value in shipped.items():
        if value > SMALL:
            imports[destination, product].append((value, origin))

    pool: dict[tuple[str, str], Mix] = {}
    own: dict[tuple[str, str], Mix] = {}
    for _ in range(MAX_SWEEPS):
        made_parts: dict[tuple[str, str], list[tuple[float, Mix]]] = defaultdict(list)
        for (facility_name, process_name), level in activity.items():
            process = data.processes[process_name]
            country = data.facilities[facility_name].country
            inputs = _weighted([(coef * level, pool.get((country, p), {})) for p, coef in process.inputs.items()])
            made: Mix = {key: share for key, share in inputs.items() if key[0] != process.stage}
            made[process.stage, country] = 1.0
            for product, coef in process.outputs.items():
                made_parts[country, product].append((coef * level, made))
        new_own = {node: _weighted(parts) for node, parts in made_parts.items()}
        new_pool = {}
        for node in set(made_parts) | set(imports):
            parts = [(sum(w for w, _ in made_parts.get(node, [])), new_own.get(node, {}))]
            parts += [(value, own.get((origin, node[1]), {})) for value, origin in imports.get(node, [])]
            new_pool[node] = _weighted(parts)
        change = max(
            (
                abs(new_pool[n].get(k, 0.0) - pool.get(n, {}).get(k, 0.0))
                for n in new_pool
                for k in set(new_pool[n]) | set(pool.get(n, {}))
            ),
            default=0.0,
        )
        pool, own = new_pool, new_own
        if change < CONVERGED:
            break

    rows = []
    delivered = solution.delivery.groupby("demand")["value"].sum()
    for index, demand in enumerate(data.demands):
        if delivered.get(index, 0.0) <= SMALL:
            continue
        mix = pool.get((demand.country, demand.product), {})
        for stage in data.stages:
            for (mix_stage, source), share in sorted(mix.items(), key=lambda item: -item[1]):
                if mix_stage == stage and share > SMALL:
                    rows.append((demand.country, demand.product, stage, source, share))
    return pd.DataFrame(rows, columns=["country", "product", "stage", "source_country", "share"])

"""The figures of the README's "What the default case says": caps of 100 %, 50 % and 20 %, and sensitivities.

Run from the repository root (minutes: the capped cases are MIPs)::

    python inputs/what_the_case_says.py            # the three caps (the example workbooks, as run.py solves them)
    python inputs/what_the_case_says.py --sensitivity   # low/high runs of the three estimates, at the 20 % cap

The sensitivities change one estimate of ``inputs/data`` at a time (a copy, built with the same builder) and
solve the base case and the 20 %-from-2028 example with every project divisible (an LP: seconds instead of minutes;
it values capacity, not the integer choices); the cap's cost is the difference of the two.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from model.pipeline import load_data, solve_data  # noqa: E402

YEAR = 2030  # the year whose duals the table shows (caps start in 2028)
CAPS = {1.0: HERE / "base_case.xlsx", 0.5: HERE / "examples" / "cap50_from_2028.xlsx",
        0.2: HERE / "examples" / "cap20_from_2028.xlsx"}  # fmt: skip


def _builder():
    spec = importlib.util.spec_from_file_location("build_base_case", HERE / "build_base_case.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def summarise(outcome) -> dict[str, object]:
    """Cost, unmet (US and Japan), binding stage and its price per point, top capacity values, projects built."""
    sheets = outcome.report.sheets
    deliveries = sheets["deliveries"]
    ours = deliveries[deliveries["country"].isin(["USA", "JPN"])]
    caps = sheets["exposure_caps"]
    binding = caps[(caps["binding"] == "yes") & (caps["year"] == YEAR)] if len(caps) else caps
    by_stage = binding.groupby("stage")["shadow_price_per_pp"].sum() if len(binding) else None
    stage_of = dict(zip(sheets["activity"]["facility"], sheets["activity"]["stage"], strict=True))
    facilities = sheets["facilities"]
    top = facilities[(facilities["capacity_value"] > 0) & (facilities["year"] == YEAR) & (facilities["capacity"] > 0)]
    top = top.sort_values("capacity_value", ascending=False).head(3)
    projects = sheets["projects"]
    built = projects[projects["built_share"] > 1e-9]
    return {
        "objective_bn": outcome.objective / 1e9,
        "unmet_us_jp_t": float(ours["unmet"].sum()),
        "unmet_background_t": float(deliveries[~deliveries["country"].isin(["USA", "JPN"])]["unmet"].sum()),
        "binding_caps": int(len(binding)),
        "price_per_pp_musd": 0.0 if by_stage is None or by_stage.empty else float(by_stage.sum()) / 1e6,
        "bottleneck_stage": stage_of.get(top.iloc[0]["facility"]) if len(top) else None,
        "capacity_values": [(r.facility, round(r.capacity_value)) for r in top.itertuples()],
        "projects": [
            (r.project, r.built_share, None if r.online_year != r.online_year else int(r.online_year))
            for r in built.itertuples()
        ],
    }


def divisible(data):
    projects = [dataclasses.replace(project, all_or_nothing=False) for project in data.projects]
    return dataclasses.replace(data, projects=projects, settings={**data.settings, "explain_unmet": "no"})


def _edit(path: Path, change: Callable[[dict], None]) -> None:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        columns, rows = list(reader.fieldnames or []), list(reader)
    for row in rows:
        change(row)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _scale(column: str, factor: float, when: Callable[[dict], bool]) -> Callable[[dict], None]:
    def change(row: dict) -> None:
        if when(row) and row[column]:
            row[column] = repr(float(row[column]) * factor)

    return change


def _clays(profile: str) -> Callable[[Path], None]:
    """The three ex-China ionic clays (Myanmar, Thailand, Serra Verde) all take one Jiangxi profile of S5."""

    def apply(data: Path) -> None:
        path = data / "derive" / "compositions.csv"
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            columns, rows = list(reader.fieldnames or []), list(reader)
        source = [r for r in rows if r["concentrate"] == "ionic_clay_conc_myanmar"]  # Xinfeng, the central profile
        profiles = {"xunwu": [r for r in rows if r["concentrate"] == "ionic_clay_conc_serra_verde"]}
        if profile == "xunwu":
            source = profiles["xunwu"]
        elif profile == "longnan":
            longnan = dict(La=2.18, Ce=1.09, Pr=1.08, Nd=3.47, Sm=2.34, Eu=0.37, Gd=5.69, Tb=1.13, Dy=7.48, Ho=1.6,
                           Er=4.26, Yb=3.34, Y=64.9)  # fmt: skip  # S5 Table 2, Longnan (HREE/Y type)
            source = [dict(source[0], element=e, share_of_treo_pct=str(v)) for e, v in longnan.items()]
        clays = ("ionic_clay_conc_myanmar", "ionic_clay_conc_thailand", "ionic_clay_conc_serra_verde")
        rows = [r for r in rows if r["concentrate"] not in clays]
        rows += [dict(r, concentrate=c) for c in clays for r in source]
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    return apply


EX_CHINA_MAGNETS = (
    "VAC Hanau",
    "Seonglim",
    "MP Materials",
    "e-VAC",
    "Noveon",
    "Vulcan",
    "USA Rare Earth",
    "Neo Magnequench",
)

SENSITIVITIES: dict[str, dict[str, Callable[[Path], None]]] = {
    # China's own magnet use: 85 % of 220,000-240,000 t (S25, central 230,000) minus exports; Argus' 300,000 t
    # (S25) is the high case, 220,000 x 85 % the low one
    "China's own magnet use": {
        "low (129,000 t: 220,000 x 85 % - exports)": lambda d: _edit(
            d / "demand.csv", _scale("quantity", 128_848 / 137_348, lambda r: r["country"] == "CHN")
        ),
        "high (241,800 t: Argus' 300,000 - exports)": lambda d: _edit(
            d / "demand.csv", _scale("quantity", 241_848 / 137_348, lambda r: r["country"] == "CHN")
        ),
    },
    # ex-China magnet conversion: +$10-30/kg over China (S44), central +$20/kg (Japan +15-20 %, central 17.5 %)
    "ex-China magnet conversion cost": {
        "low (+$10/kg; Japan +15 %)": lambda d: _edit(
            d / "facility_processes.csv",
            lambda r: (
                r.update(unit_cost={"30000": "20000", "18600": "17380"}.get(r["unit_cost"], r["unit_cost"]))
                if r["process"].startswith("magnet_ndfeb")
                else None
            ),
        ),
        "high (+$30/kg; Japan +20 %)": lambda d: _edit(
            d / "facility_processes.csv",
            lambda r: (
                r.update(unit_cost={"30000": "40000", "18600": "19840"}.get(r["unit_cost"], r["unit_cost"]))
                if r["process"].startswith("magnet_ndfeb")
                else None
            ),
        ),
    },
    # compositions of the ex-China ionic clays (Myanmar, Thailand, Serra Verde): a gap in the facts, central the
    # Xinfeng mid-Y profile (Serra Verde Xunwu); low all Xunwu (LREE type), high all Longnan (HREE/Y type), S5
    "ionic-clay compositions": {
        "low (all Xunwu, light-RE type)": _clays("xunwu"),
        "high (all Longnan, heavy-RE type)": _clays("longnan"),
    },
}


def sensitivity_runs() -> list[tuple[str, str, dict]]:
    builder = _builder()
    original = builder.DATA
    rows = []
    variant = builder.VARIANTS["cap20_from_2028"]
    with tempfile.TemporaryDirectory() as folder:
        for estimate, cases in [("central", {"central": lambda d: None}), *SENSITIVITIES.items()]:
            for case, apply in cases.items():
                data = Path(folder) / "data"
                shutil.rmtree(data, ignore_errors=True)
                shutil.copytree(original, data)
                apply(data)
                builder.DATA, builder.DERIVE = data, data / "derive"
                objectives = {}
                for which in (builder.VARIANTS["base_case"], variant):
                    tables, columns = builder.build_tables(which)
                    path = Path(folder) / f"{which.name}.xlsx"
                    builder.write_workbook(tables, columns, path)
                    outcome = solve_data(divisible(load_data(path)))
                    objectives[which.name] = outcome.objective
                figures = summarise(outcome)
                figures["cap_cost_bn"] = (objectives[variant.name] - objectives["base_case"]) / 1e9
                rows.append((estimate, case, figures))
                print(estimate, "|", case, "|", rows[-1][2], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensitivity", action="store_true", help="the low/high runs at the 20 %% cap (LP)")
    parser.add_argument("--cap", type=float, choices=sorted(CAPS), help="only this cap")
    args = parser.parse_args(argv)
    if args.sensitivity:
        sensitivity_runs()
        return 0
    for cap, path in CAPS.items():
        if args.cap is not None and cap != args.cap:
            continue
        print(f"cap {cap:.0%} ({path.name}):", summarise(solve_data(load_data(path))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

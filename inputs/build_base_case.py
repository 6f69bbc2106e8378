"""Build the default input workbook ``inputs/base_case.xlsx`` (2025, planned to 2035) and its examples.

Run from the repository root::

    python inputs/build_base_case.py                  # writes inputs/base_case.xlsx and inputs/examples/*.xlsx
    python inputs/build_base_case.py --check          # builds and checks them, writes nothing
    python inputs/build_base_case.py --variant cap20_from_2028   # one workbook, at its own path
    python inputs/build_base_case.py -o other.xlsx    # the base case, elsewhere

The examples (VARIANTS) are the base case's tables plus the rows they are
about: a Chinese Dy/Tb export ban in 2027-2028 with stocks released, and
caps on China exposure from 2028.  Each workbook is built in a temporary
folder and read back with the model's own reader and validator
(``model.pipeline.load_data``, the code every run uses), so it is checked
against the input rules exactly as a run would check it; only a workbook
without problems replaces the output.  The builder itself checks only what
the model cannot know: the provenance of every number.

Every number below is a ``V(value, source, note)``: ``source`` names the
source IDs of ``../shared/reference/rare_earth_facts.md`` (S1 ... S88),
``DERIVED`` parts are computed from cited figures (method in the note), and
``ESTIMATE`` marks a gap in the facts filled by judgement (reasoning in the
note), ``SCENARIO`` what an example asks (not data). The workbook gets a
``sources`` sheet with one line per number, and a ``source`` column on
every data sheet. docs/base_case.md explains the case.

The output is byte-for-byte reproducible (fixed zip timestamps and document
properties), so its SHA-256 changes only when the data change.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "base_case.xlsx"


@dataclass(frozen=True)
class V:
    """A number with its provenance."""

    value: float
    source: str
    note: str = ""


def _ids(source: str) -> list[str]:
    out: list[str] = []
    for s in source.split(";"):
        if s.strip() and s.strip() not in out:
            out.append(s.strip())
    return out


def _join_ids(*sources: str) -> str:
    return "; ".join(_ids(";".join(sources)))


# ---------------------------------------------------------------------------
# Global assumptions
# ---------------------------------------------------------------------------

FIRST_YEAR = 2025
LAST_YEAR = 2035
YEARS = list(range(FIRST_YEAR, LAST_YEAR + 1))

DISCOUNT_RATE = V(
    0.03,
    "ESTIMATE",
    "real social discount rate for comparing the years' costs: the lower of OMB Circular A-4's (2003) "
    "two real rates, 3 % (consumption rate of time preference) and 7 %; not in the facts file",
)
CAPEX_RATE = V(
    0.08,
    "ESTIMATE",
    "real cost of capital of project finance, used for capex annuities (unchanged from the single-year case)",
)
PROJECT_LIFE = V(20, "ESTIMATE", "years; typical plant life for capital recovery")

AUD_USD = V(
    0.65,
    "ESTIMATE",
    "2025 average USD per AUD (market rate; the facts only imply 0.71 in 2019 [S66] and 0.78 in 2021 [S67])",
)
EUR_USD = V(1.13, "ESTIMATE", "2025 average USD per EUR (market rate, not in facts)")

SEPARATION_RECOVERY = V(
    0.95,
    "ESTIMATE",
    "concentrate-to-separated-oxide recovery, all elements (facts gap, 10c/9). "
    "Cross-check: Lynas FY25 NdPr 6,558 t [S8] from Australia's 29,000 t REO "
    "[S1] at Mount Weld's 23.29 % NdPr [S5] implies about 0.97",
)

# NdFeB recipe per tonne of magnet alloy, before machining losses (7b, 10c)
MAGNET_ND_PR = V(
    0.302,
    "S48; S9; ESTIMATE",
    "NdPr metal fraction: total RE 31.5 % (S48: 31-32 wt%) minus Dy 1.0 % and "
    "Tb 0.3 %; consistent with 'about a third' NdPr (S9)",
)
MAGNET_DY = V(
    0.010,
    "S49; S81; ESTIMATE",
    "Dy 1.0 wt%: within general-purpose 0.6-1.2 % (S49) and the 1 % blog "
    "recipe (S81); US/Japan mix leans to EV/industrial grades",
)
MAGNET_TB = V(
    0.003,
    "S81; S50; ESTIMATE",
    "Tb 0.3 wt%: below the 1 % blog figure (S81), which world Tb output "
    "(~0.5 kt oxide) could not support; Tb is mainly used in GBD (S50)",
)
MAGNET_YIELD = V(
    0.80,
    "S79; S51; ESTIMATE",
    "finished magnet per tonne of alloy: top of the 60-80 % block-to-part "
    "yield (S79), since part of the swarf is recycled in-house (S51: 6-73 % "
    "ends as waste)",
)

# oxide -> metal mass factors, t oxide per t metal (7a, CIAAW [S55])
OXIDE_PER_METAL = {
    "ndpr": V(1.177, "S55", "NdPr oxide 75:25 Nd2O3:Pr6O11 (facts 7a)"),
    "dy": V(1.148, "S55", "Dy2O3 (facts 7a)"),
    "tb": V(1.176, "S55", "Tb4O7 (facts 7a)"),
}

# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------

# Demand growth: IEA, magnet rare earths (Nd, Pr, Dy, Tb) 93,000 t (2023) ->
# 131,000 t (2030, Announced Pledges Scenario) [S6]; applied to the magnet rows.
MAGNET_GROWTH = V(
    round((131_000 / 93_000) ** (1 / 7) - 1, 4),
    "S6; DERIVED",
    "IEA GCMO 2024: global magnet-REE demand 93,000 t (2023) -> 131,000 t (2030, APS) [S6]: "
    "(131/93)^(1/7) - 1 = 5.0 %/yr, applied to US and Japanese magnet demand from 2025 and "
    "continued after 2030 (ESTIMATE: no IEA figure beyond 2030 in the facts)",
)
OTHER_GROWTH = V(
    0,
    "ESTIMATE",
    "non-magnet uses (catalysts, glass, polishing, NiMH, phosphors) kept flat: the facts give no "
    "growth figure for them (the IEA figure [S6] covers magnet rare earths only)",
)

SETTINGS = [
    ("case_name", "base_case_2025_2035", "default case of the tool: 2025 picture, planned to 2035"),
    ("base_year", V(2025, "S1", "reference year of mine output and prices"), "label: first model year"),
    ("currency", "USD", "all money in US dollars of 2025 (real)"),
    (
        "unmet_demand_penalty",
        V(
            1_000_000,
            "ESTIMATE",
            "USD/t: about 20x the value of a magnet and 14x NdPr oxide, above "
            "Europe's Dy oxide price (S18): demand goes unmet only where the "
            "constraints make supply impossible or dearer than this. Tb rows "
            "carry their own higher penalty (demand sheet)",
        ),
        "",
    ),
    (
        "default_transport_cost",
        V(
            250,
            "S47; ESTIMATE",
            "USD/t for oxides, metals and magnets in containers: $4,000-5,000 "
            "per 20-ft box at the 2020 peak (S47) / ~20 t per box = $200-250/t, "
            "kept at the top to cover handling and insurance; bulk concentrates "
            "have their own lane rows",
        ),
        "",
    ),
    ("default_exposure_cap", None, "blank = uncapped; use run.py --exposure-cap or exposure_caps rows"),
    ("solver_time_limit", None, "blank = no limit"),
    (
        "source",
        "rare_earth_facts.md (source IDs S1-S88); see sheet sources",
        "built by inputs/build_base_case.py; documented in docs/base_case.md",
    ),
    ("discount_rate", DISCOUNT_RATE, "each year's cost weighted by 1.03^-(year - 2025)"),
    ("capex_rate", CAPEX_RATE, "project capex paid as an annuity capex x CRF(8 %, life) per year online"),
    ("project_life", PROJECT_LIFE, "default life of projects"),
    ("demand_growth", OTHER_GROWTH, "magnet rows carry their own growth (demand sheet)"),
    ("mip_gap", V(0.0001, "DEFINITION", "HiGHS relative MIP gap (the product's default)"), ""),
    ("fx_usd_per_aud", AUD_USD, "label: used to convert A$ capex"),
    ("fx_usd_per_eur", EUR_USD, "label: used to convert EUR capex"),
    ("separation_recovery", SEPARATION_RECOVERY, "label: used in processes"),
]

# ---------------------------------------------------------------------------
# Countries (ISO3). Only China is restricted.
# ---------------------------------------------------------------------------

COUNTRIES = [
    ("USA", "United States", "no", "framework partner"),
    ("JPN", "Japan", "no", "framework partner"),
    ("CHN", "China", "yes", "china"),
    ("AUS", "Australia", "no", "ally"),
    ("MYS", "Malaysia", "no", "other"),
    ("MMR", "Myanmar (Burma)", "no", "other"),
    ("BRA", "Brazil", "no", "other"),
    ("VNM", "Vietnam", "no", "other"),
    ("EST", "Estonia", "no", "ally"),
    ("FRA", "France", "no", "ally"),
    ("IND", "India", "no", "other"),
    ("KOR", "Republic of Korea", "no", "ally"),
    ("GBR", "United Kingdom", "no", "ally"),
    ("DEU", "Germany", "no", "ally"),
    ("LAO", "Laos", "no", "other"),
    ("THA", "Thailand", "no", "other"),
    ("RUS", "Russia", "no", "other"),
]
COUNTRY_NOTES = {
    "LAO": "no figure in the facts (inside USGS 'Other'); listed for user scenarios",
    "MMR": "output can only be shipped to China (lanes); no separation plant",
    "CHN": "restricted: involvement at any stage counts as exposure",
}

# ---------------------------------------------------------------------------
# Source-mineral compositions (% of TREO), facts sections 6 and 10d.
# Keys: element symbols; 'NdPr' and 'SEG' are lumps given by S71.
# ---------------------------------------------------------------------------

XUNWU = {
    "La": 38, "Ce": 3.5, "Pr": 7.41, "Nd": 30.18, "Sm": 5.32, "Eu": 0.51,
    "Gd": 4.21, "Tb": 0.46, "Dy": 1.77, "Ho": 0.27, "Er": 0.88, "Yb": 0.62,
    "Y": 10.07,
}  # fmt: skip
XINFENG = {
    "La": 27.26, "Ce": 3.23, "Pr": 5.62, "Nd": 17.55, "Sm": 4.54, "Eu": 0.93,
    "Gd": 5.96, "Tb": 0.68, "Dy": 3.71, "Ho": 0.74, "Er": 2.48, "Yb": 1.13,
    "Y": 24.26,
}  # fmt: skip
LONGNAN = {
    "La": 2.18, "Ce": 1.09, "Pr": 1.08, "Nd": 3.47, "Sm": 2.34, "Eu": 0.37,
    "Gd": 5.69, "Tb": 1.13, "Dy": 7.48, "Ho": 1.6, "Er": 4.26, "Yb": 3.34,
    "Y": 64.9,
}  # fmt: skip
MOUNT_WELD = {
    "La": 23.88, "Ce": 47.55, "Pr": 5.16, "Nd": 18.13, "Sm": 2.44, "Eu": 0.53,
    "Gd": 1.09, "Tb": 0.09, "Dy": 0.25, "Ho": 0.03, "Er": 0.06, "Yb": 0.03,
    "Y": 0.76,
}  # fmt: skip


def _mean(*profiles: dict[str, float]) -> dict[str, float]:
    keys = sorted(set().union(*profiles))
    return {k: sum(p.get(k, 0.0) for p in profiles) / len(profiles) for k in keys}


def _nolans() -> dict[str, float]:
    """NdPr = 26.4 % (S66); the rest in Mount Weld proportions (ESTIMATE)."""
    rest = {k: v for k, v in MOUNT_WELD.items() if k not in ("Nd", "Pr")}
    scale = (100 - 26.4) / sum(rest.values())
    return {"NdPr": 26.4, **{k: v * scale for k, v in rest.items()}}


# concentrate product -> (composition, source, note, description)
CONCENTRATES = {
    "bastnasite_conc_bayan_obo": (
        {"La": 23, "Ce": 50, "Pr": 6.2, "Nd": 18.5, "Sm": 0.8, "Eu": 0.2,
         "Gd": 0.7, "Tb": 0.1, "Dy": 0.1},
        "S5",
        "USGS MYB 2022 Table 2, Bayan Obo (bastnaesite)",
        "Bayan Obo (Inner Mongolia) bastnasite-monazite concentrate, t REO",
    ),
    "bastnasite_conc_sichuan": (
        {"La": 29.49, "Ce": 47.56, "Pr": 4.42, "Nd": 15.18, "Sm": 1.24,
         "Eu": 0.23, "Gd": 0.65, "Tb": 0.12, "Dy": 0.21, "Ho": 0.05, "Er": 0.06,
         "Yb": 0.05, "Y": 0.7},
        "S5",
        "USGS MYB 2022 Table 2, Maoniuping (Sichuan); used for all other "
        "Chinese hard-rock output",
        "Sichuan (Maoniuping-type) bastnasite concentrate, t REO",
    ),
    "ionic_clay_conc_south_china": (
        _mean(XUNWU, XINFENG, LONGNAN),
        "S5; ESTIMATE",
        "ESTIMATE: equal-weight mean of the three Jiangxi ionic-clay types in "
        "S5 Table 2 (Xunwu LREE, Xinfeng mid-Y, Longnan HREE/Y); Longnan "
        "'<' values taken at the bound",
        "Southern-China ionic-clay mixed RE concentrate, t REO",
    ),
    "ionic_clay_conc_myanmar": (
        XINFENG,
        "S5; S56; ESTIMATE",
        "ESTIMATE: no distribution published (gap); Xinfeng mid-Y profile (S5) "
        "used because Kachin clays are HREE-rich and similar to southern-China "
        "clays (S56)",
        "Myanmar (Kachin) ionic-clay mixed RE concentrate, t REO",
    ),
    "ionic_clay_conc_thailand": (
        XINFENG,
        "S5; ESTIMATE",
        "ESTIMATE: no distribution in the facts; Thai output is estimated from "
        "China's imports (S1), assumed to be ionic-clay MREC like Myanmar's "
        "(Xinfeng profile, S5)",
        "Thailand mixed RE concentrate (assumed ionic clay), t REO",
    ),
    "ionic_clay_conc_serra_verde": (
        XUNWU,
        "S5; S57; S82; ESTIMATE",
        "ESTIMATE: no distribution published (gap); Xunwu LREE-type ionic clay "
        "(S5) used because Serra Verde is an ionic clay rich in Nd, Pr, Tb, Dy "
        "(S57, S82)",
        "Serra Verde (Pela Ema, Brazil) ionic-clay MREC, t REO",
    ),
    "bastnasite_conc_mountain_pass": (
        {"La": 32.3, "Ce": 50.2, "NdPr": 15.7, "SEG": 1.8},
        "S71",
        "MP Materials 10-K 2021 (S71); SEG+ (Sm, Eu, Gd and heavier) lumped, "
        "so no Dy/Tb is recovered from it",
        "Mountain Pass bastnasite concentrate, t REO",
    ),
    "monazite_conc_mount_weld": (
        MOUNT_WELD,
        "S5",
        "USGS MYB 2022 Table 2, Mount Weld CLD (Lynas 2012)",
        "Mount Weld monazite concentrate (cracked at Kalgoorlie), t REO",
    ),
    "monazite_conc_nolans": (
        _nolans(),
        "S66; S5; ESTIMATE",
        "NdPr 26.4 % of TREO (S66); other elements ESTIMATE in Mount Weld "
        "proportions (S5) scaled to the remaining 73.6 %",
        "Nolans (Arafura) monazite-apatite concentrate, t REO (planned)",
    ),
    "monazite_conc_india": (
        {"La": 22, "Ce": 46, "Pr": 5.5, "Nd": 20, "Sm": 2.5, "Eu": 0.015,
         "Gd": 1.2, "Tb": 0.06, "Dy": 0.18, "Ho": 0.02, "Er": 0.01, "Yb": 0.004,
         "Y": 0.45},
        "S5",
        "USGS MYB 2022 Table 2, Manavalakurichi (monazite)",
        "Indian beach-sand monazite (IREL), t REO",
    ),
    "loparite_conc_russia": (
        {"La": 25, "Ce": 50.5, "Pr": 5, "Nd": 15, "Sm": 0.7, "Eu": 0.09,
         "Gd": 0.6, "Dy": 0.6, "Ho": 0.7, "Er": 0.8, "Yb": 0.2, "Y": 1.3},
        "S5",
        "USGS MYB 2022 Table 2, Revda (loparite)",
        "Russian loparite concentrate (Lovozero/Revda), t REO",
    ),
    "bastnasite_conc_vietnam": (
        {"La": 29.49, "Ce": 47.56, "Pr": 4.42, "Nd": 15.18, "Sm": 1.24,
         "Eu": 0.23, "Gd": 0.65, "Tb": 0.12, "Dy": 0.21, "Ho": 0.05, "Er": 0.06,
         "Yb": 0.05, "Y": 0.7},
        "S5; ESTIMATE",
        "ESTIMATE: no Vietnamese distribution in the facts (gap); Vietnam's "
        "large deposits are light-RE carbonatite/bastnasite, so the Maoniuping "
        "(Sichuan) bastnaesite profile of S5 Table 2 is used",
        "Vietnamese bastnasite concentrate (national plan), t REO",
    ),
}  # fmt: skip

# element -> separated product; everything else (and the unreported
# remainder to 100 %) goes to other_reo
ELEMENT_PRODUCT = {
    "Nd": "ndpr_oxide", "Pr": "ndpr_oxide", "NdPr": "ndpr_oxide",
    "Dy": "dy_oxide", "Tb": "tb_oxide", "La": "la_oxide", "Ce": "ce_oxide",
    "Y": "y_oxide", "Eu": "eu_oxide",
}  # fmt: skip
OXIDES = [
    "ndpr_oxide", "dy_oxide", "tb_oxide", "la_oxide", "ce_oxide", "y_oxide",
    "eu_oxide", "other_reo",
]  # fmt: skip

# ---------------------------------------------------------------------------
# Products. value = 2025e USGS price (facts 5a, S1-S3) x 1000 (USD/t).
# surplus_price 0 for everything: no credit for unused by-products (La, Ce,
# other_reo) so that they never drive production, and no disposal cost.
# ---------------------------------------------------------------------------

SURPLUS_ZERO = V(0, "ESTIMATE", "no credit or disposal cost for unused output")

PRODUCTS = [
    # product, unit, value, description
    ("ndpr_oxide", "t oxide", V(69_000, "S1", "NdPr oxide 99 %, 2025e $69/kg"),
     "Nd-Pr oxide (didymium), magnet feed"),
    ("dy_oxide", "t oxide", V(239_000, "S2", "Dy oxide 99.5 %, 2025e $239/kg"),
     "Dysprosium oxide"),
    ("tb_oxide", "t oxide", V(1_010_000, "S2", "Tb oxide 99.99 %, 2025e "
     "$1,010/kg"), "Terbium oxide"),
    ("la_oxide", "t oxide", V(1_000, "S1", "La oxide 99.5 %, 2025e $1.00/kg"),
     "Lanthanum oxide (catalysts, glass, NiMH)"),
    ("ce_oxide", "t oxide", V(1_710, "S1", "Ce oxide 99.5 %, 2025e $1.71/kg"),
     "Cerium oxide (autocatalysts, polishing, glass)"),
    ("y_oxide", "t oxide", V(9_000, "S3", "Y2O3 99.999 %, 2025e $9/kg"),
     "Yttrium oxide"),
    ("eu_oxide", "t oxide", V(27_000, "S1", "Eu oxide 99.99 %, 2025e $27/kg"),
     "Europium oxide (by-product; no demand row)"),
    ("other_reo", "t oxide", V(2_820, "S1; ESTIMATE", "Sm oxide 2025e $2.82/kg "
     "as a floor for the Sm-Gd-Ho-Er-Yb lump; only used for tariffs"),
     "Lumped other separated oxides (Sm, Gd, Ho, Er, Tm, Yb, Lu, SEG+)"),
    ("ndpr_metal", "t metal", V(84_600, "S1; S55; S43; DERIVED", "2025e NdPr "
     "oxide $69/kg x 1.177 t oxide/t metal + $3.4/kg conversion spread (10a)"),
     "NdPr metal"),
    ("dy_metal", "t metal", V(274_400, "S2; S55; DERIVED", "2025e Dy oxide "
     "$239/kg x 1.148"), "Dysprosium metal (or DyFe)"),
    ("tb_metal", "t metal", V(1_187_800, "S2; S55; DERIVED", "2025e Tb oxide "
     "$1,010/kg x 1.176"), "Terbium metal"),
    ("ndfeb_magnet", "t magnet", V(49_200, "S27; DERIVED", "China 2024 magnet "
     "exports US$2.86 bn / 58,152 t"), "Sintered NdFeB magnet, finished"),
    ("bastnasite_conc_mountain_pass", "t REO", V(5_622, "S70", "MP realised "
     "concentrate price Q4 2023, per t REO"), None),
]  # fmt: skip
# other concentrates have no value (no price in the facts; no tariff on them)

# ---------------------------------------------------------------------------
# Facilities. capacity in activity units per year: mining and separation
# t REO (concentrate mined / fed), metal t metal, magnets t finished magnet.
# Announced plants and expansions are candidate projects (PROJECTS below):
# a new plant is a facility with capacity 0 that a project can add to.
# ---------------------------------------------------------------------------

CN_HARDROCK_MINING = V(
    1_500,
    "ESTIMATE",
    "below MP's $1,449-2,020/t (S70): Bayan Obo REO is a by-product of iron "
    "ore; split of Baotou's $7-10/kg integrated cost (S45)",
)
CN_SEPARATION = V(
    7_000,
    "S45; DERIVED",
    "Baotou oxide cost $7-10/kg REO (S45) midpoint $8.5/kg minus mining $1.5/kg (estimate)",
)
EXCN_HARDROCK_MINING = V(
    2_020,
    "S70; ESTIMATE",
    "MP production cost Q3 2023 $2,020/t REO (S70) used for all ex-China "
    "hard-rock mines (no other mine cost in the facts)",
)
EXCN_SEPARATION = V(
    6_900,
    "S46; S71; DERIVED; ESTIMATE",
    "MP NdPr cost ~$60/kg (S46, LOWREL) x 15.7 % NdPr (S71) x 0.95 = "
    "$8,950/t REO minus mining $2,020; used for plants without own data",
)
CN_METAL = V(
    3_400,
    "S43; DERIVED",
    "China NdPr metal-oxide price spread Apr 2024 (10a), proxy for "
    "conversion cost; same per t for Dy/Tb metal (ESTIMATE)",
)
EXCN_METAL = V(
    8_600,
    "S42; DERIVED",
    "Europe Nd metal-oxide price spread Sep 2025 (10a), proxy for ex-China "
    "conversion cost; same per t for Dy/Tb metal (ESTIMATE)",
)
CN_MAGNET = V(
    10_000,
    "S49; S27; DERIVED",
    "non-material share ~20 % of cost (S49: raw materials ~80 %) x $49.2k/t China export unit value (S27)",
)
VN_MAGNET = V(
    18_600,
    "S44; DERIVED",
    "China $10,000 + 17.5 % (mid of +15-20 % for Vietnam-made, S44) of $49,200/t",
)
EXCN_MAGNET = V(
    30_000,
    "S44; ESTIMATE",
    "China $10,000 + $20,000 (mid of the +$10-30/kg ex-China premium, S44); "
    "applied to Japan, Korea, Europe and US plants (no plant data)",
)
METAL_CAPEX = V(
    30_000,
    "S23; ESTIMATE",
    "USD per t/yr metal: no metal-plant capex in the facts; electrolysis "
    "cells are small units (LCM: 55 t/yr per cell, S23), assumed ~$1.6 M "
    "each",
)


def ndpr_feed(ndpr_t: float, ndpr_share: float) -> float:
    """t REO feed/yr needed for ndpr_t of NdPr oxide at a given NdPr share."""
    return ndpr_t / (ndpr_share * SEPARATION_RECOVERY.value)


MW_NDPR = (MOUNT_WELD["Nd"] + MOUNT_WELD["Pr"]) / 100  # 0.2329
MP_NDPR = 0.157

# -- mines: one process each, producing one concentrate -----------------------
MINES = [
    dict(
        facility="Bayan Obo mine (aggregate)",
        country="CHN",
        owner="China Northern Rare Earth / Baotou Steel",
        product="bastnasite_conc_bayan_obo",
        capacity=V(176_000, "S18; DERIVED", "2 x H1-2024 CNRE quota 88.0 kt "
                   "(2025 quotas unpublished, S18); CNRE mines Bayan Obo"),
        unit_cost=CN_HARDROCK_MINING,
    ),
    dict(
        facility="Sichuan and other China hard-rock mines (aggregate)",
        country="CHN",
        owner="China Rare Earth Group and others",
        product="bastnasite_conc_sichuan",
        capacity=V(73_720, "S1; S18; DERIVED", "China mine quota 270,000 t "
                   "(S1) minus Bayan Obo 176,000 minus ionic clay 20,280"),
        unit_cost=CN_HARDROCK_MINING,
    ),
    dict(
        facility="Southern China ionic-clay mines (aggregate)",
        country="CHN",
        owner="China Rare Earth Group and others",
        product="ionic_clay_conc_south_china",
        capacity=V(20_280, "S18; DERIVED", "2 x H1-2024 ionic-clay mining "
                   "quota 10.14 kt (S18)"),
        unit_cost=V(5_000, "ESTIMATE", "in-situ leaching of 0.05-0.2 % ore "
                    "with large reagent use; no cost in the facts"),
    ),
    dict(
        facility="Kachin ionic-clay mines (aggregate)",
        country="MMR",
        owner="various (unregulated)",
        product="ionic_clay_conc_myanmar",
        capacity=V(22_000, "S1", "Burma mine production 2025e"),
        unit_cost=V(4_000, "ESTIMATE", "same technique as southern China with "
                    "lower environmental and labour costs"),
    ),
    dict(
        facility="Thailand RE mines (aggregate)",
        country="THA",
        owner="various",
        product="ionic_clay_conc_thailand",
        capacity=V(4_800, "S1", "Thailand mine production 2025e"),
        unit_cost=V(5_000, "ESTIMATE", "as southern-China ionic clays"),
    ),
    dict(
        facility="Serra Verde Pela Ema",
        country="BRA",
        owner="Serra Verde",
        product="ionic_clay_conc_serra_verde",
        capacity=V(2_000, "S1", "Brazil mine production 2025e (ramp-up; "
                   "phase 1 >=5,000 t/yr, S57)"),
        unit_cost=V(5_000, "ESTIMATE", "as southern-China ionic clays"),
        later=[(2027, V(5_000, "S57; ESTIMATE", "phase 1 (built, commissioning 2023) at its >=5,000 t/yr "
                        "REO (S57) from 2027: ESTIMATE of the ramp-up from 2,000 t in 2025 (S1)"))],
        status="ramping up",
    ),
    dict(
        facility="Mountain Pass mine",
        country="USA",
        owner="MP Materials",
        product="bastnasite_conc_mountain_pass",
        capacity=V(50_692, "S12", "REO in concentrate 2025"),
        unit_cost=V(2_020, "S70", "MP production cost Q3 2023, USD/t REO"),
    ),
    dict(
        facility="Mount Weld and other Australian monazite (aggregate)",
        country="AUS",
        owner="Lynas Rare Earths",
        product="monazite_conc_mount_weld",
        capacity=V(29_000, "S1", "Australia mine production 2025e (all "
                   "attributed to Mount Weld)"),
        unit_cost=EXCN_HARDROCK_MINING,
        status="expanding",
    ),
    dict(
        facility="Nolans mine",
        country="AUS",
        owner="Arafura Rare Earths",
        product="monazite_conc_nolans",
        capacity=V(0, "S66", "not built"),
        unit_cost=EXCN_HARDROCK_MINING,
        status="planned",
    ),
    dict(
        facility="IREL beach-sand monazite (aggregate)",
        country="IND",
        owner="IREL (India) Ltd",
        product="monazite_conc_india",
        capacity=V(2_900, "S1", "India mine production 2025e"),
        unit_cost=EXCN_HARDROCK_MINING,
    ),
    dict(
        facility="Lovozero loparite (Revda)",
        country="RUS",
        owner="Lovozero GOK",
        product="loparite_conc_russia",
        capacity=V(2_600, "S1", "Russia mine production 2025e"),
        unit_cost=EXCN_HARDROCK_MINING,
    ),
    dict(
        facility="Vietnam RE mines (national plan)",
        country="VNM",
        owner="Vietnamese state and partners",
        product="bastnasite_conc_vietnam",
        capacity=V(150, "S1", "Vietnam mine production 2025e (estimated from China's imports)"),
        unit_cost=EXCN_HARDROCK_MINING,
        status="planned expansion",
    ),
]  # fmt: skip

# hard-rock concentrates that can be traded to other separators (Indian
# monazite stays with IREL, see EXCN_MONAZITE)
TRADED_HARDROCK = [
    "bastnasite_conc_bayan_obo", "bastnasite_conc_sichuan",
    "bastnasite_conc_mountain_pass", "monazite_conc_mount_weld",
    "monazite_conc_nolans", "loparite_conc_russia", "bastnasite_conc_vietnam",
]  # fmt: skip
CLAYS = [
    "ionic_clay_conc_south_china", "ionic_clay_conc_myanmar",
    "ionic_clay_conc_thailand", "ionic_clay_conc_serra_verde",
]  # fmt: skip
# Indian monazite is separated by the state-owned IREL only (S19); it is not
# offered to other plants (ESTIMATE: India keeps monazite for IREL, see docs)
EXCN_MONAZITE = ["monazite_conc_mount_weld", "monazite_conc_nolans"]
EXCN_CLAYS = ["ionic_clay_conc_thailand", "ionic_clay_conc_serra_verde"]

# -- separation plants: feeds = concentrates they can run ---------------------
SEPARATION = [
    dict(
        facility="China Northern RE separation (aggregate)",
        country="CHN",
        owner="China Northern Rare Earth",
        feeds=TRADED_HARDROCK,
        capacity=V(176_000, "S18; DERIVED", "2 x H1-2024 CNRE separation "
                   "quota 88.0 kt; with CREG = 254,000 t 2024 quota (S18)"),
        unit_cost=CN_SEPARATION,
    ),
    dict(
        facility="China RE Group separation, light and heavy (aggregate)",
        country="CHN",
        owner="China Rare Earth Group",
        feeds=TRADED_HARDROCK + CLAYS,
        capacity=V(78_000, "S18; DERIVED", "2 x H1-2024 CREG separation quota "
                   "39.0 kt (S18); handles all ionic-clay feed incl. Myanmar"),
        unit_cost=CN_SEPARATION,
    ),
    dict(
        facility="Lynas Malaysia Kuantan (incl. HRE circuit)",
        country="MYS",
        owner="Lynas Rare Earths",
        feeds=["monazite_conc_mount_weld"],
        capacity=V(round(ndpr_feed(10_500, MW_NDPR), -2), "S9; S5; DERIVED", "NdPr finishing capacity "
                   "10,500 t/yr (S9) / (0.2329 x 0.95); HRE circuit up to "
                   "1,500 t/yr covers the Dy/Tb in this feed (S10)"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Lynas Malaysia new HRE plant",
        country="MYS",
        owner="Lynas Rare Earths",
        feeds=EXCN_CLAYS,
        capacity=V(0, "S11", "first production targeted Apr 2026"),
        unit_cost=EXCN_SEPARATION,
        status="planned",
    ),
    dict(
        facility="Lynas Seadrift Texas (LRE)",
        country="USA",
        owner="Lynas Rare Earths",
        feeds=["monazite_conc_mount_weld"],
        capacity=V(0, "S73", "not built"),
        unit_cost=EXCN_SEPARATION,
        status="planned",
    ),
    dict(
        facility="Lynas Seadrift Texas (HRE)",
        country="USA",
        owner="Lynas Rare Earths",
        feeds=EXCN_CLAYS,
        capacity=V(0, "S73", "not built; DoD-funded heavy-RE plant (S73)"),
        unit_cost=EXCN_SEPARATION,
        status="planned",
    ),
    dict(
        facility="MP Materials Mountain Pass separation",
        country="USA",
        owner="MP Materials",
        feeds=["bastnasite_conc_mountain_pass"],
        capacity=V(round(ndpr_feed(4_000, MP_NDPR), -2), "S12; S71; DERIVED", "exit run-rate ~4,000 t/yr "
                   "NdPr (S12) / (0.157 x 0.95); 2025 output 2,599 t NdPr"),
        unit_cost=V(6_900, "S46; S71; DERIVED", "NdPr cost ~$60/kg Q1 2025 "
                    "(S46) x 0.157 x 0.95 minus mining $2,020"),
    ),
    dict(
        facility="Energy Fuels White Mesa",
        country="USA",
        owner="Energy Fuels",
        feeds=EXCN_MONAZITE,
        capacity=V(round(ndpr_feed(1_000, MW_NDPR), -1), "S15; S5; DERIVED", "Phase 1 ~1,000 t/yr NdPr (S15) "
                   "/ (0.2329 x 0.95), Mount Weld-type monazite"),
        unit_cost=V(6_500, "S72; DERIVED", "Phase 2 BFS all-in $29.39/kg "
                    "NdPr-eq (S72) x 0.2329 x 0.95"),
        status="expanding",
    ),
    dict(
        facility="Neo Performance Silmet (Sillamae)",
        country="EST",
        owner="Neo Performance Materials",
        feeds=["bastnasite_conc_mountain_pass", "monazite_conc_mount_weld",
               "loparite_conc_russia"],
        capacity=V(3_000, "S16", "3,000 t/yr light RE separation; Dy/Tb line "
                   "completed Sep 2025 (S86)"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Solvay La Rochelle",
        country="FRA",
        owner="Solvay",
        feeds=["bastnasite_conc_mountain_pass", "loparite_conc_russia"] + EXCN_MONAZITE + EXCN_CLAYS
        + ["bastnasite_conc_vietnam"],
        capacity=V(500, "S17; ESTIMATE", "'several hundred tonnes' in 2025"),
        unit_cost=EXCN_SEPARATION,
        status="expanding",
    ),
    dict(
        facility="Carester Caremag (Lacq)",
        country="FRA",
        owner="Carester",
        feeds=EXCN_CLAYS,
        capacity=V(0, "S22", "PLAN from 2026"),
        unit_cost=EXCN_SEPARATION,
        status="planned",
    ),
    dict(
        facility="IREL Aluva separation",
        country="IND",
        owner="IREL (India) Ltd",
        feeds=["monazite_conc_india"],
        capacity=V(2_500, "S19; DERIVED", "5,500 t/yr MRECl x (5,000 t REO / "
                   "11,000 t MRECl) (S19)"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Shin-Etsu Hai Phong refinery",
        country="VNM",
        owner="Shin-Etsu Chemical",
        feeds=EXCN_MONAZITE + EXCN_CLAYS + ["bastnasite_conc_vietnam"],
        capacity=V(1_000, "S20", "~1,000 t/yr RE refining"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Shin-Etsu Takefu refinery",
        country="JPN",
        owner="Shin-Etsu Chemical",
        feeds=EXCN_MONAZITE + EXCN_CLAYS + ["bastnasite_conc_vietnam"],
        capacity=V(2_000, "S20; DERIVED", "2012: Hai Phong's 1,000 t/yr raised "
                   "Shin-Etsu capacity by 50 % (S20); assumed still in place"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Solikamsk separation (aggregate)",
        country="RUS",
        owner="Solikamsk Magnesium Works",
        feeds=["loparite_conc_russia"],
        capacity=V(2_600, "S1; ESTIMATE", "no capacity in the facts; sized to "
                   "Russia's mine output 2,600 t (S1)"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Nolans refinery",
        country="AUS",
        owner="Arafura Rare Earths",
        feeds=["monazite_conc_nolans"],
        capacity=V(0, "S66", "not built"),
        unit_cost=V(4_000, "S66; DERIVED", "DFS A$36.85/kg NdPr net (S66) x "
                    "0.65 x 26.4 % x 0.95 = $6,000/t REO minus mining $2,020"),
        status="planned",
    ),
    dict(
        facility="Iluka Eneabba refinery",
        country="AUS",
        owner="Iluka Resources",
        feeds=EXCN_MONAZITE + EXCN_CLAYS,
        capacity=V(0, "S69", "under construction (FID 2022)"),
        unit_cost=EXCN_SEPARATION,
        status="planned",
    ),
]  # fmt: skip

# -- metal plants: oxide -> metal; capacity shared by NdPr, Dy, Tb metal ------
CN_METAL_CAP = 118_000
METAL = [
    dict(
        facility="China RE metal plants (aggregate)",
        country="CHN",
        owner="various",
        metals=["ndpr", "dy", "tb"],
        capacity=V(CN_METAL_CAP, "S25; DERIVED", "China NdFeB ~300,000 t "
                   "(S25) x 0.394 t RE metal per t magnet (recipe)"),
        unit_cost=CN_METAL,
    ),
    dict(
        facility="Japan RE metal plants (aggregate)",
        country="JPN",
        owner="Shin-Etsu, Santoku, others",
        metals=["ndpr", "dy", "tb"],
        capacity=V(1_600, "S25; ESTIMATE", "China = 97 % of metal refining "
                   "(S25): ex-China ~3,650 t/yr; after named plants, the "
                   "remaining ~3,200 t split evenly Japan/Vietnam (gap)"),
        unit_cost=EXCN_METAL,
    ),
    dict(
        facility="Vietnam RE metal plants (aggregate)",
        country="VNM",
        owner="Japanese-affiliated producers",
        metals=["ndpr", "dy", "tb"],
        capacity=V(1_600, "S25; ESTIMATE", "see Japan RE metal plants"),
        unit_cost=EXCN_METAL,
    ),
    dict(
        facility="MP Materials Independence metal (Fort Worth)",
        country="USA",
        owner="MP Materials",
        metals=["ndpr"],
        capacity=V(300, "S12; ESTIMATE", "NdPr metal in commercial production "
                   "(S12); sized to feed the 1,000 t/yr magnet line"),
        unit_cost=EXCN_METAL,
        status="expanding",
    ),
    dict(
        facility="KSM Metals Ochang",
        country="KOR",
        owner="Australian Strategic Materials",
        metals=["ndpr", "dy"],
        capacity=V(34, "S84; DERIVED", "pilot 40 t NdFeB alloy x 0.302 NdPr "
                   "(=12 t) + 22 t Dy metal (S84)"),
        unit_cost=EXCN_METAL,
        status="expanding",
    ),
    dict(
        facility="Less Common Metals Ellesmere Port",
        country="GBR",
        owner="Less Common Metals",
        metals=["ndpr"],
        capacity=V(110, "S23", "2 cells x 55 t/yr Nd/NdPr metal"),
        unit_cost=EXCN_METAL,
        status="expanding",
    ),
    dict(
        facility="USA Rare Earth Stillwater metal",
        country="USA",
        owner="USA Rare Earth",
        metals=["ndpr"],
        capacity=V(0, "S75", "not in production"),
        unit_cost=EXCN_METAL,
        status="planned",
    ),
]  # fmt: skip

# -- magnet plants: metals -> sintered NdFeB ----------------------------------
MAGNETS = [
    dict(
        facility="China NdFeB magnet plants (aggregate)",
        country="CHN",
        owner="JL MAG and others",
        capacity=V(300_000, "S25", "China NdFeB production 2024 (Argus); "
                   "capacity heading to ~500,000 t (S59)"),
        unit_cost=CN_MAGNET,
    ),
    dict(
        facility="Japan NdFeB makers: Shin-Etsu, Proterial, TDK (aggregate)",
        country="JPN",
        owner="Shin-Etsu, Proterial, TDK",
        capacity=V(11_900, "S29; DERIVED", "Japan NdFeB alloy production "
                   "12,400 t (2020, S29) minus Daido/Intermetallics 500 t; "
                   "plant tonnages undisclosed (S85)"),
        unit_cost=EXCN_MAGNET,
    ),
    dict(
        facility="Intermetallics Japan Nakatsugawa",
        country="JPN",
        owner="Daido Steel",
        capacity=V(500, "S85", "~500 t/yr sintered magnets (~2014)"),
        unit_cost=EXCN_MAGNET,
        status="expanding",
    ),
    dict(
        facility="Shin-Etsu Hai Phong magnets",
        country="VNM",
        owner="Shin-Etsu Chemical",
        capacity=V(2_000, "S20; S85", "2,000 t/yr (S20); 2,200 t/yr end-2022 "
                   "(S85, LOWREL)"),
        unit_cost=VN_MAGNET,
    ),
    dict(
        facility="Seonglim Hyeonpung magnets",
        country="KOR",
        owner="Seonglim",
        capacity=V(1_000, "S21", "Korea's first magnet plant, 1,000 t/yr"),
        unit_cost=EXCN_MAGNET,
    ),
    dict(
        facility="VAC Hanau",
        country="DEU",
        owner="Vacuumschmelze",
        capacity=V(1_000, "S23; ESTIMATE", "tonnage unpublished (S86); Europe "
                   "made ~1,000 t/yr (S23), VAC being the main producer"),
        unit_cost=EXCN_MAGNET,
    ),
    dict(
        facility="Neo Magnequench Narva",
        country="EST",
        owner="Neo Performance Materials",
        capacity=V(0, "S86", "opened Sep 2025, production start mid-2026"),
        unit_cost=EXCN_MAGNET,
        status="commissioning",
    ),
    dict(
        facility="MP Materials Independence magnets (Fort Worth)",
        country="USA",
        owner="MP Materials",
        capacity=V(1_000, "S25; S12", "1,000 t/yr initial, first commercial "
                   "magnets Q4 2025"),
        unit_cost=EXCN_MAGNET,
        status="expanding",
    ),
    dict(
        facility="MP Materials 10X Northlake",
        country="USA",
        owner="MP Materials",
        capacity=V(0, "S12", "commissioning 2028"),
        unit_cost=EXCN_MAGNET,
        status="planned",
    ),
    dict(
        facility="e-VAC Magnetics Sumter",
        country="USA",
        owner="Vacuumschmelze (e-VAC)",
        capacity=V(0, "S24; ESTIMATE", "first commercial shipment reported; "
                   "treated as not yet producing in 2025"),
        unit_cost=EXCN_MAGNET,
        status="commissioning",
    ),
    dict(
        facility="Noveon Magnetics San Marcos",
        country="USA",
        owner="Noveon Magnetics (ex-Urban Mining Co)",
        capacity=V(2_000, "S85", "2,000 t/yr (industry list, LOWREL); real "
                   "feed is recycled magnets, modelled with the standard recipe"),
        unit_cost=EXCN_MAGNET,
    ),
    dict(
        facility="Vulcan Elements Benson",
        country="USA",
        owner="Vulcan Elements",
        capacity=V(0, "S74", "initial operations 2027"),
        unit_cost=EXCN_MAGNET,
        status="planned",
    ),
    dict(
        facility="USA Rare Earth Stillwater magnets",
        country="USA",
        owner="USA Rare Earth",
        capacity=V(0, "S75", "first batch only"),
        unit_cost=EXCN_MAGNET,
        status="planned",
    ),
]  # fmt: skip

# ---------------------------------------------------------------------------
# Projects: the announced plants and expansions of the facts file (2, 3, 10b,
# 10e) as candidates. capacity in the facility's activity unit per year;
# capex = USD in total (A$ x 0.65, EUR x 1.13); earliest_year as announced
# (blank = first model year + lead_time); lead_time = years from decision to
# online; life = setting project_life (20); all_or_nothing = yes for
# discrete plants, no where capacity comes in small units (electrolysis
# cells, brownfield debottlenecking, a national mining plan); funder = the
# public lender or grantor the facts name for the project (its whole capex
# counts against that funder's budget: the format has one funder per
# project, see docs/base_case.md); fixed_cost: none sourced (blank = 0).
# ---------------------------------------------------------------------------


def _capex_total(per_t: V, capacity: float, what: str) -> V:
    """Total capex from a USD per t/yr figure (an analog), rounded to 0.1 M USD."""
    return V(
        round(per_t.value * capacity, -5),
        _join_ids(per_t.source, "DERIVED"),
        f"{what}: ${per_t.value:,.0f} per t/yr x {capacity:,.0f} t/yr ({per_t.note})",
    )


def _lead(years: int, source: str, note: str) -> V:
    return V(years, source, f"years from decision to online: {note}")


METAL_LEAD = _lead(1, "S23; ESTIMATE", "electrolysis cells are small modular units (LCM: 55 t/yr per cell, S23)")
SEPARATION_LEAD = _lead(
    3, "S72; ESTIMATE", "as Energy Fuels Phase 2: bankable study Jan 2026, commissioning Q1 2029 (S72)"
)

PROJECTS = [
    # -- mining --------------------------------------------------------------
    dict(
        project="Serra Verde phase 2 (doubling)",
        facility="Serra Verde Pela Ema",
        capacity=V(5_000, "S57; DERIVED", "possible doubling of phase 1 (>=5,000 t/yr REO) by 2030 (S57)"),
        capex=V(465e6, "S2; ESTIMATE", "the $465 M DFC loan to a Brazilian ionic-clay producer (Nov 2025, S2; "
                "Serra Verde is the producing one, S57) taken as the cost of the doubling (no capex in the facts)"),
        earliest_year=None,
        lead_time=_lead(2, "S2; S57; ESTIMATE", "loan Nov 2025 (S2), doubling 'by 2030' (S57): online from 2027 at "
                        "the earliest"),
        all_or_nothing="yes",
        funder="DFC",
        source="S2",
        note="funder: DFC loan $465 M (S2)",
    ),
    dict(
        project="Mt Weld expansion (Lynas 2025)",
        facility="Mount Weld and other Australian monazite (aggregate)",
        capacity=V(round(ndpr_feed(12_000, MW_NDPR) - 29_000, -2), "S8; S5; DERIVED",
                   "to 12,000 t/yr NdPr (S8): 12,000/(0.2329 x 0.95) = 54,200 t REO minus 29,000"),
        capex=V(round(570e6 * AUD_USD.value, -5), "S73; DERIVED", "A$570 M forecast at completion (Oct 2023, "
                "S73) x 0.65 USD/AUD"),
        earliest_year=None,
        lead_time=_lead(1, "S73; ESTIMATE", "under construction in Oct 2023 (S73); online from 2026"),
        all_or_nothing="yes",
        note="private (Lynas; A$750 M equity raise, S8)",
    ),
    dict(
        project="Nolans mine",
        facility="Nolans mine",
        capacity=V(14_000, "S66; DERIVED", "13,343 t/yr TREO-equivalent products (S66) / 0.95 recovery"),
        capex=V(round(1.05e9 * AUD_USD.value / 2, -5), "S67; ESTIMATE", "A$1.05 bn (S67) x 0.65, half (ESTIMATE "
                "split) on mine and beneficiation"),
        earliest_year=None,
        lead_time=_lead(3, "S67; ESTIMATE", "FID aimed for 2022 (S67) and not taken; integrated mine and refinery, "
                        "as SEPARATION_LEAD"),
        all_or_nothing="yes",
        note="private; no public finance in the facts",
    ),
    dict(
        project="Vietnam national plan, first mines",
        facility="Vietnam RE mines (national plan)",
        capacity=V(10_000, "S21; ESTIMATE", "plan: 40,000-80,000 t/yr REO by 2050 (S21); ESTIMATE a quarter of "
                   "the low end within the horizon"),
        capex=_capex_total(V(24_400, "S67; ESTIMATE", "Nolans mine analog: half of A$1.05 bn x 0.65 / 14,000 t/yr "
                             "(S67)"), 10_000, "Nolans mine analog"),
        earliest_year=V(2030, "S21; ESTIMATE", "a 2050 plan (S21) with no dated first phase: 2030 assumed"),
        lead_time=_lead(3, "ESTIMATE", "a new mine, as Nolans"),
        all_or_nothing="no",
        note="private or state; divisible (a national programme of several mines)",
    ),
    # -- separation ----------------------------------------------------------
    dict(
        project="Lynas Malaysia HRE plant",
        facility="Lynas Malaysia new HRE plant",
        capacity=V(5_000, "S11", "5,000 t/yr HRE feedstock (LOWREL)"),
        capex=V(round(180e6 * AUD_USD.value, -5), "S11; DERIVED", "A$180 M (S11) x 0.65 USD/AUD"),
        earliest_year=V(2026, "S11", "first production targeted Apr 2026"),
        lead_time=_lead(1, "S11", "announced Oct 2025, first production Apr 2026 (S11)"),
        all_or_nothing="yes",
        note="private (Lynas)",
    ),
    dict(
        project="Lynas Seadrift LRE plant",
        facility="Lynas Seadrift Texas (LRE)",
        capacity=V(round(ndpr_feed(1_250, MW_NDPR), -1), "S73; DERIVED", "1,250 t/yr NdPr (S73) / (0.2329 x 0.95)"),
        capex=V(60e6, "S73; DERIVED", "DoD up to $30 M at a 50:50 cost share (S73) = $60 M"),
        earliest_year=None,
        lead_time=SEPARATION_LEAD,
        all_or_nothing="yes",
        funder="DoD",
        source="S73",
        note="funder: DoD up to $30 M, 50:50 cost share (S73)",
    ),
    dict(
        project="Lynas Seadrift HRE plant",
        facility="Lynas Seadrift Texas (HRE)",
        capacity=V(5_000, "S11; ESTIMATE", "no capacity in the facts: the Lynas Malaysian HRE plant's 5,000 t/yr "
                   "feed (S11) as analog"),
        capex=V(258e6, "S73; ESTIMATE", "the ~US$258 M US contribution allocated in 2023 (S73) taken as the capex"),
        earliest_year=None,
        lead_time=SEPARATION_LEAD,
        all_or_nothing="yes",
        funder="DoD",
        source="S73",
        note="funder: DoD $120 M contract (2022), ~$258 M US contribution (2023) (S73)",
    ),
    dict(
        project="Energy Fuels White Mesa Phase 2",
        facility="Energy Fuels White Mesa",
        capacity=V(round(ndpr_feed(5_000, MW_NDPR), -2), "S72; S5; DERIVED", "Phase 2 +5,000 t/yr NdPr (S72) / "
                   "(0.2329 x 0.95)"),
        capex=V(410e6, "S72", "bankable feasibility study, Jan 2026"),
        earliest_year=V(2029, "S72", "commissioning Q1 2029"),
        lead_time=_lead(3, "S72", "BFS Jan 2026, commissioning Q1 2029"),
        all_or_nothing="yes",
        note="private (Energy Fuels)",
    ),
    dict(
        project="Solvay La Rochelle expansion",
        facility="Solvay La Rochelle",
        capacity=V(4_000, "S17", "to ~4,500 t/yr by 2030 (PLAN); 'could reach 2,000-5,000 t'"),
        capex=_capex_total(V(round(410e6 / 22_600, -2), "S72; ESTIMATE", "Energy Fuels Phase 2 $410 M for "
                             "+22,600 t/yr REO feed (S72) as brownfield separation analog"), 4_000,
                           "no capex in the facts"),
        earliest_year=None,
        lead_time=_lead(2, "S17; ESTIMATE", "brownfield, target by 2030 (S17)"),
        all_or_nothing="no",
        note="private; divisible (brownfield, 'could reach 2,000-5,000 t', S17)",
    ),
    dict(
        project="Carester Caremag",
        facility="Carester Caremag (Lacq)",
        capacity=V(5_000, "S22", "5,000 t/yr HRE concentrate"),
        capex=_capex_total(V(round(180e6 * AUD_USD.value / 5_000, -2), "S11; ESTIMATE", "Lynas Malaysian HRE "
                             "plant A$180 M x 0.65 / 5,000 t/yr (S11) as analog"), 5_000, "no capex in the facts"),
        earliest_year=V(2026, "S22", "PLAN from 2026"),
        lead_time=_lead(1, "S22; ESTIMATE", "planned from 2026 (S22)"),
        all_or_nothing="yes",
        note="private; no public finance in the facts",
    ),
    dict(
        project="Nolans refinery",
        facility="Nolans refinery",
        capacity=V(14_000, "S66; DERIVED", "as the Nolans mine"),
        capex=V(round(1.05e9 * AUD_USD.value / 2, -5), "S67; ESTIMATE", "other half of A$1.05 bn (S67) x 0.65"),
        earliest_year=None,
        lead_time=_lead(3, "S67; ESTIMATE", "as the Nolans mine"),
        all_or_nothing="yes",
        note="private; no public finance in the facts",
    ),
    dict(
        project="Iluka Eneabba refinery",
        facility="Iluka Eneabba refinery",
        capacity=V(round(17_500 / SEPARATION_RECOVERY.value, -2), "S69; DERIVED", "17,500 t/yr REO products "
                   "(S69) / 0.95 recovery = t REO fed"),
        capex=V(round(1.75e9 * AUD_USD.value, -5), "S69; DERIVED", "A$1.7-1.8 bn after the 2024 cost blow-out "
                "(S69), midpoint x 0.65 USD/AUD"),
        earliest_year=None,
        lead_time=_lead(2, "S69; ESTIMATE", "FID 2022, cost blow-out 2024 (S69), no start date in the facts"),
        all_or_nothing="yes",
        note="private in the facts (no public finance named); feed: Australian monazite and ex-China clays "
        "(own feed not in the facts)",
    ),
    # -- metal ---------------------------------------------------------------
    dict(
        project="MP Independence metal expansion",
        facility="MP Materials Independence metal (Fort Worth)",
        capacity=V(2_640, "S14; DERIVED", "metal for the 7,000 t/yr 10X magnet plant (S14) at 0.3775 t/t"),
        capex=_capex_total(METAL_CAPEX, 2_640, "no metal capex in the facts"),
        earliest_year=None,
        lead_time=METAL_LEAD,
        all_or_nothing="no",
        note="private; divisible (electrolysis cells)",
    ),
    dict(
        project="KSM Metals full plan",
        facility="KSM Metals Ochang",
        capacity=V(612, "S84; DERIVED", "full plan 1,900 t alloy x 0.302 + 72 t Dy = 646 t, minus 34 t pilot"),
        capex=_capex_total(METAL_CAPEX, 612, "no metal capex in the facts"),
        earliest_year=None,
        lead_time=METAL_LEAD,
        all_or_nothing="no",
        note="private; divisible (electrolysis cells)",
    ),
    dict(
        project="Less Common Metals to 6 cells",
        facility="Less Common Metals Ellesmere Port",
        capacity=V(220, "S23", "expandable from 2 to 6 cells = 330 t/yr"),
        capex=_capex_total(METAL_CAPEX, 220, "no metal capex in the facts"),
        earliest_year=None,
        lead_time=METAL_LEAD,
        all_or_nothing="no",
        note="private; divisible (electrolysis cells)",
    ),
    dict(
        project="USA Rare Earth Stillwater metal",
        facility="USA Rare Earth Stillwater metal",
        capacity=V(1_812, "S75; DERIVED", "metal for 4,800 t/yr magnets (S75) at 0.3775 t/t"),
        capex=_capex_total(METAL_CAPEX, 1_812, "no metal capex in the facts"),
        earliest_year=None,
        lead_time=METAL_LEAD,
        all_or_nothing="no",
        note="private; divisible (electrolysis cells)",
    ),
    # -- magnets -------------------------------------------------------------
    dict(
        project="Daido Nakatsugawa to 1,000 t",
        facility="Intermetallics Japan Nakatsugawa",
        capacity=V(500, "S85", "building sized for 1,000 t/yr"),
        capex=_capex_total(V(round(37_500 * EUR_USD.value, -2), "S16; ESTIMATE", "Neo Narva EUR 75 M / "
                             "2,000 t/yr (S16) x 1.13 as analog"), 500, "no capex in the facts"),
        earliest_year=None,
        lead_time=_lead(1, "S85; ESTIMATE", "the building already exists (S85)"),
        all_or_nothing="yes",
        note="private (Daido Steel)",
    ),
    dict(
        project="Neo Narva phases 1-2",
        facility="Neo Magnequench Narva",
        capacity=V(5_000, "S16", "2,000 t/yr phase 1 (opened Sep 2025, ~EUR 75 M), 5,000 t/yr with phase 2 (PLAN)"),
        capex=_capex_total(V(round(37_500 * EUR_USD.value, -2), "S16; DERIVED", "phase 1 EUR 75 M / 2,000 t/yr "
                             "(S16) x 1.13, for both phases (phase-2 capex not in the facts)"), 5_000,
                           "phase 1's cost per t"),
        earliest_year=V(2026, "S86", "plant opened Sep 2025, production start mid-2026"),
        lead_time=_lead(1, "S86", "opened Sep 2025, production mid-2026"),
        all_or_nothing="no",
        note="private (Neo Performance Materials); divisible, so that phase 2 never comes without phase 1 "
        "(40 % = phase 1, whose capex is sunk in reality)",
    ),
    dict(
        project="MP Independence to 3,000 t",
        facility="MP Materials Independence magnets (Fort Worth)",
        capacity=V(2_000, "S25", "1,000 t/yr initial, scalable to 2,000-3,000 t/yr"),
        capex=_capex_total(V(100_000, "S74; ESTIMATE", "Vulcan Elements ~$1 bn for 10,000 t/yr (S74) as analog"),
                           2_000, "no capex in the facts"),
        earliest_year=None,
        lead_time=_lead(1, "S25; ESTIMATE", "scaling up an operating plant"),
        all_or_nothing="yes",
        note="private (MP Materials)",
    ),
    dict(
        project="MP 10X Northlake",
        facility="MP Materials 10X Northlake",
        capacity=V(7_000, "S14; S12; DERIVED", "10,000 t/yr MP total incl. Independence's 3,000"),
        capex=_capex_total(V(100_000, "S74; ESTIMATE", "Vulcan Elements ~$1 bn for 10,000 t/yr (S74) as analog"),
                           7_000, "no capex in the facts"),
        earliest_year=V(2028, "S12", "commissioning 2028 (PLAN)"),
        lead_time=_lead(3, "S14; S12", "DoD deal Jul 2025 (S14), commissioning 2028 (S12)"),
        all_or_nothing="yes",
        funder="DoD",
        source="S14",
        note="funder: DoD $400 M preferred equity, 10-year offtake and EBITDA floor; $1 bn bank financing (S14)",
    ),
    dict(
        project="e-VAC Sumter",
        facility="e-VAC Magnetics Sumter",
        capacity=V(2_000, "S24", "2,000 t/yr by 2026"),
        capex=V(500e6, "S24", ">$500 M investment (scope may be wider than the sintering line)"),
        earliest_year=V(2026, "S24", "2,000 t/yr by 2026 (PLAN); first commercial shipment reported"),
        lead_time=_lead(1, "S24", "first shipment reported in 2025"),
        all_or_nothing="yes",
        funder="DoD",
        source="S24",
        note="funder: DoD $94.1 M (plus a $111.9 M 48C tax credit) (S24); built in 2025, capex sunk in reality",
    ),
    dict(
        project="Vulcan Elements Benson",
        facility="Vulcan Elements Benson",
        capacity=V(10_000, "S74", "10,000 t/yr NdFeB"),
        capex=V(1e9, "S74", "~$1 bn"),
        earliest_year=V(2027, "S74", "initial operations 2027"),
        lead_time=_lead(2, "S74", "financing Nov 2025, initial operations 2027"),
        all_or_nothing="yes",
        funder="DoD",
        source="S74",
        note="funder: Office of Strategic Capital (DoD) $620 M loan, plus $50 M CHIPS and $550 M private (S74)",
    ),
    dict(
        project="USA Rare Earth Stillwater magnets",
        facility="USA Rare Earth Stillwater magnets",
        capacity=V(4_800, "S75", "1,200 t/yr initial, 4,800 t/yr nameplate"),
        capex=_capex_total(V(83_300, "S75; ESTIMATE", ">$100 M / 1,200 t/yr initial phase (S75), applied to the "
                             "nameplate (conservative: S75 also implies >$21k per t/yr on the nameplate)"), 4_800,
                           "phase 1's cost per t"),
        earliest_year=None,
        lead_time=_lead(1, "S75; ESTIMATE", "first batch of magnets produced (S75)"),
        all_or_nothing="no",
        note="private (USA Rare Earth); divisible, so that later phases never come without the first "
        "(25 % = the 1,200 t/yr initial phase)",
    ),
]  # fmt: skip

# ---------------------------------------------------------------------------
# Demand (t/yr, 2025). Oxide rows = non-magnet uses (catalysts, glass,
# polishing, batteries, ceramics, phosphors); the NdFeB chain is modelled, so
# oxide needed by magnet makers is NOT included. US National Defense
# Stockpile purchases are stockpiles (STOCKPILES), not demand. Magnet rows
# grow at MAGNET_GROWTH (IEA), the others at the demand_growth setting (0).
# ---------------------------------------------------------------------------

US_CONS = 9_010  # t REO, US apparent consumption compounds & metals 2024 [S1]
JP_NONMAG = 17_400 - 4_750  # S29 total 2020 minus magnet use (S34 midpoint)
JP_AUTOCAT = 4_750  # S34 midpoint of 4,500-5,000 t REO
JP_REST = JP_NONMAG - JP_AUTOCAT  # 7,900 t REO

DEMAND = [
    ("USA", "ndfeb_magnet", V(7_000, "S25; S26", "US magnet demand ~7,000 t/yr "
     "(S25); cf. 7,446 t imported from China in 2024 (S26); the NDS's 450 t "
     "block is a stockpile"), None),
    ("USA", "ndpr_oxide", V(round(0.05 * US_CONS, -1), "S1; ESTIMATE", "5 % of 9,010 t REO "
     "(2024 consumption, S1) for glass/ceramics/catalysts; the NDS's 300 t is a stockpile"),
     None),
    ("USA", "la_oxide", V(round(0.50 * US_CONS, -1), "S1; S53; ESTIMATE", "50 % of 9,010 t "
     "(FCC catalysts, the leading US use, are La-rich: S1, S53); the NDS's 1,100 t is a stockpile"),
     None),
    ("USA", "ce_oxide", V(round(0.35 * US_CONS, -1), "S1; S53; ESTIMATE", "35 % of 9,010 t "
     "(autocatalysts, polishing, glass)"), None),
    ("USA", "y_oxide", V(300, "S3", "US yttrium apparent consumption 2025e"),
     None),
    ("USA", "dy_oxide", V(60, "S2; ESTIMATE", "60 % of US heavy-RE imports "
     "100 t (2025e, S2)"), None),
    ("USA", "tb_oxide", V(20, "S2; ESTIMATE", "20 % of US heavy-RE imports "
     "100 t (2025e, S2)"), V(10_000_000, "S18; ESTIMATE", "above Europe's Tb "
     "oxide price $3.6 M/t (S18): Tb goes unmet only when clean supply would cost more than that")),
    ("JPN", "ndfeb_magnet", V(12_400, "S29; S34; S48", "Japan NdFeB "
     "production 12,400 t (2020, S29) as proxy for use; cf. 4,500-5,000 t REO "
     "for magnets (S34) / 0.37 t REO per t (S48) = 12,200-13,500 t"), None),
    ("JPN", "ce_oxide", V(0.90 * JP_AUTOCAT + 0.35 * JP_REST, "S29; S34; ESTIMATE", "0.90 x 4,750 t "
     "autocatalysts (S34) + 0.35 x 7,900 t other non-magnet use"), None),
    ("JPN", "la_oxide", V(0.10 * JP_AUTOCAT + 0.40 * JP_REST, "S29; S34; ESTIMATE", "0.10 x 4,750 t "
     "autocatalysts + 0.40 x 7,900 t other (NiMH, glass, FCC)"), None),
    ("JPN", "ndpr_oxide", V(0.10 * JP_REST, "S29; S34; ESTIMATE", "0.10 x 7,900 t other "
     "non-magnet use (ceramics, glass, NiMH mischmetal)"), None),
    ("JPN", "y_oxide", V(round(0.12 * JP_REST, -1), "S29; S34; ESTIMATE", "0.12 x 7,900 t other "
     "non-magnet use (ceramics, phosphors), rounded"), None),
    ("JPN", "dy_oxide", V(40, "ESTIMATE", "non-magnet Dy (MLCC dielectrics, "
     "phosphors); part of the remaining 3 % of 7,900 t"), None),
    ("JPN", "tb_oxide", V(15, "ESTIMATE", "non-magnet Tb (phosphors, "
     "magnetostrictives); part of the remaining 3 % of 7,900 t"),
     V(10_000_000, "S18; ESTIMATE", "as the US Tb row")),
]  # fmt: skip

# ---------------------------------------------------------------------------
# Lanes
# ---------------------------------------------------------------------------

CONC_FREIGHT = V(
    100,
    "S47; ESTIMATE",
    "USD/t REO for bulk concentrate: $28-90/t gross (S47) / ~60 % REO grade",
)
IEEPA = 0.20  # S41: 10 % Feb + 10 % Mar 2025 (cut to 10 % on 10 Nov 2025)
US_TARIFFS_ON_CHINA = [
    # product, tariff fraction, sources, note
    ("ndfeb_magnet", 0.321, "S41; S40", "all-in during the May 2025 truce: "
     "2.1 % MFN + 20 % IEEPA + 10 % reciprocal (S41); Section 301 25 % only "
     "from 1 Jan 2026 (S40)"),
    ("ndpr_oxide", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("dy_oxide", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("tb_oxide", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("la_oxide", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("y_oxide", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("eu_oxide", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("other_reo", IEEPA, "S1; S41", "oxides MFN free (S1) + 20 % IEEPA"),
    ("ce_oxide", 0.255, "S1; S41", "Ce compounds 5.5 % MFN (S1) + 20 % IEEPA"),
    ("ndpr_metal", 0.25, "S1; S41", "RE metals 5 % MFN (S1) + 20 % IEEPA"),
    ("dy_metal", 0.25, "S1; S41", "RE metals 5 % MFN (S1) + 20 % IEEPA"),
    ("tb_metal", 0.25, "S1; S41", "RE metals 5 % MFN (S1) + 20 % IEEPA"),
]  # fmt: skip
# From 2026 (policy as scheduled in the facts, kept to 2035): Section 301 on
# Chinese permanent magnets 0 -> 25 % from 1 Jan 2026 [S40]; IEEPA cut from
# 20 % to 10 % on 10 Nov 2025 [S39]; reciprocal 10 % held (until 10 Nov 2026,
# later unknown: kept) [S39]. Rows with year 2026 replace the 2025 rows.
IEEPA_2026 = 0.10  # S39
US_TARIFFS_ON_CHINA_2026 = [
    ("ndfeb_magnet", 0.471, "S41; S40; S39", "2.1 % MFN (S41) + 25 % Section 301 from 1 Jan 2026 (S40) + "
     "10 % IEEPA after the 10 Nov 2025 cut + 10 % reciprocal (S39)"),
    *[(p, IEEPA_2026, "S1; S39", "oxides MFN free (S1) + 10 % IEEPA after the 10 Nov 2025 cut (S39)")
      for p in ("ndpr_oxide", "dy_oxide", "tb_oxide", "la_oxide", "y_oxide", "eu_oxide", "other_reo")],
    ("ce_oxide", 0.155, "S1; S39", "Ce compounds 5.5 % MFN (S1) + 10 % IEEPA (S39)"),
    *[(p, 0.15, "S1; S39", "RE metals 5 % MFN (S1) + 10 % IEEPA (S39)")
      for p in ("ndpr_metal", "dy_metal", "tb_metal")],
]  # fmt: skip
TARIFF_YEAR_2026 = V(
    2026, "S40; S39", "Section 301 on magnets from 1 Jan 2026 (S40); IEEPA at 10 % from 10 Nov 2025 (S39)"
)
# China's licensing (Ann. No. 18, 4 Apr 2025) is not a ban: licences were
# granted and exports resumed (S28). Rows are written with allowed = yes so
# that a user can switch them to "no" for an export-ban scenario.
CHINA_LICENSED = [
    ("dy_oxide", "Dy"), ("tb_oxide", "Tb"), ("y_oxide", "Y"),
    ("other_reo", "Sm, Gd, Lu (+Ho, Er, Tm, Eu, Yb from 8 Nov 2025, suspended)"),
    ("dy_metal", "Dy"), ("tb_metal", "Tb"), ("ndfeb_magnet", "Tb/Dy content"),
]  # fmt: skip

LANES = (
    [
        dict(frm="*", to="*", product=c, transport_cost=CONC_FREIGHT,
             note="bulk concentrate freight")
        for c in CONCENTRATES
    ]
    + [
        dict(frm="MMR", to="*", product="*", allowed="no",
             source="S56; ESTIMATE",
             note="Myanmar ore reaches users only via Chinese separation "
                  "(S56: ~57 % of China's RE imports)"),
        dict(frm="MMR", to="CHN", product="*", allowed="yes", source="S56",
             note="Myanmar -> China border trade"),
        dict(frm="USA", to="CHN", product="bastnasite_conc_mountain_pass",
             tariff=V(0.25, "S87", "China tariff on US RE concentrates since "
                      "Jun 2019 (LOWREL); 2025 escalation not in the facts"),
             note="China import tariff"),
    ]
    + [
        dict(frm="CHN", to="USA", product=p,
             tariff=V(t, src, note), note="US tariff on Chinese origin, 2025")
        for p, t, src, note in US_TARIFFS_ON_CHINA
    ]
    + [
        dict(frm="CHN", to="USA", product=p, year=TARIFF_YEAR_2026,
             tariff=V(t, src, note), note="US tariff on Chinese origin from 2026")
        for p, t, src, note in US_TARIFFS_ON_CHINA_2026
    ]
    + [
        dict(frm="CHN", to="*", product=p, allowed="yes", source="S37; S38; S39",
             note=f"export licence required since 4 Apr 2025 ({what}; Ann. 18); "
                  "licensed, not banned - set to no for a ban scenario")
        for p, what in CHINA_LICENSED
    ]
)  # fmt: skip

# ---------------------------------------------------------------------------
# Stockpiles (facts section 8). Cover (min_days) is in days of the country's
# demand row for the product in each year (SPEC). Initial stocks: the facts
# have no holdings (JOGMEC volumes are secret, US NDS rare-earth tonnage is a
# gap), so every stock starts at 0 and is bought in 2025.
# ---------------------------------------------------------------------------

HOLDING_SHARE = 0.02  # of the 2025 product value per year, see _holding


def _holding(product: str) -> V:
    value = {p: v for p, _, v, _ in PRODUCTS}[product]
    return V(
        round(HOLDING_SHARE * value.value),
        _join_ids(value.source, "ESTIMATE"),
        f"2 % of the 2025 value ${value.value:,.0f}/t per year for warehousing, insurance and security "
        "(ESTIMATE: no storage cost in the facts; the cost of the money tied up is already in the discounting)",
    )


def _demand_of(country: str, product: str) -> float:
    return next(q.value for c, p, q, _ in DEMAND if (c, p) == (country, product))


def _nds_days(product: str, tonnes: float) -> V:
    quantity = _demand_of("USA", product)
    return V(
        round(tonnes / quantity * 365, 1),
        "S1; DERIVED",
        f"NDS FY2025 potential acquisition of {tonnes:,.0f} t (S1) as days of the 2025 US demand row "
        f"({quantity:,.0f} t/yr): {tonnes:,.0f} / {quantity:,.0f} x 365",
    )


def _nds_max(product: str, tonnes: float) -> V:
    """The largest stock the acquisition plan asks for over the horizon: the cover in the last year, in t."""
    days = _nds_days(product, tonnes)
    growth = MAGNET_GROWTH.value if product == "ndfeb_magnet" else OTHER_GROWTH.value
    last = _demand_of("USA", product) * (1 + growth) ** (LAST_YEAR - FIRST_YEAR)
    return V(
        math.ceil(days.value / 365 * last * 10) / 10,
        "S1; S36; DERIVED; ESTIMATE",
        f"the NDS is a defence stockpile that buys to its plan, not a trader: its ceiling is the largest cover "
        f"the plan asks for, {days.value} days of the {LAST_YEAR} demand ({last:,.0f} t/yr); without a ceiling "
        "the plan, which foresees every tariff, cap and ban, would use it as a commercial warehouse "
        "(no figure in the facts, S36)",
    )


JOGMEC_DAYS = 60  # S35: "generally 60 days of consumption" (2020 strategy)
JOGMEC_MAX_DAYS = 180  # S35: "up to ~180 days for high-risk metals"
MAGNET_METAL_PER_T = {"ndpr": MAGNET_ND_PR, "dy": MAGNET_DY, "tb": MAGNET_TB}


def _jogmec_days(element: str) -> V:
    """60 days of Japan's whole use of the oxide (magnets through the recipe + the oxide row), in days of the row."""
    row = _demand_of("JPN", f"{element}_oxide")
    metal_per_magnet = round(MAGNET_METAL_PER_T[element].value / MAGNET_YIELD.value, 6)
    in_magnets = _demand_of("JPN", "ndfeb_magnet") * metal_per_magnet * OXIDE_PER_METAL[element].value
    days = JOGMEC_DAYS * (row + in_magnets) / row
    return V(
        round(days, 1),
        "S35; S29; DERIVED",
        f"JOGMEC target 60 days of consumption (S35) of Japan's whole use in 2025: "
        f"{in_magnets:,.0f} t oxide in 12,400 t of magnets (recipe) + {row:,.0f} t non-magnet row; "
        f"expressed in days of the row: 60 x {row + in_magnets:,.0f} / {row:,.0f}",
    )


def _jogmec_max(element: str) -> V:
    """180 days of the same whole use (S35: up to ~180 days for high-risk metals), in t."""
    days = _jogmec_days(element)
    row = _demand_of("JPN", f"{element}_oxide")
    return V(
        round(row * days.value / 365 * JOGMEC_MAX_DAYS / JOGMEC_DAYS, 1),
        "S35; DERIVED",
        f"up to ~180 days of consumption for high-risk metals (S35): 3 x the 60-day cover, "
        f"{row:,.0f} t/yr x {days.value} days / 365 x 3",
    )


ZERO_INITIAL_NDS = V(
    0,
    "S36; ESTIMATE",
    "NDS rare-earth holdings are a gap in the facts (S36: $912.3 M of "
    "materials, no tonnage by material): 0, the stock is bought from 2025",
)
ZERO_INITIAL_JOGMEC = V(0, "S35; ESTIMATE", "JOGMEC volumes are secret (S35): 0, the stock is bought from 2025")

STOCKPILES = [
    dict(country="USA", product="ndfeb_magnet", initial=ZERO_INITIAL_NDS, min_days=_nds_days("ndfeb_magnet", 450),
         max=_nds_max("ndfeb_magnet", 450),
         holding_cost=_holding("ndfeb_magnet"), source="S1; S36",
         note="US National Defense Stockpile: NdFeB magnet block"),
    dict(country="USA", product="ndpr_oxide", initial=ZERO_INITIAL_NDS, min_days=_nds_days("ndpr_oxide", 300),
         max=_nds_max("ndpr_oxide", 300),
         holding_cost=_holding("ndpr_oxide"), source="S1; S36",
         note="US National Defense Stockpile: NdPr oxide"),
    dict(country="USA", product="la_oxide", initial=ZERO_INITIAL_NDS, min_days=_nds_days("la_oxide", 1_100),
         max=_nds_max("la_oxide", 1_100),
         holding_cost=_holding("la_oxide"), source="S1; S36",
         note="US National Defense Stockpile: lanthanum"),
    *[
        dict(country="JPN", product=f"{e}_oxide", initial=ZERO_INITIAL_JOGMEC, min_days=_jogmec_days(e),
             max=_jogmec_max(e), holding_cost=_holding(f"{e}_oxide"), source="S35",
             note="JOGMEC national stockpile (60-day target; magnet rare earths assumed, holdings secret)")
        for e in ("ndpr", "dy", "tb")
    ],
]  # fmt: skip

# ---------------------------------------------------------------------------
# Budgets: capex each public funder can commit per decision year (facts 2,
# 3, 5b, 10b). Only DoD and DFC have figures; EXIM, JOGMEC and JBIC are named
# by the framework but have no rare-earth figure in the facts, and no project
# of the facts names them (their rows are there for users to assign projects).
# ---------------------------------------------------------------------------

DFC_LOAN = 465e6  # S2
DOD_2025 = 94.1e6 + 30e6 + 258e6 + 400e6 + 620e6
DOD_RUN_RATE = 400e6 + 150e6 + 620e6
NO_FIGURE = V(
    DFC_LOAN,
    "S2; ESTIMATE",
    "no rare-earth figure in the facts: the one sourced public loan of this "
    "kind, DFC's $465 M (S2), as the order of one deal a year",
)

BUDGETS = [
    dict(funder="DoD", year=None, budget=V(DOD_2025, "S24; S73; S14; S74; DERIVED", "DoD money named in the facts "
         "for this case's projects not yet online: e-VAC $94.1 M (S24), Lynas Seadrift $30 M LRE + ~$258 M HRE "
         "(S73), MP $400 M preferred (S14), Office of Strategic Capital $620 M loan to Vulcan (S74)"),
         note="2025 (decisions taken before 2025 count in 2025)"),
    dict(funder="DoD", year=V(2026, "ESTIMATE", "from 2026"), budget=V(DOD_RUN_RATE, "S14; S74; ESTIMATE",
         "new DoD rare-earth commitments of 2025 as a yearly run-rate: MP $400 M preferred + $150 M HRE loan "
         "(Jul 2025, S14), OSC $620 M (Nov 2025, S74); no multi-year budget in the facts"),
         note="2026 on"),
    dict(funder="DFC", year=None, budget=V(DFC_LOAN, "S2", "$465 M loan to a Brazilian ionic-clay producer, "
         "Nov 2025"), note="2025"),
    dict(funder="DFC", year=V(2026, "ESTIMATE", "from 2026"), budget=V(DFC_LOAN, "S2; ESTIMATE", "2025's $465 M "
         "(S2) as a yearly run-rate; no multi-year budget in the facts"), note="2026 on"),
    dict(funder="EXIM", year=None, budget=NO_FIGURE, note="US Export-Import Bank; no project in the facts"),
    dict(funder="JOGMEC", year=None, budget=NO_FIGURE, note="Japan Organization for Metals and Energy Security; "
         "no project in the facts"),
    dict(funder="JBIC", year=None, budget=NO_FIGURE, note="Japan Bank for International Cooperation; no project "
         "in the facts"),
]  # fmt: skip

# ---------------------------------------------------------------------------
# Variants: the base case (today's policy) and example workbooks built from
# the same tables, each a small change written as rows of the input format.
# ---------------------------------------------------------------------------

BAN_PRODUCTS = ["dy_oxide", "tb_oxide", "dy_metal", "tb_metal", "ndfeb_magnet"]
BAN_FROM, BAN_UNTIL = 2027, 2028
CAP_FROM = 2028


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    case_name: str
    description: str
    ban: bool = False  # Chinese Dy/Tb exports banned BAN_FROM..BAN_UNTIL, stocks released then
    cap: float | None = None  # any-stage cap on every demand row from CAP_FROM


VARIANTS = {
    v.name: v
    for v in (
        Variant("base_case", DEFAULT_OUTPUT, "base_case_2025_2035", "today's policy, 2025-2035"),
        Variant(
            "dy_tb_ban_2027",
            HERE / "examples" / "dy_tb_ban_2027.xlsx",
            "dy_tb_ban_2027",
            "base case + Chinese exports of Dy, Tb and NdFeB magnets banned in 2027-2028, stocks released then",
            ban=True,
        ),
        Variant(
            "cap50_from_2028",
            HERE / "examples" / "cap50_from_2028.xlsx",
            "cap50_from_2028",
            "base case + at most 50 % China exposure (any stage) on every demand row from 2028",
            cap=0.5,
        ),
        Variant(
            "cap20_from_2028",
            HERE / "examples" / "cap20_from_2028.xlsx",
            "cap20_from_2028",
            "base case + at most 20 % China exposure (any stage) on every demand row from 2028",
            cap=0.2,
        ),
    )
}

# ---------------------------------------------------------------------------
# Derived tables
# ---------------------------------------------------------------------------

Row = dict  # a sheet row: column -> value (V, str or None)
Log = list  # sources sheet lines: (sheet, item, source, note)


def separation_outputs(conc: str) -> dict[str, V]:
    """Oxide coefficients of sep_<conc>: composition share x recovery."""
    comp, src, note, _ = CONCENTRATES[conc]
    shares: dict[str, float] = {}
    for element, pct in comp.items():
        product = ELEMENT_PRODUCT.get(element, "other_reo")
        shares[product] = shares.get(product, 0.0) + pct
    named = sum(v for k, v in shares.items() if k != "other_reo")
    shares["other_reo"] = max(0.0, 100.0 - named)  # lump + unreported rest
    rec = SEPARATION_RECOVERY.value
    out = {}
    for product in OXIDES:
        pct = shares.get(product, 0.0)
        if pct <= 0:
            continue
        detail = (
            "100 % minus named oxides (lumped Sm, Gd, Ho, Er, Yb, unreported)"
            if product == "other_reo"
            else f"{pct:.4g} % of TREO"
        )
        out[product] = V(
            round(pct / 100 * rec, 6),
            _join_ids(src, "ESTIMATE"),
            f"{detail} x recovery {rec} ({note})",
        )
    return out


def sep_process(conc: str) -> str:
    short = conc.split("_conc_")[1]
    kind = conc.split("_conc_")[0]
    return f"sep_{kind}_{short}"


def mine_process(conc: str) -> str:
    return "mine_" + conc.split("_conc_")[1]


METAL_PROCESS = {m: f"metal_{m}" for m in ("ndpr", "dy", "tb")}
MAGNET_PROCESS = "magnet_ndfeb_sintered"


def build_processes() -> list[Row]:
    rows: list[Row] = []

    def add(process, stage, product, coef):
        rows.append(dict(process=process, stage=stage, product=product, coefficient=coef))

    for conc in CONCENTRATES:
        add(mine_process(conc), "mining", conc, V(1, "DEFINITION", "activity = 1 t REO in concentrate"))
    for conc in CONCENTRATES:
        p = sep_process(conc)
        add(p, "separation", conc, V(-1, "DEFINITION", "activity = 1 t REO of concentrate fed"))
        for product, coef in separation_outputs(conc).items():
            add(p, "separation", product, coef)
    for m, p in METAL_PROCESS.items():
        f = OXIDE_PER_METAL[m]
        add(p, "metal", f"{m}_oxide", V(-f.value, f.source, f.note + "; no metal-making loss assumed (ESTIMATE)"))
        add(p, "metal", f"{m}_metal", V(1, "DEFINITION", "activity = 1 t metal"))
    y = MAGNET_YIELD
    for m, share in (("ndpr", MAGNET_ND_PR), ("dy", MAGNET_DY), ("tb", MAGNET_TB)):
        add(
            MAGNET_PROCESS,
            "magnet",
            f"{m}_metal",
            V(
                -round(share.value / y.value, 6),
                f"{share.source}; {y.source}",
                f"{share.value} t per t alloy / yield {y.value}: {share.note}; yield: {y.note}",
            ),
        )
    add(
        MAGNET_PROCESS,
        "magnet",
        "ndfeb_magnet",
        V(
            1,
            "DEFINITION",
            "activity = 1 t finished magnet; Fe (~65 %) and B (~1 %) are not modelled (cheap, non-critical)",
        ),
    )
    return rows


def build_facilities() -> tuple[list[Row], list[Row]]:
    fac_rows: list[Row] = []
    fp_rows: list[Row] = []

    def add(spec: dict, stage: str, processes: list[str]):
        base = dict(
            facility=spec["facility"],
            country=spec["country"],
            restricted=None,
            status=spec.get("status", "operating"),
            owner=spec.get("owner"),
            stage=stage,
        )
        fac_rows.append(dict(base, capacity=spec["capacity"], year=None, note=spec["capacity"].note))
        for year, capacity in spec.get("later", ()):
            fac_rows.append(dict(base, capacity=capacity, year=year, note=capacity.note))
        for p in processes:
            fp_rows.append(dict(facility=spec["facility"], process=p,
                                unit_cost=spec["unit_cost"]))  # fmt: skip

    for s in MINES:
        add(s, "mining", [mine_process(s["product"])])
    for s in SEPARATION:
        add(s, "separation", [sep_process(c) for c in s["feeds"]])
    for s in METAL:
        add(s, "metal", [METAL_PROCESS[m] for m in s["metals"]])
    for s in MAGNETS:
        add(s, "magnet", [MAGNET_PROCESS])
    return fac_rows, fp_rows


FACILITY_SPECS = {
    spec["facility"]: (stage, spec)
    for stage, specs in (("mining", MINES), ("separation", SEPARATION), ("metal", METAL), ("magnet", MAGNETS))
    for spec in specs
}


def build_projects() -> list[Row]:
    rows = []
    for spec in PROJECTS:
        stage, facility = FACILITY_SPECS[spec["facility"]]
        capex, capacity = spec["capex"], spec["capacity"]
        rows.append(
            dict(
                project=spec["project"],
                facility=spec["facility"],
                capacity=capacity,
                capex=capex,
                earliest_year=spec["earliest_year"],
                lead_time=spec["lead_time"],
                life=None,
                all_or_nothing=spec["all_or_nothing"],
                funder=spec.get("funder"),
                fixed_cost=None,
                stage=stage,
                country=facility["country"],
                capex_per_t=V(
                    round(capex.value / capacity.value),
                    _join_ids(capex.source, capacity.source, "DERIVED"),
                    "capex / capacity, for comparison (USD per unit of annual capacity)",
                ),
                note=spec["note"],
                source=spec.get("source"),
            )
        )
    return rows


def build_budgets() -> list[Row]:
    return [dict(b) for b in BUDGETS]


def build_stockpiles() -> list[Row]:
    return [dict(dict(initial_exposed=None, max=None, from_year=None), **s) for s in STOCKPILES]


def build_years(variant: Variant) -> list[Row]:
    rows = []
    for year in YEARS:
        released = variant.ban and BAN_FROM <= year <= BAN_UNTIL
        rows.append(
            dict(
                year=year,
                stock_release="yes" if released else None,
                note="Chinese Dy/Tb export ban: stockpiles may be drawn below their cover" if released else None,
            )
        )
    return rows


def build_exposure_caps(variant: Variant) -> list[Row]:
    if variant.cap is None:
        return []
    return [
        dict(
            country="*",
            product="*",
            stage="any",
            max_share=V(
                variant.cap,
                "SCENARIO",
                f"at most {variant.cap:.0%} of every demand row exposed to China at any stage, from {CAP_FROM}",
            ),
            year=CAP_FROM,
            note=f"cap from {CAP_FROM}; no cap before (the key has no row yet)",
        )
    ]


def build_products() -> list[Row]:
    rows = []
    described = {p: d for p, _, _, d in PRODUCTS}
    valued = {p: (u, v) for p, u, v, _ in PRODUCTS}
    for conc, (_, _, _, desc) in CONCENTRATES.items():
        unit, value = valued.get(conc, ("t REO", None))
        rows.append(dict(product=conc, unit=unit, value=value,
                         surplus_price=SURPLUS_ZERO, description=desc))  # fmt: skip
    for p, unit, value, _ in PRODUCTS:
        if p in CONCENTRATES:
            continue
        rows.append(dict(product=p, unit=unit, value=value,
                         surplus_price=SURPLUS_ZERO, description=described[p]))  # fmt: skip
    return rows


def build_lanes(variant: Variant) -> list[Row]:
    rows = []
    for lane in LANES:
        rows.append(
            dict(
                **{"from": lane["frm"], "to": lane["to"], "product": lane["product"]},
                transport_cost=lane.get("transport_cost"),
                tariff=lane.get("tariff"),
                allowed=lane.get("allowed"),
                max_flow=None,
                year=lane.get("year"),
                note=lane.get("note"),
                source=lane.get("source"),
            )
        )
    if variant.ban:
        for product in BAN_PRODUCTS:
            for year, allowed, note in (
                (
                    BAN_FROM,
                    "no",
                    f"SCENARIO: Chinese exports of {product} banned {BAN_FROM}-{BAN_UNTIL} "
                    "(Ann. 18 licensing turned into a ban, S37)",
                ),
                (BAN_UNTIL + 1, "yes", f"SCENARIO: ban lifted from {BAN_UNTIL + 1}"),
            ):
                rows.append(
                    {"from": "CHN", "to": "*", "product": product, "transport_cost": None, "tariff": None,
                     "allowed": allowed, "max_flow": None, "year": year, "note": note, "source": "S37; SCENARIO"}
                )  # fmt: skip
    return rows


def build_demand() -> list[Row]:
    return [
        dict(
            country=c,
            product=p,
            quantity=q,
            unmet_penalty=pen,
            growth=MAGNET_GROWTH if p == "ndfeb_magnet" else None,
            note=q.note,
        )
        for c, p, q, pen in DEMAND
    ]


def build_settings(variant: Variant) -> list[Row]:
    rows = []
    for key, value, note in SETTINGS:
        if key == "case_name":
            value, note = variant.case_name, variant.description
        if isinstance(value, V):
            note = "; ".join(x for x in (value.note, note) if x)
        rows.append(dict(setting=key, value=value, note=note))
    return rows


# ---------------------------------------------------------------------------
# Sheet assembly: cells get plain values; V's go to the sources log
# ---------------------------------------------------------------------------

SHEET_COLUMNS = {
    "settings": ["setting", "value", "note", "source"],
    "years": ["year", "stock_release", "note"],
    "countries": ["country", "name", "restricted", "group", "note", "source"],
    "products": ["product", "unit", "value", "surplus_price", "description", "source"],
    "processes": ["process", "stage", "product", "coefficient", "source"],
    "facilities": [
        "facility", "country", "capacity", "restricted", "status", "owner", "stage", "year", "note", "source",
    ],
    "facility_processes": ["facility", "process", "unit_cost", "source"],
    "lanes": [
        "from", "to", "product", "transport_cost", "tariff", "allowed",
        "max_flow", "year", "note", "source",
    ],
    "demand": ["country", "product", "quantity", "unmet_penalty", "growth", "note", "source"],
    "exposure_caps": ["country", "product", "stage", "max_share", "year", "note", "source"],
    "projects": [
        "project", "facility", "capacity", "capex", "earliest_year", "lead_time", "life",
        "all_or_nothing", "funder", "fixed_cost", "stage", "country", "capex_per_t", "note", "source",
    ],
    "budgets": ["funder", "budget", "year", "note", "source"],
    "stockpiles": [
        "country", "product", "initial", "initial_exposed", "min_days", "max", "holding_cost",
        "from_year", "note", "source",
    ],
}  # fmt: skip
KEY_COLUMNS = {
    "settings": ["setting"],
    "years": ["year"],
    "countries": ["country"],
    "products": ["product"],
    "processes": ["process", "product"],
    "facilities": ["facility", "year"],
    "facility_processes": ["facility", "process"],
    "lanes": ["from", "to", "product", "year"],
    "demand": ["country", "product"],
    "exposure_caps": ["country", "product", "stage", "year"],
    "projects": ["project"],
    "budgets": ["funder", "year"],
    "stockpiles": ["country", "product"],
}


def _plain(value):
    return value.value if isinstance(value, V) else value


def flatten(sheet: str, rows: list[Row], log: Log) -> list[list]:
    """Turn rows into cell values and log the provenance of every number."""
    cols = SHEET_COLUMNS[sheet]
    out = []
    for row in rows:
        key = " | ".join(
            str(_plain(row.get(k))) for k in KEY_COLUMNS[sheet] if not (k == "year" and row.get(k) is None)
        )
        ids: list[str] = []
        cells = []
        for col in cols:
            if col == "source":
                continue
            val = row.get(col)
            if col in NUMBER_COLUMNS.get(sheet, ()) and isinstance(val, int | float) and not isinstance(val, bool):
                log.append((sheet, f"{key} | {col}", "", "a number without a V(value, source, note)"))
            if isinstance(val, V):
                log.append((sheet, f"{key} | {col}", val.source, val.note))
                ids += [i for i in _ids(val.source) if i not in ids]
                val = val.value
                if isinstance(val, float) and val.is_integer():
                    val = int(val)
            cells.append(val)
        if row.get("source"):
            ids = [i for i in _ids(row["source"]) if i not in ids] + ids
        if len(ids) > 1 and "DEFINITION" in ids:
            ids.remove("DEFINITION")  # units of activity are not data
        if "source" in cols:
            cells.append("; ".join(ids) if ids else None)
        out.append(cells)
    return out


def build_tables(variant: Variant = VARIANTS["base_case"]) -> tuple[dict[str, list[list]], Log]:
    log: Log = []
    facilities, facility_processes = build_facilities()
    countries = [
        dict(country=c, name=n, restricted=r, group=g, note=COUNTRY_NOTES.get(c),
             source="ISO 3166-1")
        for c, n, r, g in COUNTRIES
    ]  # fmt: skip
    rows = {
        "settings": build_settings(variant),
        "years": build_years(variant),
        "countries": countries,
        "products": build_products(),
        "processes": build_processes(),
        "facilities": facilities,
        "facility_processes": facility_processes,
        "lanes": build_lanes(variant),
        "demand": build_demand(),
        "exposure_caps": build_exposure_caps(variant),
        "projects": build_projects(),
        "budgets": build_budgets(),
        "stockpiles": build_stockpiles(),
    }
    tables = {sheet: flatten(sheet, r, log) for sheet, r in rows.items()}
    return tables, log


# Source key for the IDs used (addresses in rare_earth_facts.md, section 0/10g)
SOURCE_KEY = {
    "S1": "USGS Mineral Commodity Summaries 2026, Rare Earths",
    "S2": "USGS MCS 2026, Rare Earths (Heavy)",
    "S3": "USGS MCS 2026, Yttrium",
    "S5": "USGS Minerals Yearbook 2022, Rare Earths tables",
    "S6": "IEA Global Critical Minerals Outlook 2024 (via SEAISI)",
    "S8": "Lynas FY2025 results",
    "S9": "Fastmarkets, Lynas HRE plans (Jun 2024)",
    "S10": "Argus, Lynas first separated Dy (May 2025)",
    "S11": "Lynas new Malaysian HRE plant (Oct 2025)",
    "S12": "MP Materials Q4/FY2025 results",
    "S14": "MP-DoD deal (Jul 2025)",
    "S15": "Energy Fuels White Mesa Phase 1",
    "S16": "Neo Performance (Silmet, Narva)",
    "S17": "Solvay La Rochelle (Apr 2025)",
    "S18": "China quotas (Reuters relay, Project Blue, Benchmark)",
    "S19": "India PIB/IREL (2015)",
    "S20": "Shin-Etsu Vietnam (Reuters 2012, C&EN)",
    "S21": "Argus, Korea first magnet plant (2023)",
    "S22": "Reuters factbox, Western supply chain (Jun 2024)",
    "S23": "Less Common Metals (MMTA, Argus)",
    "S24": "e-VAC Sumter (Fastmarkets)",
    "S25": "IEEE Spectrum 2025; Argus China output",
    "S26": "US NdFeB magnet imports from China 2024",
    "S27": "Adamas, China magnet exports 2024",
    "S28": "China magnet exports 2025 (Reuters/Nikkei relays)",
    "S29": "Adamas, Japan consumption 2020",
    "S34": "Japan New Metal Association via relay (LOWREL); Reuters 2011",
    "S35": "IEA policy database, Japan stockpiling (JOGMEC); Argus 2020",
    "S36": "CRS R47833, National Defense Stockpile (Nov 2023)",
    "S37": "MOFCOM/GAC Announcement No. 18 (4 Apr 2025)",
    "S38": "China Oct 2025 export controls (Ann. 57, 61, 62)",
    "S39": "Nov 2025 US-China deal (Busan)",
    "S40": "Section 301 review (magnets 25 % from 2026)",
    "S41": "HTS 8505 duty rates; June 2025 magnet tariff update",
    "S42": "Argus Europe weekly (Sep 2025)",
    "S43": "Fastmarkets FOB China (Apr 2024)",
    "S44": "Reuters (Jul 2025) ex-China premiums",
    "S45": "SCMP 2019 citing Adamas (Baotou cost)",
    "S46": "MP Q1 2025 cost (AI-written summary, LOWREL)",
    "S47": "Freight (Lynas ship, Argus, Fastmarkets)",
    "S48": "Yang et al. 2017, J. Sustain. Metall.",
    "S49": "NdFeB composition and cost shares (vendor, LOWREL)",
    "S50": "IEEE Electrification Mag. 2017 (GBD); Mainrich (LOWREL)",
    "S51": "Metals 2023, 13(4), 779 (NdFeB scrap review)",
    "S53": "FCC and autocatalysts (several)",
    "S55": "CIAAW standard atomic weights",
    "S56": "Myanmar (CSIS via CNBC); China imports 2024 (Reuters)",
    "S57": "Serra Verde (Project Blue, Fastmarkets)",
    "S59": "REEx on IEEE article (JL MAG, China capacity)",
    "S66": "Arafura Nolans DFS (2019) and 2020 resources",
    "S67": "Arafura Nolans update (May 2021)",
    "S69": "Iluka Eneabba refinery (FID, cost overrun)",
    "S70": "MP Materials production cost and realised price 2021-23",
    "S71": "MP Materials FY2021 10-K Exhibit 96.1",
    "S72": "Energy Fuels White Mesa Phase 2 BFS (Jan 2026)",
    "S73": "Lynas Mt Weld expansion; Seadrift; DoD funding",
    "S74": "Vulcan Elements (OSC loan, ~$1 bn)",
    "S75": "USA Rare Earth Stillwater",
    "S79": "Vendor machining-yield guide (LOWREL)",
    "S81": "Composition blog; Dy intensity page (LOWREL)",
    "S82": "Serra Verde commissioning (mining.com)",
    "S84": "Korea: KSM Metals, Korea Zinc-Alta",
    "S85": "Japanese magnet plants and industry list (mixed, LOWREL)",
    "S86": "Germany/Estonia: VAC, Heraeus, Neo Q3 2025",
    "S87": "China 25 % tariff on US RE concentrates (SCMP 2019, LOWREL)",
    "ESTIMATE": "gap in the facts filled by judgement; reasoning in the note",
    "DERIVED": "computed from cited figures; method in the note",
    "DEFINITION": "modelling convention (unit of activity), not data",
    "SCENARIO": "an example's assumption (inputs/examples), not data: what the example asks",
}

# ---------------------------------------------------------------------------
# Checks: the input rules are the model's (product_problems reads the written
# workbook with the model's own reader); here only what the model cannot know
# ---------------------------------------------------------------------------

NUMBER_COLUMNS = {
    "settings": ["value"],
    "products": ["value", "surplus_price"],
    "processes": ["coefficient"],
    "facilities": ["capacity"],
    "facility_processes": ["unit_cost"],
    "lanes": ["transport_cost", "tariff", "max_flow"],
    "demand": ["quantity", "unmet_penalty", "growth"],
    "exposure_caps": ["max_share"],
    "projects": ["capacity", "capex", "earliest_year", "lead_time", "life", "fixed_cost", "capex_per_t"],
    "budgets": ["budget"],
    "stockpiles": ["initial", "min_days", "max", "holding_cost"],
}
STAGES = {"mining", "separation", "metal", "magnet"}


def provenance_problems(tables: dict[str, list[list]], log: Log) -> list[str]:
    """Numbers without a source, source IDs without a key, stages not of this case."""
    problems: list[str] = []

    def rows_of(sheet: str) -> list[dict]:
        return [dict(zip(SHEET_COLUMNS[sheet], r, strict=True)) for r in tables[sheet]]

    stages = {r["stage"] for r in rows_of("processes")}
    if stages != STAGES:
        problems.append(f"processes: stages {sorted(stages)}, expected {sorted(STAGES)}")
    # every number of a data column has its own sources line (flatten logs a
    # V's provenance, and a plain number with an empty source)
    problems += [f"sources: no provenance for {s} {i}" for s, i, src, _ in log if not src.strip()]
    unknown_ids = {i for _, _, src, _ in log for i in _ids(src) if i not in SOURCE_KEY}
    problems += [f"sources: ID {i} missing from SOURCE_KEY" for i in sorted(unknown_ids)]
    return problems


def product_problems(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) the model's own reader and validator find in ``path``."""
    from model.errors import InputError
    from model.pipeline import load_data
    from model.workbook.numerics import numeric_warnings

    try:
        data = load_data(path)
    except InputError as error:
        return [str(problem) for problem in error.problems], []
    return [], [*data.warnings, *numeric_warnings(data)]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
FIXED_TIME = datetime(2025, 12, 31, tzinfo=timezone.utc)
NUMBER_FORMATS = {
    "coefficient": "0.000000",
    "tariff": "0.000",
    "max_share": "0.00",
}


def write_workbook(tables: dict[str, list[list]], log: Log, path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet, rows in tables.items():
        ws = wb.create_sheet(sheet)
        header = SHEET_COLUMNS[sheet]
        ws.append(header)
        for r in rows:
            ws.append(r)
        _style(ws, header)
    ws = wb.create_sheet("sources")
    header = ["sheet", "item", "source", "note"]
    ws.append(header)
    for line in log:
        ws.append(list(line))
    for sid, title in SOURCE_KEY.items():
        ws.append(["source_key", sid, title, "addresses: rare_earth_facts.md, "
                   "section 0 and 10g"])  # fmt: skip
    _style(ws, header)
    wb.properties.creator = "inputs/build_base_case.py"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    _write_atomically(_reproducible(buf.getvalue()), path)


def _style(ws, header: list[str]) -> None:
    for i, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        width = max([len(name)] + [len(str(c.value or "")) for c in ws[get_column_letter(i)]])
        ws.column_dimensions[get_column_letter(i)].width = min(max(10, width + 2), 60)
        fmt = NUMBER_FORMATS.get(name)
        for c in ws[get_column_letter(i)][1:]:
            if isinstance(c.value, (int, float)):
                c.number_format = fmt or ("#,##0" if float(c.value).is_integer() else "General")
            elif name in ("note", "description"):
                c.alignment = Alignment(wrap_text=False)
    ws.freeze_panes = "A2"


def _reproducible(data: bytes) -> bytes:
    """The zip rewritten with fixed timestamps so equal data give equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _fix_core_times(body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 12, 31, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def _write_atomically(data: bytes, path: Path) -> None:
    """``path`` holds ``data`` whole, or is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _fix_core_times(body: bytes) -> bytes:
    import re

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\2", body)


def build_variant(variant: Variant, output: Path, check: bool) -> int:
    """Build one workbook, check it with the model's reader, write it (unless ``check``); the number of problems."""
    tables, log = build_tables(variant)
    problems = provenance_problems(tables, log)
    with tempfile.TemporaryDirectory(prefix=f"{variant.name}-") as folder:
        built = Path(folder) / output.name
        write_workbook(tables, log, built)
        found, warnings = product_problems(built)
        problems += found
        for w in warnings:
            print(f"warning: {w} [{variant.name}]", file=sys.stderr)
        for p in problems:
            print(f"problem: {p} [{variant.name}]", file=sys.stderr)
        if check:
            n = sum(len(r) for r in tables.values())
            print(f"{variant.name}: {n} rows, {len(log)} sourced numbers, {len(problems)} problems")
            return len(problems)
        if problems:
            print(f"{output} was not written", file=sys.stderr)
            return len(problems)
        _write_atomically(built.read_bytes(), output)
    print(f"wrote {output} ({len(log)} sourced numbers)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        help="build only this workbook (default: all of them, or base_case when -o is given)",
    )
    ap.add_argument("-o", "--output", type=Path, help="where to write the one workbook built (default: its own path)")
    ap.add_argument(
        "--check", action="store_true", help="build the workbooks and check them with the model's reader; write nothing"
    )
    args = ap.parse_args(argv)
    if args.output is not None:
        variant = VARIANTS[args.variant or "base_case"]
        targets = [(variant, args.output)]
    elif args.variant is not None:
        targets = [(VARIANTS[args.variant], VARIANTS[args.variant].path)]
    else:
        targets = [(variant, variant.path) for variant in VARIANTS.values()]
    problems = sum(build_variant(variant, output, args.check) for variant, output in targets)
    return 1 if problems else 0


if __name__ == "__main__":
    # Check with the model of this checkout, whatever else is installed.
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())

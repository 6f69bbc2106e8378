"""Build the default input workbook ``inputs/base_case.xlsx`` (2025 base case).

Run from the repository root::

    python inputs/build_base_case.py            # writes inputs/base_case.xlsx
    python inputs/build_base_case.py --check    # builds and checks it, writes nothing
    python inputs/build_base_case.py -o other.xlsx

The workbook is built in a temporary folder and read back with the model's
own reader and validator (``model.pipeline.load_data``, the code every run
uses), so it is checked against the input rules exactly as a run would
check it; only a workbook without problems replaces the output.  The
builder itself checks only what the model cannot know: the provenance of
every number.

Every number below is a ``V(value, source, note)``: ``source`` names the
source IDs of ``../shared/reference/rare_earth_facts.md`` (S1 ... S88),
``DERIVED`` parts are computed from cited figures (method in the note), and
``ESTIMATE`` marks a gap in the facts filled by judgement (reasoning in the
note). The workbook gets a ``sources`` sheet with one line per number, and a
``source`` column on every data sheet. docs/base_case.md explains the case.

The output is byte-for-byte reproducible (fixed zip timestamps and document
properties), so its SHA-256 changes only when the data change.
"""

from __future__ import annotations

import argparse
import io
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


# ---------------------------------------------------------------------------
# Global assumptions
# ---------------------------------------------------------------------------

DISCOUNT_RATE = V(0.08, "ESTIMATE", "real cost of capital for project finance")
ASSET_LIFE = V(20, "ESTIMATE", "years; typical plant life for capital recovery")
# capital recovery factor CRF = r (1+r)^n / ((1+r)^n - 1) = 0.10185 at 8 %, 20 y
CRF = (DISCOUNT_RATE.value * (1 + DISCOUNT_RATE.value) ** ASSET_LIFE.value) / (
    (1 + DISCOUNT_RATE.value) ** ASSET_LIFE.value - 1
)

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

SETTINGS = [
    ("case_name", "base_case_2025", "default case of the tool; single year 2025"),
    ("year", V(2025, "S1", "reference year of mine output and prices"), ""),
    ("currency", "USD", "all money in US dollars of 2025"),
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
    ("default_exposure_cap", None, "blank = uncapped; use run.py --exposure-cap"),
    ("solver_time_limit", None, "blank = no limit"),
    (
        "source",
        "rare_earth_facts.md (source IDs S1-S88); see sheet sources",
        "built by inputs/build_base_case.py; documented in docs/base_case.md",
    ),
    (
        "capex_discount_rate",
        DISCOUNT_RATE,
        "label: expansion_cost = capex per t/yr x capital recovery factor",
    ),
    ("capex_life_years", ASSET_LIFE, "label: asset life for capex annualisation"),
    (
        "capex_recovery_factor",
        V(round(CRF, 5), "DERIVED", "r(1+r)^n/((1+r)^n-1) at r = 8 %, n = 20"),
        "label: expansion_cost (USD per t/yr, per year) = capex_per_t x 0.10185",
    ),
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
# capex = USD per t/yr of new capacity; expansion_cost = capex x CRF.
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
MAGNET_CAPEX_ANALOG = V(
    100_000,
    "S74; DERIVED",
    "Vulcan Elements ~$1 bn for 10,000 t/yr (S74) used as analog",
)
HRE_SEP_CAPEX = V(
    round(180e6 * AUD_USD.value / 5_000, -2),
    "S11; DERIVED",
    "Lynas Malaysian HRE plant A$180 M for 5,000 t/yr feed (S11) x 0.65 USD/AUD",
)
BROWNFIELD_SEP_CAPEX = V(
    round(410e6 / 22_600, -2),
    "S72; DERIVED",
    "Energy Fuels Phase 2 $410 M for +5,000 t/yr NdPr = +22,600 t REO feed (S72), used as brownfield separation analog",
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
        expansion_max=V(8_000, "S57; DERIVED", "to 10,000 t/yr: phase 1 "
                        ">=5,000 t/yr, possible doubling by 2030 (S57)"),
        capex=V(58_100, "S2; ESTIMATE", "$465 M DFC loan to a Brazilian "
                "ionic-clay producer (S2) taken as the cost of +8,000 t/yr"),
        status="expanding",
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
        expansion_max=V(round(ndpr_feed(12_000, MW_NDPR) - 29_000, -2), "S8; DERIVED", "to 12,000 t/yr NdPr (S8): "
                        "12,000/(0.2329 x 0.95) = 54,200 t REO minus 29,000"),
        capex=V(14_700, "S73; DERIVED", "A$570 M expansion (S73) x 0.65 / "
                "25,200 t/yr"),
        status="expanding",
    ),
    dict(
        facility="Nolans mine",
        country="AUS",
        owner="Arafura Rare Earths",
        product="monazite_conc_nolans",
        capacity=V(0, "S66", "not built"),
        unit_cost=EXCN_HARDROCK_MINING,
        expansion_max=V(14_000, "S66; DERIVED", "13,343 t/yr TREO-equivalent "
                        "products (S66) / 0.95 recovery"),
        capex=V(24_400, "S67; ESTIMATE", "A$1.05 bn (S67) x 0.65, half "
                "(ESTIMATE split) on mine + beneficiation, / 14,000 t/yr"),
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
]  # fmt: skip

# hard-rock concentrates that can be traded to other separators (Indian
# monazite stays with IREL, see EXCN_MONAZITE)
TRADED_HARDROCK = [
    "bastnasite_conc_bayan_obo", "bastnasite_conc_sichuan",
    "bastnasite_conc_mountain_pass", "monazite_conc_mount_weld",
    "monazite_conc_nolans", "loparite_conc_russia",
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
        expansion_max=V(5_000, "S11", "5,000 t/yr HRE feedstock (LOWREL)"),
        capex=HRE_SEP_CAPEX,
        status="planned",
    ),
    dict(
        facility="Lynas Seadrift Texas (LRE)",
        country="USA",
        owner="Lynas Rare Earths",
        feeds=["monazite_conc_mount_weld"],
        capacity=V(0, "S73", "not built"),
        unit_cost=EXCN_SEPARATION,
        expansion_max=V(round(ndpr_feed(1_250, MW_NDPR), -1), "S73; DERIVED", "1,250 t/yr NdPr (S73) / "
                        "(0.2329 x 0.95)"),
        capex=V(10_600, "S73; DERIVED", "DoD up to $30 M at 50:50 cost share "
                "= $60 M (S73) / 5,650 t/yr"),
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
        expansion_max=V(round(ndpr_feed(5_000, MW_NDPR), -2), "S72; DERIVED", "Phase 2 +5,000 t/yr NdPr "
                        "(S72) / (0.2329 x 0.95)"),
        capex=BROWNFIELD_SEP_CAPEX,
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
        feeds=["bastnasite_conc_mountain_pass", "loparite_conc_russia"] + EXCN_MONAZITE + EXCN_CLAYS,
        capacity=V(500, "S17; ESTIMATE", "'several hundred tonnes' in 2025"),
        unit_cost=EXCN_SEPARATION,
        expansion_max=V(4_000, "S17", "to ~4,500 t/yr by 2030 (PLAN)"),
        capex=BROWNFIELD_SEP_CAPEX,
        status="expanding",
    ),
    dict(
        facility="Carester Caremag (Lacq)",
        country="FRA",
        owner="Carester",
        feeds=EXCN_CLAYS,
        capacity=V(0, "S22", "PLAN from 2026"),
        unit_cost=EXCN_SEPARATION,
        expansion_max=V(5_000, "S22", "5,000 t/yr HRE concentrate"),
        capex=HRE_SEP_CAPEX,
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
        feeds=EXCN_MONAZITE + EXCN_CLAYS,
        capacity=V(1_000, "S20", "~1,000 t/yr RE refining"),
        unit_cost=EXCN_SEPARATION,
    ),
    dict(
        facility="Shin-Etsu Takefu refinery",
        country="JPN",
        owner="Shin-Etsu Chemical",
        feeds=EXCN_MONAZITE + EXCN_CLAYS,
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
        expansion_max=V(14_000, "S66; DERIVED", "as the Nolans mine"),
        capex=V(24_400, "S67; ESTIMATE", "other half of A$1.05 bn (S67)"),
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
        expansion_max=V(2_640, "S14; DERIVED", "metal for the 7,000 t/yr 10X "
                        "magnet plant (S14) at 0.3775 t/t"),
        capex=METAL_CAPEX,
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
        expansion_max=V(612, "S84; DERIVED", "full plan 1,900 t alloy x 0.302 "
                        "+ 72 t Dy = 646 t, minus 34"),
        capex=METAL_CAPEX,
        status="expanding",
    ),
    dict(
        facility="Less Common Metals Ellesmere Port",
        country="GBR",
        owner="Less Common Metals",
        metals=["ndpr"],
        capacity=V(110, "S23", "2 cells x 55 t/yr Nd/NdPr metal"),
        unit_cost=EXCN_METAL,
        expansion_max=V(220, "S23", "expandable to 6 cells = 330 t/yr"),
        capex=METAL_CAPEX,
        status="expanding",
    ),
    dict(
        facility="USA Rare Earth Stillwater metal",
        country="USA",
        owner="USA Rare Earth",
        metals=["ndpr"],
        capacity=V(0, "S75", "not in production"),
        unit_cost=EXCN_METAL,
        expansion_max=V(1_812, "S75; DERIVED", "metal for 4,800 t/yr magnets "
                        "(S75) at 0.3775 t/t"),
        capex=METAL_CAPEX,
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
        expansion_max=V(500, "S85", "building sized for 1,000 t/yr"),
        capex=V(42_400, "S16; DERIVED", "Neo Narva analog EUR 37.5k per t/yr "
                "(S16) x 1.13"),
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
        expansion_max=V(5_000, "S16", "2,000 t/yr phase 1, 5,000 t/yr phase 2"),
        capex=V(42_400, "S16; DERIVED", "EUR 75 M / 2,000 t/yr (S16) x 1.13"),
        status="commissioning",
    ),
    dict(
        facility="MP Materials Independence magnets (Fort Worth)",
        country="USA",
        owner="MP Materials",
        capacity=V(1_000, "S25; S12", "1,000 t/yr initial, first commercial "
                   "magnets Q4 2025"),
        unit_cost=EXCN_MAGNET,
        expansion_max=V(2_000, "S25", "scalable to 2,000-3,000 t/yr"),
        capex=MAGNET_CAPEX_ANALOG,
        status="expanding",
    ),
    dict(
        facility="MP Materials 10X Northlake",
        country="USA",
        owner="MP Materials",
        capacity=V(0, "S12", "commissioning 2028"),
        unit_cost=EXCN_MAGNET,
        expansion_max=V(7_000, "S14; S12; DERIVED", "10,000 t/yr MP total "
                        "incl. Independence"),
        capex=MAGNET_CAPEX_ANALOG,
        status="planned",
    ),
    dict(
        facility="e-VAC Magnetics Sumter",
        country="USA",
        owner="Vacuumschmelze (e-VAC)",
        capacity=V(0, "S24; ESTIMATE", "first commercial shipment reported; "
                   "treated as not yet producing in 2025"),
        unit_cost=EXCN_MAGNET,
        expansion_max=V(2_000, "S24", "2,000 t/yr by 2026"),
        capex=V(250_000, "S24; DERIVED", ">$500 M / 2,000 t/yr (scope may be "
                "wider than the sintering line)"),
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
        expansion_max=V(10_000, "S74", "10,000 t/yr NdFeB"),
        capex=MAGNET_CAPEX_ANALOG,
        status="planned",
    ),
    dict(
        facility="USA Rare Earth Stillwater magnets",
        country="USA",
        owner="USA Rare Earth",
        capacity=V(0, "S75", "first batch only"),
        unit_cost=EXCN_MAGNET,
        expansion_max=V(4_800, "S75", "4,800 t/yr nameplate"),
        capex=V(83_300, "S75; DERIVED", ">$100 M / 1,200 t/yr initial phase, "
                "applied to the nameplate (conservative)"),
        status="planned",
    ),
]  # fmt: skip

# ---------------------------------------------------------------------------
# Demand (t/yr, 2025). Oxide rows = non-magnet uses (catalysts, glass,
# polishing, batteries, ceramics, phosphors) plus US stockpile purchases; the
# NdFeB chain is modelled, so oxide needed by magnet makers is NOT included.
# ---------------------------------------------------------------------------

US_CONS = 9_010  # t REO, US apparent consumption compounds & metals 2024 [S1]
JP_NONMAG = 17_400 - 4_750  # S29 total 2020 minus magnet use (S34 midpoint)
JP_AUTOCAT = 4_750  # S34 midpoint of 4,500-5,000 t REO
JP_REST = JP_NONMAG - JP_AUTOCAT  # 7,900 t REO

DEMAND = [
    ("USA", "ndfeb_magnet", V(7_000 + 450, "S25; S1", "US magnet demand ~7,000 t/yr "
     "(S25) + NDS FY2025 450 t NdFeB block (S1); cf. 7,446 t imported from "
     "China in 2024 (S26)"), None),
    ("USA", "ndpr_oxide", V(round(0.05 * US_CONS + 300, -1), "S1; ESTIMATE", "5 % of 9,010 t REO "
     "(2024 consumption, S1) for glass/ceramics/catalysts = 450 + NDS 300 t"),
     None),
    ("USA", "la_oxide", V(round(0.50 * US_CONS + 1_100, -1), "S1; S53; ESTIMATE", "50 % of 9,010 t "
     "(FCC catalysts, the leading US use, are La-rich: S1, S53) + NDS 1,100 t"),
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
        dict(frm="CHN", to="*", product=p, allowed="yes", source="S37; S38; S39",
             note=f"export licence required since 4 Apr 2025 ({what}; Ann. 18); "
                  "licensed, not banned - set to no for a ban scenario")
        for p, what in CHINA_LICENSED
    ]
)  # fmt: skip

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
        exp = spec.get("expansion_max")
        capex = spec.get("capex")
        exp_cost = None
        if capex is not None:
            exp_cost = V(
                round(capex.value * CRF),
                _join_ids(capex.source, "DERIVED"),
                f"capex ${capex.value:,.0f} per t/yr x CRF {CRF:.5f} (8 %, 20 y): {capex.note}",
            )
        fac_rows.append(
            dict(
                facility=spec["facility"],
                country=spec["country"],
                capacity=spec["capacity"],
                restricted=None,
                expansion_max=exp if exp is not None else V(0, "DEFINITION", "none"),
                expansion_cost=exp_cost,
                status=spec.get("status", "operating"),
                owner=spec.get("owner"),
                stage=stage,
                capex_per_t=capex,
                note=spec["capacity"].note,
            )
        )
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


def build_lanes() -> list[Row]:
    rows = []
    for lane in LANES:
        rows.append(
            dict(
                **{"from": lane["frm"], "to": lane["to"], "product": lane["product"]},
                transport_cost=lane.get("transport_cost"),
                tariff=lane.get("tariff"),
                allowed=lane.get("allowed"),
                max_flow=None,
                note=lane.get("note"),
                source=lane.get("source"),
            )
        )
    return rows


def build_demand() -> list[Row]:
    return [dict(country=c, product=p, quantity=q, unmet_penalty=pen, note=q.note) for c, p, q, pen in DEMAND]


def build_settings() -> list[Row]:
    rows = []
    for key, value, note in SETTINGS:
        if isinstance(value, V):
            note = "; ".join(x for x in (value.note, note) if x)
        rows.append(dict(setting=key, value=value, note=note))
    return rows


# ---------------------------------------------------------------------------
# Sheet assembly: cells get plain values; V's go to the sources log
# ---------------------------------------------------------------------------

SHEET_COLUMNS = {
    "settings": ["setting", "value", "note", "source"],
    "countries": ["country", "name", "restricted", "group", "note", "source"],
    "products": ["product", "unit", "value", "surplus_price", "description", "source"],
    "processes": ["process", "stage", "product", "coefficient", "source"],
    "facilities": [
        "facility", "country", "capacity", "restricted", "expansion_max",
        "expansion_cost", "status", "owner", "stage", "capex_per_t", "note", "source",
    ],
    "facility_processes": ["facility", "process", "unit_cost", "source"],
    "lanes": [
        "from", "to", "product", "transport_cost", "tariff", "allowed",
        "max_flow", "note", "source",
    ],
    "demand": ["country", "product", "quantity", "unmet_penalty", "note", "source"],
    "exposure_caps": ["country", "product", "stage", "max_share"],
}  # fmt: skip
KEY_COLUMNS = {
    "settings": ["setting"],
    "countries": ["country"],
    "products": ["product"],
    "processes": ["process", "product"],
    "facilities": ["facility"],
    "facility_processes": ["facility", "process"],
    "lanes": ["from", "to", "product"],
    "demand": ["country", "product"],
    "exposure_caps": ["country", "product", "stage"],
}


def _ids(source: str) -> list[str]:
    out: list[str] = []
    for s in source.split(";"):
        if s.strip() and s.strip() not in out:
            out.append(s.strip())
    return out


def _join_ids(*sources: str) -> str:
    return "; ".join(_ids(";".join(sources)))


def flatten(sheet: str, rows: list[Row], log: Log) -> list[list]:
    """Turn rows into cell values and log the provenance of every number."""
    cols = SHEET_COLUMNS[sheet]
    out = []
    for row in rows:
        key = " | ".join(str(row.get(k)) for k in KEY_COLUMNS[sheet])
        ids: list[str] = []
        cells = []
        for col in cols:
            if col == "source":
                continue
            val = row.get(col)
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


def build_tables() -> tuple[dict[str, list[list]], Log]:
    log: Log = []
    facilities, facility_processes = build_facilities()
    countries = [
        dict(country=c, name=n, restricted=r, group=g, note=COUNTRY_NOTES.get(c),
             source="ISO 3166-1")
        for c, n, r, g in COUNTRIES
    ]  # fmt: skip
    rows = {
        "settings": build_settings(),
        "countries": countries,
        "products": build_products(),
        "processes": build_processes(),
        "facilities": facilities,
        "facility_processes": facility_processes,
        "lanes": build_lanes(),
        "demand": build_demand(),
        "exposure_caps": [],
    }
    tables = {sheet: flatten(sheet, r, log) for sheet, r in rows.items()}
    return tables, log


# Source key for the IDs used (addresses in rare_earth_facts.md, section 0/10g)
SOURCE_KEY = {
    "S1": "USGS Mineral Commodity Summaries 2026, Rare Earths",
    "S2": "USGS MCS 2026, Rare Earths (Heavy)",
    "S3": "USGS MCS 2026, Yttrium",
    "S5": "USGS Minerals Yearbook 2022, Rare Earths tables",
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
}

# ---------------------------------------------------------------------------
# Checks: the input rules are the model's (product_problems reads the written
# workbook with the model's own reader); here only what the model cannot know
# ---------------------------------------------------------------------------

NUMBER_COLUMNS = {
    "products": ["value", "surplus_price"],
    "processes": ["coefficient"],
    "facilities": ["capacity", "expansion_max", "expansion_cost", "capex_per_t"],
    "facility_processes": ["unit_cost"],
    "lanes": ["transport_cost", "tariff", "max_flow"],
    "demand": ["quantity", "unmet_penalty"],
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
    # every number on a data sheet has a sources line
    logged = {(s, i.rsplit(" | ", 1)[1]) for s, i, _, _ in log}
    for sheet, cols in NUMBER_COLUMNS.items():
        for c in cols:
            has_number = any(r[c] is not None for r in rows_of(sheet))
            if has_number and (sheet, c) not in logged:
                problems.append(f"sources: no provenance for {sheet}.{c}")
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument(
        "--check", action="store_true", help="build the workbook and check it with the model's reader; write nothing"
    )
    args = ap.parse_args(argv)
    tables, log = build_tables()
    problems = provenance_problems(tables, log)
    with tempfile.TemporaryDirectory(prefix="base_case-") as folder:
        built = Path(folder) / "base_case.xlsx"
        write_workbook(tables, log, built)
        found, warnings = product_problems(built)
        problems += found
        for w in warnings:
            print("warning:", w, file=sys.stderr)
        for p in problems:
            print("problem:", p, file=sys.stderr)
        if args.check:
            n = sum(len(r) for r in tables.values())
            print(f"{n} rows, {len(log)} sourced numbers, {len(problems)} problems")
            return 1 if problems else 0
        if problems:
            print(f"{args.output} was not written", file=sys.stderr)
            return 1
        _write_atomically(built.read_bytes(), args.output)
    print(f"wrote {args.output} ({len(log)} sourced numbers)")
    return 0


if __name__ == "__main__":
    # Check with the model of this checkout, whatever else is installed.
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())

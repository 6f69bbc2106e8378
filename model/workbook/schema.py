"""The input workbook's schema, declared once as data.

Every sheet is a :class:`SheetSpec` holding :class:`ColumnSpec` entries.  The
same declarations drive reading (which columns exist, which are required),
cell parsing (type, bounds, defaults), the ``legend`` sheet of the results
workbook and the README's description of the input sheets.  Sheet and column
names are the contract of ``SPEC.md`` and must not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

ColumnKind = Literal["key", "text", "number", "yesno", "any"]

WILDCARD = "*"
ANY_STAGE = "any"


def _shown(number: float) -> str:
    """1,000,000,000 rather than 1e+09 in messages; small numbers as typed."""
    return f"{number:,.0f}" if abs(number) >= 1e4 and float(number).is_integer() else f"{number:g}"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an input sheet.

    kind: ``key`` (a name matched exactly after trimming), ``text`` (free
    label), ``number`` (a finite float) or ``yesno`` (yes/no, true/false,
    1/0, y/n in any case).  ``minimum``/``maximum`` bound numbers (inclusive
    unless ``exclusive_minimum``).
    """

    name: str
    kind: ColumnKind
    required: bool = False
    default: object = None
    unit: str = ""
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    nonzero: bool = False
    wildcard: bool = False  # `*` allowed in this key column
    header_required: bool = False  # the column must exist even though its cells may be blank
    integer: bool = False  # a whole number (years, lead times, lives)
    refers_to: tuple[str, str] | None = None  # (sheet, column) whose names this key column must use
    choices: tuple[str, ...] = ()  # the words SPEC allows in this key column (the template's dropdown)

    def expectation(self) -> str:
        """Plain words for what a valid cell of this column holds."""
        if self.kind == "yesno":
            return "yes or no"
        if self.kind in ("key", "text"):
            return "a name" + (" or *" if self.wildcard else "")
        parts = ["a whole number" if self.integer else "a number"]
        if self.nonzero:
            parts.append("other than 0")
        if self.minimum is not None and self.maximum is not None and self.exclusive_minimum:
            parts.append(f"> {_shown(self.minimum)} and ≤ {_shown(self.maximum)}")
        elif self.minimum is not None and self.maximum is not None:
            parts.append(f"between {_shown(self.minimum)} and {_shown(self.maximum)}")
        elif self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '≥'} {_shown(self.minimum)}")
        elif self.maximum is not None:
            parts.append(f"≤ {_shown(self.maximum)}")
        return " ".join(parts)


@dataclass(frozen=True)
class SheetSpec:
    """One input sheet: its columns, the key columns that must be unique."""

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    required: bool = True
    yearly: bool = False  # rows may carry a `year` column (from-year rule, SPEC Part 2)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def unique_key(self) -> tuple[str, ...]:
        """The columns two rows may not share: the key, and the year where rows are yearly."""
        return (*self.key, "year") if self.yearly else self.key

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required or c.header_required]


def _key(name: str, description: str, wildcard: bool = False) -> ColumnSpec:
    return ColumnSpec(name, "key", required=True, description=description, wildcard=wildcard)


def _number(name: str, unit: str, description: str, **kwargs) -> ColumnSpec:
    return ColumnSpec(name, "number", unit=unit, description=description, **kwargs)


FIRST_YEAR, LAST_YEAR = 1900, 2200  # the years a workbook may name


def _year(description: str = "First model year the row applies to (blank = the first model year)") -> ColumnSpec:
    return ColumnSpec(
        "year", "number", unit="year", description=description, integer=True, minimum=FIRST_YEAR, maximum=LAST_YEAR
    )


YEAR_COLUMN = "year"


SHEETS: dict[str, SheetSpec] = {
    spec.name: spec
    for spec in (
        SheetSpec(
            "settings",
            "Key/value settings of the run",
            (
                _key("setting", "Name of the setting"),
                ColumnSpec("value", "any", header_required=True, description="Its value"),
                ColumnSpec("note", "text", description="Free comment"),
            ),
            key=("setting",),
            required=False,
        ),
        SheetSpec(
            "countries",
            "Countries; restricted ones count as exposure",
            (
                _key("country", "Country code"),
                ColumnSpec("name", "text", description="Full name"),
                ColumnSpec(
                    "restricted",
                    "yesno",
                    required=True,
                    description="yes: involvement of this country's facilities counts as exposure",
                ),
                ColumnSpec("group", "text", description="Free label (e.g. allied, partner)"),
            ),
            key=("country",),
        ),
        SheetSpec(
            "products",
            "Products of the chain",
            (
                _key("product", "Product name"),
                ColumnSpec("unit", "text", description="Unit label (t by default)"),
                _number("value", "USD/t", "Value, basis of ad-valorem tariffs", default=0.0, minimum=0),
                _number(
                    "surplus_price",
                    "USD/t",
                    "Credit for output nobody in the model uses (negative = disposal cost)",
                    default=0.0,
                ),
                ColumnSpec("description", "text", description="Free text"),
                _year(),
            ),
            key=("product",),
            yearly=True,
        ),
        SheetSpec(
            "processes",
            "Recipes in long form: one row per product of a process",
            (
                _key("process", "Process name"),
                _key("stage", "Stage of the chain the process belongs to"),
                _key("product", "Product consumed or produced"),
                _number(
                    "coefficient",
                    "t per unit of activity",
                    "Negative = input, positive = output, per unit of activity",
                    required=True,
                    nonzero=True,
                ),
            ),
            key=("process", "product"),
        ),
        SheetSpec(
            "facilities",
            "Plants and mines with their annual capacity",
            (
                _key("facility", "Facility name"),
                _key("country", "Country where it stands"),
                _number(
                    "capacity", "activity units/yr", "Capacity shared by all its processes", required=True, minimum=0
                ),
                ColumnSpec(
                    "restricted",
                    "yesno",
                    description="Blank = the country's flag; yes/no overrides it (e.g. ownership)",
                ),
                _number(
                    "expansion_max", "activity units/yr", "Extra capacity the model may add", default=0.0, minimum=0
                ),
                _number(
                    "expansion_cost", "USD per unit/yr", "Annualised cost of one unit of added capacity", minimum=0
                ),
                ColumnSpec("status", "text", description="Label (operating, planned, ...)"),
                ColumnSpec("owner", "text", description="Label"),
                ColumnSpec("note", "text", description="Free comment"),
                _year(),
            ),
            key=("facility",),
            yearly=True,
        ),
        SheetSpec(
            "facility_processes",
            "Which processes each facility can run and at what cost",
            (
                _key("facility", "Facility name"),
                _key("process", "Process name"),
                _number("unit_cost", "USD per unit of activity", "Operating cost", required=True, minimum=0),
                _year(),
            ),
            key=("facility", "process"),
            yearly=True,
        ),
        SheetSpec(
            "lanes",
            "Trade rules between two different countries (* = any)",
            (
                _key("from", "Exporting country or *", wildcard=True),
                _key("to", "Importing country or *", wildcard=True),
                _key("product", "Product or *", wildcard=True),
                _number("transport_cost", "USD/t", "Transport cost", minimum=0),
                _number("tariff", "fraction of value", "Ad-valorem tariff", minimum=0),
                ColumnSpec("allowed", "yesno", description="no = ban (export control, sanction)"),
                _number("max_flow", "t/yr", "Quota on each matching trade", minimum=0),
                _number(
                    "min_flow",
                    "t/yr",
                    "Contracted offtake: t/yr that must flow on each matching trade; a shortfall is priced at "
                    "unmet_demand_penalty",
                    minimum=0,
                ),
                _year(),
            ),
            key=("from", "to", "product"),
            required=False,
            yearly=True,
        ),
        SheetSpec(
            "demand",
            "What each consumer must receive per year in its own country",
            (
                _key("country", "Consuming country"),
                _key("product", "Product"),
                _number("quantity", "t/yr", "Required quantity", required=True, minimum=0),
                _number(
                    "unmet_penalty",
                    "USD/t",
                    "Penalty per tonne not delivered (blank = setting unmet_demand_penalty)",
                    minimum=0,
                    exclusive_minimum=True,
                ),
                _number(
                    "growth",
                    "fraction per year",
                    "Growth of the quantity per year after the row's year (blank = setting demand_growth)",
                    minimum=-1,
                    exclusive_minimum=True,
                ),
                _year(),
                ColumnSpec(
                    "capped",
                    "yesno",
                    default=True,
                    description="no: a background row (another economy's own use, e.g. China's) that competes for "
                    "supply but to which no exposure cap applies (not default_exposure_cap, --exposure-cap nor "
                    "exposure_caps rows)",
                ),
            ),
            key=("country", "product"),
            yearly=True,
        ),
        SheetSpec(
            "exposure_caps",
            "Caps on the share of a demand row exposed to restricted countries",
            (
                _key("country", "Consuming country or *", wildcard=True),
                _key("product", "Product or *", wildcard=True),
                _key("stage", "Stage name, any (any stage) or * (each stage)", wildcard=True),
                _number(
                    "max_share",
                    "share 0..1",
                    "Largest allowed exposed share of the quantity",
                    required=True,
                    minimum=0,
                    maximum=1,
                ),
                _year(),
            ),
            key=("country", "product", "stage"),
            required=False,
            yearly=True,
        ),
        SheetSpec(
            "years",
            "The model years (consecutive); without this sheet the case is a single year",
            (
                ColumnSpec(
                    "year",
                    "number",
                    required=True,
                    unit="year",
                    description="A model year",
                    integer=True,
                    minimum=FIRST_YEAR,
                    maximum=LAST_YEAR,
                ),
                ColumnSpec(
                    "stock_release",
                    "yesno",
                    default=False,
                    description="yes: stockpiles may fall below their minimum cover in this year",
                ),
            ),
            key=("year",),
            required=False,
        ),
        SheetSpec(
            "projects",
            "Candidate investments that add capacity to a facility",
            (
                _key("project", "Project name"),
                _key("facility", "Facility that gains the capacity (a new plant: a facility with capacity 0)"),
                _number("capacity", "activity units/yr", "Capacity added when built whole", required=True, minimum=0),
                _number("capex", "USD", "Investment, in total", required=True, minimum=0),
                _number(
                    "earliest_year", "year", "First year it may come online (blank = first model year)", integer=True
                ),
                _number("lead_time", "years", "Years from decision to online", default=0.0, minimum=0, integer=True),
                _number(
                    "life",
                    "years",
                    "Years of operation (blank = setting project_life)",
                    minimum=1,
                    integer=True,
                ),
                ColumnSpec(
                    "all_or_nothing",
                    "yesno",
                    default=False,
                    description="yes: built whole or not at all (makes the problem a MIP); no: any fraction",
                ),
                ColumnSpec("funder", "key", description="Budget that pays its capex (blank = private, no budget)"),
                _number("fixed_cost", "USD/yr", "Fixed cost per year while online", default=0.0, minimum=0),
            ),
            key=("project",),
            required=False,
        ),
        SheetSpec(
            "budgets",
            "Capex each funder can commit per year",
            (
                _key("funder", "Funder name, as in projects"),
                _number("budget", "USD", "Capex the funder can commit in the year", required=True, minimum=0),
                _year("Year of the budget (blank = every year; the row applies until the funder's next row)"),
            ),
            key=("funder",),
            required=False,
            yearly=True,
        ),
        SheetSpec(
            "stockpiles",
            "Strategic stocks of a product held in a country",
            (
                _key("country", "Country holding the stock"),
                _key("product", "Product stocked"),
                _number("initial", "t", "Stock at the start of the first year", default=0.0, minimum=0),
                ColumnSpec(
                    "initial_exposed",
                    "yesno",
                    default=True,
                    description="yes: the initial stock carries every stage of the processes that can make it; "
                    "no: clean",
                ),
                _number(
                    "min_days",
                    "days",
                    "Cover required at the end of each year (days of demand)",
                    default=0.0,
                    minimum=0.0,
                ),
                _number("max", "t", "Largest stock (blank = none)", minimum=0),
                _number("holding_cost", "USD/t/yr", "Cost per tonne held at the end of a year", default=0.0, minimum=0),
                _number("from_year", "year", "First year the cover applies (blank = first model year)", integer=True),
            ),
            key=("country", "product"),
            required=False,
        ),
        SheetSpec(
            "observations",
            "Observed facts the uncapped solution should reproduce (calibration, SPEC Part 4)",
            (
                _key("kind", "activity, trade or share"),
                _number(
                    "observed",
                    "t/yr, activity units/yr or share 0..1",
                    "The observed value: activity or output (activity), t/yr shipped (trade), share (share)",
                    required=True,
                    minimum=0,
                ),
                ColumnSpec("facility", "key", description="activity: the facility"),
                ColumnSpec("from", "key", description="trade: exporting country"),
                ColumnSpec("to", "key", description="trade: importing country"),
                ColumnSpec("country", "key", description="share: consuming country (a demand row)"),
                ColumnSpec(
                    "product",
                    "key",
                    description="trade, share: the product; activity: a product of the facility's output (blank = "
                    "its total activity)",
                ),
                ColumnSpec("stage", "key", description="share: the stage"),
                ColumnSpec("source_country", "key", description="share: the country where that stage ran"),
                _number(
                    "tolerance",
                    "share (absolute) or fraction of observed (relative)",
                    "Accepted deviation: absolute for shares, relative to observed for quantities",
                    default=0.25,
                    minimum=0,
                ),
                ColumnSpec("source", "text", description="Where the observation comes from"),
            ),
            key=("kind", "facility", "from", "to", "country", "product", "stage", "source_country"),
            required=False,
        ),
        SheetSpec(
            "references",
            "Bibliography: the sources that the `source` columns of the other sheets cite by ID (read by people, "
            "not by the model)",
            (
                _key("source_id", "Source ID cited in `source` columns (S1, S2 ...; ESTIMATE, DERIVED ... for the "
                     "kinds of number that are not taken from a source)"),
                ColumnSpec("title", "text", description="Title of the source"),
                ColumnSpec("publisher", "text", description="Who published it"),
                ColumnSpec("year", "text", description="Year (or years) of publication"),
                ColumnSpec("link", "text", description="Address (several separated by ' ; ')"),
                ColumnSpec("taken", "text", description="What the case takes from it (sheets and rows citing it)"),
            ),
            key=("source_id",),
            required=False,
        ),
        SheetSpec(
            "uncertainty",
            "Monte Carlo factors (--samples): each multiplies a column on the rows it selects, drawn per sample",
            (
                _key("sheet", "Input sheet whose numbers the factor multiplies"),
                _key("column", "Column of numbers of that sheet"),
                _key("distribution", "uniform (low, high) or triangular (low, mode, high)"),
                _number("low", "factor", "Smallest factor", required=True, minimum=0),
                _number("high", "factor", "Largest factor", required=True, minimum=0),
                _number("mode", "factor", "Most likely factor (triangular only)", minimum=0),
                ColumnSpec(
                    "match",
                    "text",
                    description="Rows selected: column=value pairs separated by ; (* = any; blank = every row)",
                ),
                ColumnSpec(
                    "group",
                    "text",
                    description="Rows with the same group share one random quantile per sample (fully correlated)",
                ),
            ),
            key=("sheet", "column", "match"),
            required=False,
        ),
    )
}

# SPEC Part 3: named variants of the workbook (model/scenarios).  Changes have no key: two change rows may
# name the same cells (applied in sheet order).
for _spec in (
    SheetSpec(
        "scenarios",
        "Named variants of the workbook: change rows and overlay sheets <sheet>@<scenario> (SPEC Part 3)",
        (
            _key("scenario", "Scenario name"),
            ColumnSpec("description", "text", description="What the scenario stands for"),
            ColumnSpec("based_on", "key", description="Scenario whose changes apply first (blank = the base case)"),
            _number("probability", "share 0..1", "Probability, used by --stochastic", minimum=0, maximum=1),
            ColumnSpec("source", "text", description="Where the scenario comes from"),
        ),
        key=("scenario",),
        required=False,
    ),
    SheetSpec(
        "changes",
        "One change of a scenario, applied in sheet order after its overlay sheets",
        (
            _key("scenario", "Scenario the change belongs to"),
            _key("sheet", "Input sheet changed"),
            _key("column", "Column changed"),
            _key("operation", "set (value), scale (multiply by value) or add (add value)"),
            ColumnSpec("value", "any", required=True, description="The value set, the factor or the amount added"),
            ColumnSpec(
                "match",
                "text",
                description="Rows changed: column=value pairs separated by ; (* = any; on key columns of lanes "
                "and exposure_caps only cells holding *); blank = every row",
            ),
            ColumnSpec("source", "text", description="Where the change comes from"),
            ColumnSpec("note", "text", description="Free comment"),
        ),
        key=(),
        required=False,
    ),
):
    SHEETS[_spec.name] = _spec

# Valid ranges of the numbers (SPEC gives the signs; the magnitudes are ours).  A run must either solve to a
# verified optimum or refuse the workbook up front: HiGHS works to tolerances of about 1e-7 of the largest
# coefficients, so numbers far beyond anything physical (a capacity of 1e20, the solver's infinity; a penalty
# of 1e12) would make the solution inaccurate.  Beyond these bounds a cell is an input error naming it;
# model/workbook/numerics.py warns well below them where a number is merely implausible.
MAX_QUANTITY = 1e9  # t/yr or activity units/yr: above world production of any material here
MAX_UNIT_MONEY = 1e9  # USD per t, per unit of activity or per unit of capacity
MAX_PENALTY = 1e10  # USD/t, unmet demand (also the setting unmet_demand_penalty)
MAX_CAPEX = 1e13  # USD per project or per budget and year
MAX_COEFFICIENT = 1e6  # |t per unit of activity| in a recipe
MAX_TARIFF = 100.0  # fraction of value (10,000 %)
MAX_DAYS = 36_500.0  # days of cover (a century)
MAX_GROWTH = 10.0  # fraction per year
MAX_FACTOR = 1000.0  # a Monte Carlo factor (uncertainty sheet)

_RANGES: dict[tuple[str, str], dict[str, float]] = {
    ("products", "value"): {"maximum": MAX_UNIT_MONEY},
    ("products", "surplus_price"): {"minimum": -MAX_UNIT_MONEY, "maximum": MAX_UNIT_MONEY},
    ("processes", "coefficient"): {"minimum": -MAX_COEFFICIENT, "maximum": MAX_COEFFICIENT},
    ("facilities", "capacity"): {"maximum": MAX_QUANTITY},
    ("facilities", "expansion_max"): {"maximum": MAX_QUANTITY},
    ("facilities", "expansion_cost"): {"maximum": MAX_UNIT_MONEY},
    ("facility_processes", "unit_cost"): {"maximum": MAX_UNIT_MONEY},
    ("lanes", "transport_cost"): {"maximum": MAX_UNIT_MONEY},
    ("lanes", "tariff"): {"maximum": MAX_TARIFF},
    ("lanes", "max_flow"): {"maximum": MAX_QUANTITY},
    ("lanes", "min_flow"): {"maximum": MAX_QUANTITY},
    ("demand", "quantity"): {"maximum": MAX_QUANTITY},
    ("demand", "unmet_penalty"): {"maximum": MAX_PENALTY},
    ("demand", "growth"): {"maximum": MAX_GROWTH},
    ("projects", "capacity"): {"maximum": MAX_QUANTITY},
    ("projects", "capex"): {"maximum": MAX_CAPEX},
    ("projects", "fixed_cost"): {"maximum": MAX_CAPEX},
    ("projects", "lead_time"): {"maximum": 100.0},
    ("projects", "earliest_year"): {"minimum": FIRST_YEAR, "maximum": LAST_YEAR},
    ("stockpiles", "from_year"): {"minimum": FIRST_YEAR, "maximum": LAST_YEAR},
    ("projects", "life"): {"maximum": 200.0},
    ("budgets", "budget"): {"maximum": MAX_CAPEX},
    ("stockpiles", "initial"): {"maximum": MAX_QUANTITY},
    ("stockpiles", "max"): {"maximum": MAX_QUANTITY},
    ("stockpiles", "min_days"): {"maximum": MAX_DAYS},
    ("stockpiles", "holding_cost"): {"maximum": MAX_UNIT_MONEY},
    ("observations", "observed"): {"maximum": MAX_QUANTITY},
    ("observations", "tolerance"): {"maximum": 10.0},  # 1000 % of observed
    ("uncertainty", "low"): {"maximum": MAX_FACTOR},
    ("uncertainty", "high"): {"maximum": MAX_FACTOR},
    ("uncertainty", "mode"): {"maximum": MAX_FACTOR},
}
for (_sheet, _column), _bounds in _RANGES.items():
    _spec = SHEETS[_sheet]
    SHEETS[_sheet] = replace(
        _spec, columns=tuple(replace(c, **_bounds) if c.name == _column else c for c in _spec.columns)
    )


@dataclass(frozen=True)
class SettingSpec:
    """One known key of the settings sheet.

    A number lies between ``minimum`` and ``maximum`` (inclusive unless
    ``exclusive_minimum``), and is whole if ``integer``; ``why`` says what a
    larger one would do.  A text is one of ``choices`` in any case, with
    spaces around it allowed (a ``yes``/``no`` choice also as true/false,
    1/0, y/n); ``refused`` pairs a value people may know from elsewhere
    with why it is not offered.
    """

    name: str
    kind: Literal["number", "text", "shares"]  # shares: comma-separated shares 0..1, e.g. 1,0.5,0.2
    default: object
    unit: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] = field(default=())
    integer: bool = False
    why: str = ""
    refused: tuple[tuple[str, str], ...] = field(default=())

    def expectation(self) -> str:
        """Plain words for a valid value, e.g. 'a whole number between 1 and 200 for project_life (years)'."""
        if self.kind == "text":
            return f"one of {', '.join(self.choices)} for {self.name}"
        if self.kind == "shares":
            return f"shares between 0 and 1 separated by commas, e.g. 1,0.5,0.2, for {self.name}"
        parts = ["a whole number" if self.integer else "a number"]
        if self.minimum is not None and self.maximum is not None and not self.exclusive_minimum:
            parts.append(f"between {_shown(self.minimum)} and {_shown(self.maximum)}")
        else:
            bounds = []
            if self.minimum is not None:
                bounds.append(f"{'>' if self.exclusive_minimum else '≥'} {_shown(self.minimum)}")
            if self.maximum is not None:
                bounds.append(f"≤ {_shown(self.maximum)}")
            parts += [" and ".join(bounds)] if bounds else []
        return f"{' '.join(parts)} for {self.name}" + (f" ({self.unit})" if self.unit else "")


SETTINGS: dict[str, SettingSpec] = {
    s.name: s
    for s in (
        SettingSpec(
            "unmet_demand_penalty",
            "number",
            1e6,
            "USD/t",
            f"Penalty per tonne of unmet demand: > 0 and ≤ {_shown(MAX_PENALTY)} (larger ones make the solver's "
            "tolerance larger than the other costs)",
            0,
            MAX_PENALTY,
            exclusive_minimum=True,
            why="larger penalties make the solver's tolerance larger than the other costs, so the answer would be "
            "inaccurate; 1e6 is usually enough",
        ),
        SettingSpec(
            "default_transport_cost",
            "number",
            0.0,
            "USD/t",
            f"Transport cost of trade not priced in lanes: 0 to {_shown(MAX_UNIT_MONEY)}",
            0,
            MAX_UNIT_MONEY,
        ),
        SettingSpec(
            "default_exposure_cap", "number", None, "share 0..1", "Cap for the any stage where no any cap matches", 0, 1
        ),
        SettingSpec(
            "solver_time_limit",
            "number",
            None,
            "s",
            "Time limit of each HiGHS run: > 0 and ≤ 1,000,000 (blank = none)",
            0,
            1e6,
            exclusive_minimum=True,
        ),
        SettingSpec(
            "solver_method",
            "text",
            "auto",
            "",
            "HiGHS method, in any case: auto (simplex below 200,000 columns, else interior point; a MIP always "
            "simplex), simplex or ipm (interior point + crossover); not pdlp, which ends without the basis the "
            "duals need",
            choices=("auto", "simplex", "ipm"),
            refused=(
                (
                    "pdlp",
                    "pdlp is not offered: HiGHS' first-order method stops near the optimum without a basis, and the "
                    "marginal values and the least-exposure step need the exact duals of a basic solution (on the "
                    "base case it ran 12 s and HiGHS could not confirm the optimum); use ipm for large models",
                ),
            ),
        ),
        SettingSpec(
            "threads",
            "number",
            1,
            "",
            "Solver threads: a whole number from 1; more than the machine's cores are reduced to them, with a warning",
            1,
            integer=True,
        ),
        SettingSpec(
            "discount_rate",
            "number",
            0.0,
            "fraction per year",
            "Real discount rate, 0 to 1: year y's cost is weighted by (1 + r)^-(y - first year)",
            0,
            1,
        ),
        SettingSpec(
            "demand_growth",
            "number",
            0.0,
            "fraction per year",
            f"Default growth of demand rows per year: > -1 and ≤ {_shown(MAX_GROWTH)}",
            -1,
            MAX_GROWTH,
            True,
        ),
        SettingSpec(
            "capex_rate",
            "number",
            None,
            "fraction per year",
            "Rate of the capital recovery factor of project annuities, 0 to 1 (blank = discount_rate)",
            0,
            1,
        ),
        SettingSpec(
            "project_life",
            "number",
            20,
            "years",
            "Default life of projects: whole years from 1 to 200",
            1,
            200,
            integer=True,
        ),
        SettingSpec("mip_gap", "number", 1e-4, "relative", "Relative gap at which the MIP search stops, 0 to 1", 0, 1),
        SettingSpec(
            "frontier",
            "shares",
            None,
            "shares 0..1",
            "Exposure caps at which every run also solves the case, as --frontier does (e.g. 1,0.5,0.2; "
            "blank = none): the frontier sheet and chart",
        ),
        SettingSpec(
            "branch_year",
            "number",
            None,
            "year",
            "--stochastic: first year whose decisions may differ by scenario; decisions in earlier years, "
            "projects and expansions are shared (blank = the first model year)",
            FIRST_YEAR,
            LAST_YEAR,
            integer=True,
        ),
        SettingSpec(
            "explain_unmet",
            "text",
            "auto",
            "",
            "Re-solve to explain unmet demand: auto (up to 300,000 variables), yes or no (also true/false, 1/0)",
            choices=("auto", "yes", "no"),
        ),
    )
}

# Which sheet and column each key column takes its names from (the template's dropdowns, the instructions).
# Entries for sheets or columns a workbook version does not have are skipped; a test checks that every key
# column naming another sheet's names has its entry.
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("facilities", "country"): ("countries", "country"),
    ("processes", "product"): ("products", "product"),
    ("facility_processes", "facility"): ("facilities", "facility"),
    ("facility_processes", "process"): ("processes", "process"),
    ("lanes", "from"): ("countries", "country"),
    ("lanes", "to"): ("countries", "country"),
    ("lanes", "product"): ("products", "product"),
    ("demand", "country"): ("countries", "country"),
    ("demand", "product"): ("products", "product"),
    ("exposure_caps", "country"): ("countries", "country"),
    ("exposure_caps", "product"): ("products", "product"),
    ("exposure_caps", "stage"): ("processes", "stage"),
    ("projects", "facility"): ("facilities", "facility"),
    ("projects", "funder"): ("budgets", "funder"),
    ("stockpiles", "country"): ("countries", "country"),
    ("stockpiles", "product"): ("products", "product"),
    # SPEC Parts 3 and 4 (scenarios, changes, uncertainty, observations), where the schema declares them
    ("scenarios", "based_on"): ("scenarios", "scenario"),
    ("changes", "scenario"): ("scenarios", "scenario"),
    ("observations", "facility"): ("facilities", "facility"),
    ("observations", "from"): ("countries", "country"),
    ("observations", "to"): ("countries", "country"),
    ("observations", "country"): ("countries", "country"),
    ("observations", "product"): ("products", "product"),
    ("observations", "stage"): ("processes", "stage"),
    ("observations", "source_country"): ("countries", "country"),
}
for (_sheet, _column), _target in REFERENCES.items():
    if _sheet in SHEETS and any(c.name == _column for c in SHEETS[_sheet].columns):
        _spec = SHEETS[_sheet]
        SHEETS[_sheet] = replace(
            _spec,
            columns=tuple(replace(c, refers_to=_target) if c.name == _column else c for c in _spec.columns),
        )

# The words SPEC allows in a key column that names no sheet's names (Parts 3 and 4, where the schema declares them).
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("changes", "operation"): ("set", "scale", "add"),
    ("uncertainty", "distribution"): ("uniform", "triangular"),
    ("observations", "kind"): ("activity", "trade", "share"),
}
for (_sheet, _column), _words in CHOICES.items():
    if _sheet in SHEETS and any(c.name == _column for c in SHEETS[_sheet].columns):
        _spec = SHEETS[_sheet]
        SHEETS[_sheet] = replace(
            _spec, columns=tuple(replace(c, choices=_words) if c.name == _column else c for c in _spec.columns)
        )

# Sheets an input workbook may carry for people, read by nobody: no warning.
DOCUMENTATION_SHEETS = ("sources", "notes", "readme", "legend", "instructions")


def markdown_tables() -> str:
    """The input sheets as Markdown tables (pasted into the README; a test keeps them equal)."""
    lines = []
    for spec in SHEETS.values():
        need = "required" if spec.required else "optional"
        lines += [f"#### `{spec.name}` ({need}): {spec.description}", ""]
        lines += ["| column | required | unit | default | meaning |", "|---|---|---|---|---|"]
        for column in spec.columns:
            default = (
                ""
                if column.default is None
                else f"{column.default:g}"
                if isinstance(column.default, float)
                else str(column.default)
            )
            lines.append(
                f"| `{column.name}` | {'yes' if column.required else 'column only' if column.header_required else ''} "
                f"| {column.unit} | {default} "
                f"| {column.description} |"
            )
        lines.append("")
    lines += ["#### Settings keys", "", "| setting | unit | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS.values():
        default = (
            "blank"
            if setting.default is None
            else f"{setting.default:g}"
            if isinstance(setting.default, float)
            else str(setting.default)
        )
        lines.append(f"| `{setting.name}` | {setting.unit} | {default} | {setting.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_tables(), end="")

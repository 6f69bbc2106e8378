"""The results workbook's charts render: LibreOffice converts the workbook to PDF and every chart is drawn.

Each chart is printed on its own page of the ``charts`` sheet (model/workbook/charts.py); its page is found
by the chart's title in the PDF's text (pdftotext), rendered (pdftoppm) and must hold coloured pixels: the
bars and lines of a chart are coloured, while a chart whose series lost their data shows only its black and
grey title, axes and gridlines.  A control chart with no data on the same workbook shows that the check can
fail.  Skipped only where LibreOffice or poppler-utils is not installed (.ci/run installs them).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.workbook import charts
from model.workbook.charts import ChartPlan
from tests.helpers import write_case
from tests.test_matrix import YEAR_HEADERS, chain_over_years

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(
    SOFFICE is None or not POPPLER,
    reason="needs LibreOffice (soffice) and poppler-utils (pdftoppm, pdftotext): "
    "apt-get install libreoffice-calc-nogui poppler-utils",
)

DPI = 50
COLOURED = 0.003  # share of a page's pixels that are coloured: a drawn chart has well above (measured 0.6-13 %)
CONTROL = "Control chart without data"


def coloured_share(pdf: Path, page: int) -> float:
    """Share of the pixels of ``page`` (1-based) that are coloured (channels differ by more than 60 of 255)."""
    ppm = subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(DPI), str(pdf)], capture_output=True, check=True
    ).stdout
    magic, width, height, _, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6"
    image = np.frombuffer(pixels[: int(width) * int(height) * 3], dtype=np.uint8).reshape(int(height), int(width), 3)
    spread = image.max(axis=2).astype(int) - image.min(axis=2).astype(int)
    return float((spread > 60).mean())


def chart_titles(workbook: Path) -> list[str]:
    """The title of every chart in the workbook, from its XML."""
    titles = []
    with zipfile.ZipFile(workbook) as archive:
        for name in sorted(n for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)):
            xml = archive.read(name).decode()
            title = re.search(r"<c:title>.*?</c:title>", xml, re.S)
            if title:
                titles.append(html.unescape("".join(re.findall(r"<a:t>(.*?)</a:t>", title.group(0)))))
    return titles


def first_line(page: str) -> str:
    """The first line of text on a page (a chart's page starts with its title), spaces normalised."""
    lines = [line for line in page.splitlines() if line.strip()]
    return " ".join(lines[0].split()) if lines else ""


def to_pdf(workbook: Path, folder: Path) -> Path:
    # A profile of its own: another LibreOffice running on the machine would otherwise take the job.
    profile = (folder / "profile").as_uri()
    command = [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir"]
    subprocess.run([*command, str(folder), str(workbook)], capture_output=True, check=True, timeout=300)
    pdf = folder / (workbook.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice wrote no PDF for {workbook}"
    return pdf


def control_chart(sheets):
    """A chart whose table holds no numbers: drawn with its title and axes only."""
    table = pd.DataFrame({"category": ["a", "b", "c"], "first": [np.nan] * 3, "second": [np.nan] * 3})
    return [ChartPlan(CONTROL, table, kind="column", value_axis="t")]


def test_every_chart_of_a_results_workbook_is_drawn(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(charts, "CHART_BUILDERS", [*charts.CHART_BUILDERS, control_chart])
    source = write_case(tmp_path / "chain.xlsx", chain_over_years(), YEAR_HEADERS)
    output = tmp_path / "results.xlsx"
    assert main([str(source), "-o", str(output)]) == 0
    titles = chart_titles(output)
    expected = [
        "Cost by stage and component",
        "Cost of each year by component",
        "US magnet: where each stage of its supply ran, 2028",
        "JP oxide: where each stage of its supply ran, 2028",
        "Exposure by consumer and stage, 2028",
        "Exposure against its cap, by consumer and stage, 2028",
        "Most used plants, 2028",
        "Bottleneck plants: value of one more unit of capacity",
        "Exposure (any stage) by consumer over the years",
        "Capacity available by stage and year",
        "Projects built: years online",
        "Stock at the end of each year",
        CONTROL,
    ]
    assert set(expected) <= set(titles), set(expected) - set(titles)

    pdf = to_pdf(output, tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    found = {}
    for title in titles:
        on = [number for number, page in enumerate(pages, start=1) if first_line(page) == title]
        assert len(on) == 1, f"chart '{title}' should be on one page of the PDF, found on pages {on}"
        found[title] = on[0]
    assert len(set(found.values())) == len(found), f"two charts share a page: {found}"

    shares = {title: coloured_share(pdf, page) for title, page in found.items()}
    blank = {title: share for title, share in shares.items() if share < COLOURED and title != CONTROL}
    assert not blank, f"charts drawn without data (share of coloured pixels): {blank}"
    assert shares[CONTROL] < COLOURED / 3, f"the check cannot tell an empty chart: {shares[CONTROL]}"

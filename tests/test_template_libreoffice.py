"""The template's dropdowns, number checks and comments as LibreOffice evaluates them.

LibreOffice (headless, driven through its Python-UNO bridge in a separate
process with its own profile) opens ``inputs/template.xlsx`` and reports:
the validation of ``facilities.country`` (a list of the defined name
``list_countries_country``, warning on other text); how many rows that name
covers, before and after a country is added below the examples (it must
grow); the header comments; and which cells its "mark invalid data" command
circles after typing an unknown country, a negative capacity and a
yes/no cell holding ``maybe``, beside a country added to the countries
sheet after the template was written (valid) and an example row (valid).

Skipped, with the reason, where LibreOffice or its Python bridge is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from model.workbook.schema import SHEETS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "inputs" / "template.xlsx"
SYSTEM_PYTHON = "/usr/bin/python3"  # LibreOffice's bridge (python3-uno) lives in the system Python

PROBE = r"""
import json, os, subprocess, sys, time
import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


path, profile = sys.argv[1], sys.argv[2]
pipe = "template_probe_%d" % os.getpid()
office = subprocess.Popen(
    ["soffice", "--headless", "--invisible", "--norestore", "--nologo", "-env:UserInstallation=" + profile,
     "--accept=pipe,name=%s;urp;" % pipe],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
out = {}
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(300):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.2)
    smgr = ctx.ServiceManager
    desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0, (prop("Hidden", True),))
    sheets = doc.Sheets
    out["names"] = list(doc.NamedRanges.ElementNames)
    facilities = sheets.getByName("facilities")
    validation = facilities.getCellRangeByName("B2").Validation
    out["type"] = validation.Type.value
    out["formula1"] = validation.getFormula1()
    out["alert"] = validation.ErrorAlertStyle.value
    scratch = sheets.getByName("instructions").getCellRangeByName("Z1")
    scratch.setFormula("=ROWS(list_countries_country)")
    doc.calculateAll()
    out["rows_before"] = scratch.getValue()
    sheets.getByName("countries").getCellRangeByName("A4").setString("JP")
    doc.calculateAll()
    out["rows_after"] = scratch.getValue()
    scratch.setString("")
    out["comments"] = facilities.getAnnotations().getCount()
    facilities.getCellRangeByName("B3").setString("XX")  # unknown country
    facilities.getCellRangeByName("B4").setString("JP")  # added above: valid
    facilities.getCellRangeByName("A4").setString("JP_Plant")
    facilities.getCellRangeByName("C4").setValue(10)
    facilities.getCellRangeByName("C2").setValue(-5)  # negative capacity
    facilities.getCellRangeByName("D4").setString("maybe")  # restricted: yes or no
    controller = doc.getCurrentController()
    controller.setActiveSheet(facilities)
    dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
    dispatcher.executeDispatch(controller.getFrame(), ".uno:ShowInvalid", "", 0, ())
    page = facilities.getDrawPage()
    marked = []
    for index in range(page.getCount()):
        shape = page.getByIndex(index)
        if shape.ShapeType == "com.sun.star.drawing.EllipseShape":
            address = shape.Anchor.getCellAddress()
            marked.append([address.Column, address.Row])
    out["marked"] = sorted(marked)
    doc.close(True)
finally:
    office.terminate()
    try:
        office.wait(20)
    except subprocess.TimeoutExpired:
        office.kill()
print(json.dumps(out))
"""


def _probe(tmp_path: Path) -> dict:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: the template's dropdowns cannot be evaluated by it")
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run([SYSTEM_PYTHON, "-c", "import uno"]).returncode != 0:
        pytest.skip("LibreOffice's Python bridge (python3-uno) is not installed in the system Python")
    script = tmp_path / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    copy = tmp_path / "template.xlsx"
    shutil.copy(SHIPPED, copy)
    done = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(copy), (tmp_path / "profile").as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_libreoffice_evaluates_the_dropdowns_and_checks(tmp_path):
    seen = _probe(tmp_path)
    assert "list_countries_country" in seen["names"] and "list_processes_stage" in seen["names"]
    assert (seen["type"], seen["formula1"], seen["alert"]) == ("LIST", "list_countries_country", "WARNING")
    assert (seen["rows_before"], seen["rows_after"]) == (2, 3), "the countries list grows with the rows"
    assert seen["comments"] == len(SHEETS["facilities"].columns)
    # columns 0-based: B = 1 country, C = 2 capacity, D = 3 restricted; rows 0-based (Excel row - 1)
    assert seen["marked"] == [[1, 2], [2, 1], [3, 3]], "circled: B3 'XX', C2 -5, D4 'maybe'; not B2 US, B4 JP"

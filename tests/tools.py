"""The real system tools the tests read outputs back with (zbar, poppler, chromium,
LibreOffice)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def system_tool(name: str) -> str:
    """The path of a system tool; outside CI a missing one skips with the install hint."""
    found = shutil.which(name)  # also takes an absolute path such as /usr/bin/chromium
    if found is None:
        packages = (
            "zbar-tools poppler-utils chromium libreoffice-calc-nogui libreoffice-writer-nogui"
        )
        message = f"{name} is missing: apt-get install {packages}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def decode_qr(image: Path) -> str:
    """Decode with a real QR decoder (zbar), as a phone camera would."""
    result = subprocess.run(
        [system_tool("zbarimg"), "--quiet", "--raw", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(
        [system_tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(text.split())  # wrapped lines joined, as a reader sees them


def pdf_lines(pdf: Path) -> list[str]:
    """The PDF's text line by line as laid out (a table row is one line), spaces collapsed."""
    text = subprocess.run(
        [system_tool("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


# LibreOffice keeps an XLSX's cached values unless its profile says to recalculate on load.
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def recalculate_xlsx(book: Path, work: Path) -> Path:
    """The workbook as LibreOffice Calc saves it after recalculating every formula."""
    profile = work / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE)
    out = work / "recalculated"
    subprocess.run(
        [
            system_tool("soffice"),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(book),
        ],
        capture_output=True,
        check=True,
        timeout=180,
    )
    return out / book.name


def xlsx_to_pdf(book: Path, work: Path) -> Path:
    """The workbook as LibreOffice Calc prints it: every sheet, in order, with its page setup."""
    return office_to_pdf(book, work)


def office_to_pdf(document: Path, work: Path) -> Path:
    """A workbook (Calc) or a DOCX (Writer) as LibreOffice prints it to PDF."""
    profile = work / "lo-print-profile"
    out = work / "printed"
    subprocess.run(
        [
            system_tool("soffice"),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(document),
        ],
        capture_output=True,
        check=True,
        timeout=180,
    )
    return out / f"{document.stem}.pdf"


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(
        [system_tool("pdfinfo"), "-f", "1", "-l", "9999", str(pdf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
    return [(float(w), float(h)) for w, h in found]


def page_lines(pdf: Path, page: int) -> list[str]:
    text = subprocess.run(
        [system_tool("pdftotext"), "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]

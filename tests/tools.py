"""The real system tools the tests read outputs back with (zbar, poppler, chromium)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def system_tool(name: str) -> str:
    """The path of a system tool; outside CI a missing one skips with the install hint."""
    found = shutil.which(name)  # also takes an absolute path such as /usr/bin/chromium
    if found is None:
        message = f"{name} is missing: apt-get install zbar-tools poppler-utils chromium"
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

"""Benchmark: build the report XLSX for a unit-year of 100,000 responses.

    python bench/report_xlsx.py [--rows 100000] [--database-url URL]

Seeds a fresh database (a temporary SQLite file unless --database-url names an empty
PostgreSQL database) with one unit, two services and ``--rows`` responses over 2025, then, in
a fresh child process (so its peak RSS is the build's alone), builds the report data and writes
the workbook as `skm report --format xlsx` does. Goal on a 2-core machine: under 10 s and
under 300 MB peak RSS. The PDF and the DOCX are built too, for comparison.
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seed import seed  # bench/ is on the path when a script there runs
from sqlmodel import Session

from app.core import ikm
from app.core.periods import parse_period
from app.db import create_db_engine
from app.services import org


def build(url: str, out: Path, file_format: str) -> None:
    """The measured part: what `skm report` does, in this (fresh) process."""
    from app.reports.docx import write_docx
    from app.reports.pdf import write_pdf
    from app.reports.xlsx import write_xlsx
    from app.services.report_data import build_report, respondents

    engine = create_db_engine(url)
    began = time.perf_counter()
    with Session(engine) as session:
        unit = org.get_unit(session=session, code="bench")
        data = build_report(
            session=session, unit=unit, period=parse_period("2025"), method=ikm.DEFAULT_METHOD
        )
        built = time.perf_counter() - began
        if file_format == "xlsx":
            write_xlsx(data, respondents(session, data, unit), out)
        elif file_format == "docx":
            write_docx(data, respondents(session, data, unit), out)
        else:
            write_pdf(data, respondents(session, data, unit), out)
    total = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"{file_format}: {data.result.n:,} responses, NIK {data.result.nik_rounded}; data "
        f"{built:.2f} s, total {total:.2f} s; file {out.stat().st_size / 2**20:.1f} MiB; "
        f"peak RSS {peak:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    parser.add_argument("--build", choices=("xlsx", "pdf", "docx"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.database_url, args.out, args.build)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        seed(url, args.rows)
        for file_format in ("xlsx", "pdf", "docx"):
            out = Path(tmp) / f"report.{file_format}"
            command = [sys.executable, __file__, "--database-url", url, "--build", file_format]
            subprocess.run([*command, "--out", str(out)], check=True)  # this script


if __name__ == "__main__":
    main()

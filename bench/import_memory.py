"""Benchmark: `skm import` of large and hostile sheets, with the time and peak memory of each.

    python bench/import_memory.py [--rows 1000000] [--xlsx-rows 1000000] [--app DIR]
                                  [--work DIR] [--database-url URL] [--only NAME,...]

Writes four files into --work (kept between runs, re-made when --rows changes):
- a CSV of --rows questionnaires (U1..U9, profile, tanggal, one row in ten with a saran);
- an XLSX of --xlsx-rows, laid out as Excel writes one: text in the shared-string table,
  tanggal as date serials under a date format (written as XML straight into the zip, since
  openpyxl's writer needs minutes for a million rows);
- a hostile XLSX whose one shared string is 400 MB (streamed into the zip, never in memory);
- a CSV whose one saran cell is 400 MB.

Each file is imported by `skm import` in a subprocess (`python -c "from app.cli import main"`
run in --app, so the checkout before a change can be measured against the one after), into a
fresh SQLite database unless --database-url names an empty PostgreSQL database (migrated and
emptied by this script). It prints the exit status, seconds, rows per second and the child's
peak RSS (getrusage of the waited child, ru_maxrss), and the last line of its output.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

HUGE = 400 * 1024 * 1024  # the hostile cell: 400 MB
HEADER = [f"U{i}" for i in range(1, 10)] + [
    "jenis_kelamin",
    "usia",
    "pendidikan",
    "tanggal",
    "saran",
]
EDUCATION = ["SD", "SMP", "SMA", "D3", "S1", "S2", "S3"]
WORDS = [
    "antrean",
    "lama",
    "petugas",
    "ramah",
    "ruang",
    "tunggu",
    "panas",
    "parkir",
    "sempit",
    "loket",
    "cepat",
    "biaya",
]
FIRST_DAY = date(2025, 1, 1).toordinal()
EXCEL_EPOCH = date(1899, 12, 30).toordinal()


def rows(n: int, seed: int = 11) -> Iterator[list[object]]:
    """n questionnaires: answers 1..4, a profile, a day of 2025 and now and then a saran."""
    rng = random.Random(seed)
    for i in range(n):
        answers: list[object] = [rng.randint(1, 4) for _ in range(9)]
        day = date.fromordinal(FIRST_DAY + rng.randrange(365))
        saran = f"{i}: {' '.join(rng.sample(WORDS, 4))}" if rng.random() < 0.1 else ""
        yield [
            *answers,
            rng.choice("LP"),
            rng.randint(17, 75),
            rng.choice(EDUCATION),
            day,
            saran,
        ]


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for row in rows(n):
            *head, day, saran = row
            out.write(",".join(map(str, head)) + f",{day.isoformat()},{saran}\r\n")


def write_huge_csv(path: Path) -> None:
    """A sheet of two rows whose second saran is HUGE characters on one line."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        out.write("4,4,4,4,4,4,4,4,4,L,30,SMA,2025-03-01,baik\r\n")
        out.write("3,3,3,3,3,3,3,3,3,P,40,S1,2025-03-02,")
        chunk = "a" * (1024 * 1024)
        for _ in range(HUGE // len(chunk)):
            out.write(chunk)
        out.write("\r\n")


# --- XLSX, written part by part into the zip as Excel lays it out ---

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{NS}" '
        f'xmlns:r="{REL}"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # Style 1 is Excel's short date (numFmtId 14): tanggal as a serial number shows as a date.
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
COLUMNS = [chr(ord("A") + i) for i in range(len(HEADER))]


class Strings:
    """The shared-string table as Excel builds it: each distinct text once, by first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def cell(self, ref: str, text: str) -> str:
        number = self.index.setdefault(text, len(self.index))
        return f'<c r="{ref}" t="s"><v>{number}</v></c>'


def _sheet_rows(n: int, strings: Strings) -> Iterator[str]:
    yield "".join(strings.cell(f"{c}1", h) for c, h in zip(COLUMNS, HEADER, strict=True))
    for line, row in enumerate(rows(n), start=2):
        cells = []
        for column, value in zip(COLUMNS, row, strict=True):
            ref = f"{column}{line}"
            if isinstance(value, int):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif isinstance(value, date):
                cells.append(f'<c r="{ref}" s="1"><v>{value.toordinal() - EXCEL_EPOCH}</v></c>')
            elif value:
                cells.append(strings.cell(ref, str(value)))
        yield "".join(cells)


def write_xlsx(path: Path, n: int, huge_string: bool = False) -> None:
    strings = Strings()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                f'xmlns="{NS}"><sheetData>'.encode()
            )
            for line, cells in enumerate(_sheet_rows(n, strings), start=1):
                part.write(f'<row r="{line}">{cells}</row>'.encode())
            if huge_string:  # one more row whose saran is the huge shared string
                ref = f"{COLUMNS[-1]}{n + 2}"
                first = "".join(f'<c r="{c}{n + 2}"><v>4</v></c>' for c in COLUMNS[:9])
                part.write(f'<row r="{n + 2}">{first}{strings.cell(ref, "")}</row>'.encode())
            part.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            total = len(strings.index)
            part.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}" '
                f'count="{total}" uniqueCount="{total}">'.encode()
            )
            for text in strings.index:
                if huge_string and not text:
                    part.write(b"<si><t>")
                    chunk = b"a" * (1024 * 1024)
                    for _ in range(HUGE // len(chunk)):
                        part.write(chunk)
                    part.write(b"</t></si>")
                else:
                    part.write(f"<si><t>{escape(text)}</t></si>".encode())
            part.write(b"</sst>")


# --- running `skm import` ---


def skm(app: Path, env: dict[str, str], *args: str) -> tuple[int, str, float, float, float]:
    """Run `skm ARGS` from the checkout ``app``: (exit status, output, seconds, CPU seconds,
    peak RSS MiB). CPU seconds tell more than wall time on a machine shared with others."""
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", *args],
            cwd=app,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - began
        out.seek(0)
        text = out.read().decode(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return child.returncode, text, seconds, cpu, usage.ru_maxrss / 1024  # KiB on Linux


def fresh_env(app: Path, work: Path, name: str, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKM_")}
    if database_url:
        import sqlalchemy as sa

        engine = sa.create_engine(database_url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        engine.dispose()
        env["SKM_DATABASE_URL"] = database_url
    else:
        db = work / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        env["SKM_DATABASE_URL"] = f"sqlite:///{db}"
    for args in (("db", "upgrade"), ("unit", "add", "bench", "Bench", "--tz", "WITA")):
        code, text, *_ = skm(app, env, *args)
        if code:
            raise SystemExit(f"skm {' '.join(args)} failed:\n{text}")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--app", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "skm-bench")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only", default="csv,xlsx,huge-xlsx,huge-csv")
    args = parser.parse_args()
    xlsx_rows = args.xlsx_rows or args.rows
    args.work.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": (args.work / f"rows-{args.rows}.csv", args.rows, lambda p: write_csv(p, args.rows)),
        "xlsx": (
            args.work / f"rows-{xlsx_rows}.xlsx",
            xlsx_rows,
            lambda p: write_xlsx(p, xlsx_rows),
        ),
        "huge-xlsx": (
            args.work / "huge-shared-string.xlsx",
            2,
            lambda p: write_xlsx(p, 1, huge_string=True),
        ),
        "huge-csv": (args.work / "huge-field.csv", 2, write_huge_csv),
    }
    print(f"app: {args.app}  database: {args.database_url or 'SQLite file'}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'file':<12}{'rows':>10}{'exit':>6}{'seconds':>9}{'cpu s':>8}{'rows/s':>9}"
        f"{'rows/cpu s':>11}{'peak MiB':>10}  output"
    )
    for name in args.only.split(","):
        path, n, make = files[name]
        if not path.exists():
            began = time.perf_counter()
            make(path)
            print(
                f"  (wrote {path.name}: {path.stat().st_size / 2**20:.1f} MiB "
                f"in {time.perf_counter() - began:.0f} s)"
            )
        env = fresh_env(args.app, args.work, name, args.database_url)
        code, text, seconds, cpu, peak = skm(args.app, env, "import", str(path), "--unit", "bench")
        last = next((line for line in reversed(text.splitlines()) if line.strip()), "")
        rate = f"{n / seconds:,.0f}" if code == 0 else "-"
        per_cpu = f"{n / cpu:,.0f}" if code == 0 else "-"
        print(
            f"{name:<12}{n:>10,}{code:>6}{seconds:>9.1f}{cpu:>8.1f}{rate:>9}{per_cpu:>11}"
            f"{peak:>10.0f}  {last[:150]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
